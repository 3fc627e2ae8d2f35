/**
 * Bilinear resizing of single-channel maps on typed arrays. `alignCorners: false` is the half-pixel rule of
 * PyTorch's `interpolate(..., align_corners=False)` and OpenCV's `INTER_LINEAR` upsampling; `alignCorners: true`
 * is `UpsamplingBilinear2d` (used by Score-CAM).
 *
 * Separable: each source row is interpolated horizontally once (`top = a + (b - a) fx`), then each output row
 * blends two of those rows (`top + (bot - top) fy`), the same arithmetic as the direct four-tap form. Tap tables
 * are cached per (size, output size, rule).
 */
interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly f: Float64Array;
}

const tapCache = new Map<string, Taps>();
let scratch = new Float64Array(0);

function taps(n: number, outN: number, alignCorners: boolean): Taps {
  const key = `${n}:${outN}:${alignCorners ? 1 : 0}`;
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
  t = { i0, i1, f };
  if (tapCache.size > 64) tapCache.clear();
  tapCache.set(key, t);
  return t;
}

/** The horizontal pass of the separable resize: every source row resized to `outW` columns (in the shared scratch). */
function resizeRows(src: ArrayLike<number>, h: number, w: number, outW: number, alignCorners: boolean): Float64Array {
  const { i0: x0, i1: x1, f: fx } = taps(w, outW, alignCorners);
  if (scratch.length < h * outW) scratch = new Float64Array(h * outW);
  const rows = scratch;
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
 * `minMaxNormalize(resizeBilinear(src, h, w, outH, outW))` (half-pixel rule, to an ulp) in two passes over the
 * output: the extremes are taken while resizing.
 */
export function upsampleNormalized(src: ArrayLike<number>, h: number, w: number, outH: number, outW: number, out = new Float64Array(outH * outW)): Float64Array {
  const ty = taps(h, outH, false);
  const rows = resizeRows(src, h, w, outW, false);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let y = 0; y < outH; y++) {
    const r0 = ty.i0[y]! * outW, r1 = ty.i1[y]! * outW, fy = ty.f[y]!;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const top = rows[r0 + x]!;
      const v = top + (rows[r1 + x]! - top) * fy;
      out[o + x] = v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  // times the reciprocal: within an ulp of minMaxNormalize's division
  const inv = 1 / (1e-7 + (hi - lo));
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - lo) * inv;
  return out;
}
