/**
 * CAM reductions on typed arrays, following jacobgil/pytorch-grad-cam exactly. Inputs for one image are
 * channel-first `A[c * S + s]` (activations) and `G[c * S + s]` (gradients), S = h * w. All sums in float64.
 */

/** Grad-CAM channel weights: spatial mean of the gradients (`grad_cam.py`). */
export function gradcamWeights(G: ArrayLike<number>, C: number, S: number, out = new Float64Array(C)): Float64Array {
  for (let c = 0; c < C; c++) {
    let s = 0;
    const o = c * S;
    for (let i = 0; i < S; i++) s += G[o + i]!;
    out[c] = s / S;
  }
  return out;
}

/**
 * Grad-CAM++ channel weights (`grad_cam_plusplus.py`, eq. 19 of arXiv:1710.11063):
 * `a = G^2 / (2 G^2 + sum(A) G^3 + eps)` (0 where G = 0), `w = sum(relu(G) * a)`. pytorch-grad-cam uses
 * eps = 1e-6 (the default); several other implementations use 1e-7. With small gradients eps dominates the
 * denominator, so it changes the weights, not just their stability.
 */
export function gradcamPlusPlusWeights(A: ArrayLike<number>, G: ArrayLike<number>, C: number, S: number, eps = 0.000001, out = new Float64Array(C)): Float64Array {
  for (let c = 0; c < C; c++) {
    const o = c * S;
    let sumA = 0;
    for (let i = 0; i < S; i++) sumA += A[o + i]!;
    let w = 0;
    for (let i = 0; i < S; i++) {
      const g = G[o + i]!;
      if (g === 0) continue;
      const g2 = g * g;
      const aij = g2 / (2 * g2 + sumA * g2 * g + eps);
      if (g > 0) w += g * aij;
    }
    out[c] = w;
  }
  return out;
}

/** XGrad-CAM channel weights (`xgrad_cam.py`): sum(G * A) / (sum(A) + 1e-7). */
export function xgradcamWeights(A: ArrayLike<number>, G: ArrayLike<number>, C: number, S: number, out = new Float64Array(C)): Float64Array {
  for (let c = 0; c < C; c++) {
    const o = c * S;
    let sumA = 0;
    let sumGA = 0;
    for (let i = 0; i < S; i++) {
      sumA += A[o + i]!;
      sumGA += G[o + i]! * A[o + i]!;
    }
    out[c] = sumGA / (sumA + 1e-7);
  }
  return out;
}

/** `cam[s] = sum_c w[c] * A[c, s]` (the weighted sum before ReLU). */
export function weightedSum(A: ArrayLike<number>, w: ArrayLike<number>, C: number, S: number, out = new Float64Array(S)): Float64Array {
  out.fill(0);
  for (let c = 0; c < C; c++) {
    const wc = w[c]!;
    if (wc === 0) continue;
    const o = c * S;
    for (let i = 0; i < S; i++) out[i]! += wc * A[o + i]!;
  }
  return out;
}

/** HiResCAM (`hirescam.py`): `cam[s] = sum_c G[c, s] * A[c, s]`. */
export function hirescamMap(A: ArrayLike<number>, G: ArrayLike<number>, C: number, S: number, out = new Float64Array(S)): Float64Array {
  out.fill(0);
  for (let c = 0; c < C; c++) {
    const o = c * S;
    for (let i = 0; i < S; i++) out[i]! += G[o + i]! * A[o + i]!;
  }
  return out;
}

/** LayerCAM (`layer_cam.py`): `cam[s] = sum_c max(G[c, s], 0) * A[c, s]`. */
export function layercamMap(A: ArrayLike<number>, G: ArrayLike<number>, C: number, S: number, out = new Float64Array(S)): Float64Array {
  out.fill(0);
  for (let c = 0; c < C; c++) {
    const o = c * S;
    for (let i = 0; i < S; i++) {
      const g = G[o + i]!;
      if (g > 0) out[i]! += g * A[o + i]!;
    }
  }
  return out;
}

/** In-place ReLU; returns the array. */
export function relu<T extends Float64Array | Float32Array>(x: T): T {
  for (let i = 0; i < x.length; i++) if (!(x[i]! > 0)) x[i] = 0;
  return x;
}

/** In-place min-max scaling as pytorch-grad-cam's `scale_cam_image`: `(x - min) / (1e-7 + max(x - min))`. */
export function minMaxNormalize<T extends Float64Array | Float32Array>(x: T): T {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const d = 1e-7 + (hi - lo);
  for (let i = 0; i < x.length; i++) x[i] = (x[i]! - lo) / d;
  return x;
}

/** Softmax of a vector (Score-CAM weights), in float64. */
export function softmax(x: ArrayLike<number>, out = new Float64Array(x.length)): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(x[i]! - m);
    s += out[i]!;
  }
  for (let i = 0; i < x.length; i++) out[i]! /= s;
  return out;
}
