/** Multiply-adds between two pauses when building normal equations (a few milliseconds). */
export const STEP_OPS = 4_000_000;

/** Samples per step for `perSample` multiply-adds each. */
export function samplesPerStep(perSample: number): number {
  return Math.max(1, Math.floor(STEP_OPS / Math.max(1, perSample)));
}

/**
 * KernelSHAP's weighted least squares with the efficiency constraint, as shap solves it: the last selected
 * feature is eliminated (phi_last = delta - sum of the others), the rest come from the normal equations
 * (E^T W E) phi = E^T W y, factored once and reused for every output column.
 */
import { SymmetricSolver } from '../solve.js';

export class ConstrainedWls {
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  private readonly e: Float64Array;
  readonly solver: SymmetricSolver;
  private sel: Int32Array = new Int32Array(0);
  private k = 0;

  constructor(private readonly M: number) {
    this.a = new Float64Array(M * M);
    this.b = new Float64Array(M);
    this.e = new Float64Array(M);
    this.solver = new SymmetricSolver(M);
  }

  /**
   * Builds and factors E^T W E for the selected features `sel` (feature indices into the mask columns). With
   * `pause`, it is awaited every few million multiply-adds (the sums keep their order, so the result is the same).
   */
  async factor(masks: Uint8Array, weights: Float64Array, count: number, sel: Int32Array, pause?: () => Promise<void>): Promise<void> {
    const M = this.M;
    const K = sel.length;
    this.sel = sel;
    this.k = K;
    const n = K - 1;
    const a = this.a;
    a.fill(0, 0, n * n);
    if (n === 0) return;
    const last = sel[K - 1]!;
    const e = this.e;
    const step = samplesPerStep((n * (n + 1)) / 2);
    for (let s = 0; s < count; s++) {
      if (pause && s > 0 && s % step === 0) await pause();
      const w = weights[s]!;
      if (w === 0) continue;
      const o = s * M;
      const ml = masks[o + last]!;
      let any = false;
      for (let j = 0; j < n; j++) {
        const v = masks[o + sel[j]!]! - ml;
        e[j] = v;
        if (v !== 0) any = true;
      }
      if (!any) continue;
      for (let i = 0; i < n; i++) {
        const ei = e[i]!;
        if (ei === 0) continue;
        const wi = w * ei;
        for (let j = 0; j <= i; j++) a[i * n + j]! += wi * e[j]!;
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
    this.solver.factor(a, n);
  }

  /**
   * Solves for one output: `y[s]` is link(E[f | mask s]) - link(base), `delta` = link(f(x)) - link(base).
   * Writes phi for every mask column into `phi` (unselected columns get 0).
   */
  solve(masks: Uint8Array, weights: Float64Array, count: number, y: Float64Array, yStride: number, yOffset: number, delta: number, phi: Float64Array): void {
    const M = this.M;
    const K = this.k;
    const sel = this.sel;
    phi.fill(0, 0, M);
    if (K === 0) return;
    const last = sel[K - 1]!;
    if (K === 1) {
      phi[last] = delta;
      return;
    }
    const n = K - 1;
    const b = this.b;
    b.fill(0, 0, n);
    for (let s = 0; s < count; s++) {
      const w = weights[s]!;
      if (w === 0) continue;
      const o = s * M;
      const ml = masks[o + last]!;
      const y2 = y[s * yStride + yOffset]! - ml * delta;
      const wy = w * y2;
      for (let j = 0; j < n; j++) {
        const v = masks[o + sel[j]!]! - ml;
        if (v !== 0) b[j]! += v * wy;
      }
    }
    this.solver.solve(b);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      phi[sel[j]!] = b[j]!;
      sum += b[j]!;
    }
    phi[last] = delta - sum;
  }
}
