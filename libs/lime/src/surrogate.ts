/**
 * The weighted linear surrogate of lime's `LimeBase`: kernel-weighted ridge regression with intercept
 * (sklearn `Ridge(alpha, fit_intercept=True)` with `sample_weight`), its weighted R^2 score, and the
 * feature-selection methods `forward_selection`, `highest_weights`, `lasso_path`, `none` and `auto`.
 *
 * Everything works from the weighted, centred sufficient statistics (Gram matrix `G = Xcᵀ W Xc`,
 * `b = Xcᵀ W yc`, `syy = ycᵀ W yc`), computed once per label in O(n·d²): every subset fit is then a
 * small solve, so forward selection costs no extra passes over the samples.
 */
import { LimeError } from './errors.js';
import { solveSymmetric } from './linalg.js';

export type FeatureSelection = 'auto' | 'forward_selection' | 'highest_weights' | 'lasso_path' | 'none';

export const FEATURE_SELECTIONS: readonly FeatureSelection[] = ['auto', 'forward_selection', 'highest_weights', 'lasso_path', 'none'];

/** Weighted centred statistics of a design matrix and one target column. */
export interface WeightedStats {
  readonly n: number;
  readonly d: number;
  readonly xMean: Float64Array;
  readonly yMean: number;
  /** d x d, row-major. */
  readonly gram: Float64Array;
  readonly xty: Float64Array;
  readonly syy: number;
}

/** Weighted means of the columns of `X` (`n x d`, row-major). Shared by every label of one explanation. */
export function weightedColumnMeans(X: Float64Array, n: number, d: number, w: Float64Array): Float64Array {
  const mean = new Float64Array(d);
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    wsum += wi;
    const off = i * d;
    for (let j = 0; j < d; j++) mean[j] += wi * X[off + j]!;
  }
  if (!(wsum > 0)) throw new LimeError('INVALID_INPUT', 'All kernel weights are zero: increase kernelWidth or check the distances.');
  for (let j = 0; j < d; j++) mean[j] /= wsum;
  return mean;
}

/** Multiply-adds of the Gram matrix done between two pauses (a few milliseconds). */
const GRAM_STEP = 4_000_000;

/**
 * Weighted centred Gram matrix of `X` (label independent). With `pause`, it is awaited every few million
 * multiply-adds (the sums accumulate in the same order, so the result is the same).
 */
export async function weightedGram(X: Float64Array, n: number, d: number, w: Float64Array, xMean: Float64Array, pause?: () => Promise<void>): Promise<Float64Array> {
  const G = new Float64Array(d * d);
  const xc = new Float64Array(d);
  const rowsPerStep = Math.max(1, Math.floor(GRAM_STEP / Math.max(1, (d * (d + 1)) / 2)));
  for (let i = 0; i < n; i++) {
    if (pause && i > 0 && i % rowsPerStep === 0) await pause();
    const wi = w[i]!;
    if (wi === 0) continue;
    const off = i * d;
    for (let j = 0; j < d; j++) xc[j] = X[off + j]! - xMean[j]!;
    for (let j = 0; j < d; j++) {
      const v = wi * xc[j]!;
      if (v === 0) continue;
      const row = j * d;
      for (let k = j; k < d; k++) G[row + k] += v * xc[k]!;
    }
  }
  for (let j = 0; j < d; j++) for (let k = 0; k < j; k++) G[j * d + k] = G[k * d + j]!;
  return G;
}

/** Completes the statistics with one target column `y`. */
export function weightedStats(
  X: Float64Array,
  n: number,
  d: number,
  w: Float64Array,
  xMean: Float64Array,
  gram: Float64Array,
  y: Float64Array,
): WeightedStats {
  let wsum = 0;
  let ym = 0;
  for (let i = 0; i < n; i++) {
    wsum += w[i]!;
    ym += w[i]! * y[i]!;
  }
  ym /= wsum;
  const xty = new Float64Array(d);
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    const yc = y[i]! - ym;
    syy += wi * yc * yc;
    const v = wi * yc;
    const off = i * d;
    for (let j = 0; j < d; j++) xty[j] += v * (X[off + j]! - xMean[j]!);
  }
  return { n, d, xMean, yMean: ym, gram, xty, syy };
}

/** A fitted surrogate on a subset of features. */
export interface SubsetFit {
  readonly features: Int32Array;
  readonly coef: Float64Array;
  readonly intercept: number;
  /** Weighted R^2 on the samples (sklearn `score(X, y, sample_weight)`). */
  readonly score: number;
}

/** Weighted ridge on the columns `features` (alpha = 0 is ordinary weighted least squares). */
export function fitSubset(stats: WeightedStats, features: Int32Array, alpha: number): SubsetFit {
  const k = features.length;
  const d = stats.d;
  const coef = new Float64Array(k);
  let rss = stats.syy;
  if (k > 0) {
    const A = new Float64Array(k * k);
    const rhs = new Float64Array(k);
    for (let a = 0; a < k; a++) {
      const fa = features[a]!;
      rhs[a] = stats.xty[fa]!;
      for (let c = 0; c < k; c++) A[a * k + c] = stats.gram[fa * d + features[c]!]!;
      A[a * k + a] += alpha;
    }
    if (!solveSymmetric(A, rhs, k, coef)) {
      throw new LimeError('MODEL_OUTPUT', 'Surrogate fit failed: the sampled data or model outputs contain non-finite values.');
    }
    // RSS = syy - 2 βᵀb + βᵀ G β  (on the unpenalised Gram).
    let bb = 0;
    let quad = 0;
    for (let a = 0; a < k; a++) {
      const fa = features[a]!;
      bb += coef[a]! * stats.xty[fa]!;
      let row = 0;
      for (let c = 0; c < k; c++) row += stats.gram[fa * d + features[c]!]! * coef[c]!;
      quad += coef[a]! * row;
    }
    rss = stats.syy - 2 * bb + quad;
    if (rss < 0) rss = 0;
  }
  let intercept = stats.yMean;
  for (let a = 0; a < k; a++) intercept -= coef[a]! * stats.xMean[features[a]!]!;
  // sklearn r2_score with force_finite: constant target -> 1 if perfect else 0.
  let score: number;
  if (stats.syy <= 1e-300) score = rss <= 1e-300 ? 1 : 0;
  else score = 1 - rss / stats.syy;
  return { features, coef, intercept, score };
}

/** lime `forward_selection`: greedily add the feature that maximises the weighted R^2 of an OLS fit. */
export function forwardSelection(stats: WeightedStats, numFeatures: number): Int32Array {
  const d = stats.d;
  const limit = Math.min(numFeatures, d);
  const used: number[] = [];
  const inUse = new Uint8Array(d);
  for (let step = 0; step < limit; step++) {
    let best = 0;
    let max = -100000000;
    const trial = new Int32Array(used.length + 1);
    for (let u = 0; u < used.length; u++) trial[u] = used[u]!;
    for (let f = 0; f < d; f++) {
      if (inUse[f]) continue;
      trial[used.length] = f;
      const s = fitSubset(stats, trial, 0).score;
      if (s > max) {
        best = f;
        max = s;
      }
    }
    used.push(best);
    inUse[best] = 1;
  }
  return Int32Array.from(used);
}

/** lime `highest_weights`: ridge (alpha 0.01) on all features, keep the largest |coef * x0|. */
export function highestWeights(stats: WeightedStats, x0: Float64Array, numFeatures: number): Int32Array {
  const d = stats.d;
  const all = new Int32Array(d);
  for (let j = 0; j < d; j++) all[j] = j;
  const fit = fitSubset(stats, all, 0.01);
  const order = Array.from(all);
  // Python's sorted is stable: ties keep index order.
  order.sort((a, b) => Math.abs(fit.coef[b]! * x0[b]!) - Math.abs(fit.coef[a]! * x0[a]!));
  return Int32Array.from(order.slice(0, Math.min(numFeatures, d)));
}

/**
 * LARS with the lasso modification (sklearn `lars_path(method='lasso')`) from the Gram matrix of the
 * weighted centred data. Returns the coefficient vector at every knot, starting with all zeros.
 */
export function lassoPath(gram: Float64Array, xty: Float64Array, d: number, maxIter = 500): Float64Array[] {
  const beta = new Float64Array(d);
  const path: Float64Array[] = [beta.slice()];
  const c = xty.slice();
  const active: number[] = [];
  const isActive = new Uint8Array(d);
  let C = 0;
  let j0 = -1;
  for (let j = 0; j < d; j++) {
    if (Math.abs(c[j]!) > C) {
      C = Math.abs(c[j]!);
      j0 = j;
    }
  }
  const tiny = 1e-12 * Math.max(1, C);
  if (j0 < 0 || C <= tiny) return path;
  active.push(j0);
  isActive[j0] = 1;
  for (let iter = 0; iter < maxIter; iter++) {
    const k = active.length;
    const GA = new Float64Array(k * k);
    const s = new Float64Array(k);
    for (let a = 0; a < k; a++) {
      s[a] = c[active[a]!]! >= 0 ? 1 : -1;
      for (let b = 0; b < k; b++) GA[a * k + b] = gram[active[a]! * d + active[b]!]!;
    }
    const x = new Float64Array(k);
    if (!solveSymmetric(GA, s, k, x)) break;
    let sx = 0;
    for (let a = 0; a < k; a++) sx += s[a]! * x[a]!;
    if (!(sx > 0)) break; // degenerate (collinear) active set: sklearn stops here too
    const AA = 1 / Math.sqrt(sx);
    for (let a = 0; a < k; a++) x[a] *= AA; // equiangular direction in coefficient space
    let gamma = C / AA;
    let addIdx = -1;
    for (let j = 0; j < d; j++) {
      if (isActive[j]) continue;
      let aj = 0;
      for (let a = 0; a < k; a++) aj += gram[j * d + active[a]!]! * x[a]!;
      const g1 = (C - c[j]!) / (AA - aj);
      const g2 = (C + c[j]!) / (AA + aj);
      if (g1 > tiny && g1 < gamma) {
        gamma = g1;
        addIdx = j;
      }
      if (g2 > tiny && g2 < gamma) {
        gamma = g2;
        addIdx = j;
      }
    }
    let dropPos = -1;
    for (let a = 0; a < k; a++) {
      const z = -beta[active[a]!]! / x[a]!;
      if (z > tiny && z < gamma) {
        gamma = z;
        dropPos = a;
        addIdx = -1;
      }
    }
    for (let a = 0; a < k; a++) beta[active[a]!] += gamma * x[a]!;
    for (let j = 0; j < d; j++) {
      let gb = 0;
      for (let a = 0; a < active.length; a++) gb += gram[j * d + active[a]!]! * beta[active[a]!]!;
      c[j] = xty[j]! - gb;
    }
    C -= gamma * AA;
    if (dropPos >= 0) {
      const j = active[dropPos]!;
      beta[j] = 0;
      isActive[j] = 0;
      active.splice(dropPos, 1);
    }
    path.push(beta.slice());
    if (addIdx >= 0) {
      active.push(addIdx);
      isActive[addIdx] = 1;
    } else if (dropPos < 0) break;
    if (C <= tiny || active.length === 0) break;
  }
  return path;
}

/** lime `lasso_path` selection: the smallest-alpha knot with at most `numFeatures` non-zero coefficients. */
export function lassoSelection(stats: WeightedStats, numFeatures: number): Int32Array {
  const path = lassoPath(stats.gram, stats.xty, stats.d);
  let nonzero: number[] = [];
  for (let j = 0; j < stats.d; j++) nonzero.push(j);
  for (let i = path.length - 1; i > 0; i--) {
    const coefs = path[i]!;
    nonzero = [];
    for (let j = 0; j < stats.d; j++) if (coefs[j] !== 0) nonzero.push(j);
    if (nonzero.length <= numFeatures) break;
  }
  return Int32Array.from(nonzero);
}

export function selectFeatures(stats: WeightedStats, x0: Float64Array, numFeatures: number, method: FeatureSelection): Int32Array {
  switch (method) {
    case 'none': {
      const all = new Int32Array(stats.d);
      for (let j = 0; j < stats.d; j++) all[j] = j;
      return all;
    }
    case 'forward_selection':
      return forwardSelection(stats, numFeatures);
    case 'highest_weights':
      return highestWeights(stats, x0, numFeatures);
    case 'lasso_path':
      return lassoSelection(stats, numFeatures);
    case 'auto':
      return numFeatures <= 6 ? forwardSelection(stats, numFeatures) : highestWeights(stats, x0, numFeatures);
    default:
      throw new LimeError('INVALID_CONFIG', `Unknown featureSelection '${String(method)}'; use one of ${FEATURE_SELECTIONS.join(', ')}.`);
  }
}

/** One label's local explanation, as lime's `explain_instance_with_data` returns it. */
export interface LocalExplanation {
  readonly intercept: number;
  /** (feature index, weight) sorted by decreasing |weight| (stable). */
  readonly features: Int32Array;
  readonly weights: Float64Array;
  readonly score: number;
  /** Surrogate prediction at the explained instance (row 0 of the data). */
  readonly localPrediction: number;
}

/** Selection + ridge (alpha 1) fit for one label column, given the shared weighted statistics. */
export function explainLabel(
  X: Float64Array,
  n: number,
  d: number,
  w: Float64Array,
  xMean: Float64Array,
  gram: Float64Array,
  y: Float64Array,
  numFeatures: number,
  method: FeatureSelection,
  alpha = 1,
): LocalExplanation {
  const stats = weightedStats(X, n, d, w, xMean, gram, y);
  const x0 = X.subarray(0, d);
  const used = selectFeatures(stats, x0, numFeatures, method);
  const fit = fitSubset(stats, used, alpha);
  let localPrediction = fit.intercept;
  for (let a = 0; a < used.length; a++) localPrediction += fit.coef[a]! * x0[used[a]!]!;
  const order = Array.from({ length: used.length }, (_, i) => i);
  order.sort((a, b) => Math.abs(fit.coef[b]!) - Math.abs(fit.coef[a]!));
  const features = new Int32Array(used.length);
  const weights = new Float64Array(used.length);
  for (let i = 0; i < order.length; i++) {
    features[i] = used[order[i]!]!;
    weights[i] = fit.coef[order[i]!]!;
  }
  return { intercept: fit.intercept, features, weights, score: fit.score, localPrediction };
}

/** lime's default kernel: sqrt(exp(-d² / width²)). Writes weights into `out`. */
export function exponentialKernel(distances: Float64Array, width: number, out: Float64Array): Float64Array {
  const inv = 1 / (width * width);
  for (let i = 0; i < distances.length; i++) {
    const dd = distances[i]!;
    out[i] = Math.sqrt(Math.exp(-dd * dd * inv));
  }
  return out;
}
