/**
 * Batched, timed, validated calls into Genome predictors. Every explainer funnels its model queries through
 * a {@link ModelCounter} so sample counts, call counts and model time end up in the explanation.
 */
import { isAbortSignal, Pacer, type Matrix, type PredictOptions } from '@genome/model-format';
import { LimeError } from './errors.js';

/** The options object every model call receives: `{ signal }` with a signal, else undefined. */
export type CallOptions = PredictOptions | undefined;

/** Checks the `signal` explain option: undefined or an AbortSignal. */
export function checkSignal(v: unknown): AbortSignal | undefined {
  if (v === undefined) return undefined;
  if (!isAbortSignal(v)) {
    throw new LimeError('INVALID_INPUT', `signal must be an AbortSignal (e.g. AbortController.signal or AbortSignal.timeout(ms)), got ${String(v)}.`);
  }
  return v;
}

/**
 * Counts, times and checks the model calls of one explanation, and cancels it (model-format's {@link Pacer}): with a
 * `signal`, it is checked before every call (after yielding to the event loop when the explanation has computed
 * for a while without a break, so timers and cancellations can fire even with an in-process model), passed to the
 * call as `{ signal }` and raced against it; an abort rejects with `signal.reason` itself, never a LimeError.
 */
export class ModelCounter extends Pacer {
  calls = 0;
  samples = 0;
  ms = 0;

  /**
   * Runs one model call, validating that it returns `rows x cols` finite numbers. A call that throws is a
   * RUNTIME error (its message says when the predictor reported a TIMEOUT), a malformed result MODEL_OUTPUT.
   */
  async run(rows: number, cols: number, what: string, call: (options: CallOptions) => Promise<Matrix>): Promise<Matrix> {
    await this.pause();
    const t0 = performance.now();
    let out: Matrix;
    try {
      out = await this.race(call(this.predictOptions));
    } catch (e) {
      this.check();
      if (e instanceof LimeError) throw e;
      const message = (e as Error | undefined)?.message ?? String(e);
      const timedOut = (e as { code?: unknown } | undefined)?.code === 'TIMEOUT';
      throw new LimeError('RUNTIME', timedOut ? `The ${what} model call timed out: ${message}` : `The ${what} model call failed: ${message}`, { cause: e });
    } finally {
      this.ms += performance.now() - t0;
    }
    this.check();
    this.calls++;
    this.samples += rows;
    checkMatrix(out, rows, cols, what);
    return out;
  }
}

export function checkMatrix(m: Matrix, rows: number, cols: number, what: string): void {
  if (!m || !(m.data instanceof Float64Array) || m.rows !== rows || m.cols !== cols || m.data.length < rows * cols) {
    throw new LimeError(
      'MODEL_OUTPUT',
      `The ${what} model returned ${m ? `${m.rows}x${m.cols}` : String(m)} outputs for ${rows} inputs; expected ${rows}x${cols} ` +
        '(one row per input, one column per output name) as a Float64Array Matrix.',
    );
  }
  const d = m.data;
  for (let i = 0; i < rows * cols; i++) {
    if (!Number.isFinite(d[i]!)) {
      throw new LimeError('MODEL_OUTPUT', `The ${what} model returned a non-finite output (${d[i]}) at row ${Math.floor(i / cols)}; fix the model or its inputs.`);
    }
  }
}

export function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new LimeError('INVALID_INPUT', `${name} must be an integer >= ${min}, got ${v}.`);
}

export function checkPositive(name: string, v: number): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new LimeError('INVALID_INPUT', `${name} must be a finite number > 0, got ${v}.`);
}

/**
 * Which output columns to explain: explicit `labels`, or lime's `top_labels` (highest outputs at the instance,
 * best first), or lime's default label 1 (0 for single-output models).
 */
export function resolveLabels(instanceOut: ArrayLike<number>, nOut: number, labels: readonly number[] | undefined, topLabels: number | undefined): number[] {
  if (topLabels !== undefined && topLabels !== null) {
    checkInt('topLabels', topLabels, 1);
    const order = Array.from({ length: nOut }, (_, i) => i);
    order.sort((a, b) => instanceOut[a]! - instanceOut[b]!);
    return order.slice(-Math.min(topLabels, nOut)).reverse();
  }
  const ls = labels ?? [nOut > 1 ? 1 : 0];
  if (ls.length === 0) throw new LimeError('INVALID_INPUT', 'labels is empty: pass at least one output index to explain.');
  for (const l of ls) {
    if (!Number.isInteger(l) || l < 0 || l >= nOut) {
      throw new LimeError('INVALID_INPUT', `label ${l} is not an output index of this model (it has ${nOut} outputs: 0..${nOut - 1}).`);
    }
  }
  return [...ls];
}

/** A pairwise distance from every row of `X` (n x d) to row 0. */
export type DistanceMetric = 'euclidean' | 'cosine' | 'manhattan';

export function distancesToFirst(X: Float64Array, n: number, d: number, metric: DistanceMetric, out: Float64Array): Float64Array {
  if (metric === 'euclidean') {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const off = i * d;
      for (let j = 0; j < d; j++) {
        const v = X[off + j]! - X[j]!;
        s += v * v;
      }
      out[i] = Math.sqrt(s);
    }
  } else if (metric === 'manhattan') {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const off = i * d;
      for (let j = 0; j < d; j++) s += Math.abs(X[off + j]! - X[j]!);
      out[i] = s;
    }
  } else if (metric === 'cosine') {
    let n0 = 0;
    for (let j = 0; j < d; j++) n0 += X[j]! * X[j]!;
    n0 = Math.sqrt(n0);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      let ni = 0;
      const off = i * d;
      for (let j = 0; j < d; j++) {
        dot += X[off + j]! * X[j]!;
        ni += X[off + j]! * X[off + j]!;
      }
      // sklearn: rows with zero norm are treated as having norm 1 (similarity 0 -> distance 1).
      const denom = (n0 > 0 ? n0 : 1) * (ni > 0 ? Math.sqrt(ni) : 1);
      let dist = 1 - dot / denom;
      if (dist < 0) dist = 0;
      out[i] = dist;
    }
  } else {
    throw new LimeError('INVALID_CONFIG', `Unknown distanceMetric '${String(metric)}'; use euclidean, cosine or manhattan.`);
  }
  return out;
}
