/**
 * LinearSHAP (shap's LinearExplainer) for linear models f(x) = W x + b, in margin space:
 * - `interventional` (independent features): phi_j = w_j (x_j - mean_j), exact;
 * - `correlation_dependent`: conditional expectations under a Gaussian with the background mean and
 *   covariance; the feature-by-feature transform is estimated by averaging over `nsamples` random
 *   feature orderings (default 1000, seeded) with Schur-complement updates, as shap does.
 */
import { DEFAULT_SEED, Rng, symmetricEigen, type Explanation } from '@genome/model-format';
import { isBackground, type Background } from './background.js';
import { ShapError } from './errors.js';
import { checkSeed } from './seed.js';
import { buildExplanation } from './result.js';
import { resolveFeatureNames, toDenseRows, type RowsInput } from './rows.js';


/**
 * The structural shape of a linear model (what model-format's LinearModel exposes): `coefficients` is
 * `nOutputs x nFeatures` row-major, one intercept per output. Values are margins (before any logistic/softmax).
 */
export interface LinearModelLike {
  readonly coefficients: ArrayLike<number>;
  readonly intercepts: ArrayLike<number>;
  readonly nFeatures: number;
  readonly outputNames?: readonly string[];
}

/** Background summary for LinearSHAP: feature means and (for correlation_dependent) the covariance. */
export interface LinearStats {
  readonly mean: ArrayLike<number>;
  /** `nFeatures x nFeatures` row-major. */
  readonly covariance?: ArrayLike<number>;
}

export type FeaturePerturbation = 'interventional' | 'correlation_dependent';

export interface LinearOptions {
  featurePerturbation?: FeaturePerturbation;
  /** Orderings sampled to estimate the correlation_dependent transform (default 1000). */
  nsamples?: number;
  seed?: number;
  featureNames?: readonly string[];
}

/** Weighted mean and unbiased covariance (numpy.cov with aweights, as shap computes it) of background rows. */
export function linearStats(data: RowsInput | Background, nFeatures?: number): Required<LinearStats> {
  let X: Float64Array;
  let n: number;
  let F: number;
  let w: Float64Array;
  if (isBackground(data)) {
    X = data.data;
    n = data.rows;
    F = data.cols;
    w = data.weights;
  } else {
    const cols = nFeatures ?? (Array.isArray(data) ? ((data as number[][])[0]?.length ?? 0) : (data as { cols: number }).cols);
    const d = toDenseRows(data, cols, 'background', false);
    X = d.data;
    n = d.rows;
    F = cols;
    w = new Float64Array(n).fill(1 / n);
  }
  if (n < 1) throw new ShapError('INVALID_INPUT', 'Background data is empty: pass at least one row.');
  const mean = new Float64Array(F);
  for (let r = 0; r < n; r++) for (let j = 0; j < F; j++) mean[j]! += w[r]! * X[r * F + j]!;
  const cov = new Float64Array(F * F);
  // unbiased weighted covariance (numpy.cov with aweights): sum w (x-m)(x-m)^T / (1 - sum w^2)
  let w2 = 0;
  for (let r = 0; r < n; r++) w2 += w[r]! * w[r]!;
  const denom = n > 1 ? 1 - w2 : 1;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < F; i++) {
      const di = w[r]! * (X[r * F + i]! - mean[i]!);
      for (let j = 0; j <= i; j++) cov[i * F + j]! += di * (X[r * F + j]! - mean[j]!);
    }
  }
  for (let i = 0; i < F; i++) {
    for (let j = 0; j <= i; j++) {
      cov[i * F + j]! /= denom;
      cov[j * F + i] = cov[i * F + j]!;
    }
  }
  return { mean, covariance: cov };
}

export class LinearExplainer {
  readonly nFeatures: number;
  readonly nOutputs: number;
  readonly featurePerturbation: FeaturePerturbation;
  readonly nsamples: number;
  readonly seed: number;
  private readonly coef: Float64Array;
  private readonly intercepts: Float64Array;
  private readonly mean: Float64Array;
  private readonly featureNames: string[];
  private readonly outputNames: string[];
  /** Per output: x_transform (F x F) and mean_transform @ mean (F), for correlation_dependent. */
  private readonly xTransform: Float64Array[] = [];
  private readonly meanTransformed: Float64Array[] = [];

  constructor(model: LinearModelLike, background: LinearStats | RowsInput | Background, options: LinearOptions = {}) {
    if (!model || !Number.isInteger(model.nFeatures) || model.nFeatures < 1) {
      throw new ShapError('INVALID_INPUT', 'model must be a linear model {coefficients, intercepts, nFeatures}.');
    }
    const F = model.nFeatures;
    const D = model.intercepts?.length ?? 0;
    if (D < 1 || model.coefficients?.length !== D * F) {
      throw new ShapError(
        'INVALID_INPUT',
        `Linear model has ${model.coefficients?.length} coefficients and ${D} intercepts; expected nOutputs x nFeatures = ${D} x ${F} coefficients (row-major, one row per output).`,
      );
    }
    this.nFeatures = F;
    this.nOutputs = D;
    this.coef = Float64Array.from(model.coefficients);
    this.intercepts = Float64Array.from(model.intercepts);
    if (this.coef.some((v) => !Number.isFinite(v)) || this.intercepts.some((v) => !Number.isFinite(v))) {
      throw new ShapError('INVALID_INPUT', 'Linear model coefficients and intercepts must be finite.');
    }
    this.featureNames = resolveFeatureNames(options.featureNames, F);
    this.outputNames = model.outputNames ? [...model.outputNames] : Array.from({ length: D }, (_, i) => `output${i}`);
    if (this.outputNames.length !== D) throw new ShapError('INVALID_INPUT', `model.outputNames has ${this.outputNames.length} names for ${D} outputs.`);
    const fp = options.featurePerturbation ?? 'interventional';
    if (fp !== 'interventional' && fp !== 'correlation_dependent') {
      throw new ShapError('INVALID_OPTION', `featurePerturbation must be 'interventional' or 'correlation_dependent', got ${String(fp)}.`);
    }
    this.featurePerturbation = fp;
    this.nsamples = options.nsamples ?? 1000;
    if (!Number.isInteger(this.nsamples) || this.nsamples < 1) throw new ShapError('INVALID_OPTION', `nsamples must be a positive integer, got ${this.nsamples}.`);
    this.seed = checkSeed(options.seed ?? DEFAULT_SEED);

    const stats: LinearStats =
      background && typeof background === 'object' && 'mean' in background && !Array.isArray(background)
        ? (background as LinearStats)
        : linearStats(background as RowsInput | Background, F);
    if (stats.mean.length !== F) throw new ShapError('INVALID_INPUT', `Background mean has ${stats.mean.length} values but the model takes ${F} features.`);
    this.mean = Float64Array.from(stats.mean);
    if (this.mean.some((v) => !Number.isFinite(v))) throw new ShapError('INVALID_INPUT', 'Background mean must be finite (impute missing values first).');
    if (fp === 'correlation_dependent') {
      if (!stats.covariance || stats.covariance.length !== F * F) {
        throw new ShapError('INVALID_INPUT', `correlation_dependent needs an ${F} x ${F} covariance (pass background rows or {mean, covariance}).`);
      }
      const cov = Float64Array.from(stats.covariance);
      // like shap: regularise a (nearly) singular covariance
      const ev = new Float64Array(F);
      symmetricEigen(cov, F, ev, new Float64Array(F * F));
      let minEv = Infinity;
      for (let i = 0; i < F; i++) minEv = Math.min(minEv, ev[i]!);
      if (minEv < 1e-7) for (let i = 0; i < F; i++) cov[i * F + i]! += 1e-6;
      for (let d = 0; d < D; d++) {
        const { meanTransform, xTransform } = estimateTransforms(cov, this.coef.subarray(d * F, d * F + F), F, this.nsamples, new Rng(this.seed));
        const mt = new Float64Array(F);
        for (let i = 0; i < F; i++) {
          let s = 0;
          for (let j = 0; j < F; j++) s += meanTransform[i * F + j]! * this.mean[j]!;
          mt[i] = s;
        }
        this.xTransform.push(xTransform);
        this.meanTransformed.push(mt);
      }
    }
  }

  /** Base values: intercept + w . mean, per output (margin space). */
  expectedValue(): number[] {
    const F = this.nFeatures;
    const out: number[] = [];
    for (let d = 0; d < this.nOutputs; d++) {
      let s = this.intercepts[d]!;
      for (let j = 0; j < F; j++) s += this.coef[d * F + j]! * this.mean[j]!;
      out.push(s);
    }
    return out;
  }

  explain(X: RowsInput): Explanation {
    const startMs = performance.now();
    const F = this.nFeatures;
    const D = this.nOutputs;
    const rows = toDenseRows(X, F, 'rows to explain', false);
    const values = new Float64Array(rows.rows * F * D);
    const base = new Float64Array(rows.rows * D);
    const preds = new Float64Array(rows.rows * D);
    const ev = this.expectedValue();
    for (let r = 0; r < rows.rows; r++) {
      const xo = r * F;
      for (let d = 0; d < D; d++) {
        base[r * D + d] = ev[d]!;
        let f = this.intercepts[d]!;
        for (let j = 0; j < F; j++) f += this.coef[d * F + j]! * rows.data[xo + j]!;
        preds[r * D + d] = f;
        if (this.featurePerturbation === 'interventional') {
          for (let j = 0; j < F; j++) values[(xo + j) * D + d] = this.coef[d * F + j]! * (rows.data[xo + j]! - this.mean[j]!);
        } else {
          const T = this.xTransform[d]!;
          const mt = this.meanTransformed[d]!;
          for (let i = 0; i < F; i++) {
            let s = -mt[i]!;
            for (let j = 0; j < F; j++) s += T[i * F + j]! * rows.data[xo + j]!;
            values[(xo + i) * D + d] = s;
          }
        }
      }
    }
    return buildExplanation({
      method: 'linear_shap',
      nRows: rows.rows,
      nFeatures: F,
      nOutputs: D,
      values,
      base,
      predictions: preds,
      data: rows.data,
      featureNames: this.featureNames,
      outputNames: this.outputNames,
      outputSpace: 'raw',
      parameters:
        this.featurePerturbation === 'interventional'
          ? { featurePerturbation: this.featurePerturbation }
          : { featurePerturbation: this.featurePerturbation, nsamples: this.nsamples },
      ...(this.featurePerturbation === 'correlation_dependent' ? { seed: this.seed } : {}),
      startMs,
    });
  }
}

/**
 * shap's transform estimate: for random orderings, grow S one feature at a time keeping inv(cov[S,S]) by a
 * Schur-complement update, and accumulate coef @ (R(S u i) - R(S)) where R(S) = cov[:,S] inv(cov[S,S]).
 */
function estimateTransforms(
  cov: Float64Array,
  coef: Float64Array,
  F: number,
  nsamples: number,
  rng: Rng,
): { meanTransform: Float64Array; xTransform: Float64Array } {
  const meanT = new Float64Array(F * F);
  const xT = new Float64Array(F * F);
  const inds = new Int32Array(F);
  for (let i = 0; i < F; i++) inds[i] = i;
  let invS = new Float64Array(F * F); // inverse of cov[S,S], j x j (stride F)
  let invSi = new Float64Array(F * F);
  const t = new Float64Array(F);
  const coefRS = new Float64Array(F); // coef @ R(S) restricted, indexed by position in S
  const coefRSi = new Float64Array(F);
  const tmpRow = new Float64Array(F);
  for (let it = 0; it < nsamples; it++) {
    rng.shuffle(inds);
    // coefRS for empty S is empty
    for (let j = 0; j < F; j++) {
      const i = inds[j]!;
      // new inverse for S u {i} (positions 0..j)
      // t = invS @ d, d = cov[i, S]
      let tdot = 0;
      for (let a = 0; a < j; a++) {
        let s = 0;
        for (let b = 0; b < j; b++) s += invS[a * F + b]! * cov[i * F + inds[b]!]!;
        t[a] = s;
        tdot += s * cov[i * F + inds[a]!]!;
      }
      const u = cov[i * F + i]! - tdot;
      for (let a = 0; a < j; a++) {
        for (let b = 0; b < j; b++) invSi[a * F + b] = invS[a * F + b]! + (t[a]! * t[b]!) / u;
        invSi[a * F + j] = -t[a]! / u;
        invSi[j * F + a] = -t[a]! / u;
      }
      invSi[j * F + j] = 1 / u;
      // coef_R_Si = coef[rest after j] @ (cov[rest, S u i] @ invSi)  -> vector over positions 0..j
      computeCoefR(cov, coef, inds, F, j + 1, j + 1, invSi, coefRSi, tmpRow);
      // coef_R_S = coef[positions j..] @ (cov[those, S] @ invS) -> vector over positions 0..j-1
      computeCoefR(cov, coef, inds, F, j, j, invS, coefRS, tmpRow);
      meanT[i * F + i]! += coef[i]!;
      xT[i * F + i]! += coef[i]!;
      for (let a = 0; a <= j; a++) {
        meanT[i * F + inds[a]!]! += coefRSi[a]!;
        xT[i * F + inds[a]!]! += coefRSi[a]!;
      }
      for (let a = 0; a < j; a++) {
        meanT[i * F + inds[a]!]! -= coefRS[a]!;
        xT[i * F + inds[a]!]! -= coefRS[a]!;
      }
      const sw = invS;
      invS = invSi;
      invSi = sw;
    }
  }
  for (let k = 0; k < F * F; k++) {
    meanT[k]! /= nsamples;
    xT[k]! /= nsamples;
  }
  return { meanTransform: meanT, xTransform: xT };
}

/**
 * out[a] (a < size) = sum over positions q >= from of coef[inds[q]] * (cov[inds[q], S] @ inv)[a],
 * where S = inds[0..size) and inv is size x size with stride F.
 */
function computeCoefR(
  cov: Float64Array,
  coef: Float64Array,
  inds: Int32Array,
  F: number,
  size: number,
  from: number,
  inv: Float64Array,
  out: Float64Array,
  tmp: Float64Array,
): void {
  // tmp[b] = sum_q coef[inds[q]] * cov[inds[q], inds[b]]
  for (let b = 0; b < size; b++) {
    let s = 0;
    for (let q = from; q < F; q++) s += coef[inds[q]!]! * cov[inds[q]! * F + inds[b]!]!;
    tmp[b] = s;
  }
  for (let a = 0; a < size; a++) {
    let s = 0;
    for (let b = 0; b < size; b++) s += tmp[b]! * inv[b * F + a]!;
    out[a] = s;
  }
}
