/**
 * `--output table`: one block per row (and per output when there are several): the base value and the prediction,
 * then the features sorted by |attribution| with the value that was sent and its attribution.
 */
import { cellText, type RowsInput } from '../input/cells.js';
import type { ExplainResult } from '../explain/result.js';
import { fmt, signed } from './numbers.js';
import { textTable } from './text-table.js';

/** The cell of row `r` sent for each of `featureNames` (matched by name when the input named its columns). */
function inputValues(input: RowsInput, r: number, featureNames: readonly string[]): string[] {
  const row = input.rows[r] ?? [];
  if (!input.featureNames) return featureNames.map((_, f) => cellText(row[f]));
  const col = new Map(input.featureNames.map((n, i) => [n, i]));
  return featureNames.map((n) => {
    const i = col.get(n);
    return i === undefined ? '' : cellText(row[i]);
  });
}

export function explainTable(res: ExplainResult, input: RowsInput): string {
  const nf = res.featureNames.length;
  const no = res.outputNames.length;
  const blocks: string[] = [`model ${res.modelName}${res.modelVersion ? ` ${res.modelVersion}` : ''} · method ${res.method} · output space ${res.outputSpace}`];
  for (let r = 0; r < res.rows; r++) {
    const shown = inputValues(input, r, res.featureNames);
    for (let o = 0; o < no; o++) {
      const attr = res.featureNames.map((_, f) => res.values[(r * nf + f) * no + o]!);
      const base = res.baseValues[r * no + o]!;
      const sum = attr.reduce((a, b) => a + b, 0);
      const order = attr.map((_, f) => f).sort((a, b) => Math.abs(attr[b]!) - Math.abs(attr[a]!));
      const title = no > 1 ? `row ${r} · output ${res.outputNames[o]}` : `row ${r}`;
      const prediction = res.predictions.length > 0 ? `prediction ${fmt(res.predictions[r * no + o])}` : `base + sum ${fmt(base + sum)}`;
      const table = textTable(
        order.map((f) => [res.featureNames[f]!, shown[f]!, signed(attr[f]!)]),
        { head: ['feature', 'value', 'attribution'], align: ['left', 'right', 'right'], indent: 2 },
      );
      blocks.push(`${title}: ${prediction} = base value ${fmt(base)} ${sum < 0 ? '-' : '+'} ${fmt(Math.abs(sum))}\n${table}`);
    }
  }
  return `${blocks.join('\n\n')}\n`;
}
