/**
 * Small dense linear algebra for the surrogate models: symmetric positive (semi)definite solves by Cholesky
 * with a diagonal jitter fallback for rank-deficient systems (collinear binary features).
 */

/**
 * Solves `A x = rhs` for a symmetric `n x n` matrix `A` (row-major, not modified). Returns `false` only if
 * the system is unusable even after jitter (non-finite input).
 */
export function solveSymmetric(A: Float64Array, rhs: Float64Array, n: number, out: Float64Array): boolean {
  const L = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += Math.abs(A[i * n + i]!);
  const base = trace > 0 ? trace / n : 1;
  for (let attempt = 0; attempt < 6; attempt++) {
    const jitter = attempt === 0 ? 0 : base * Math.pow(10, -12 + 2 * attempt);
    if (cholesky(A, n, jitter, L)) {
      // forward then back substitution
      for (let i = 0; i < n; i++) {
        let s = rhs[i]!;
        for (let k = 0; k < i; k++) s -= L[i * n + k]! * out[k]!;
        out[i] = s / L[i * n + i]!;
      }
      for (let i = n - 1; i >= 0; i--) {
        let s = out[i]!;
        for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * out[k]!;
        out[i] = s / L[i * n + i]!;
      }
      for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) return false;
      return true;
    }
  }
  return false;
}

function cholesky(A: Float64Array, n: number, jitter: number, L: Float64Array): boolean {
  L.fill(0);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]! + jitter;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! * L[j * n + k]!;
    const scale = Math.abs(A[j * n + j]!) + jitter;
    if (!(d > 1e-13 * (scale > 0 ? scale : 1))) return false;
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / ljj;
    }
  }
  return true;
}
