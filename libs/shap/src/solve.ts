/**
 * Small dense symmetric solvers on typed arrays: Cholesky with a pseudo-inverse fallback (cyclic Jacobi
 * eigen-decomposition) for singular systems, as shap falls back to numpy's pinv.
 */

import { symmetricEigen } from '@genome/model-format';

/**
 * Cholesky factorisation of the n x n symmetric matrix `a` (row-major) into `l` (lower triangle).
 * Returns false when the matrix is not numerically positive definite.
 */
export function cholesky(a: Float64Array, n: number, l: Float64Array): boolean {
  l.fill(0, 0, n * n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(a[i * n + i]!));
  const tol = maxDiag * n * 1e-13;
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let k = 0; k < j; k++) s -= l[j * n + k]! * l[j * n + k]!;
    if (!(s > tol)) return false;
    const d = Math.sqrt(s);
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = t / d;
    }
  }
  return true;
}

/** Solves L L^T x = b in place in `b` (length n). */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
}

/** Moore-Penrose pseudo-inverse of a symmetric matrix (numpy's default rcond 1e-15 * n relative cut-off). */
export function symmetricPinv(a: Float64Array, n: number, out: Float64Array): void {
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  symmetricEigen(a, n, values, vectors);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
  const cut = maxAbs * 1e-15 * n;
  out.fill(0, 0, n * n);
  for (let k = 0; k < n; k++) {
    const ev = values[k]!;
    if (Math.abs(ev) <= cut) continue;
    const inv = 1 / ev;
    for (let i = 0; i < n; i++) {
      const vi = vectors[i * n + k]! * inv;
      if (vi === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += vi * vectors[j * n + k]!;
    }
  }
}

/**
 * A reusable solver for A x = b with one A and many b: Cholesky when A is positive definite, else the
 * pseudo-inverse. `singular` says which path was taken.
 */
export class SymmetricSolver {
  private readonly l: Float64Array;
  private readonly pinv: Float64Array;
  private readonly tmp: Float64Array;
  singular = false;
  n = 0;

  constructor(capacity: number) {
    this.l = new Float64Array(capacity * capacity);
    this.pinv = new Float64Array(capacity * capacity);
    this.tmp = new Float64Array(capacity);
  }

  factor(a: Float64Array, n: number): void {
    this.n = n;
    this.singular = !cholesky(a, n, this.l);
    if (this.singular) symmetricPinv(a, n, this.pinv);
  }

  /** Solves in place: b <- A^-1 b (or A^+ b). */
  solve(b: Float64Array): void {
    const n = this.n;
    if (!this.singular) {
      choleskySolve(this.l, n, b);
      return;
    }
    const t = this.tmp;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.pinv[i * n + j]! * b[j]!;
      t[i] = s;
    }
    for (let i = 0; i < n; i++) b[i] = t[i]!;
  }
}
