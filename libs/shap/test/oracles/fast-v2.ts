/**
 * Path-dependent TreeSHAP with per-leaf precomputed tables (the idea of Fast TreeSHAP v2, Yang 2021,
 * derived here in closed form).
 *
 * For a leaf l with unique path features F (d = |F|), cover fraction z_f (product of the node fractions of
 * f's splits on the path) and o_f = 1 when x satisfies every split on f along the path, the leaf's game is
 * v(S) = value * prod_{f in S} o_f * prod_{f not in S} z_f. With A = {f : o_f = 1} and
 *   U[B] = sum_{S subset of B} |S|! (d-|S|-1)! / d! * prod_{f in F \ S} z_f,
 * its Shapley values are  phi_i = value * (1 - z_i) / z_i * U[A \ {i}]  for i in A, and  -value * U[A]  otherwise.
 * U is computed once per leaf for all 2^d masks (O(d 2^d)); per row the tree is walked once keeping the
 * mask A, and every leaf costs O(d) table lookups: O(L d) per tree and row instead of O(L d^2).
 * Trees with a zero cover fraction on a path, or whose tables exceed the memory budget, use the classic recursion.
 *
 * Not shipped: it was never the default and measured no faster than the classic recursion (and 10-20x slower than
 * the quadrature kernel) on every benchmark model (libs/shap/README.md), so it lives here as an independent oracle
 * that the tests hold the shipped kernels equal to.
 */
import type { TreeEnsemble } from '@genome/model-format';
import { PathBuffers, pathDependentTree } from '../../src/tree/path-dependent.js';
import { preparePathDependent, treeShapPathDependent, type TreeShapValues } from '../../src/tree/tree-shap.js';
import type { PathAlgorithm } from '../../src/tree/compute.js';
import type { PreparedEnsemble } from '../../src/tree/prepared.js';
import { goesLeft as goesLeftSlow } from '../../src/tree/split.js';

export interface FastTables {
  /** Per tree: 1 when the tree uses the tables, 0 when it falls back to the classic recursion. */
  readonly useTables: Uint8Array;
  /** Per node: bit index of the node's feature among the unique features of the path from the root to it. */
  readonly nodeBit: Int8Array;
  /** Per node: leaf slot (leaves only), -1 otherwise. */
  readonly leafSlot: Int32Array;
  /** Per leaf slot: number of unique path features. */
  readonly leafD: Uint8Array;
  /** Per leaf slot: start in `feats`/`coef`. */
  readonly leafFeatStart: Int32Array;
  /** Per leaf slot: start in `table`. */
  readonly leafTableStart: Int32Array;
  readonly feats: Int32Array;
  /** (1 - z) / z per leaf feature. */
  readonly coef: Float64Array;
  /** U tables; multiplied by the leaf value when valueWidth == 1. */
  readonly table: Float64Array;
  /** Number of table entries (doubles). */
  readonly tableSize: number;
}

/** Default memory budget for the tables: 2^25 doubles (256 MiB). */
export const DEFAULT_TABLE_BUDGET = 1 << 25;

const cache = new WeakMap<PreparedEnsemble, Map<number, FastTables>>();

/**
 * Builds (or returns the cached) tables. Trees whose deepest leaf has more than `maxLeafDepth` unique
 * features, or that would overflow `budget` doubles, are left to the classic recursion.
 */
export function buildFastTables(prep: PreparedEnsemble, budget = DEFAULT_TABLE_BUDGET, maxLeafDepth = 16): FastTables {
  let perPrep = cache.get(prep);
  const key = budget * 64 + maxLeafDepth;
  const hit = perPrep?.get(key);
  if (hit) return hit;
  const m = prep.model;
  const fr = prep.fractions!;
  const nTrees = m.nTrees;
  const nNodes = m.treeOffsets[nTrees];
  const useTables = new Uint8Array(nTrees);
  const nodeBit = new Int8Array(nNodes);
  const leafSlot = new Int32Array(nNodes).fill(-1);
  // First pass: per tree, unique-feature bits, path feature counts, cover fractions; decide eligibility.
  const maxD = prep.maxDepth;
  const pathFeat = new Int32Array(maxD + 1);
  const stackN = new Int32Array(2 * maxD + 4);
  const stackDepth = new Int32Array(2 * maxD + 4);
  let nLeaves = 0;
  let nFeatEntries = 0;
  let tableSize = 0;
  // Tree by tree: count leaves and unique features per leaf by a DFS that records the unique path.
  const treeLeafCount = new Int32Array(nTrees);
  const treeFeatCount = new Int32Array(nTrees);
  const treeTableCount = new Float64Array(nTrees);
  const treeOk = new Uint8Array(nTrees);
  const uniq = new Int32Array(maxD + 1);
  for (let t = 0; t < nTrees; t++) {
    let ok = 1;
    let leaves = 0;
    let featsCount = 0;
    let tab = 0;
    // iterative DFS; unique features of the path are re-derived from parent links kept in a small array
    const root = m.treeOffsets[t];
    let sp = 0;
    stackN[sp] = root;
    stackDepth[sp++] = 0;
    while (sp > 0) {
      const n = stackN[--sp];
      const depth = stackDepth[sp];
      if (m.left[n] < 0) {
        // unique features on the path root..n
        let d = 0;
        for (let k = 0; k < depth; k++) {
          let seen = false;
          for (let q = 0; q < d; q++) if (uniq[q] === pathFeat[k]) seen = true;
          if (!seen) uniq[d++] = pathFeat[k];
        }
        leaves++;
        featsCount += d;
        tab += 2 ** d;
        if (d > maxLeafDepth) ok = 0;
        continue;
      }
      // record this node's feature at its depth, and its bit among the unique features so far
      pathFeat[depth] = m.feature[n];
      let bit = -1;
      let d = 0;
      for (let k = 0; k <= depth; k++) {
        let seen = -1;
        for (let q = 0; q < d; q++) if (uniq[q] === pathFeat[k]) seen = q;
        if (seen < 0) {
          if (k === depth) bit = d;
          uniq[d++] = pathFeat[k];
        } else if (k === depth) bit = seen;
      }
      nodeBit[n] = bit;
      // children are visited left first
      stackN[sp] = m.right[n];
      stackDepth[sp++] = depth + 1;
      stackN[sp] = m.left[n];
      stackDepth[sp++] = depth + 1;
      // zero cover fractions make (1 - z) / z undefined: such trees use the classic recursion
      if (fr[m.left[n]] === 0 || fr[m.right[n]] === 0) ok = 0;
    }
    treeLeafCount[t] = leaves;
    treeFeatCount[t] = featsCount;
    treeTableCount[t] = tab;
    treeOk[t] = ok;
  }
  // choose trees within the budget (in order)
  for (let t = 0; t < nTrees; t++) {
    if (treeOk[t] && tableSize + treeTableCount[t] <= budget) {
      useTables[t] = 1;
      tableSize += treeTableCount[t];
      nLeaves += treeLeafCount[t];
      nFeatEntries += treeFeatCount[t];
    }
  }
  const leafD = new Uint8Array(nLeaves);
  const leafFeatStart = new Int32Array(nLeaves);
  const leafTableStart = new Int32Array(nLeaves);
  const feats = new Int32Array(nFeatEntries);
  const coef = new Float64Array(nFeatEntries);
  const table = new Float64Array(tableSize);
  const vw = prep.valueWidth;
  const vals = prep.values;
  // Shapley weights w(s, d) = s! (d - s - 1)! / d!
  const wts = new Float64Array((maxD + 2) * (maxD + 2));
  for (let d = 1; d <= maxD + 1; d++) {
    for (let s = 0; s < d; s++) {
      let c = 1;
      for (let k = 1; k <= s; k++) c = (c * (d - s - 1 + k)) / k;
      wts[d * (maxD + 2) + s] = 1 / (d * c);
    }
  }
  const uniqZ = new Float64Array(maxD + 1);
  const pathNode = new Int32Array(maxD + 1);
  let leaf = 0;
  let fpos = 0;
  let tpos = 0;
  for (let t = 0; t < nTrees; t++) {
    if (!useTables[t]) continue;
    const root = m.treeOffsets[t];
    let sp = 0;
    stackN[sp] = root;
    stackDepth[sp++] = 0;
    while (sp > 0) {
      const n = stackN[--sp];
      const depth = stackDepth[sp];
      if (m.left[n] >= 0) {
        pathNode[depth] = n;
        stackN[sp] = m.right[n];
        stackDepth[sp++] = depth + 1;
        stackN[sp] = m.left[n];
        stackDepth[sp++] = depth + 1;
        continue;
      }
      // leaf: walk the path pathNode[0..depth-1] with child pathNode[k+1] (or n)
      let d = 0;
      for (let k = 0; k < depth; k++) {
        const p = pathNode[k];
        const child = k + 1 < depth ? pathNode[k + 1] : n;
        const f = m.feature[p];
        let q = 0;
        for (; q < d; q++) if (uniq[q] === f) break;
        if (q === d) {
          uniq[d] = f;
          uniqZ[d] = 1;
          d++;
        }
        uniqZ[q] *= fr[child];
      }
      leafSlot[n] = leaf;
      leafD[leaf] = d;
      leafFeatStart[leaf] = fpos;
      leafTableStart[leaf] = tpos;
      for (let q = 0; q < d; q++) {
        feats[fpos + q] = uniq[q];
        coef[fpos + q] = (1 - uniqZ[q]) / uniqZ[q];
      }
      const size = 1 << d;
      const mult = vw === 1 ? vals[n] : 1;
      const wo = d * (maxD + 2);
      for (let S = 0; S < size; S++) {
        let prod = 1;
        let pop = 0;
        for (let q = 0; q < d; q++) {
          if ((S >> q) & 1) pop++;
          else prod *= uniqZ[q];
        }
        table[tpos + S] = d > 0 ? mult * wts[wo + pop] * prod : 0;
      }
      // subset sums: U[B] = sum over S subset of B
      for (let q = 0; q < d; q++) {
        const b = 1 << q;
        for (let B = 0; B < size; B++) if (B & b) table[tpos + B] += table[tpos + (B ^ b)];
      }
      fpos += d;
      tpos += size;
      leaf++;
    }
  }
  const out: FastTables = {
    useTables,
    nodeBit,
    leafSlot,
    leafD,
    leafFeatStart,
    leafTableStart,
    feats,
    coef,
    table,
    tableSize,
  };
  if (!perPrep) {
    perPrep = new Map();
    cache.set(prep, perPrep);
  }
  perPrep.set(key, out);
  return out;
}

/**
 * Adds the path-dependent SHAP values of tree `t` (which must have `useTables[t] === 1`) for row `x` into
 * `phi[phiOffset + feature * nOutputs + o]`. `stack` needs 2 * (maxDepth + 2) entries.
 */
export function fastTree(
  prep: PreparedEnsemble,
  tab: FastTables,
  t: number,
  x: Float64Array,
  xOffset: number,
  phi: Float64Array,
  phiOffset: number,
  stackN: Int32Array,
  stackM: Int32Array,
): void {
  const m = prep.model;
  const left = m.left;
  const right = m.right;
  const feature = m.feature;
  const threshold = m.threshold;
  const decision = m.decision;
  const missing = m.missing;
  const nodeBit = tab.nodeBit;
  const leafSlot = tab.leafSlot;
  const leafD = tab.leafD;
  const lfs = tab.leafFeatStart;
  const lts = tab.leafTableStart;
  const feats = tab.feats;
  const coef = tab.coef;
  const table = tab.table;
  const nOut = prep.nOutputs;
  const vw = prep.valueWidth;
  const vals = prep.values;
  const po = phiOffset + prep.outputBase[t];
  let sp = 0;
  stackN[0] = m.treeOffsets[t];
  stackM[0] = -1;
  sp = 1;
  while (sp > 0) {
    --sp;
    const n = stackN[sp];
    const mask = stackM[sp];
    const l = left[n];
    if (l >= 0) {
      const v = x[xOffset + feature[n]];
      let goLeft: boolean;
      // fast path for plain numeric splits; everything else goes through the shared rule
      if (v === v && missing[n] !== 2 && decision[n] !== 2) {
        goLeft = decision[n] === 0 ? v < threshold[n] : v <= threshold[n];
      } else {
        goLeft = goesLeftSlow(m, n, v);
      }
      const off = mask & ~(1 << nodeBit[n]);
      if (goLeft) {
        stackN[sp] = right[n];
        stackM[sp++] = off;
        stackN[sp] = l;
        stackM[sp++] = mask;
      } else {
        stackN[sp] = l;
        stackM[sp++] = off;
        stackN[sp] = right[n];
        stackM[sp++] = mask;
      }
      continue;
    }
    const s = leafSlot[n];
    const d = leafD[s];
    if (d === 0) continue;
    const A = mask & ((1 << d) - 1);
    const ts = lts[s];
    const fs = lfs[s];
    const uA = table[ts + A];
    if (vw === 1) {
      for (let k = 0; k < d; k++) {
        const bit = 1 << k;
        const val = A & bit ? coef[fs + k] * table[ts + (A ^ bit)] : -uA;
        phi[po + feats[fs + k] * nOut] += val;
      }
    } else {
      const vo = n * vw;
      for (let k = 0; k < d; k++) {
        const bit = 1 << k;
        const val = A & bit ? coef[fs + k] * table[ts + (A ^ bit)] : -uA;
        const base = po + feats[fs + k] * nOut;
        for (let j = 0; j < vw; j++) phi[base + j] += val * vals[vo + j];
      }
    }
  }
}


/** Path-dependent SHAP values `[row][feature][output]` of `nRows` rows by the per-leaf-table kernel. */
export function fastV2PathDependent(model: TreeEnsemble, rows: Float64Array, nRows: number): Float64Array {
  const prep = preparePathDependent(model);
  const tab = buildFastTables(prep);
  const m = prep.model;
  const nF = prep.nFeatures;
  const stride = nF * prep.nOutputs;
  const out = new Float64Array(nRows * stride);
  const buf = new PathBuffers(prep.maxDepth);
  const stackN = new Int32Array(2 * prep.maxDepth + 8);
  const stackM = new Int32Array(2 * prep.maxDepth + 8);
  for (let r = 0; r < nRows; r++) {
    for (let t = 0; t < m.nTrees; t++) {
      if (tab.useTables[t] === 1) fastTree(prep, tab, t, rows, r * nF, out, r * stride, stackN, stackM);
      else pathDependentTree(prep, t, rows, r * nF, out, r * stride, buf);
    }
  }
  return out;
}

/** The shipped path-dependent kernels and this oracle, as the tests run them side by side. */
export const PATH_KERNELS = ['quadrature', 'quadrature-js', 'classic', 'fast-v2'] as const;

/** Path-dependent SHAP values by a shipped kernel, or by the per-leaf-table oracle for `fast-v2`. */
export function pathDependentBy(kernel: Exclude<PathAlgorithm, 'auto'> | 'fast-v2', model: TreeEnsemble, rows: Float64Array, nRows: number): TreeShapValues {
  if (kernel !== 'fast-v2') return treeShapPathDependent(model, rows, nRows, { algorithm: kernel });
  const none = treeShapPathDependent(model, rows.subarray(0, 0), 0);
  return { ...none, nRows, values: fastV2PathDependent(model, rows, nRows) };
}
