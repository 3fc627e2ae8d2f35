/**
 * Evaluates the value of feature coalitions for one explained row: for each mask (1 = feature taken from
 * the row, 0 = taken from the background), the background-weighted mean model output. All synthetic rows of
 * as many masks as fit in `maxBatch` rows go to the model in one predict call; buffers are reused.
 */
import type { Predictor } from '@genome/model-format';
import { Cancellation } from './abort.js';
import type { Background } from './background.js';
import { ShapError } from './errors.js';
import { checkModelOutput } from './rows.js';

/** Default limit on rows per predict call. */
export const DEFAULT_MAX_BATCH = 65536;

export function checkMaxBatch(v: unknown, nBackground: number): number {
  const b = v === undefined ? DEFAULT_MAX_BATCH : v;
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 1) {
    throw new ShapError('INVALID_OPTION', `maxBatch must be a positive integer (rows per model call), got ${String(v)}.`);
  }
  return Math.max(b, nBackground);
}

export class CoalitionEvaluator {
  readonly nOutputs: number;
  readonly nFeatures: number;
  modelCalls = 0;
  modelMs = 0;
  rowsEvaluated = 0;
  private readonly masksPerCall: number;
  private readonly synth: Float64Array;

  constructor(
    private readonly predictor: Predictor,
    private readonly bg: Background,
    maxBatch: number,
    /** Cancellation of the explanation this evaluator serves (no signal: none). */
    readonly cancel: Cancellation = new Cancellation(undefined),
  ) {
    this.nOutputs = predictor.outputNames.length;
    this.nFeatures = predictor.nFeatures;
    this.masksPerCall = Math.max(1, Math.floor(maxBatch / bg.rows));
    this.synth = new Float64Array(Math.min(this.masksPerCall, 1 << 20) * bg.rows * this.nFeatures);
  }

  /**
   * Calls the model on `n` rows and checks the result. With a signal: checked before the call, passed to the
   * predictor and raced against it; an abort rejects with `signal.reason`.
   */
  async predict(rows: Float64Array, n: number): Promise<Float64Array> {
    const cancel = this.cancel;
    if (cancel.signal) await cancel.pause();
    const t0 = performance.now();
    let out;
    try {
      out = await cancel.race(this.predictor.predict(rows, n, cancel.predictOptions));
    } catch (e) {
      cancel.check();
      if (e instanceof ShapError) throw e;
      throw modelCallError(e, n);
    }
    cancel.check();
    this.modelMs += performance.now() - t0;
    this.modelCalls++;
    this.rowsEvaluated += n;
    checkModelOutput(out, n, this.nOutputs);
    return out.data;
  }

  /** Background-weighted mean output (the base value before the link), length nOutputs. */
  async expectedValue(): Promise<Float64Array> {
    const y = await this.predict(this.bg.data, this.bg.rows);
    const D = this.nOutputs;
    const e = new Float64Array(D);
    for (let r = 0; r < this.bg.rows; r++) {
      const w = this.bg.weights[r]!;
      for (let d = 0; d < D; d++) e[d]! += w * y[r * D + d]!;
    }
    return e;
  }

  /**
   * Writes into `out[k*D + d]` the value of mask k (0 <= k < nMasks), where `masks[k*nPlayers + p]` != 0
   * means player p is present; `players[p]` is the feature index of player p.
   */
  async evaluate(
    x: Float64Array,
    masks: Uint8Array,
    nMasks: number,
    players: Int32Array,
    out: Float64Array,
  ): Promise<void> {
    const N = this.bg.rows;
    const F = this.nFeatures;
    const D = this.nOutputs;
    const P = players.length;
    const bgData = this.bg.data;
    const weights = this.bg.weights;
    const perCall = Math.min(this.masksPerCall, Math.floor(this.synth.length / (N * F)));
    const synth = this.synth;
    for (let start = 0; start < nMasks; start += perCall) {
      const count = Math.min(perCall, nMasks - start);
      for (let k = 0; k < count; k++) {
        const base = k * N * F;
        synth.set(bgData, base);
        const mo = (start + k) * P;
        for (let p = 0; p < P; p++) {
          if (masks[mo + p] === 0) continue;
          const f = players[p]!;
          const v = x[f]!;
          for (let r = 0, o = base + f; r < N; r++, o += F) synth[o] = v;
        }
      }
      const rows = count * N;
      const y = await this.predict(rows === synth.length / F ? synth : synth.subarray(0, rows * F), rows);
      for (let k = 0; k < count; k++) {
        const oo = (start + k) * D;
        for (let d = 0; d < D; d++) out[oo + d] = 0;
        const yo = k * N * D;
        for (let r = 0; r < N; r++) {
          const w = weights[r]!;
          const ro = yo + r * D;
          for (let d = 0; d < D; d++) out[oo + d]! += w * y[ro + d]!;
        }
      }
    }
  }
}

/** The RUNTIME error of a model call that threw or rejected; the predictor's error is the cause. */
export function modelCallError(e: unknown, n: number): ShapError {
  const message = (e as Error | undefined)?.message ?? String(e);
  const timedOut = (e as { code?: unknown } | undefined)?.code === 'TIMEOUT';
  return new ShapError(
    'RUNTIME',
    timedOut ? `The model call timed out on a batch of ${n} rows: ${message}` : `The model call failed on a batch of ${n} rows: ${message}`,
    { cause: e },
  );
}

/**
 * Features of `x` that differ from at least one background row; the others get exactly 0. With `tolerant`
 * (KernelSHAP, like shap) values equal under numpy.isclose (atol 1e-8, rtol 1e-5) count as equal; otherwise
 * only identical values do. NaN equals NaN.
 */
export function varyingFeatures(x: Float64Array, bg: Background, tolerant: boolean): Int32Array {
  const F = bg.cols;
  const out: number[] = [];
  for (let j = 0; j < F; j++) {
    const xv = x[j]!;
    for (let r = 0; r < bg.rows; r++) {
      const b = bg.data[r * F + j]!;
      if (tolerant ? !isClose(xv, b) : !(xv === b || (Number.isNaN(xv) && Number.isNaN(b)))) {
        out.push(j);
        break;
      }
    }
  }
  return Int32Array.from(out);
}

function isClose(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= 1e-8 + 1e-5 * Math.abs(b);
}
