/**
 * Path-dependent TreeSHAP by Gauss-Legendre quadrature, aggregated bottom-up (O(L·Q) per tree and row,
 * Q = ceil(depth / 2); the classic algorithm is O(L·D²)).
 *
 * For one leaf with value v and the unique features j on its path, the path-dependent game is the product game
 * g(S) = v · Π_j (j ∈ S ? o_j : z_j), where o_j = 1 when the row satisfies every split on j along the path and z_j is
 * the product of the cover fractions of those splits. Its Shapley value for a path feature i has the integral form
 *     phi_i = v · (o_i − z_i) · ∫₀¹ Π_{j≠i} a_j(t) dt,   a_j(t) = z_j + (o_j − z_j)·t,
 * an integral of a polynomial of degree (#path features − 1) <= D − 1, which Q-point Gauss-Legendre quadrature
 * integrates exactly when 2Q − 1 >= D − 1. Writing P_leaf(t) = v·Π_j a_j(t), the integrand is P_leaf / a_i.
 *
 * Every leaf's term for feature i is charged to the deepest edge on its path that splits on i; at that edge the
 * combined (o_i, z_i) is the same for all leaves charged to it. So with S(n)(t) = Σ_{leaves under n} P_leaf(t), the
 * edge e into child c on feature i adds
 *     (O_e − Z_e) · Σ_k w_k · [S(c)(t_k) − Σ_{first i-edges e' below c} S(c')(t_k)] / A_e(t_k)
 * where the subtracted sums belong to deeper edges on i (which charge those leaves themselves). One depth-first
 * pass carries prefix products down and S up, all at the Q quadrature points; an explicit stack, no recursion,
 * no allocation. Exactness is verified against brute-force subset enumeration in the property tests.
 */
import type { PreparedEnsemble } from './prepared.js';

/** Gauss-Legendre nodes and weights on [0, 1] for `q` points (Newton iteration on P_q, float64-exact). */
export function gaussLegendre01(q: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(q);
  const weights = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    // Initial guess (Tricomi), then Newton on the Legendre polynomial P_q over [-1, 1].
    let x = Math.cos((Math.PI * (i + 0.75)) / (q + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= q; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const pq = q === 1 ? x : p1;
      const pqm1 = q === 1 ? 1 : p0;
      dp = (q * (x * pq - pqm1)) / (x * x - 1);
      const dx = pq / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    // Recompute the derivative at the converged root for the weight.
    let p0 = 1;
    let p1 = x;
    for (let k = 2; k <= q; k++) {
      const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
      p0 = p1;
      p1 = p2;
    }
    dp = q === 1 ? 1 : (q * (x * p1 - p0)) / (x * x - 1);
    nodes[i] = (1 - x) / 2;
    weights[i] = 1 / ((1 - x * x) * dp * dp); // 2/((1-x²)P'²) on [-1,1], halved for [0,1]
  }
  return { nodes, weights };
}

/** Reusable per-thread buffers for {@link quadratureTree}. */
export class QuadratureBuffers {
  readonly q: number;
  readonly t: Float64Array;
  readonly w: Float64Array;
  /** Per level (depth 0..D+1). */
  readonly node: Int32Array;
  readonly stage: Uint8Array;
  readonly feat: Int32Array;
  readonly edgeO: Float64Array;
  readonly edgeZ: Float64Array;
  readonly prevO: Float64Array;
  readonly prevZ: Float64Array;
  /** Per level x Q: prefix product of a_j(t_k) along the path. */
  readonly prefix: Float64Array;
  /** Per level x Q x W: S(node)(t_k) being accumulated, and the saved per-feature accumulator. */
  readonly sum: Float64Array;
  readonly saved: Float64Array;
  /** Per feature: current combined (O, Z) along the path (1, 1 = not on the path) and accumulator (Q x W). */
  readonly curO: Float64Array;
  readonly curZ: Float64Array;
  readonly acc: Float64Array;

  constructor(nFeatures: number, maxDepth: number, valueWidth: number) {
    // Exact for integrands of degree <= 2q - 1 >= maxDepth - 1.
    this.q = Math.max(1, Math.ceil(maxDepth / 2));
    const { nodes, weights } = gaussLegendre01(this.q);
    this.t = nodes;
    this.w = weights;
    const levels = maxDepth + 2;
    this.node = new Int32Array(levels);
    this.stage = new Uint8Array(levels);
    this.feat = new Int32Array(levels);
    this.edgeO = new Float64Array(levels);
    this.edgeZ = new Float64Array(levels);
    this.prevO = new Float64Array(levels);
    this.prevZ = new Float64Array(levels);
    this.prefix = new Float64Array(levels * this.q);
    this.sum = new Float64Array(levels * this.q * valueWidth);
    this.saved = new Float64Array(levels * this.q * valueWidth);
    this.curO = new Float64Array(nFeatures).fill(1);
    this.curZ = new Float64Array(nFeatures).fill(1);
    this.acc = new Float64Array(nFeatures * this.q * valueWidth);
  }
}

/**
 * Adds the path-dependent SHAP values of tree `t` for the row whose routing is `dirX[n] = 1` (goes left at node n)
 * into `phi[phiOffset + feature * nOutputs + output]`. `zero` holds each node's cover fraction relative to its
 * parent (prepared.fractions).
 */
export function quadratureTree(
  prep: PreparedEnsemble,
  t: number,
  dirX: Uint8Array,
  zero: Float64Array,
  phi: Float64Array,
  phiOffset: number,
  b: QuadratureBuffers,
): void {
  const m = prep.model;
  const left = m.left;
  const right = m.right;
  const feature = m.feature;
  const values = prep.values;
  const W = prep.valueWidth;
  const Q = b.q;
  const QW = Q * W;
  const tk = b.t;
  const wk = b.w;
  const nodeAt = b.node;
  const stage = b.stage;
  const featAt = b.feat;
  const edgeO = b.edgeO;
  const edgeZ = b.edgeZ;
  const prevO = b.prevO;
  const prevZ = b.prevZ;
  const prefix = b.prefix;
  const sum = b.sum;
  const saved = b.saved;
  const curO = b.curO;
  const curZ = b.curZ;
  const acc = b.acc;
  const nOut = prep.nOutputs;
  const phiBase = phiOffset + prep.outputBase[t];

  const root = m.treeOffsets[t];
  nodeAt[0] = root;
  stage[0] = 0;
  for (let k = 0; k < Q; k++) prefix[k] = 1;
  for (let i = 0; i < QW; i++) sum[i] = 0;
  let d = 0;
  for (;;) {
    const n = nodeAt[d];
    const l = left[n];
    const st = stage[d];
    if (l >= 0 && st < 2) {
      // Descend into the next child (the one the row follows first, then the other).
      stage[d] = st + 1;
      const hotLeft = dirX[n] === 1;
      const c = (st === 0) === hotLeft ? l : right[n];
      const o = st === 0 ? 1 : 0; // the row follows the first child visited
      const f = feature[n];
      const po = curO[f];
      const pz = curZ[f];
      const O = po * o;
      const Z = pz * zero[c];
      if (O === 0 && Z === 0) continue; // no leaf below carries weight
      const d1 = d + 1;
      nodeAt[d1] = c;
      stage[d1] = 0;
      featAt[d1] = f;
      edgeO[d1] = O;
      edgeZ[d1] = Z;
      prevO[d1] = po;
      prevZ[d1] = pz;
      curO[f] = O;
      curZ[f] = Z;
      const pOff = d * Q;
      const cOff = d1 * Q;
      const slope = O - Z;
      if (po === 1 && pz === 1) {
        for (let k = 0; k < Q; k++) prefix[cOff + k] = prefix[pOff + k] * (Z + slope * tk[k]);
      } else {
        const pslope = po - pz;
        for (let k = 0; k < Q; k++) prefix[cOff + k] = (prefix[pOff + k] * (Z + slope * tk[k])) / (pz + pslope * tk[k]);
      }
      const aOff = f * QW;
      const sOff = d1 * QW;
      // At the first level nothing above reads the accumulator: start it clean for every tree.
      const keep = d1 === 1 ? 0 : 1;
      for (let i = 0; i < QW; i++) {
        saved[sOff + i] = keep * acc[aOff + i];
        acc[aOff + i] = 0;
        sum[sOff + i] = 0;
      }
      d = d1;
      continue;
    }
    // Node finished: a leaf, or an internal node with both children done.
    const sOff = d * QW;
    if (l < 0) {
      const pOff = d * Q;
      const vOff = n * W;
      for (let k = 0; k < Q; k++) {
        const p = prefix[pOff + k];
        for (let j = 0; j < W; j++) sum[sOff + k * W + j] = values[vOff + j] * p;
      }
    }
    if (d === 0) return;
    // Charge the edge into this node, then hand S up to the parent.
    const f = featAt[d];
    const O = edgeO[d];
    const Z = edgeZ[d];
    const slope = O - Z;
    const aOff = f * QW;
    if (slope !== 0) {
      const pb = phiBase + f * nOut;
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let k = 0; k < Q; k++) {
          const i = k * W + j;
          s += (wk[k] * (sum[sOff + i] - acc[aOff + i])) / (Z + slope * tk[k]);
        }
        phi[pb + j] += slope * s;
      }
    }
    const upOff = sOff - QW;
    for (let i = 0; i < QW; i++) {
      const s = sum[sOff + i];
      acc[aOff + i] = saved[sOff + i] + s;
      sum[upOff + i] += s;
    }
    curO[f] = prevO[d];
    curZ[f] = prevZ[d];
    d -= 1;
  }
}

/** Buffers for {@link quadratureBatch1}: one traversal of a tree serves `rows` rows at once. */
export class QuadratureBatchBuffers {
  readonly q: number;
  readonly t: Float64Array;
  readonly w: Float64Array;
  readonly rows: number;
  readonly node: Int32Array;
  readonly stage: Uint8Array;
  readonly feat: Int32Array;
  /** Per level: combined Z of the edge into the node, and Z of its feature before that edge. */
  readonly edgeZ: Float64Array;
  readonly prevZ: Float64Array;
  /** Per level x row: combined O (0/1) of the edge, and O of its feature before that edge. */
  readonly edgeO: Float64Array;
  readonly prevO: Float64Array;
  /** Per level x Q: 1/A_e(t_k) for rows with O = 1 and with O = 0 (0 when the edge is dead for them). */
  readonly inv1: Float64Array;
  readonly inv0: Float64Array;
  /** Per level x row x Q. */
  readonly prefix: Float64Array;
  readonly sum: Float64Array;
  readonly saved: Float64Array;
  /** Per feature: combined Z (scalar) and per row combined O; accumulator per feature x row x Q. */
  readonly curZ: Float64Array;
  readonly curO: Float64Array;
  readonly acc: Float64Array;
  /** Scratch per row and per Q. */
  readonly o: Float64Array;
  readonly a1: Float64Array;
  readonly a0: Float64Array;
  readonly p1: Float64Array;
  readonly p0: Float64Array;
  /** Per Q: A·(1/A_prev) for the four (O, O_prev) combinations; quadrature weights over A for O = 1 / 0. */
  readonly f11: Float64Array;
  readonly f10: Float64Array;
  readonly f01: Float64Array;
  readonly f00: Float64Array;
  readonly w1: Float64Array;
  readonly w0: Float64Array;
  /** Per feature: how many edges on the current path split on it. */
  readonly onPath: Int32Array;

  constructor(nFeatures: number, maxDepth: number, rows: number) {
    this.q = Math.max(1, Math.ceil(maxDepth / 2));
    const { nodes, weights } = gaussLegendre01(this.q);
    this.t = nodes;
    this.w = weights;
    this.rows = rows;
    const levels = maxDepth + 2;
    const Q = this.q;
    this.node = new Int32Array(levels);
    this.stage = new Uint8Array(levels);
    this.feat = new Int32Array(levels);
    this.edgeZ = new Float64Array(levels);
    this.prevZ = new Float64Array(levels);
    this.edgeO = new Float64Array(levels * rows);
    this.prevO = new Float64Array(levels * rows);
    this.inv1 = new Float64Array(levels * Q);
    this.inv0 = new Float64Array(levels * Q);
    this.prefix = new Float64Array(levels * rows * Q);
    this.sum = new Float64Array(levels * rows * Q);
    this.saved = new Float64Array(levels * rows * Q);
    this.curZ = new Float64Array(nFeatures).fill(1);
    this.curO = new Float64Array(nFeatures * rows).fill(1);
    this.acc = new Float64Array(nFeatures * rows * Q);
    this.o = new Float64Array(rows);
    this.a1 = new Float64Array(Q);
    this.a0 = new Float64Array(Q);
    this.p1 = new Float64Array(Q);
    this.p0 = new Float64Array(Q);
    this.f11 = new Float64Array(Q);
    this.f10 = new Float64Array(Q);
    this.f01 = new Float64Array(Q);
    this.f00 = new Float64Array(Q);
    this.w1 = new Float64Array(Q);
    this.w0 = new Float64Array(Q);
    this.onPath = new Int32Array(nFeatures);
  }
}

/**
 * The quadrature kernel for one value per node (valueWidth 1: regression, binary and one-tree-per-class boosting)
 * over a batch of `nb` rows in one traversal of tree `t` (valueWidth 1). The traversal and
 * every cover-dependent quantity (Z, and the reciprocals of A(t_k), which take one of two values per node since
 * O is 0 or 1) are shared by the rows; only the prefix products and sums are per row, in tight loops with no
 * division. Leaves are handled in place instead of pushed: at a leaf reached through edge e on feature f,
 * P_leaf / A_e = v · prefix(parent) / A_prev(f). `dir[r * treeSize + (n - root)] = 1` when row r goes left at node n.
 */
export function quadratureBatch1(
  prep: PreparedEnsemble,
  t: number,
  nb: number,
  dir: Uint8Array,
  treeSize: number,
  zero: Float64Array,
  phi: Float64Array,
  phiOffset: number,
  phiRowStride: number,
  b: QuadratureBatchBuffers,
): void {
  const m = prep.model;
  const left = m.left;
  const right = m.right;
  const feature = m.feature;
  const values = prep.values;
  const Q = b.q;
  const R = b.rows;
  const RQ = R * Q;
  const tk = b.t;
  const wk = b.w;
  const nodeAt = b.node;
  const stage = b.stage;
  const featAt = b.feat;
  const edgeZ = b.edgeZ;
  const prevZ = b.prevZ;
  const edgeO = b.edgeO;
  const prevO = b.prevO;
  const inv1 = b.inv1;
  const inv0 = b.inv0;
  const prefix = b.prefix;
  const sum = b.sum;
  const saved = b.saved;
  const curZ = b.curZ;
  const curO = b.curO;
  const acc = b.acc;
  const oRow = b.o;
  const a1 = b.a1;
  const a0 = b.a0;
  const p1 = b.p1;
  const p0 = b.p0;
  const f11 = b.f11;
  const f10 = b.f10;
  const f01 = b.f01;
  const f00 = b.f00;
  const w1 = b.w1;
  const w0 = b.w0;
  const onPath = b.onPath;
  const nOut = prep.nOutputs;
  const phiBase = phiOffset + prep.outputBase[t];

  const root = m.treeOffsets[t];
  if (left[root] < 0) return;
  nodeAt[0] = root;
  stage[0] = 0;
  for (let i = 0; i < nb * Q; i++) {
    prefix[i] = 1;
    sum[i] = 0;
  }
  let d = 0;
  for (;;) {
    const n = nodeAt[d];
    const st = stage[d];
    if (st < 2) {
      stage[d] = st + 1;
      const goLeft = st === 0 ? 1 : 0;
      const c = st === 0 ? left[n] : right[n];
      const f = feature[n];
      const pz = curZ[f];
      const Z = pz * zero[c];
      const dn = n - root;
      let any = 0;
      for (let r = 0; r < nb; r++) {
        const o = dir[r * treeSize + dn] === goLeft ? curO[f * R + r] : 0;
        oRow[r] = o;
        any += o;
      }
      if (Z === 0 && any === 0) continue;
      // Per-node factors: A(t) = Z + (O - Z) t for O = 1 / 0, and 1/A_prev(t) of the feature for O_prev = 1 / 0.
      for (let k = 0; k < Q; k++) {
        const tt = tk[k];
        a1[k] = Z + (1 - Z) * tt;
        a0[k] = Z * (1 - tt);
        const q1 = pz + (1 - pz) * tt;
        const q0 = pz * (1 - tt);
        p1[k] = 1 / q1;
        p0[k] = q0 === 0 ? 0 : 1 / q0;
      }
      const dQ = d * RQ;
      const aF = f * RQ;
      if (left[c] < 0) {
        const v = values[c];
        const pb = phiBase + f * nOut;
        // A first edge on f (no f-edge above) starts f's accumulator from zero, so results never depend on
        // what earlier trees or rows left there.
        const keepAcc = onPath[f] === 0 ? 0 : 1;
        for (let r = 0; r < nb; r++) {
          const o = oRow[r];
          const aa = o === 1 ? a1 : a0;
          const pp = curO[f * R + r] === 1 ? p1 : p0;
          const ro = dQ + r * Q;
          const ra = aF + r * Q;
          let charge = 0;
          for (let k = 0; k < Q; k++) {
            const p = v * prefix[ro + k] * pp[k];
            charge += wk[k] * p;
            const s = p * aa[k];
            sum[ro + k] += s;
            acc[ra + k] = keepAcc * acc[ra + k] + s;
          }
          phi[pb + r * phiRowStride] += (o - Z) * charge;
        }
        continue;
      }
      const d1 = d + 1;
      nodeAt[d1] = c;
      stage[d1] = 0;
      featAt[d1] = f;
      edgeZ[d1] = Z;
      prevZ[d1] = pz;
      curZ[f] = Z;
      const cQ = d1 * RQ;
      const keep = onPath[f] === 0 ? 0 : 1;
      onPath[f] += 1;
      for (let k = 0; k < Q; k++) {
        inv1[d1 * Q + k] = 1 / a1[k];
        inv0[d1 * Q + k] = Z === 0 ? 0 : 1 / a0[k];
      }
      for (let k = 0; k < Q; k++) {
        f11[k] = a1[k] * p1[k];
        f10[k] = a1[k] * p0[k];
        f01[k] = a0[k] * p1[k];
        f00[k] = a0[k] * p0[k];
      }
      for (let r = 0; r < nb; r++) {
        const o = oRow[r];
        const po = curO[f * R + r];
        prevO[d1 * R + r] = po;
        edgeO[d1 * R + r] = o;
        curO[f * R + r] = o;
        const fac = o === 1 ? (po === 1 ? f11 : f10) : po === 1 ? f01 : f00;
        const rc = cQ + r * Q;
        const rp = dQ + r * Q;
        const ra = aF + r * Q;
        if (keep === 0) for (let k = 0; k < Q; k++) acc[ra + k] = 0;
        for (let k = 0; k < Q; k++) {
          prefix[rc + k] = prefix[rp + k] * fac[k];
          saved[rc + k] = acc[ra + k];
          sum[rc + k] = 0;
        }
      }
      d = d1;
      continue;
    }
    if (d === 0) return;
    const f = featAt[d];
    const Z = edgeZ[d];
    const dQ = d * RQ;
    const upQ = dQ - RQ;
    const aF = f * RQ;
    const pb = phiBase + f * nOut;
    const dq = d * Q;
    for (let k = 0; k < Q; k++) {
      w1[k] = wk[k] * inv1[dq + k];
      w0[k] = wk[k] * inv0[dq + k];
    }
    for (let r = 0; r < nb; r++) {
      const o = edgeO[d * R + r];
      const ww = o === 1 ? w1 : w0;
      const rs = dQ + r * Q;
      const ru = upQ + r * Q;
      const ra = aF + r * Q;
      let charge = 0;
      for (let k = 0; k < Q; k++) {
        // acc holds saved + (S of the first f-edges below, added by them on return): subtract what they charge.
        const s = sum[rs + k];
        const sv = saved[rs + k];
        charge += ww[k] * (s - acc[ra + k] + sv);
        acc[ra + k] = sv + s;
        sum[ru + k] += s;
      }
      phi[pb + r * phiRowStride] += (o - Z) * charge;
      curO[f * R + r] = prevO[d * R + r];
    }
    curZ[f] = prevZ[d];
    onPath[f] -= 1;
    d -= 1;
  }
}
