/**
 * Background (reference) data for interventional explainers: weighted rows whose average model output is
 * the base value. Summarise large data sets with {@link kmeansBackground} or {@link sampleBackground};
 * the explainer's cost grows linearly with the number of background rows.
 */
import { DEFAULT_SEED, Rng } from '@genome/model-format';
import { ShapError } from './errors.js';
import { checkSeed } from './seed.js';
import { toDenseRows, type RowsInput } from './rows.js';

/** Weighted background rows; `weights` sum to 1. */
export interface Background {
  readonly kind: 'background';
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly weights: Float64Array;
}

function inferCols(input: RowsInput): number {
  if (Array.isArray(input)) {
    const first = (input as readonly (readonly number[])[])[0];
    if (!first) throw new ShapError('INVALID_INPUT', 'Background data is empty: pass at least one row.');
    return first.length;
  }
  const m = input as { cols: number };
  if (!m || typeof m.cols !== 'number') throw new ShapError('INVALID_INPUT', 'Background must be an array of rows or a {data, rows, cols} matrix.');
  return m.cols;
}

/** Wraps rows (optionally weighted, any positive scale) as a background. NaN is allowed only with `allowNaN`. */
export function makeBackground(
  input: RowsInput | Background,
  options: { weights?: ArrayLike<number>; allowNaN?: boolean; nFeatures?: number } = {},
): Background {
  if (isBackground(input)) {
    if (options.nFeatures !== undefined && input.cols !== options.nFeatures) {
      throw new ShapError('INVALID_INPUT', `Background has ${input.cols} features but the model takes ${options.nFeatures}.`);
    }
    return input;
  }
  const cols = options.nFeatures ?? inferCols(input);
  const d = toDenseRows(input, cols, 'background', options.allowNaN ?? false);
  if (d.rows === 0) throw new ShapError('INVALID_INPUT', 'Background data is empty: pass at least one row.');
  const weights = new Float64Array(d.rows);
  if (options.weights !== undefined) {
    if (options.weights.length !== d.rows) {
      throw new ShapError('INVALID_INPUT', `Background has ${d.rows} rows but ${options.weights.length} weights; pass one weight per row.`);
    }
    let s = 0;
    for (let i = 0; i < d.rows; i++) {
      const w = options.weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new ShapError('INVALID_INPUT', `Background weight ${i} is ${w}; weights must be finite and >= 0.`);
      weights[i] = w;
      s += w;
    }
    if (!(s > 0)) throw new ShapError('INVALID_INPUT', 'Background weights sum to 0; at least one must be positive.');
    for (let i = 0; i < d.rows; i++) weights[i]! /= s;
  } else {
    weights.fill(1 / d.rows);
  }
  return { kind: 'background', data: d.data, rows: d.rows, cols: d.cols, weights };
}

export function isBackground(x: unknown): x is Background {
  return !!x && typeof x === 'object' && (x as { kind?: unknown }).kind === 'background';
}

/** Picks `k` rows uniformly without replacement (shap.sample); all rows when k >= rows. */
export function sampleBackground(input: RowsInput, k: number, options: { seed?: number; allowNaN?: boolean } = {}): Background {
  const full = makeBackground(input, { allowNaN: options.allowNaN });
  if (!Number.isInteger(k) || k < 1) throw new ShapError('INVALID_OPTION', `k must be a positive integer, got ${k}.`);
  if (k >= full.rows) return full;
  const rng = new Rng(checkSeed(options.seed ?? DEFAULT_SEED));
  const idx = new Int32Array(full.rows);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(full.rows - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const cols = full.cols;
  const data = new Float64Array(k * cols);
  for (let i = 0; i < k; i++) data.set(full.data.subarray(idx[i]! * cols, idx[i]! * cols + cols), i * cols);
  const weights = new Float64Array(k).fill(1 / k);
  return { kind: 'background', data, rows: k, cols, weights };
}

/**
 * Summarises rows with k-means (seeded k-means++ initialisation, Lloyd iterations) like shap.kmeans:
 * each centre becomes a background row weighted by its cluster size, and with `roundValues` (default true)
 * each centre value is snapped to the nearest value of that feature in the data (so categorical/integer
 * features keep valid values). Rows must not contain NaN.
 */
export function kmeansBackground(
  input: RowsInput,
  k: number,
  options: { seed?: number; roundValues?: boolean; maxIter?: number } = {},
): Background {
  const full = makeBackground(input);
  if (!Number.isInteger(k) || k < 1) throw new ShapError('INVALID_OPTION', `k must be a positive integer, got ${k}.`);
  const n = full.rows;
  const m = full.cols;
  if (k >= n) return full;
  const X = full.data;
  const rng = new Rng(checkSeed(options.seed ?? DEFAULT_SEED));
  const centers = new Float64Array(k * m);
  const d2 = new Float64Array(n).fill(Infinity);
  // k-means++ seeding
  let first = rng.nextInt(n);
  centers.set(X.subarray(first * m, first * m + m), 0);
  for (let c = 1; c <= k; c++) {
    let total = 0;
    const co = (c - 1) * m;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const io = i * m;
      for (let j = 0; j < m; j++) {
        const t = X[io + j]! - centers[co + j]!;
        s += t * t;
      }
      if (s < d2[i]!) d2[i] = s;
      total += d2[i]!;
    }
    if (c === k) break;
    let pick = 0;
    if (total > 0) {
      let u = rng.nextFloat() * total;
      for (pick = 0; pick < n - 1; pick++) {
        u -= d2[pick]!;
        if (u < 0) break;
      }
    } else {
      pick = rng.nextInt(n);
    }
    first = pick;
    centers.set(X.subarray(pick * m, pick * m + m), c * m);
  }
  // Lloyd iterations
  const assign = new Int32Array(n).fill(-1);
  const counts = new Float64Array(k);
  const maxIter = options.maxIter ?? 300;
  for (let it = 0; it < maxIter; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      const io = i * m;
      for (let c = 0; c < k; c++) {
        let s = 0;
        const co = c * m;
        for (let j = 0; j < m; j++) {
          const t = X[io + j]! - centers[co + j]!;
          s += t * t;
        }
        if (s < bestD) {
          bestD = s;
          best = c;
        }
      }
      if (assign[i] !== best) {
        assign[i] = best;
        changed++;
      }
    }
    centers.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assign[i]!;
      counts[c]!++;
      for (let j = 0; j < m; j++) centers[c * m + j]! += X[i * m + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        // empty cluster: re-seed it at the row farthest from its centre
        let far = 0;
        let farD = -1;
        for (let i = 0; i < n; i++) if (d2[i]! > farD) { farD = d2[i]!; far = i; }
        d2[far] = -1;
        centers.set(X.subarray(far * m, far * m + m), c * m);
        changed = Math.max(changed, 1);
      } else {
        for (let j = 0; j < m; j++) centers[c * m + j]! /= counts[c]!;
      }
    }
    if (changed === 0) break;
  }
  if (options.roundValues ?? true) {
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < k; c++) {
        const v = centers[c * m + j]!;
        let best = X[j]!;
        let bestD = Math.abs(best - v);
        for (let i = 1; i < n; i++) {
          const dd = Math.abs(X[i * m + j]! - v);
          if (dd < bestD) { bestD = dd; best = X[i * m + j]!; }
        }
        centers[c * m + j] = best;
      }
    }
  }
  // drop empty clusters, weight by size
  let kept = 0;
  for (let c = 0; c < k; c++) if (counts[c]! > 0) kept++;
  const data = new Float64Array(kept * m);
  const weights = new Float64Array(kept);
  let o = 0;
  for (let c = 0; c < k; c++) {
    if (counts[c]! === 0) continue;
    data.set(centers.subarray(c * m, c * m + m), o * m);
    weights[o] = counts[c]! / n;
    o++;
  }
  return { kind: 'background', data, rows: kept, cols: m, weights };
}
