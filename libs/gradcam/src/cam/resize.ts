/**
 * Bilinear resizing of single-channel maps on typed arrays. `alignCorners: false` is the half-pixel rule of
 * PyTorch's `interpolate(..., align_corners=False)` and OpenCV's `INTER_LINEAR` upsampling; `alignCorners: true`
 * is `UpsamplingBilinear2d` (used by Score-CAM).
 *
 * Separable: each source row is interpolated horizontally once (`top = a + (b - a) fx`), then each output row
 * blends two of those rows (`top + (bot - top) fy`), the same arithmetic as the direct four-tap form. Tap tables
 * are cached per (size, output size, rule).
 */
export interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly f: Float64Array;
  /**
   * The first and last output index of every run with the same two taps (the fraction grows along a run, so a
   * bilinear map's extremes over the output are at these rows and columns).
   */
  readonly ends: Int32Array;
}

const tapCache = new Map<number | string, Taps>();
/** Resized source rows and their differences, reused across calls (grown as needed). */
const work = { rows: new Float64Array(0), diffs: new Float64Array(0) };

/** The taps of resizing `n` samples to `outN` (cached). */
export function taps(n: number, outN: number, alignCorners: boolean): Taps {
  const key = n < 0x100000 && outN < 0x100000 ? (n * 0x100000 + outN) * 2 + (alignCorners ? 1 : 0) : `${n}:${outN}:${alignCorners}`;
  let t = tapCache.get(key);
  if (t) return t;
  const s = alignCorners ? (outN > 1 ? (n - 1) / (outN - 1) : 0) : n / outN;
  const i0 = new Int32Array(outN), i1 = new Int32Array(outN), f = new Float64Array(outN);
  for (let x = 0; x < outN; x++) {
    let p = alignCorners ? x * s : (x + 0.5) * s - 0.5;
    if (p < 0) p = 0;
    const j = Math.min(Math.floor(p), n - 1);
    i0[x] = j;
    i1[x] = Math.min(j + 1, n - 1);
    f[x] = p - j;
  }
  const ends: number[] = [];
  for (let x = 0; x < outN; x++) {
    const first = x === 0 || i0[x] !== i0[x - 1] || i1[x] !== i1[x - 1];
    const last = x === outN - 1 || i0[x] !== i0[x + 1] || i1[x] !== i1[x + 1];
    if (first || last) ends.push(x);
  }
  t = { i0, i1, f, ends: Int32Array.from(ends) };
  if (tapCache.size > 64) tapCache.clear();
  tapCache.set(key, t);
  return t;
}

/** The horizontal pass of the separable resize: every source row resized to `outW` columns (in the shared scratch). */
function resizeRows(src: ArrayLike<number>, h: number, w: number, outW: number, alignCorners: boolean): Float64Array {
  const { i0: x0, i1: x1, f: fx } = taps(w, outW, alignCorners);
  if (work.rows.length < h * outW) work.rows = new Float64Array(h * outW);
  const rows = work.rows;
  for (let j = 0; j < h; j++) {
    const r = j * w, o = j * outW;
    for (let x = 0; x < outW; x++) {
      const a = src[r + x0[x]!]!;
      const b = src[r + x1[x]!]!;
      rows[o + x] = a + (b - a) * fx[x]!;
    }
  }
  return rows;
}

export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, outH: number, outW: number, alignCorners = false, out = new Float64Array(outH * outW)): Float64Array {
  const ty = taps(h, outH, alignCorners);
  const rows = resizeRows(src, h, w, outW, alignCorners);
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y]! * outW, r1 = ty.i1[y]! * outW, fy = ty.f[y]!;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const top = rows[r0 + x]!;
      const bot = rows[r1 + x]!;
      out[o + x] = top + (bot - top) * fy;
    }
  }
  return out;
}

/**
 * `minMaxNormalize(resizeBilinear(src, h, w, outH, outW))` (half-pixel rule, to a few ulps). Large upscales (a
 * heatmap at the input size) make one pass over the output: the extremes are taken at the rows and columns where a
 * run of equal taps starts or ends (the map is affine in the fraction along a run), the h resized source rows are
 * normalized, and each output row blends two of them (a third faster at 4x4 -> 128x128). Small ones resize, taking
 * the extremes, then normalize.
 */
export function upsampleNormalized(src: ArrayLike<number>, h: number, w: number, outH: number, outW: number, out = new Float64Array(outH * outW)): Float64Array {
  const ty = taps(h, outH, false);
  const tx = taps(w, outW, false);
  const rows = resizeRows(src, h, w, outW, false);
  return blends(ty, tx) ? blendNormalized(rows, h, ty, tx, outH, outW, out) : resizeNormalized(rows, ty, outH, outW, out);
}

/** Whether {@link upsampleNormalized} takes the extremes at the tap-run ends and blends normalized rows (large upscales). */
export function blends(ty: Taps, tx: Taps): boolean {
  return ty.ends.length * tx.ends.length * 8 < ty.i0.length * tx.i0.length;
}

/** The largest spread of the resized rows, in units of the map's range, that the blend takes (see blendNormalized). */
const BLEND_SPREAD = 4;

function blendNormalized(rows: Float64Array, h: number, ty: Taps, tx: Taps, outH: number, outW: number, out: Float64Array): Float64Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  const yEnds = ty.ends, xEnds = tx.ends;
  for (let a = 0; a < yEnds.length; a++) {
    const y = yEnds[a]!;
    const r0 = ty.i0[y]! * outW, r1 = ty.i1[y]! * outW, fy = ty.f[y]!;
    for (let b = 0; b < xEnds.length; b++) {
      const x = xEnds[b]!;
      const top = rows[r0 + x]!;
      const v = top + (rows[r1 + x]! - top) * fy;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const inv = 1 / (1e-7 + (hi - lo));
  const n = h * outW;
  // blending normalized rows rounds at the scale of the rows' spread over the map's: where the map is near flat
  // against its values (a spread of 1e-9 on values of 2), resize first
  let spread = 0;
  for (let i = 0; i < n; i++) {
    const dev = Math.abs(rows[i]! - lo);
    if (dev > spread) spread = dev;
  }
  if (spread * inv > BLEND_SPREAD) return resizeNormalized(rows, ty, outH, outW, out);
  for (let i = 0; i < n; i++) rows[i] = (rows[i]! - lo) * inv;
  // d[j] = row j+1 - row j (0 for the last row, whose taps are both j)
  if (work.diffs.length < n) work.diffs = new Float64Array(n);
  const d = work.diffs;
  for (let i = 0; i < n - outW; i++) d[i] = rows[i + outW]! - rows[i]!;
  d.fill(0, n - outW, n);
  blendRows(rows, d, ty.i0, ty.f, outH, outW, out);
  return out;
}

/**
 * `out[y, x] = rows[i0[y], x] + d[i0[y], x] * f[y]`. Every array is a parameter and the rows are indexed, not
 * sliced: V8 keeps the loop tight that way (closure variables and per-row subarrays made it 2-3x slower).
 */
function blendRows(rows: Float64Array, d: Float64Array, i0: Int32Array, f: Float64Array, outH: number, outW: number, out: Float64Array): void {
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const r0 = i0[y]! * outW, fy = f[y]!;
    for (let x = 0; x < outW; x++) out[o + x] = rows[r0 + x]! + d[r0 + x]! * fy;
    o += outW;
  }
}

function resizeNormalized(rows: Float64Array, ty: Taps, outH: number, outW: number, out: Float64Array): Float64Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y]! * outW, r1 = ty.i1[y]! * outW, fy = ty.f[y]!;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const top = rows[r0 + x]!;
      const v = top + (rows[r1 + x]! - top) * fy;
      out[o + x] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  // times the reciprocal: within an ulp of minMaxNormalize's division
  const inv = 1 / (1e-7 + (hi - lo));
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - lo) * inv;
  return out;
}
