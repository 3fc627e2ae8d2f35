/**
 * Row-range kernels over flat typed arrays: the single-thread engine that the public API and the worker pool
 * both call. Outputs are row-major: SHAP values `[row][feature][output]`, interactions `[row][i][j][output]`.
 */
import { ShapError } from '../errors.js';
import type { PreparedEnsemble } from './prepared.js';
import { PathBuffers, pathDependentTree } from './path-dependent.js';
import { InterventionalBuffers, interventionalTree } from './interventional.js';
import { fillDirections } from './split.js';
import { applyLink, type Link } from './output-link.js';
import { interventionalWasmRange, interventionalWasmSupports } from './interventional-wasm.js';
import { QuadratureBatchBuffers, QuadratureBuffers, quadratureBatch1, quadratureTree } from './quadrature.js';
import {
  quadratureWasmInteractionsRange,
  quadratureWasmInteractionsSupports,
  quadratureWasmRange,
  quadratureWasmSupports,
} from './quadrature-wasm.js';

export { applyLink, type Link } from './output-link.js';

/** Rows that share one traversal of a tree in the batched TypeScript quadrature kernel. */
const QUADRATURE_BATCH = 16;

/**
 * Which path-dependent kernel to run: `quadrature` runs the WebAssembly kernel where it covers the model
 * (quadratureWasmSupports) and the TypeScript one otherwise; `quadrature-js` always the TypeScript one; `classic` the
 * EXTEND/UNWIND recursion (the kernel of the interaction values where WebAssembly does not cover the model).
 */
export type PathAlgorithm = 'auto' | 'quadrature' | 'quadrature-js' | 'classic';

/** The path-dependent kernels, `auto` first. */
export const PATH_ALGORITHMS: readonly PathAlgorithm[] = ['auto', 'quadrature', 'quadrature-js', 'classic'];

/**
 * Resolves `auto` to the fastest kernel that runs `prep` here (benchmarks/tree-shap.bench.ts, "kernel choice by
 * shape"): the WebAssembly quadrature kernel where it covers the model; else, for a value vector per node, the
 * classic recursion (2.6x the TypeScript quadrature kernel on a 5-class forest: its sums S are per class); else the
 * TypeScript quadrature kernel. Throws INVALID_OPTION for a name that is not a kernel.
 */
export function resolvePathAlgorithm(prep: PreparedEnsemble, algorithm: PathAlgorithm): 'quadrature' | 'quadrature-js' | 'classic' {
  if (!PATH_ALGORITHMS.includes(algorithm)) {
    const removed = (algorithm as string) === 'fast-v2' ? ' ("fast-v2" was removed: see the kernel table in the README)' : '';
    throw new ShapError('INVALID_OPTION', `Unknown TreeSHAP algorithm ${JSON.stringify(algorithm)}${removed}; use one of ${PATH_ALGORITHMS.join(', ')}.`);
  }
  if (algorithm !== 'auto') return algorithm;
  if (quadratureWasmSupports(prep)) return 'quadrature';
  return prep.valueWidth > 1 ? 'classic' : 'quadrature-js';
}

/** Path-dependent SHAP values for rows [rowStart, rowEnd) written to `out` at row offset 0 = rowStart. */
export function pathDependentRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
  algorithm: 'quadrature' | 'quadrature-js' | 'classic',
): void {
  const m = prep.model;
  const nF = prep.nFeatures;
  const stride = nF * prep.nOutputs;
  if (algorithm === 'quadrature' && quadratureWasmSupports(prep)) {
    quadratureWasmRange(prep, rows, rowStart, rowEnd, out);
    return;
  }
  if (algorithm === 'quadrature' || algorithm === 'quadrature-js') {
    const fractions = prep.fractions!;
    if (prep.valueWidth === 1) {
      // Batches of rows share each tree traversal; directions are filled per tree so they stay in cache.
      const R = Math.min(QUADRATURE_BATCH, Math.max(1, rowEnd - rowStart));
      const qb = new QuadratureBatchBuffers(nF, prep.maxDepth, R);
      let maxTree = 1;
      for (let t = 0; t < m.nTrees; t++) maxTree = Math.max(maxTree, m.treeOffsets[t + 1] - m.treeOffsets[t]);
      const dir = new Uint8Array(R * maxTree);
      for (let r0 = rowStart; r0 < rowEnd; r0 += R) {
        const nb = Math.min(R, rowEnd - r0);
        for (let t = 0; t < m.nTrees; t++) {
          const root = m.treeOffsets[t];
          const end = m.treeOffsets[t + 1];
          const ts = end - root;
          for (let r = 0; r < nb; r++) fillDirections(m, rows, (r0 + r) * nF, root, end, dir, root - r * ts);
          quadratureBatch1(prep, t, nb, dir, ts, fractions, out, (r0 - rowStart) * stride, stride, qb);
        }
      }
      return;
    }
    const qb = new QuadratureBuffers(nF, prep.maxDepth, prep.valueWidth);
    const nNodes = m.treeOffsets[m.nTrees];
    const dir = new Uint8Array(nNodes);
    for (let r = rowStart; r < rowEnd; r++) {
      fillDirections(m, rows, r * nF, 0, nNodes, dir, 0);
      const po = (r - rowStart) * stride;
      for (let t = 0; t < m.nTrees; t++) quadratureTree(prep, t, dir, fractions, out, po, qb);
    }
    return;
  }
  const buf = new PathBuffers(prep.maxDepth);
  for (let r = rowStart; r < rowEnd; r++) {
    const xo = r * nF;
    const po = (r - rowStart) * stride;
    for (let t = 0; t < m.nTrees; t++) pathDependentTree(prep, t, rows, xo, out, po, buf);
  }
}

/** Which interaction kernel to run: `auto` = `quadrature` (WebAssembly) where it covers the model, else `classic`. */
export type InteractionAlgorithm = 'auto' | 'quadrature' | 'classic';

/**
 * Path-dependent SHAP interaction values (shap's definition: phi_ij = (phi_i | j on  -  phi_i | j off) / 2 for
 * i != j, diagonal = phi_i - sum_{j != i} phi_ij) for rows [rowStart, rowEnd) into `out`
 * (`nFeatures * nFeatures * nOutputs` per row).
 */
export function interactionsRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
  algorithm: InteractionAlgorithm = 'auto',
): void {
  if (algorithm !== 'classic' && quadratureWasmInteractionsSupports(prep)) {
    quadratureWasmInteractionsRange(prep, rows, rowStart, rowEnd, out);
    return;
  }
  const m = prep.model;
  const nF = prep.nFeatures;
  const nO = prep.nOutputs;
  const stride = nF * nF * nO;
  const buf = new PathBuffers(prep.maxDepth);
  const diag = new Float64Array(nF * nO);
  const on = new Float64Array(nF * nO);
  const off = new Float64Array(nF * nO);
  const seen = new Int32Array(nF).fill(-1);
  const treeFeats = new Int32Array(nF);
  for (let r = rowStart; r < rowEnd; r++) {
    const xo = r * nF;
    const io = (r - rowStart) * stride;
    diag.fill(0);
    for (let t = 0; t < m.nTrees; t++) {
      pathDependentTree(prep, t, rows, xo, diag, 0, buf);
      // unique features of the tree
      let nu = 0;
      for (let n = m.treeOffsets[t]; n < m.treeOffsets[t + 1]; n++) {
        const f = m.feature[n];
        if (m.left[n] >= 0 && seen[f] !== t + r * m.nTrees) {
          seen[f] = t + r * m.nTrees;
          treeFeats[nu++] = f;
        }
      }
      for (let k = 0; k < nu; k++) {
        const j = treeFeats[k];
        on.fill(0);
        off.fill(0);
        pathDependentTree(prep, t, rows, xo, on, 0, buf, 1, j);
        pathDependentTree(prep, t, rows, xo, off, 0, buf, -1, j);
        const rowBase = io + j * nF * nO;
        for (let q = 0; q < nF * nO; q++) {
          const v = (on[q] - off[q]) / 2;
          out[rowBase + q] += v;
          diag[q] -= v;
        }
      }
    }
    for (let i = 0; i < nF; i++) {
      for (let o = 0; o < nO; o++) out[io + (i * nF + i) * nO + o] = diag[i * nO + o];
    }
  }
}

/** Routing of background rows through every node: `dirs[b * nNodes + n] = 1` when row b goes left at n. */
export function backgroundDirections(prep: PreparedEnsemble, bg: Float64Array, nBg: number): Uint8Array {
  const m = prep.model;
  const nNodes = m.treeOffsets[m.nTrees];
  const dirs = new Uint8Array(nBg * nNodes);
  const row = dirs; // alias for clarity below
  for (let b = 0; b < nBg; b++) {
    fillDirections(m, bg, b * prep.nFeatures, 0, nNodes, row.subarray(b * nNodes, (b + 1) * nNodes), 0);
  }
  return dirs;
}

/** Raw margins (with baseScore) of rows given their routing `dirs` (nNodes per row): `out[r * nOutputs + o]`. */
export function marginsFromDirections(prep: PreparedEnsemble, dirs: Uint8Array, nRows: number, out: Float64Array): void {
  const m = prep.model;
  const nNodes = m.treeOffsets[m.nTrees];
  const nO = prep.nOutputs;
  const vw = prep.valueWidth;
  for (let r = 0; r < nRows; r++) {
    const d0 = r * nNodes;
    for (let o = 0; o < nO; o++) out[r * nO + o] = m.baseScore[o] ?? 0;
    for (let t = 0; t < m.nTrees; t++) {
      let n = m.treeOffsets[t];
      while (m.left[n] >= 0) n = dirs[d0 + n] === 1 ? m.left[n] : m.right[n];
      const ob = r * nO + prep.outputBase[t];
      for (let j = 0; j < vw; j++) out[ob + j] += prep.values[n * vw + j];
    }
  }
}

/**
 * Which interventional kernel to run: `auto` = the WebAssembly kernel (one recursion per row and tree carrying the
 * set of background rows that share its state) where it covers the model and background; `recursion` = the
 * TypeScript recursion per row, background row and tree.
 */
export type InterventionalAlgorithm = 'auto' | 'recursion';

/**
 * Interventional SHAP values for rows [rowStart, rowEnd) against the background (routing `bgDirs`, margins
 * `bgMargins`), averaged over the background. With `link` logistic/softmax, attributions are rescaled per
 * background row so they add up to link(f(x)) - link(f(z)) (shap's per-reference rescaling; for softmax the
 * same rule is applied per class).
 */
export function interventionalRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  bgDirs: Uint8Array,
  bgMargins: Float64Array,
  nBg: number,
  link: Link,
  out: Float64Array,
  algorithm: InterventionalAlgorithm = 'auto',
): void {
  if (algorithm !== 'recursion' && interventionalWasmSupports(prep, nBg)) {
    interventionalWasmRange(prep, rows, rowStart, rowEnd, bgDirs, bgMargins, nBg, link, out);
    return;
  }
  const m = prep.model;
  const nF = prep.nFeatures;
  const nO = prep.nOutputs;
  const stride = nF * nO;
  const nNodes = m.treeOffsets[m.nTrees];
  const buf = new InterventionalBuffers(nF, prep.maxDepth, prep.valueWidth);
  const dirX = new Uint8Array(nNodes);
  const tmp = link === 'identity' ? undefined : new Float64Array(stride);
  const mx = new Float64Array(nO);
  const px = new Float64Array(nO);
  const pz = new Float64Array(nO);
  const scale = new Float64Array(nO);
  const inv = 1 / nBg;
  for (let r = rowStart; r < rowEnd; r++) {
    fillDirections(m, rows, r * nF, 0, nNodes, dirX, 0);
    const po = (r - rowStart) * stride;
    if (tmp === undefined) {
      for (let b = 0; b < nBg; b++) {
        const bo = b * nNodes;
        for (let t = 0; t < m.nTrees; t++) interventionalTree(prep, t, dirX, 0, bgDirs.subarray(bo, bo + nNodes), 0, out, po, buf);
      }
      for (let q = 0; q < stride; q++) out[po + q] *= inv;
      continue;
    }
    marginsFromDirections(prep, dirX, 1, mx);
    applyLink(link, mx, 0, nO, px);
    for (let b = 0; b < nBg; b++) {
      tmp.fill(0);
      const bo = b * nNodes;
      const dz = bgDirs.subarray(bo, bo + nNodes);
      for (let t = 0; t < m.nTrees; t++) interventionalTree(prep, t, dirX, 0, dz, 0, tmp, 0, buf);
      applyLink(link, bgMargins, b * nO, nO, pz);
      for (let o = 0; o < nO; o++) {
        const dm = mx[o] - bgMargins[b * nO + o];
        scale[o] = dm === 0 ? 1 : (px[o] - pz[o]) / dm;
      }
      for (let f = 0; f < nF; f++) for (let o = 0; o < nO; o++) out[po + f * nO + o] += tmp[f * nO + o] * scale[o];
    }
    for (let q = 0; q < stride; q++) out[po + q] *= inv;
  }
}
