/**
 * Eigen-CAM's 2-D projection (`utils/svd_on_activations.py`): centre the `[S, C]` activation matrix per
 * channel, take its first right singular vector v, and project: `p = X_centred @ v`. Computed from the smaller
 * Gram matrix with a symmetric Jacobi eigensolver (exact to float64 rounding). The SVD sign is arbitrary (LAPACK
 * picks one); here it is fixed so the projection correlates positively with the channel-summed activations.
 */
import { symmetricEigen } from '@genome/model-format';

/** The projection onto the first principal component of the centred activations. */
export function firstComponentProjection(A: ArrayLike<number>, C: number, S: number, out = new Float64Array(S)): Float64Array {
  // X[s, c] centred over s
  const X = new Float64Array(S * C);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let s = 0; s < S; s++) m += A[c * S + s]!;
    m /= S;
    for (let s = 0; s < S; s++) X[s * C + c] = A[c * S + s]! - m;
  }
  if (S <= C) {
    // eigenvector u of X X^T (S x S); p = X v = sigma u
    const K = new Float64Array(S * S);
    for (let i = 0; i < S; i++)
      for (let j = i; j < S; j++) {
        let v = 0;
        for (let c = 0; c < C; c++) v += X[i * C + c]! * X[j * C + c]!;
        K[i * S + j] = v;
        K[j * S + i] = v;
      }
    const { value, vector } = topEigen(K, S);
    const sigma = Math.sqrt(Math.max(value, 0));
    for (let s = 0; s < S; s++) out[s] = sigma * vector[s]!;
  } else {
    const K = new Float64Array(C * C);
    for (let s = 0; s < S; s++) {
      const r = s * C;
      for (let i = 0; i < C; i++) {
        const xi = X[r + i]!;
        if (xi === 0) continue;
        for (let j = i; j < C; j++) K[i * C + j]! += xi * X[r + j]!;
      }
    }
    for (let i = 0; i < C; i++) for (let j = 0; j < i; j++) K[i * C + j] = K[j * C + i]!;
    const { vector } = topEigen(K, C);
    for (let s = 0; s < S; s++) {
      let v = 0;
      for (let c = 0; c < C; c++) v += X[s * C + c]! * vector[c]!;
      out[s] = v;
    }
  }
  // sign convention
  let corr = 0;
  for (let s = 0; s < S; s++) {
    let t = 0;
    for (let c = 0; c < C; c++) t += A[c * S + s]!;
    corr += t * out[s]!;
  }
  if (corr < 0) for (let s = 0; s < S; s++) out[s] = -out[s]!;
  return out;
}

/**
 * Largest eigenpair of a symmetric positive semi-definite n x n matrix: cyclic Jacobi for n <= 32, else power
 * iteration (only the top eigenvector is needed; converged when the iterate moves by < 1e-12 per entry).
 */
export function topEigen(K: Float64Array, n: number): { value: number; vector: Float64Array } {
  if (n <= 32) return jacobiTop(K, n);
  return powerTop(K, n);
}

function jacobiTop(a: Float64Array, n: number): { value: number; vector: Float64Array } {
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  symmetricEigen(a, n, values, vectors);
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i]! > values[best]!) best = i;
  const vector = new Float64Array(n);
  for (let k = 0; k < n; k++) vector[k] = vectors[k * n + best]!;
  return { value: values[best]!, vector };
}

function powerTop(K: Float64Array, n: number): { value: number; vector: Float64Array } {
  let x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 1 + ((i * 7919) % 13) / 13;
  let y = new Float64Array(n);
  let value = 0;
  for (let it = 0; it < 10000; it++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const r = i * n;
      for (let j = 0; j < n; j++) s += K[r + j]! * x[j]!;
      y[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += y[i]! * y[i]!;
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    let diff = 0;
    for (let i = 0; i < n; i++) {
      y[i]! /= norm;
      diff += Math.abs(y[i]! - x[i]!);
    }
    value = norm;
    [x, y] = [y, x];
    if (diff < 1e-12 * n) break;
  }
  return { value, vector: x };
}
