/**
 * TreeSHAP returning the shared `Explanation` JSON (method `tree_shap.path_dependent` or
 * `tree_shap.interventional`, interaction values in `interactions`).
 */
import { EXPLANATION_SCHEMA, type Explanation, type OutputSpace, type TreeEnsemble } from '@genome/model-format';
import { ShapError } from '../errors.js';
import type { TreeShapPool } from '../workers/pool.js';
import { resolvePathAlgorithm, type PathAlgorithm } from './compute.js';
import { prepareEnsemble } from './prepared.js';
import {
  rawOutputSpace,
  treeShapInteractions,
  treeShapInterventional,
  treeShapPathDependent,
  type TreeShapInteractionValues,
  type TreeShapValues,
} from './tree-shap.js';

/** Rows as arrays of numbers, or a flat row-major Float64Array. */
export type TreeRows = readonly (readonly number[])[] | Float64Array;

export interface ExplainTreeOptions {
  /**
   * `path_dependent` (needs covers; default when the model has them) or `interventional` (needs `background`;
   * default when the model has no covers).
   */
  method?: 'path_dependent' | 'interventional';
  /** Background rows for interventional TreeSHAP. */
  background?: TreeRows;
  /** `raw` margins (default) or, for interventional on logistic/softmax models, `probability`. */
  output?: 'raw' | 'probability';
  /** Also compute SHAP interaction values (path-dependent only). */
  interactions?: boolean;
  /** Path-dependent kernel (default `auto`). */
  algorithm?: PathAlgorithm;
  /** Run on this worker pool instead of the calling thread. */
  pool?: TreeShapPool;
  /** Include the explained rows in `data` (default true; NaN becomes null in JSON). */
  includeData?: boolean;
}

function toFlat(model: TreeEnsemble, rows: TreeRows, what: string): { flat: Float64Array; n: number } {
  if (rows instanceof Float64Array) {
    if (rows.length % Math.max(1, model.nFeatures) !== 0) {
      throw new ShapError('INVALID_INPUT', `${what} has ${rows.length} values, not a multiple of the model's ${model.nFeatures} features.`);
    }
    return { flat: rows, n: model.nFeatures === 0 ? 0 : rows.length / model.nFeatures };
  }
  if (!Array.isArray(rows)) throw new ShapError('INVALID_INPUT', `${what} must be an array of rows or a Float64Array.`);
  const nF = model.nFeatures;
  const flat = new Float64Array(rows.length * nF);
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== nF) {
      throw new ShapError(
        'INVALID_INPUT',
        `${what}[${i}] has ${Array.isArray(r) ? r.length : 'no'} features but the model expects ${nF} (${model.featureNames.slice(0, 8).join(', ')}${nF > 8 ? ', ...' : ''}).`,
      );
    }
    for (let f = 0; f < nF; f++) {
      const v = r[f];
      if (typeof v !== 'number' && v !== null) throw new ShapError('INVALID_INPUT', `${what}[${i}][${f}] is not a number.`);
      flat[i * nF + f] = v === null ? Number.NaN : v;
    }
  });
  return { flat, n: rows.length };
}

function nest3(v: Float64Array, n: number, a: number, b: number): number[][][] {
  const out: number[][][] = new Array(n);
  for (let r = 0; r < n; r++) {
    const row: number[][] = new Array(a);
    for (let i = 0; i < a; i++) row[i] = Array.from(v.subarray((r * a + i) * b, (r * a + i + 1) * b));
    out[r] = row;
  }
  return out;
}

/** Explains `rows` of a tree ensemble with exact TreeSHAP; returns the shared Explanation JSON. */
export async function explainTree(model: TreeEnsemble, rows: TreeRows, options: ExplainTreeOptions = {}): Promise<Explanation> {
  const t0 = performance.now();
  const prep = prepareEnsemble(model);
  const method = options.method ?? (model.hasCovers ? 'path_dependent' : 'interventional');
  if (method !== 'path_dependent' && method !== 'interventional') {
    throw new ShapError('INVALID_OPTION', `Unknown TreeSHAP method "${String(method)}"; use 'path_dependent' or 'interventional'.`);
  }
  const output = options.output ?? 'raw';
  if (output !== 'raw' && output !== 'probability') throw new ShapError('INVALID_OPTION', `output must be 'raw' or 'probability', got "${String(output)}".`);
  if (method === 'path_dependent' && output === 'probability') {
    throw new ShapError('INVALID_OPTION', "Path-dependent TreeSHAP explains the raw margin only (as shap); use method 'interventional' for output 'probability'.");
  }
  if (options.interactions && method !== 'path_dependent') {
    throw new ShapError('INVALID_OPTION', "SHAP interaction values are computed path-dependent; use method 'path_dependent' (the model needs covers).");
  }
  const { flat, n } = toFlat(model, rows, 'rows');
  const pool = options.pool;
  let res: TreeShapValues;
  let inter: TreeShapInteractionValues | undefined;
  const parameters: Record<string, unknown> = { output, threads: pool ? pool.threads : 1 };
  if (method === 'path_dependent') {
    const algorithm = resolvePathAlgorithm(prep, options.algorithm ?? 'auto');
    parameters.algorithm = algorithm;
    res = pool ? await pool.pathDependent(model, flat, n, { algorithm }) : treeShapPathDependent(model, flat, n, { algorithm });
    if (options.interactions) inter = pool ? await pool.interactions(model, flat, n) : treeShapInteractions(model, flat, n);
  } else {
    if (options.background === undefined) {
      throw new ShapError('INVALID_INPUT', 'Interventional TreeSHAP needs background rows (options.background), e.g. 100-1000 training rows.');
    }
    const bg = toFlat(model, options.background, 'background');
    parameters.nBackground = bg.n;
    res = pool
      ? await pool.interventional(model, flat, n, bg.flat, bg.n, { output })
      : treeShapInterventional(model, flat, n, bg.flat, bg.n, { output });
  }
  const nF = res.nFeatures;
  const nO = res.nOutputs;
  const values = nest3(res.values, n, nF, nO);
  const base = Array.from(res.expectedValue);
  const predictions: number[][] = [];
  for (let r = 0; r < n; r++) {
    const p = base.slice();
    for (let f = 0; f < nF; f++) for (let o = 0; o < nO; o++) p[o] += res.values[(r * nF + f) * nO + o];
    predictions.push(p);
  }
  const outputSpace: OutputSpace = output === 'probability' ? 'probability' : rawOutputSpace(model);
  const explanation: Explanation = {
    schema: EXPLANATION_SCHEMA,
    method: method === 'path_dependent' ? 'tree_shap.path_dependent' : 'tree_shap.interventional',
    values,
    baseValues: Array.from({ length: n }, () => base.slice()),
    featureNames: model.featureNames.length === nF ? [...model.featureNames] : Array.from({ length: nF }, (_, i) => `f${i}`),
    outputNames: model.outputNames.length === nO ? [...model.outputNames] : Array.from({ length: nO }, (_, i) => `output${i}`),
    outputSpace,
    predictions,
    parameters,
    timings: { totalMs: performance.now() - t0 },
  };
  if (options.includeData !== false) {
    explanation.data = Array.from({ length: n }, (_, r) => Array.from(flat.subarray(r * nF, (r + 1) * nF)));
  }
  if (inter) {
    const I: number[][][][] = new Array(n);
    for (let r = 0; r < n; r++) {
      I[r] = nest3(inter.values.subarray(r * nF * nF * nO, (r + 1) * nF * nF * nO), nF, nF, nO);
    }
    explanation.interactions = I;
  }
  return explanation;
}
