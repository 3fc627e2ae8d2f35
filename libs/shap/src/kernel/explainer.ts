/**
 * KernelSHAP (Lundberg & Lee 2017) for any tabular Predictor, following shap's KernelExplainer: varying-
 * feature detection, kernel-weighted coalition sampling (complete enumeration when the budget allows),
 * batched model calls over a weighted background, optional l1 feature selection and a weighted least-squares
 * fit constrained to add up to f(x) - E[f].
 */
import { DEFAULT_SEED, Rng, rowStream, type Explanation, type Predictor } from '@genome/model-format';
import { Cancellation, checkSignal } from '../abort.js';
import { AgnosticBase, type AgnosticOptions, type CancellableOptions } from '../agnostic.js';
import type { Background } from '../background.js';
import { varyingFeatures } from '../coalitions.js';
import { ShapError } from '../errors.js';
import { applyLink } from '../link.js';
import { checkSeed } from '../seed.js';
import type { RowsInput } from '../rows.js';
import { selectInformationCriterion, selectNumFeatures, type GramStats } from './lars.js';
import { kernelSamples, resolveNsamples } from './sampler.js';
import { ConstrainedWls, samplesPerStep } from './wls.js';

/**
 * l1 regularisation (feature selection before the final fit): `false` (default: none), `'aic'`, `'bic'`,
 * `'num_features(k)'` / `{ numFeatures: k }`, or `'auto'` (shap's legacy rule: AIC when fewer than 20% of
 * the subsets are evaluated).
 */
export type L1Reg = false | 'auto' | 'aic' | 'bic' | `num_features(${number})` | { numFeatures: number };

export interface KernelExplainOptions extends CancellableOptions {
  /** Coalitions per explained row: a number or `'auto'` = 2M + 2048 (M = varying features); capped at 2^M - 2. */
  nsamples?: number | 'auto';
  l1Reg?: L1Reg;
  /**
   * Seed of the sampler. Each row draws from its own stream of (seed, the row's values), so the same seed and row give
   * the same values alone or anywhere in any batch (`rowStream` of @genome/model-format).
   */
  seed?: number;
}

type ParsedL1 = { kind: 'none' } | { kind: 'auto' } | { kind: 'ic'; criterion: 'aic' | 'bic' } | { kind: 'k'; k: number };

function parseL1(v: unknown): ParsedL1 {
  if (v === undefined || v === false || v === 0) return { kind: 'none' };
  if (v === 'auto') return { kind: 'auto' };
  if (v === 'aic' || v === 'bic') return { kind: 'ic', criterion: v };
  if (typeof v === 'string') {
    const m = /^num_features\((\d+)\)$/.exec(v);
    if (m) return checkK(Number(m[1]));
  }
  if (v && typeof v === 'object' && 'numFeatures' in v) return checkK((v as { numFeatures: number }).numFeatures);
  throw new ShapError('INVALID_OPTION', `l1Reg must be false, 'auto', 'aic', 'bic', 'num_features(k)' or {numFeatures: k}; got ${JSON.stringify(v)}.`);
}

function checkK(k: number): ParsedL1 {
  if (!Number.isInteger(k) || k < 1) throw new ShapError('INVALID_OPTION', `num_features(k) needs a positive integer k, got ${k}.`);
  return { kind: 'k', k };
}

function checkNsamples(v: unknown): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 2) {
    throw new ShapError('INVALID_OPTION', `nsamples must be 'auto' or an integer >= 2, got ${String(v)}.`);
  }
  return v;
}

export class KernelExplainer {
  private readonly base: AgnosticBase;

  constructor(predictor: Predictor, background: RowsInput | Background, options: AgnosticOptions = {}) {
    this.base = new AgnosticBase(predictor, background, options);
  }

  get background(): Background {
    return this.base.background;
  }

  /** Base value E[f(background)] after the link, one per output. */
  async expectedValue(): Promise<number[]> {
    const ev = this.base.newEvaluator();
    return Array.from(this.base.linked(await this.base.rawBase(ev)));
  }

  async explain(X: RowsInput, options: KernelExplainOptions = {}): Promise<Explanation> {
    const startMs = performance.now();
    const b = this.base;
    const cancel = new Cancellation(checkSignal(options.signal));
    cancel.check();
    const nsamplesOpt = checkNsamples(options.nsamples);
    const l1 = parseL1(options.l1Reg);
    const seed = checkSeed(options.seed ?? DEFAULT_SEED);
    const rows = b.rows(X);
    const F = b.nFeatures;
    const D = b.nOutputs;
    if (typeof nsamplesOpt === 'number') {
      const need = Math.min(F + 1, 2 ** Math.min(F, 30) - 2);
      if (nsamplesOpt < need) {
        throw new ShapError(
          'INVALID_OPTION',
          `nsamples=${nsamplesOpt} is too small for ${F} features: KernelSHAP needs at least ${need} coalitions to fit one value per feature; use 'auto' (2M + 2048) or more.`,
        );
      }
    }
    const { ev, base, fx, values, baseOut } = await b.start(rows, cancel);

    const samplesUsed: number[] = [];
    const complete: boolean[] = [];
    const singular: boolean[] = [];
    const phi = new Float64Array(F);
    const delta = new Float64Array(D);
    for (let r = 0; r < rows.rows; r++) {
      if (cancel.signal) await cancel.pause();
      baseOut.set(base, r * D);
      for (let d = 0; d < D; d++) delta[d] = fx[r * D + d]! - base[d]!;
      const x = rows.data.subarray(r * F, r * F + F);
      const varying = varyingFeatures(x, b.background, true);
      const M = varying.length;
      if (M <= 1) {
        if (M === 1) for (let d = 0; d < D; d++) values[(r * F + varying[0]!) * D + d] = delta[d]!;
        samplesUsed.push(0);
        complete.push(true);
        singular.push(false);
        continue;
      }
      const s = kernelSamples(M, nsamplesOpt, new Rng(rowStream(seed, x)));
      const ey = new Float64Array(s.count * D);
      await ev.evaluate(x, s.masks, s.count, varying, ey);
      applyLink(b.link, ey);
      for (let i = 0; i < s.count; i++) for (let d = 0; d < D; d++) ey[i * D + d]! -= base[d]!;
      const useL1 = l1.kind === 'ic' || l1.kind === 'k' || (l1.kind === 'auto' && s.fractionEvaluated < 0.2);
      const wls = new ConstrainedWls(M);
      // With a signal, the normal equations are built in steps with pauses between them.
      const pause = cancel.signal ? () => cancel.pause() : undefined;
      let isSingular = false;
      if (!useL1) {
        await wls.factor(s.masks, s.weights, s.count, Int32Array.from({ length: M }, (_, i) => i), pause);
        isSingular = wls.solver.singular;
      }
      for (let d = 0; d < D; d++) {
        if (useL1) {
          const stats = await augmentedStats(s.masks, s.weights, s.count, M, ey, D, d, delta[d]!, pause);
          if (pause) await pause();
          const sel =
            l1.kind === 'k' ? selectNumFeatures(stats, l1.k) : selectInformationCriterion(stats, l1.kind === 'ic' ? l1.criterion : 'aic');
          if (pause) await pause();
          await wls.factor(s.masks, s.weights, s.count, sel, pause);
          isSingular ||= wls.solver.singular;
        }
        wls.solve(s.masks, s.weights, s.count, ey, D, d, delta[d]!, phi);
        for (let j = 0; j < M; j++) values[(r * F + varying[j]!) * D + d] = phi[j]!;
      }
      samplesUsed.push(s.count);
      complete.push(s.complete);
      singular.push(isSingular);
    }
    return b.explanation(ev, rows, {
      method: 'kernel_shap',
      values,
      base: baseOut,
      predictions: fx,
      parameters: {
        nsamples: nsamplesOpt === 'auto' ? 'auto' : resolveNsamples(nsamplesOpt, F).nsamples,
        l1Reg: options.l1Reg ?? false,
        link: b.link,
        backgroundRows: b.background.rows,
        maxBatch: b.maxBatch,
      },
      seed,
      startMs,
      details: { samplesUsed, fullEnumeration: complete, singularSystem: singular },
    });
  }
}

/** Gram statistics of shap's augmented l1 design (both the coalition and its efficiency-mirrored row). */
async function augmentedStats(
  masks: Uint8Array,
  weights: Float64Array,
  count: number,
  M: number,
  y: Float64Array,
  D: number,
  d: number,
  delta: number,
  pause?: () => Promise<void>,
): Promise<GramStats> {
  const gram = new Float64Array(M * M);
  const xty = new Float64Array(M);
  const xsum = new Float64Array(M);
  let yty = 0;
  let ysum = 0;
  const step = samplesPerStep((M * (M + 1)) / 2);
  for (let s = 0; s < count; s++) {
    if (pause && s > 0 && s % step === 0) await pause();
    const o = s * M;
    let size = 0;
    for (let j = 0; j < M; j++) size += masks[o + j]!;
    const w1 = weights[s]! * (M - size);
    const w2 = weights[s]! * size;
    const r1 = Math.sqrt(w1);
    const r2 = Math.sqrt(w2);
    const y1 = y[s * D + d]!;
    const y2 = y1 - delta;
    yty += w1 * y1 * y1 + w2 * y2 * y2;
    ysum += r1 * y1 + r2 * y2;
    for (let i = 0; i < M; i++) {
      const mi = masks[o + i]!;
      const ni = mi - 1;
      xty[i]! += w1 * mi * y1 + w2 * ni * y2;
      xsum[i]! += r1 * mi + r2 * ni;
      for (let j = 0; j <= i; j++) gram[i * M + j]! += w1 * mi * masks[o + j]! + w2 * ni * (masks[o + j]! - 1);
    }
  }
  for (let i = 0; i < M; i++) for (let j = 0; j < i; j++) gram[j * M + i] = gram[i * M + j]!;
  return { p: M, n: 2 * count, gram, xty, yty, xsum, ysum };
}
