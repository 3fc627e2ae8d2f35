/**
 * Exact interventional Shapley values for any tabular Predictor: every subset of the varying features is
 * evaluated against the weighted background (2^M coalitions, batched model calls) and combined with the
 * Shapley weights |S|!(M-|S|-1)!/M!. Cost grows as 2^M x background rows, hence the feature limit.
 */
import type { Explanation, Predictor } from '@genome/model-format';
import { Cancellation, checkSignal } from './abort.js';
import { AgnosticBase, type AgnosticOptions, type CancellableOptions } from './agnostic.js';
import type { Background } from './background.js';
import { varyingFeatures } from './coalitions.js';
import { ShapError } from './errors.js';
import { applyLink } from './link.js';
import type { RowsInput } from './rows.js';

/** Default and hard limits on the number of model features for exact enumeration. */
export const EXACT_DEFAULT_MAX_FEATURES = 16;
export const EXACT_HARD_MAX_FEATURES = 24;

export interface ExactOptions extends AgnosticOptions {
  /** Refuse models with more features than this (default 16, at most 24). */
  maxFeatures?: number;
}

/** Per-call options of {@link ExactExplainer.explain}. */
export type ExactExplainOptions = CancellableOptions;

export class ExactExplainer {
  private readonly base: AgnosticBase;
  readonly maxFeatures: number;

  constructor(predictor: Predictor, background: RowsInput | Background, options: ExactOptions = {}) {
    const maxFeatures = options.maxFeatures ?? EXACT_DEFAULT_MAX_FEATURES;
    if (!Number.isInteger(maxFeatures) || maxFeatures < 1 || maxFeatures > EXACT_HARD_MAX_FEATURES) {
      throw new ShapError('INVALID_OPTION', `maxFeatures must be an integer in 1..${EXACT_HARD_MAX_FEATURES}, got ${maxFeatures}.`);
    }
    this.maxFeatures = maxFeatures;
    if (predictor && Number.isInteger(predictor.nFeatures) && predictor.nFeatures > maxFeatures) {
      throw new ShapError(
        'TOO_MANY_FEATURES',
        `The exact explainer enumerates all 2^M feature subsets; this model has M = ${predictor.nFeatures} features (limit ${maxFeatures}, ` +
          `2^${predictor.nFeatures} = ${2 ** predictor.nFeatures} coalitions per row x background rows). Use KernelExplainer or PermutationExplainer instead` +
          (predictor.nFeatures <= EXACT_HARD_MAX_FEATURES ? `, or raise maxFeatures (up to ${EXACT_HARD_MAX_FEATURES}) if you can afford it.` : '.'),
      );
    }
    this.base = new AgnosticBase(predictor, background, options);
  }

  async explain(X: RowsInput, options: ExactExplainOptions = {}): Promise<Explanation> {
    const startMs = performance.now();
    const b = this.base;
    const cancel = new Cancellation(checkSignal(options.signal));
    cancel.check();
    const rows = b.rows(X);
    const F = b.nFeatures;
    const D = b.nOutputs;
    const { ev, base, fx, values, baseOut } = await b.start(rows, cancel);
    // Shapley weights per subset size for up to F players, recomputed per M below
    const weight = new Float64Array(F + 1);
    for (let r = 0; r < rows.rows; r++) {
      if (cancel.signal) await cancel.pause();
      baseOut.set(base, r * D);
      const x = rows.data.subarray(r * F, r * F + F);
      const players = varyingFeatures(x, b.background, false);
      const M = players.length;
      if (M === 0) continue;
      const nMasks = 2 ** M;
      const masks = new Uint8Array(nMasks * M);
      for (let s = 0; s < nMasks; s++) for (let p = 0; p < M; p++) masks[s * M + p] = (s >>> p) & 1;
      const v = new Float64Array(nMasks * D);
      await ev.evaluate(x, masks, nMasks, players, v);
      applyLink(b.link, v);
      // w(s) = s!(M-s-1)!/M!
      for (let s = 0; s < M; s++) weight[s] = 1 / (M * binom(M - 1, s));
      const phi = new Float64Array(M * D);
      for (let S = 0; S < nMasks; S++) {
        const size = popcount(S);
        if (size === M) continue;
        const w = weight[size]!;
        for (let p = 0; p < M; p++) {
          const bit = 1 << p;
          if (S & bit) continue;
          const o1 = (S | bit) * D;
          const o0 = S * D;
          for (let d = 0; d < D; d++) phi[p * D + d]! += w * (v[o1 + d]! - v[o0 + d]!);
        }
      }
      for (let p = 0; p < M; p++) for (let d = 0; d < D; d++) values[(r * F + players[p]!) * D + d] = phi[p * D + d]!;
    }
    return b.explanation(ev, rows, {
      method: 'exact_shap',
      values,
      base: baseOut,
      predictions: fx,
      parameters: { link: b.link, backgroundRows: b.background.rows, maxBatch: b.maxBatch, maxFeatures: this.maxFeatures },
      startMs,
    });
  }
}

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
