/**
 * Reading a `genome.explanation/v1` document for a chart: its shape is checked once (errors name the field), and
 * rows, outputs and feature labels are picked the same way by every chart.
 */
import { EXPLANATION_SCHEMA, type Explanation } from '@genome/model-format';
import { invalid } from './chart.js';
import { formatDatum } from './format.js';

function isNumberMatrix(x: unknown): x is number[][] {
  return Array.isArray(x) && x.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number'));
}

/**
 * Checks that `input` is an explanation a chart can read (`schema`, `method`, `values[row][feature][output]`,
 * `baseValues[row][output]`, `featureNames`, `outputNames`, optional `data`/`predictions`/`interactions` of matching
 * shape) and returns it typed. Accepts the parsed object or its JSON text.
 */
export function readExplanation(input: unknown): Explanation {
  let doc = input;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch (e) {
      invalid(`the explanation is not valid JSON (${(e as Error).message}); pass ExplainResponse.explanation_json as is`);
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) invalid('the explanation must be a JSON object (a genome.explanation/v1 document)');
  const e = doc as Partial<Explanation> & Record<string, unknown>;
  if (e.schema !== EXPLANATION_SCHEMA) invalid(`explanation.schema must be "${EXPLANATION_SCHEMA}", got ${JSON.stringify(e.schema)?.slice(0, 60)}`);
  if (typeof e.method !== 'string') invalid('explanation.method must be a string such as "tree_shap.path_dependent"');
  if (!Array.isArray(e.featureNames) || !e.featureNames.every((n) => typeof n === 'string')) invalid('explanation.featureNames must be an array of strings');
  if (!Array.isArray(e.outputNames) || !e.outputNames.every((n) => typeof n === 'string')) invalid('explanation.outputNames must be an array of strings');
  const features = e.featureNames.length;
  const outputs = e.outputNames.length;
  if (!Array.isArray(e.values)) invalid('explanation.values must be an array [row][feature][output]');
  e.values.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== features) invalid(`explanation.values[${r}] must have ${features} features (one per featureNames entry)`);
    row.forEach((cell, f) => {
      if (!Array.isArray(cell) || cell.length !== outputs || !cell.every((v) => typeof v === 'number')) {
        invalid(`explanation.values[${r}][${f}] must be ${outputs} numbers (one per outputNames entry)`);
      }
    });
  });
  const rows = e.values.length;
  if (!isNumberMatrix(e.baseValues) || e.baseValues.length !== rows || e.baseValues.some((b) => b.length !== outputs)) {
    invalid(`explanation.baseValues must be ${rows} rows of ${outputs} numbers`);
  }
  if (e.predictions !== undefined && (!isNumberMatrix(e.predictions) || e.predictions.length !== rows || e.predictions.some((p) => p.length !== outputs))) {
    invalid(`explanation.predictions must be ${rows} rows of ${outputs} numbers when present`);
  }
  if (e.data !== undefined) {
    if (!Array.isArray(e.data) || e.data.length !== rows) invalid(`explanation.data must have ${rows} rows when present`);
    e.data.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== features) invalid(`explanation.data[${r}] must have ${features} cells`);
      row.forEach((v, f) => {
        if (v !== null && typeof v !== 'number' && typeof v !== 'string') invalid(`explanation.data[${r}][${f}] must be a number, a string or null`);
      });
    });
  }
  if (e.interactions !== undefined) {
    if (!Array.isArray(e.interactions) || e.interactions.length !== rows) invalid(`explanation.interactions must have ${rows} rows when present`);
    e.interactions.forEach((m, r) => {
      if (!Array.isArray(m) || m.length !== features || m.some((row) => !Array.isArray(row) || row.length !== features || row.some((c) => !Array.isArray(c) || c.length !== outputs))) {
        invalid(`explanation.interactions[${r}] must be [${features}][${features}][${outputs}]`);
      }
    });
  }
  if (e.parameters !== undefined && (typeof e.parameters !== 'object' || e.parameters === null)) invalid('explanation.parameters must be an object');
  if (e.details !== undefined && (typeof e.details !== 'object' || e.details === null)) invalid('explanation.details must be an object');
  return e as Explanation;
}

/** Index of the output a chart shows: a number, an output name, or (default) the last output (the positive class of a binary classifier). */
export function outputIndex(e: Explanation, output?: number | string): number {
  const n = e.outputNames.length;
  if (n === 0) invalid('the explanation has no outputs to plot');
  if (output === undefined) return n - 1;
  if (typeof output === 'string') {
    const i = e.outputNames.indexOf(output);
    if (i < 0) invalid(`output ${JSON.stringify(output.slice(0, 100))} is not one of the explanation's outputs: ${e.outputNames.slice(0, 20).join(', ')}`);
    return i;
  }
  if (!Number.isInteger(output) || output < 0 || output >= n) invalid(`output must be an integer in [0, ${n - 1}] or an output name, got ${output}`);
  return output;
}

/** Index of the row a one-row chart shows (default 0). */
export function rowIndex(e: Explanation, row?: number): number {
  const n = e.values.length;
  if (n === 0) invalid('the explanation has no rows to plot');
  if (row === undefined) return 0;
  if (!Number.isInteger(row) || row < 0 || row >= n) invalid(`row must be an integer in [0, ${n - 1}], got ${row}`);
  return row;
}

/** Attributions of one row for one output, by feature. */
export function rowValues(e: Explanation, row: number, output: number): Float64Array {
  const values = e.values[row]!;
  const out = new Float64Array(values.length);
  for (let f = 0; f < values.length; f++) out[f] = values[f]![output]!;
  return out;
}

/** The model's output for a row: `predictions` when present, otherwise base value + sum of attributions. */
export function rowPrediction(e: Explanation, row: number, output: number): number {
  const p = e.predictions?.[row]?.[output];
  if (p !== undefined) return p;
  let sum = e.baseValues[row]![output]!;
  for (const cell of e.values[row]!) sum += cell[output]!;
  return sum;
}

/** `name = value` when the explanation carries the row's data (category names as they are), else the name. */
export function featureLabel(e: Explanation, row: number, feature: number): string {
  const name = e.featureNames[feature]!;
  const data = e.data?.[row];
  if (!data) return name;
  return `${name} = ${formatDatum(data[feature])}`;
}

/** Features ordered by |value| descending (ties by index, so charts are deterministic). */
export function orderByMagnitude(values: ArrayLike<number>): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  return idx.sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || a - b);
}

/** The human name of the space attributions are in ("model output (raw margin)", "probability", "model output"). */
export function outputSpaceLabel(e: Explanation): string {
  switch (e.outputSpace) {
    case 'raw':
      return 'model output (raw margin)';
    case 'probability':
      return 'probability';
    default:
      return 'model output';
  }
}
