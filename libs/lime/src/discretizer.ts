/**
 * lime's discretizers (`lime/discretize.py`): quartile, decile and entropy (depth-3 decision tree on each
 * feature against the training labels) bin boundaries, bin names like `age <= 37.00`, `searchsorted`
 * binning, per-bin training statistics, and `undiscretize` (truncated-normal draw inside the bin).
 */
import { LimeError } from './errors.js';
import type { Rng } from './random.js';

export type DiscretizerKind = 'quartile' | 'decile' | 'entropy';

/** numpy `percentile` with linear interpolation on a sorted copy. */
export function percentile(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = ((n - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

export function uniqueSorted(values: readonly number[]): number[] {
  const s = Float64Array.from(values).sort();
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) out.push(s[i]!);
  return out;
}

/** numpy `searchsorted(qts, x, side='left')`: the number of boundaries strictly below x. */
export function binOf(qts: readonly number[], x: number): number {
  let lo = 0;
  let hi = qts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (qts[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `'%.2f'` formatting. */
export function fmt2(v: number): string {
  return v.toFixed(2);
}

/** lime's bin names for one feature. */
export function binNames(name: string, qts: readonly number[]): string[] {
  const n = qts.length;
  const names = [`${name} <= ${fmt2(qts[0]!)}`];
  for (let i = 0; i < n - 1; i++) names.push(`${fmt2(qts[i]!)} < ${name} <= ${fmt2(qts[i + 1]!)}`);
  names.push(`${name} > ${fmt2(qts[n - 1]!)}`);
  return names;
}

/** Boundaries for one column with the given method (before `unique`). */
export function computeBins(kind: DiscretizerKind, column: Float64Array, labels?: ArrayLike<number>): number[] {
  const sorted = column.slice().sort();
  if (kind === 'quartile') return uniqueSorted([25, 50, 75].map((p) => percentile(sorted, p)));
  if (kind === 'decile') return uniqueSorted([10, 20, 30, 40, 50, 60, 70, 80, 90].map((p) => percentile(sorted, p)));
  if (kind === 'entropy') {
    if (!labels) throw new LimeError('INVALID_CONFIG', "The 'entropy' discretizer needs trainingLabels (one class label per training row).");
    const qts = entropyTreeThresholds(column, labels, 3);
    if (qts.length === 0) return [percentile(sorted, 50)];
    return uniqueSorted(qts);
  }
  throw new LimeError('INVALID_CONFIG', `Unknown discretizer '${String(kind)}'; use quartile, decile, entropy or explicit bins.`);
}

/**
 * Thresholds of a depth-limited decision tree (entropy criterion, sklearn defaults min_samples_split=2,
 * min_samples_leaf=1, thresholds halfway between consecutive distinct values) fitted on one feature.
 */
export function entropyTreeThresholds(column: Float64Array, labels: ArrayLike<number>, maxDepth: number): number[] {
  const n = column.length;
  if (labels.length !== n) throw new LimeError('INVALID_INPUT', `trainingLabels has ${labels.length} entries for ${n} training rows.`);
  const classMap = new Map<number, number>();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    let c = classMap.get(l);
    if (c === undefined) {
      c = classMap.size;
      classMap.set(l, c);
    }
    y[i] = c;
  }
  const k = classMap.size;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => column[a]! - column[b]!);
  const xs = new Float64Array(n);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = column[order[i]!]!;
    ys[i] = y[order[i]!]!;
  }
  const out: number[] = [];
  const left = new Float64Array(k);
  const total = new Float64Array(k);
  const entropy = (counts: Float64Array, m: number): number => {
    let h = 0;
    for (let c = 0; c < k; c++) {
      const p = counts[c]! / m;
      if (p > 0) h -= p * Math.log2(p);
    }
    return h;
  };
  const split = (start: number, end: number, depth: number): void => {
    const m = end - start;
    if (depth >= maxDepth || m < 2) return;
    total.fill(0);
    for (let i = start; i < end; i++) total[ys[i]!]++;
    const hParent = entropy(total, m);
    if (hParent <= 0) return;
    left.fill(0);
    let bestGain = 0;
    let bestPos = -1;
    const right = new Float64Array(k);
    for (let i = start; i < end - 1; i++) {
      left[ys[i]!]++;
      if (xs[i + 1]! <= xs[i]! + 1e-7) continue; // sklearn FEATURE_THRESHOLD: no split between equal values
      const nl = i - start + 1;
      const nr = m - nl;
      for (let c = 0; c < k; c++) right[c] = total[c]! - left[c]!;
      const gain = hParent - (nl / m) * entropy(left, nl) - (nr / m) * entropy(right, nr);
      if (gain > bestGain + 1e-12) {
        bestGain = gain;
        bestPos = i;
      }
    }
    if (bestPos < 0) return;
    let thr = xs[bestPos]! / 2 + xs[bestPos + 1]! / 2;
    if (thr === xs[bestPos + 1]!) thr = xs[bestPos]!;
    out.push(thr);
    split(start, bestPos + 1, depth + 1);
    split(bestPos + 1, end, depth + 1);
  };
  split(0, n, 0);
  return out;
}

/** Per-bin training statistics of one discretized feature (lime's means/stds/mins/maxs). */
export interface BinStats {
  readonly bins: number[];
  readonly means: number[];
  readonly stds: number[];
  readonly mins: number[];
  readonly maxs: number[];
}

export function binStats(column: Float64Array, qts: number[]): BinStats {
  const nb = qts.length + 1;
  const sum = new Float64Array(nb);
  const cnt = new Float64Array(nb);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < column.length; i++) {
    const v = column[i]!;
    const b = binOf(qts, v);
    sum[b] += v;
    cnt[b]++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const means: number[] = [];
  const ss = new Float64Array(nb);
  for (let b = 0; b < nb; b++) means.push(cnt[b]! === 0 ? 0 : sum[b]! / cnt[b]!);
  for (let i = 0; i < column.length; i++) {
    const b = binOf(qts, column[i]!);
    const dv = column[i]! - means[b]!;
    ss[b] += dv * dv;
  }
  const stds: number[] = [];
  for (let b = 0; b < nb; b++) stds.push((cnt[b]! === 0 ? 0 : Math.sqrt(ss[b]! / cnt[b]!)) + 0.00000000001);
  return { bins: qts.slice(), means, stds, mins: [min, ...qts], maxs: [...qts, max] };
}

/**
 * lime's `undiscretize` for one value: a truncated-normal draw with the bin's training mean and std inside
 * [bin min, bin max]. (lime returns the z-score of the bin minimum when min == max; we return the value.)
 */
export function undiscretizeValue(s: BinStats, bin: number, rng: Rng): number {
  const lo = s.mins[bin]!;
  const hi = s.maxs[bin]!;
  if (!(hi > lo)) return lo;
  return rng.truncatedNormal(s.means[bin]!, s.stds[bin]!, lo, hi);
}
