/** Output selection (indices / names / top-k) on explanations. */
import type { Explanation } from '@genome/model-format';
import { SidecarError } from '../errors.js';
import { quote } from '@genome/server-kit';

/** What a caller asked for; REST passes JSON as it came, so every field is checked here. */
export interface OutputSelectionSpec {
  indices?: unknown;
  names?: unknown;
  topK?: unknown;
}

/**
 * Resolves indices and names against the model's outputs (before the call, so bad selections fail early).
 * Returns undefined when every output is selected (top_k is applied afterwards, on the explanation).
 */
export function resolveOutputs(sel: OutputSelectionSpec | undefined, outputNames: readonly string[]): number[] | undefined {
  if (!sel) return undefined;
  const bad = (msg: string) => new SidecarError('INVALID_REQUEST', msg);
  const list = (v: unknown, field: string): readonly unknown[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw bad(`outputs.${field} must be a list, got ${quote(v)}`);
    return v;
  };
  const idx: number[] = [];
  list(sel.indices, 'indices').forEach((i, k) => {
    if (typeof i !== 'number' || !Number.isInteger(i)) throw bad(`outputs.indices[${k}] must be an integer output index, got ${quote(i)}`);
    if (i < 0 || i >= outputNames.length) {
      throw bad(`output index ${i} is out of range (outputs.indices[${k}]): the model has ${outputNames.length} outputs, 0..${outputNames.length - 1} (${outputNames.join(', ')})`);
    }
    if (!idx.includes(i)) idx.push(i);
  });
  list(sel.names, 'names').forEach((n, k) => {
    const i = typeof n === 'string' ? outputNames.indexOf(n) : -1;
    if (i < 0) throw bad(`outputs.names[${k}]: unknown output ${quote(n)}; the model's outputs are: ${outputNames.join(', ')}`);
    if (!idx.includes(i)) idx.push(i);
  });
  const k = sel.topK;
  if (k !== undefined && k !== null && (typeof k !== 'number' || !Number.isInteger(k) || k < 0)) {
    throw bad(`outputs.top_k must be a non-negative integer, got ${quote(k)}`);
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
