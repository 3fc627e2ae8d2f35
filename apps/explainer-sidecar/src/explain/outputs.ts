/** Output selection (indices / names / top-k) on explanations. */
import type { Explanation } from '@genome/model-format';
import { SidecarError } from '../errors.js';

export interface OutputSelectionSpec {
  indices?: readonly number[];
  names?: readonly string[];
  topK?: number;
}

/**
 * Resolves indices and names against the model's outputs (before the call, so bad selections fail early).
 * Returns undefined when every output is selected (top_k is applied afterwards, on the explanation).
 */
export function resolveOutputs(sel: OutputSelectionSpec | undefined, outputNames: readonly string[]): number[] | undefined {
  if (!sel) return undefined;
  const idx: number[] = [];
  for (const i of sel.indices ?? []) {
    if (!Number.isInteger(i) || i < 0 || i >= outputNames.length) {
      throw new SidecarError('INVALID_REQUEST', `output index ${i} is out of range: the model has ${outputNames.length} outputs (${outputNames.join(', ')})`);
    }
    if (!idx.includes(i)) idx.push(i);
  }
  for (const n of sel.names ?? []) {
    const i = outputNames.indexOf(n);
    if (i < 0) throw new SidecarError('INVALID_REQUEST', `unknown output "${n}"; the model's outputs are: ${outputNames.join(', ')}`);
    if (!idx.includes(i)) idx.push(i);
  }
  if (sel.topK !== undefined && (!Number.isInteger(sel.topK) || sel.topK < 0)) {
    throw new SidecarError('INVALID_REQUEST', `top_k must be a non-negative integer, got ${sel.topK}`);
  }
  return idx.length > 0 ? idx : undefined;
}

function pick<T>(a: readonly T[], idx: readonly number[]): T[] {
  return idx.map((i) => a[i]!);
}

/** Keeps outputs `idx` (in that order) of an explanation. */
export function selectOutputs(e: Explanation, idx: readonly number[]): Explanation {
  return {
    ...e,
    values: e.values.map((row) => row.map((f) => pick(f, idx))),
    baseValues: e.baseValues.map((b) => pick(b, idx)),
    outputNames: pick(e.outputNames, idx),
    ...(e.predictions ? { predictions: e.predictions.map((p) => pick(p, idx)) } : {}),
    ...(e.interactions ? { interactions: e.interactions.map((r) => r.map((a) => a.map((b) => pick(b, idx)))) } : {}),
  };
}

/**
 * Applies a selection to an explanation of all outputs (or of exactly the selected ones, when the method honoured
 * `outputIndices` itself): picks `indices`/`names`, then keeps the `topK` outputs with the largest mean model output
 * (predictions, or base value + sum of attributions) over the rows.
 */
export function applySelection(e: Explanation, modelOutputs: readonly string[], idx: number[] | undefined, topK: number): Explanation {
  let out = e;
  if (idx) {
    const already = e.outputNames.length === idx.length && idx.every((i, k) => e.outputNames[k] === modelOutputs[i]);
    if (!already) {
      const local = idx.map((i) => e.outputNames.indexOf(modelOutputs[i]!));
      if (local.some((i) => i < 0)) {
        throw new SidecarError('INVALID_REQUEST', `the method did not explain the selected outputs (${idx.map((i) => modelOutputs[i]).join(', ')}); it returned ${e.outputNames.join(', ')}`);
      }
      out = selectOutputs(e, local);
    }
  }
  if (topK > 0 && topK < out.outputNames.length) {
    const nOut = out.outputNames.length;
    const score = new Float64Array(nOut);
    out.values.forEach((row, r) => {
      for (let o = 0; o < nOut; o++) {
        let v: number;
        if (out.predictions) v = out.predictions[r]![o]!;
        else {
          v = out.baseValues[r]![o]!;
          for (const f of row) v += f[o]!;
        }
        score[o]! += v;
      }
    });
    const order = [...score.keys()].sort((a, b) => score[b]! - score[a]! || a - b).slice(0, topK);
    out = selectOutputs(out, order);
  }
  return out;
}
