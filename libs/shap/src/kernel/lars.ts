/**
 * Feature selection for KernelSHAP's optional l1 regularisation, in Gram form (p x p, p = features), so the
 * 2 x nsamples augmented design is never materialised:
 * - `num_features(k)`: the first k features to enter a least-angle regression path (sklearn `lars_path`,
 *   method 'lar', max_iter=k, as shap uses);
 * - `aic` / `bic`: LassoLarsIC over the lasso path on standardised (scale only), centred data, with the noise
 *   variance from the ordinary least-squares fit (scikit-learn >= 1.1 semantics, as shap's pipeline uses).
 */
import { SymmetricSolver } from '../solve.js';

/** Sufficient statistics of a design X (n x p) and target y. */
export interface GramStats {
  p: number;
  n: number;
  /** X^T X, row-major p x p. */
  gram: Float64Array;
  /** X^T y. */
  xty: Float64Array;
  /** y^T y. */
  yty: number;
  /** Column sums of X and the sum of y (for centring). */
  xsum: Float64Array;
  ysum: number;
  /** Column sums of squares are the Gram diagonal. */
}

interface PathResult {
  /** Coefficients at each breakpoint (the first is all zeros). */
  coefs: Float64Array[];
  /** Active features in order of entry (after the last step). */
  active: number[];
}

/**
 * LARS in Gram form. `lasso` applies the lasso modification (a coefficient that would cross zero leaves the
 * active set). Stops after `maxIter` iterations, when all features are active, or when correlations vanish.
 */
export function larsPath(gram: Float64Array, xty: Float64Array, p: number, maxIter: number, lasso: boolean): PathResult {
  const beta = new Float64Array(p);
  const c = Float64Array.from(xty);
  const active: number[] = [];
  const inActive = new Uint8Array(p);
  const coefs: Float64Array[] = [Float64Array.from(beta)];
  const solver = new SymmetricSolver(p);
  const ga = new Float64Array(p * p);
  const wv = new Float64Array(p);
  const a = new Float64Array(p);
  let dropped = -1;
  let maxAbs = 0;
  for (let j = 0; j < p; j++) maxAbs = Math.max(maxAbs, Math.abs(c[j]!));
  const tiny = maxAbs * 1e-12;
  for (let iter = 0; iter < maxIter; iter++) {
    // current maximal correlation among actives (or overall)
    let C = 0;
    let best = -1;
    for (let j = 0; j < p; j++) {
      if (inActive[j] || j === dropped) continue;
      if (Math.abs(c[j]!) > C) {
        C = Math.abs(c[j]!);
        best = j;
      }
    }
    if (dropped < 0) {
      if (best < 0 || C <= tiny) break;
      active.push(best);
      inActive[best] = 1;
    }
    dropped = -1;
    C = 0;
    for (const j of active) C = Math.max(C, Math.abs(c[j]!));
    if (active.length === 0 || C <= tiny) break;
    const k = active.length;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) ga[i * k + j] = gram[active[i]! * p + active[j]!]!;
    solver.factor(ga, k);
    for (let i = 0; i < k; i++) wv[i] = Math.sign(c[active[i]!]!) || 1;
    solver.solve(wv);
    let sw = 0;
    for (let i = 0; i < k; i++) sw += (Math.sign(c[active[i]!]!) || 1) * wv[i]!;
    if (!(sw > 0)) break;
    const AA = 1 / Math.sqrt(sw);
    for (let i = 0; i < k; i++) wv[i]! *= AA;
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += gram[j * p + active[i]!]! * wv[i]!;
      a[j] = s;
    }
    let gamma = C / AA;
    for (let j = 0; j < p; j++) {
      if (inActive[j]) continue;
      const g1 = (C - c[j]!) / (AA - a[j]!);
      const g2 = (C + c[j]!) / (AA + a[j]!);
      if (g1 > 1e-15 && g1 < gamma) gamma = g1;
      if (g2 > 1e-15 && g2 < gamma) gamma = g2;
    }
    let drop = -1;
    if (lasso) {
      for (let i = 0; i < k; i++) {
        const j = active[i]!;
        if (wv[i] === 0) continue;
        const z = -beta[j]! / wv[i]!;
        if (z > 1e-15 && z < gamma) {
          gamma = z;
          drop = i;
        }
      }
    }
    for (let i = 0; i < k; i++) beta[active[i]!]! += gamma * wv[i]!;
    for (let j = 0; j < p; j++) c[j]! -= gamma * a[j]!;
    if (drop >= 0) {
      const j = active[drop]!;
      beta[j] = 0;
      active.splice(drop, 1);
      inActive[j] = 0;
      dropped = j;
    }
    coefs.push(Float64Array.from(beta));
    if (active.length === p && drop < 0) {
      // all variables in: the last step reached the least-squares solution
      break;
    }
  }
  return { coefs, active };
}

/** Features selected by the first `k` LAR steps (shap's `num_features(k)`). */
export function selectNumFeatures(s: GramStats, k: number): Int32Array {
  const { active } = larsPath(s.gram, s.xty, s.p, Math.min(k, s.p), false);
  if (active.length === 0) return Int32Array.of(strongestFeature(s));
  return Int32Array.from(active.slice().sort((x, y) => x - y));
}

/**
 * The feature most correlated with the target after centring and scaling (the first a LARS path would enter).
 * Selection keeps at least this one: with none selected no attribution could carry f(x) - E[f], and the
 * efficiency constraint (base + sum = prediction) would break. (shap returns all zeros there; we keep efficiency.)
 */
function strongestFeature(s: GramStats): number {
  const { p, n } = s;
  const ymean = s.ysum / n;
  let best = 0;
  let bestAbs = -1;
  for (let j = 0; j < p; j++) {
    const mean = s.xsum[j]! / n;
    const v = s.gram[j * p + j]! / n - mean * mean;
    const scale = v > 1e-300 ? Math.sqrt(v) : 1;
    const c = Math.abs((s.xty[j]! - n * mean * ymean) / scale);
    if (c > bestAbs) {
      bestAbs = c;
      best = j;
    }
  }
  return best;
}

/** Features with non-zero coefficients at the AIC/BIC-optimal point of the lasso path (LassoLarsIC). */
export function selectInformationCriterion(s: GramStats, criterion: 'aic' | 'bic'): Int32Array {
  const { p, n } = s;
  // StandardScaler(with_mean=false) then centring (fit_intercept=true)
  const mean = new Float64Array(p);
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    mean[j] = s.xsum[j]! / n;
    const v = s.gram[j * p + j]! / n - mean[j]! * mean[j]!;
    scale[j] = v > 1e-300 ? Math.sqrt(v) : 1;
  }
  const ymean = s.ysum / n;
  const g = new Float64Array(p * p);
  const c = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) g[i * p + j] = (s.gram[i * p + j]! - n * mean[i]! * mean[j]!) / (scale[i]! * scale[j]!);
    c[i] = (s.xty[i]! - n * mean[i]! * ymean) / scale[i]!;
  }
  const yy = s.yty - n * ymean * ymean;
  if (n <= p + 1) return Int32Array.from({ length: p }, (_, i) => i);
  // noise variance from OLS
  const solver = new SymmetricSolver(p);
  solver.factor(g, p);
  const bOls = Float64Array.from(c);
  solver.solve(bOls);
  let rssOls = yy;
  for (let j = 0; j < p; j++) rssOls -= bOls[j]! * c[j]!;
  const noise = Math.max(rssOls, 0) / (n - p - 1);
  const factor = criterion === 'aic' ? 2 : Math.log(n);
  const { coefs } = larsPath(g, c, p, 500, true);
  let bestCrit = Infinity;
  let bestCoef = coefs[0]!;
  for (const coef of coefs) {
    // RSS = yy - 2 b^T c + b^T G b
    let bc = 0;
    let bgb = 0;
    let df = 0;
    for (let i = 0; i < p; i++) {
      const bi = coef[i]!;
      if (bi === 0) continue;
      if (Math.abs(bi) > 2.220446049250313e-16) df++;
      bc += bi * c[i]!;
      let gi = 0;
      for (let j = 0; j < p; j++) gi += g[i * p + j]! * coef[j]!;
      bgb += bi * gi;
    }
    const rss = Math.max(yy - 2 * bc + bgb, 0);
    const crit = noise > 0 ? n * Math.log(2 * Math.PI * noise) + rss / noise + factor * df : rss === 0 ? factor * df : Infinity;
    if (crit < bestCrit) {
      bestCrit = crit;
      bestCoef = coef;
    }
  }
  const out: number[] = [];
  for (let j = 0; j < p; j++) if (bestCoef[j] !== 0) out.push(j);
  if (out.length === 0) out.push(strongestFeature(s));
  return Int32Array.from(out);
}
