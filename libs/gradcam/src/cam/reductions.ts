/**
 * CAM reductions on typed arrays, following jacobgil/pytorch-grad-cam exactly. Inputs for one image are
 * channel-first `A[c * S + s]` (activations) and `G[c * S + s]` (gradients), S = h * w. All sums in float64.
 */

/** `sum(x[o .. o + S))` in four interleaved partial sums (a single running sum waits on each add's latency). */
function span(x: ArrayLike<number>, o: number, S: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const end = o + S, end4 = o + (S & ~3);
  let i = o;
  for (; i < end4; i += 4) {
    s0 += x[i]!;
    s1 += x[i + 1]!;
    s2 += x[i + 2]!;
    s3 += x[i + 3]!;
  }
  for (; i < end; i++) s0 += x[i]!;
  return s0 + s1 + (s2 + s3);
}

/** Grad-CAM channel weights: spatial mean of the gradients (`grad_cam.py`). */
export function gradcamWeights(G: ArrayLike<number>, C: number, S: number, out = new Float64Array(C)): Float64Array {
  for (let c = 0; c < C; c++) out[c] = span(G, c * S, S) / S;
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
    const sumA = span(A, o, S);
    // four partial sums over i mod 4, as span() (and the WebAssembly kernel's two f64x2 sums)
    let w0 = 0, w1 = 0, w2 = 0, w3 = 0;
    const end = o + S, end4 = o + (S & ~3);
    let i = o;
    for (; i < end4; i += 4) {
      w0 += plusPlusTerm(G[i]!, sumA, eps);
      w1 += plusPlusTerm(G[i + 1]!, sumA, eps);
      w2 += plusPlusTerm(G[i + 2]!, sumA, eps);
      w3 += plusPlusTerm(G[i + 3]!, sumA, eps);
    }
    for (; i < end; i++) w0 += plusPlusTerm(G[i]!, sumA, eps);
    out[c] = w0 + w1 + (w2 + w3);
  }
  return out;
}

/** `relu(g) * alpha`: 0 where relu(g) = 0 (whatever alpha is there), else `g^3 / (2 g^2 + sum(A) g^3 + eps)`. */
function plusPlusTerm(g: number, sumA: number, eps: number): number {
  if (!(g > 0)) return 0;
  const g2 = g * g;
  return (g * g2) / (2 * g2 + sumA * g2 * g + eps);
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
  // four channels per pass over the map (a quarter of the loads and stores of out)
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const w0 = w[c]!, w1 = w[c + 1]!, w2 = w[c + 2]!, w3 = w[c + 3]!;
    if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0) continue;
    const o0 = c * S, o1 = o0 + S, o2 = o1 + S, o3 = o2 + S;
    for (let i = 0; i < S; i++) out[i]! += w0 * A[o0 + i]! + w1 * A[o1 + i]! + (w2 * A[o2 + i]! + w3 * A[o3 + i]!);
  }
  for (; c < C; c++) {
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
