/**
 * Bilinear resizing of single-channel maps on typed arrays. `alignCorners: false` is the half-pixel rule of
 * PyTorch's `interpolate(..., align_corners=False)` and OpenCV's `INTER_LINEAR` upsampling; `alignCorners: true`
 * is `UpsamplingBilinear2d` (used by Score-CAM).
 */
export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, outH: number, outW: number, alignCorners = false, out = new Float64Array(outH * outW)): Float64Array {
  const sy = alignCorners ? (outH > 1 ? (h - 1) / (outH - 1) : 0) : h / outH;
  const sx = alignCorners ? (outW > 1 ? (w - 1) / (outW - 1) : 0) : w / outW;
  // precompute x taps
  const x0 = new Int32Array(outW);
  const x1 = new Int32Array(outW);
  const fx = new Float64Array(outW);
  for (let x = 0; x < outW; x++) {
    let px = alignCorners ? x * sx : (x + 0.5) * sx - 0.5;
    if (px < 0) px = 0;
    const i0 = Math.min(Math.floor(px), w - 1);
    x0[x] = i0;
    x1[x] = Math.min(i0 + 1, w - 1);
    fx[x] = px - i0;
  }
  for (let y = 0; y < outH; y++) {
    let py = alignCorners ? y * sy : (y + 0.5) * sy - 0.5;
    if (py < 0) py = 0;
    const j0 = Math.min(Math.floor(py), h - 1);
    const j1 = Math.min(j0 + 1, h - 1);
    const fy = py - j0;
    const r0 = j0 * w;
    const r1 = j1 * w;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const a = src[r0 + x0[x]!]!;
      const b = src[r0 + x1[x]!]!;
      const c = src[r1 + x0[x]!]!;
      const d = src[r1 + x1[x]!]!;
      const top = a + (b - a) * fx[x]!;
      const bot = c + (d - c) * fx[x]!;
      out[o + x] = top + (bot - top) * fy;
    }
  }
  return out;
}
