/**
 * Classic path-dependent TreeSHAP (Lundberg et al. 2018/2020, Algorithm 2: EXTEND / UNWIND over the unique
 * feature path), over preallocated typed-array path buffers. Supports shap's conditioning on one feature
 * (held "on" or "off"), which the interaction values use. Values are added into `phi[feature * nOutputs + o]`.
 */
import type { TreeEnsemble } from '@genome/model-format';
import type { PreparedEnsemble } from './prepared.js';
import { goesLeft as goLeft } from './split.js';

/** Reusable buffers for one thread. */
export class PathBuffers {
  readonly feat: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly w: Float64Array;
  constructor(readonly maxDepth: number) {
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2 + 1;
    this.feat = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.w = new Float64Array(size);
  }
}

// Module-level state for the recursion (set by `pathDependentTree`), so the recursive function takes only
// the per-call scalars. JavaScript is single-threaded per isolate, so this is safe.
let M: TreeEnsemble;
let P: PreparedEnsemble;
let FB: Int32Array;
let ZB: Float64Array;
let OB: Float64Array;
let WB: Float64Array;
let X: Float64Array;
let XO = 0;
let PHI: Float64Array;
let PO = 0;
let NOUT = 1;
let VW = 1;
let OUTB = 0;
let COND = 0;
let CONDF = -1;

/**
 * Adds the path-dependent SHAP values of tree `t` for the row at `x[xOffset..]` into `phi[phiOffset..]`
 * (`nFeatures * nOutputs` values). `condition` = 0 for plain SHAP values, +1 / -1 to hold `condFeature` on / off.
 */
export function pathDependentTree(
  prep: PreparedEnsemble,
  t: number,
  x: Float64Array,
  xOffset: number,
  phi: Float64Array,
  phiOffset: number,
  buf: PathBuffers,
  condition = 0,
  condFeature = -1,
): void {
  M = prep.model;
  P = prep;
  FB = buf.feat;
  ZB = buf.zero;
  OB = buf.one;
  WB = buf.w;
  X = x;
  XO = xOffset;
  PHI = phi;
  PO = phiOffset;
  NOUT = prep.nOutputs;
  VW = prep.valueWidth;
  OUTB = prep.outputBase[t];
  COND = condition;
  CONDF = condFeature;
  recurse(M.treeOffsets[t], 0, 0, 1, 1, -1, 1);
}

function recurse(
  node: number,
  depth: number,
  parentStart: number,
  pZero: number,
  pOne: number,
  pFeat: number,
  condFrac: number,
): void {
  if (condFrac === 0) return;
  // module-level bindings copied to locals: avoids a context load and hole check on every inner-loop access
  const F = FB;
  const Z = ZB;
  const O = OB;
  const W = WB;
  const start = parentStart + depth + 1;
  // copy the parent's path (depth+1 elements: the dummy root element plus `depth` features)
  for (let i = 0; i <= depth; i++) {
    F[start + i] = F[parentStart + i];
    Z[start + i] = Z[parentStart + i];
    O[start + i] = O[parentStart + i];
    W[start + i] = W[parentStart + i];
  }
  if (COND === 0 || CONDF !== pFeat) {
    // EXTEND
    const e = start + depth;
    F[e] = pFeat;
    Z[e] = pZero;
    O[e] = pOne;
    W[e] = depth === 0 ? 1 : 0;
    const inv = 1 / (depth + 1);
    for (let i = depth - 1; i >= 0; i--) {
      const wi = W[start + i];
      W[start + i + 1] += pOne * wi * (i + 1) * inv;
      W[start + i] = pZero * wi * (depth - i) * inv;
    }
  }
  const m = M;
  const l = m.left[node];
  if (l < 0) {
    const vOff = node * VW;
    const vals = P.values;
    const phi = PHI;
    const vw = VW;
    for (let i = 1; i <= depth; i++) {
      // UNWOUND PATH SUM for element i
      const one = O[start + i];
      const zero = Z[start + i];
      let total = 0;
      if (one !== 0) {
        let next = W[start + depth];
        for (let k = depth - 1; k >= 0; k--) {
          const tmp = next / ((k + 1) * one);
          total += tmp;
          next = W[start + k] - tmp * zero * (depth - k);
        }
      } else {
        for (let k = depth - 1; k >= 0; k--) total += W[start + k] / (zero * (depth - k));
      }
      const scale = total * (depth + 1) * (one - zero) * condFrac;
      const base = PO + F[start + i] * NOUT + OUTB;
      for (let j = 0; j < vw; j++) phi[base + j] += scale * vals[vOff + j];
    }
    return;
  }
  const r = m.right[node];
  const split = m.feature[node];
  const hot = goLeft(m, node, X[XO + split]) ? l : r;
  const cold = hot === l ? r : l;
  const fr = P.fractions!;
  const hotZero = fr[hot];
  const coldZero = fr[cold];
  let inZero = 1;
  let inOne = 1;
  let d = depth;
  // already split on this feature? undo that extension so it can be redone with the combined fractions
  let pi = 0;
  for (; pi <= d; pi++) if (F[start + pi] === split) break;
  if (pi !== d + 1) {
    inZero = Z[start + pi];
    inOne = O[start + pi];
    unwind(start, d, pi);
    d -= 1;
  }
  let hotCond = condFrac;
  let coldCond = condFrac;
  if (COND > 0 && split === CONDF) {
    coldCond = 0;
    d -= 1;
  } else if (COND < 0 && split === CONDF) {
    hotCond *= hotZero;
    coldCond *= coldZero;
    d -= 1;
  }
  // A child reached with zero cover fraction and no "one" path contributes nothing (and would divide 0 by 0),
  // unless it is the conditioned feature, which is not extended into the path.
  const keepAll = COND !== 0 && split === CONDF;
  const hz = hotZero * inZero;
  if (hz !== 0 || inOne !== 0 || keepAll) recurse(hot, d + 1, start, hz, inOne, split, hotCond);
  const cz = coldZero * inZero;
  if (cz !== 0 || keepAll) recurse(cold, d + 1, start, cz, 0, split, coldCond);
}

function unwind(start: number, depth: number, pathIndex: number): void {
  const F = FB;
  const Z = ZB;
  const O = OB;
  const W = WB;
  const one = O[start + pathIndex];
  const zero = Z[start + pathIndex];
  let next = W[start + depth];
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = W[start + i];
      W[start + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (W[start + i] * zero * (depth - i)) / (depth + 1);
    } else {
      W[start + i] = (W[start + i] * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = pathIndex; i < depth; i++) {
    F[start + i] = F[start + i + 1];
    Z[start + i] = Z[start + i + 1];
    O[start + i] = O[start + i + 1];
  }
}

