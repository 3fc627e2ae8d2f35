// Drift statistics of one feature between a reference sample and a current sample: the population stability index
// (PSI) over quantile bins of the reference, and the two-sample Kolmogorov–Smirnov statistic D with its asymptotic
// p-value. Pure functions over arrays of numbers (NaN values are dropped), no I/O: the monitor step and the tests use them.

/** Default number of PSI bins (deciles of the reference). */
export const PSI_BINS = 10;
/** A bin's share below this counts as this (so an empty bin does not make the PSI infinite). */
export const PSI_EPSILON = 1e-4;

function finiteSorted(values) {
  const out = [];
  for (const v of values) if (typeof v === 'number' && !Number.isNaN(v)) out.push(v);
  return Float64Array.from(out).sort();
}

/**
 * The cut points of `bins` quantile bins of `reference`: the empirical quantiles q_k = the smallest value v with
 * F(v) >= k/bins (k = 1 .. bins-1; F the reference's ECDF), duplicates removed. The bins are (-inf, e1], (e1, e2],
 * ..., (e_last, +inf), so with distinct values each bin holds a 1/bins share of the reference; tied values (integer
 * features, a model's flat attributions) merge bins.
 */
export function quantileEdges(reference, bins = PSI_BINS) {
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`bins must be an integer >= 2, got ${bins}`);
  const s = finiteSorted(reference);
  if (s.length === 0) throw new RangeError('the reference sample has no finite value');
  const edges = [];
  for (let k = 1; k < bins; k++) {
    const v = s[Math.max(0, Math.ceil((k * s.length) / bins) - 1)];
    if (edges.length === 0 || v > edges[edges.length - 1]) edges.push(v);
  }
  // The last edge at the maximum would leave an always-empty reference bin above it: drop it.
  while (edges.length > 0 && edges[edges.length - 1] >= s[s.length - 1]) edges.pop();
  return edges;
}

/** Shares of `values` in the bins cut by `edges` ((-inf, e1], (e1, e2], ..., (e_last, +inf)). */
export function binShares(values, edges) {
  const counts = new Float64Array(edges.length + 1);
  let n = 0;
  for (const v of values) {
    if (typeof v !== 'number' || Number.isNaN(v)) continue;
    // first edge >= v (binary search): v falls in that bin
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid] >= v) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]++;
    n++;
  }
  if (n === 0) throw new RangeError('the sample has no finite value');
  return Array.from(counts, (c) => c / n);
}

/**
 * Population stability index of `current` against `reference`: sum over the reference's quantile bins of
 * (c - r) * ln(c / r), r and c the bins' shares of the reference and the current sample, each share below `epsilon`
 * taken as `epsilon`. 0 for identical distributions; the usual reading is < 0.1 stable, 0.1-0.2 moderate, >= 0.2
 * significant drift. Returns { psi, edges, reference: shares, current: shares }.
 */
export function psiDetail(reference, current, { bins = PSI_BINS, epsilon = PSI_EPSILON } = {}) {
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${epsilon}`);
  const edges = quantileEdges(reference, bins);
  const r = binShares(reference, edges);
  const c = binShares(current, edges);
  let psi = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = Math.max(r[i], epsilon);
    const ci = Math.max(c[i], epsilon);
    psi += (ci - ri) * Math.log(ci / ri);
  }
  return { psi, edges, reference: r, current: c };
}

/** The population stability index alone (see psiDetail). */
export function psi(reference, current, options) {
  return psiDetail(reference, current, options).psi;
}

/**
 * Kolmogorov's survival function Q(lambda) = P(K > lambda) = 2 * sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2), the
 * limit distribution of sqrt(n m / (n + m)) * D. For small lambda the equivalent theta-function form
 * 1 - sqrt(2 pi) / lambda * sum_{j>=1} exp(-(2j-1)^2 pi^2 / (8 lambda^2)) converges faster and is used instead.
 */
export function kolmogorovSurvival(lambda) {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    let s = 0;
    for (let j = 1; j <= 100; j++) {
      const term = Math.exp(-((2 * j - 1) ** 2) * Math.PI ** 2 / (8 * lambda * lambda));
      s += term;
      if (term < 1e-17 * s) break;
    }
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    s += j % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

/**
 * Two-sample Kolmogorov–Smirnov test: D = max_x |F_a(x) - F_b(x)| over the empirical CDFs (ties handled: both
 * CDFs step past every copy of a value before they are compared), and the classic asymptotic p-value
 * Q(sqrt(n m / (n + m)) * D) from Kolmogorov's limit distribution: equal (to the last digit, checked) to scipy's
 * stats.kstwobign.sf(sqrt(n m / (n + m)) * D), and what R's ks.test(exact = FALSE) gives. (scipy's
 * ks_2samp(method='asymp') uses the finite-n kstwo(round(n m / (n + m))) instead: somewhat smaller p-values.)
 * Returns { d, p, n, m }.
 */
export function ksTest(a, b) {
  const x = finiteSorted(a);
  const y = finiteSorted(b);
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new RangeError('both samples need at least one finite value');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i], y[j]);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  // Past the end of one sample the other's CDF only rises to 1: the largest gap is at this point, already counted.
  const p = kolmogorovSurvival(Math.sqrt((n * m) / (n + m)) * d);
  return { d, p, n, m };
}

/**
 * Drift of every column: `reference` and `current` are { name: number[] } (or arrays of columns with `names`).
 * Returns { name: { psi, ks, p, drift } } where drift is true when psi >= psiThreshold or p < ksAlpha.
 */
export function columnDrift(reference, current, names, { psiThreshold = 0.2, ksAlpha = 0.01, bins = PSI_BINS, epsilon = PSI_EPSILON } = {}) {
  const out = {};
  for (const name of names) {
    const ref = reference[name];
    const cur = current[name];
    const value = psi(ref, cur, { bins, epsilon });
    const { d, p } = ksTest(ref, cur);
    out[name] = { psi: value, ks: d, p, drift: value >= psiThreshold || p < ksAlpha };
  }
  return out;
}
