/**
 * Interventional TreeSHAP (Chen, Lundberg & Lee's "independent" TreeSHAP): exact Shapley values of
 * v(S) = f(x_S, z_notS) for one background row z, averaged over the background. For each (x, z, tree) the
 * recursion follows both children only where x and z part ways on a feature not seen before on the path, so
 * its cost is the size of the "disagreement" subtree, not the tree.
 *
 * Routing is precomputed per row: `dir[node] = 1` when the row goes left, so the hot loop reads bytes.
 */
import type { PreparedEnsemble } from './prepared.js';

/** Buffers reused across rows for one thread. */
export class InterventionalBuffers {
  /** Signed per-feature state along the current path: +1 = x side, -1 = background side, 0 = not split yet. */
  readonly hist: Int8Array;
  /** Per recursion slot: summed positive / negative leaf terms, valueWidth each. */
  readonly pos: Float64Array;
  readonly neg: Float64Array;
  /** weights[n * (D + 1) + m] = m! (n - 1 - m)! / n!  (n unique diverging features, m of them from x). */
  readonly weights: Float64Array;
  constructor(nFeatures: number, readonly maxDepth: number, valueWidth: number) {
    this.hist = new Int8Array(nFeatures);
    const slots = 2 * maxDepth + 3;
    this.pos = new Float64Array(slots * valueWidth);
    this.neg = new Float64Array(slots * valueWidth);
    const D = maxDepth + 1;
    this.weights = new Float64Array((D + 1) * (D + 1));
    for (let n = 1; n <= D; n++) {
      for (let m = 0; m < n; m++) {
        // m! (n-1-m)! / n!  computed as a product to stay exact-ish in float64
        let w = 1 / n;
        // 1 / (n * C(n-1, m))
        let c = 1;
        for (let k = 1; k <= m; k++) c = (c * (n - m - 1 + k)) / k;
        w /= c;
        this.weights[n * (D + 1) + m] = w;
      }
    }
  }
}

let P: PreparedEnsemble;
let L: Int32Array;
let R: Int32Array;
let FE: Int32Array;
let DX: Uint8Array;
let DXO = 0;
let DR: Uint8Array;
let DRO = 0;
let H: Int8Array;
let POS: Float64Array;
let NEG: Float64Array;
let WT: Float64Array;
let WS = 0;
let VW = 1;
let VALS: Float64Array;
let PHI: Float64Array;
let PO = 0;

/**
 * Adds the interventional SHAP values of tree `t` for row x (routing `dirX[n - dirXBase]`) against background
 * row z (routing `dirZ[n - dirZBase]`) into `phi[phiOffset + feature * nOutputs + o]`.
 */
export function interventionalTree(
  prep: PreparedEnsemble,
  t: number,
  dirX: Uint8Array,
  dirXBase: number,
  dirZ: Uint8Array,
  dirZBase: number,
  phi: Float64Array,
  phiOffset: number,
  buf: InterventionalBuffers,
): void {
  const m = prep.model;
  P = prep;
  L = m.left;
  R = m.right;
  FE = m.feature;
  DX = dirX;
  DXO = dirXBase;
  DR = dirZ;
  DRO = dirZBase;
  H = buf.hist;
  POS = buf.pos;
  NEG = buf.neg;
  WT = buf.weights;
  WS = buf.maxDepth + 2;
  VW = prep.valueWidth;
  VALS = prep.values;
  PHI = phi;
  PO = phiOffset + prep.outputBase[t];
  recurse(m.treeOffsets[t], 0, 0, 0);
}

function recurse(node: number, slot: number, nX: number, nAll: number): void {
  for (;;) {
    const l = L[node];
    if (l < 0) {
      const so = slot * VW;
      const vo = node * VW;
      if (nAll === 0) {
        for (let j = 0; j < VW; j++) {
          POS[so + j] = 0;
          NEG[so + j] = 0;
        }
        return;
      }
      const wp = nX > 0 ? WT[nAll * WS + nX - 1] : 0;
      const wn = nX < nAll ? -WT[nAll * WS + nX] : 0;
      for (let j = 0; j < VW; j++) {
        const v = VALS[vo + j];
        POS[so + j] = v * wp;
        NEG[so + j] = v * wn;
      }
      return;
    }
    const f = FE[node];
    const cx = DX[node - DXO] === 1 ? l : R[node];
    const h = H[f];
    if (h > 0) {
      node = cx;
      continue;
    }
    const cz = DR[node - DRO] === 1 ? l : R[node];
    if (h < 0 || cx === cz) {
      node = cz;
      continue;
    }
    H[f] = 1;
    recurse(cx, slot + 1, nX + 1, nAll + 1);
    H[f] = -1;
    recurse(cz, slot + 2, nX, nAll + 1);
    H[f] = 0;
    const s0 = slot * VW;
    const s1 = s0 + VW;
    const s2 = s1 + VW;
    const po = PO + f * P.nOutputs;
    for (let j = 0; j < VW; j++) {
      PHI[po + j] += POS[s1 + j] + NEG[s2 + j];
      POS[s0 + j] = POS[s1 + j] + POS[s2 + j];
      NEG[s0 + j] = NEG[s1 + j] + NEG[s2 + j];
    }
    return;
  }
}
