/** Turns a predictor's output row into a class label, as alibi's ArgmaxTransformer does. */
import type { Matrix, OutputSpace } from '@genome/model-format';
import { LimeError } from '../errors.js';

export function classLabels(m: Matrix, outputSpace: OutputSpace, out: Int32Array): Int32Array {
  const { rows, cols, data } = m;
  if (cols === 1) {
    if (outputSpace === 'regression') {
      throw new LimeError('INVALID_INPUT', 'Anchors explain classifiers: the predictor has a single regression output. Wrap it so it returns class scores.');
    }
    const thr = outputSpace === 'probability' ? 0.5 : 0;
    for (let i = 0; i < rows; i++) out[i] = data[i]! > thr ? 1 : 0;
    return out;
  }
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bv = data[i * cols]!;
    for (let c = 1; c < cols; c++) {
      const v = data[i * cols + c]!;
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

export function labelName(outputNames: readonly string[], label: number): string {
  if (outputNames.length === 1) return label === 1 ? outputNames[0]! : `not ${outputNames[0]!}`;
  return outputNames[label]!;
}
