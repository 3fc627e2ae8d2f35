/**
 * Per-model precomputation shared by every TreeSHAP variant: validation, the tree scale (1 for `sum`,
 * 1/trees-per-output for `average`, as predictRaw), scaled leaf values and, when covers exist, the cover fraction of every node.
 */
import type { TreeEnsemble } from '@genome/model-format';
import { ShapError } from '../errors.js';

export interface PreparedEnsemble {
  readonly model: TreeEnsemble;
  readonly nFeatures: number;
  readonly nOutputs: number;
  /** Node value width (1 or nOutputs). */
  readonly valueWidth: number;
  /** Per tree: the first output its values are added to (treeOutput, or 0 when valueWidth == nOutputs). */
  readonly outputBase: Int32Array;
  /** Node values multiplied by the tree scale (for `average`: 1 / number of trees feeding the output), valueWidth per node. */
  readonly values: Float64Array;
  /** Largest tree depth (edges). */
  readonly maxDepth: number;
  /**
   * Per node: its cover divided by the summed cover of it and its sibling (root: 1); undefined without covers.
   * A parent whose children both have zero cover splits 1/2 : 1/2 so expectations stay defined.
   */
  readonly fractions?: Float64Array;
  /** Cover-weighted expected output per output (incl. baseScore); undefined without covers. */
  readonly coverExpectation?: Float64Array;
}

const cache = new WeakMap<TreeEnsemble, PreparedEnsemble>();

/** Validates the model for TreeSHAP and precomputes what every explainer needs. Cached per model object. */
export function prepareEnsemble(model: TreeEnsemble): PreparedEnsemble {
  const hit = cache.get(model);
  if (hit) return hit;
  if (model.aggregate !== 'sum' && model.aggregate !== 'average') {
    throw new ShapError(
      'INVALID_INPUT',
      `TreeSHAP needs an additive ensemble, but this model aggregates trees with "${model.aggregate}". ` +
        'Shapley values of a min/max over trees are not a sum of per-tree values; use KernelSHAP or the exact explainer for it.',
    );
  }
  const { nTrees, nOutputs, valueWidth, treeOffsets, left, right } = model;
  if (valueWidth !== 1 && valueWidth !== nOutputs) {
    throw new ShapError('INVALID_INPUT', `Model valueWidth ${valueWidth} must be 1 or nOutputs (${nOutputs}).`);
  }
  const nNodes = treeOffsets[nTrees];
  const outputBase = new Int32Array(nTrees);
  const values = new Float64Array(nNodes * valueWidth);
  // `average` divides each output by the number of trees feeding it (as predictRaw does).
  const treesPerOutput = new Float64Array(nOutputs);
  if (valueWidth === 1) for (let t = 0; t < nTrees; t++) treesPerOutput[model.treeOutput[t]] += 1;
  else treesPerOutput.fill(nTrees);
  let maxDepth = 0;
  for (let t = 0; t < nTrees; t++) {
    if (valueWidth === 1) {
      const o = model.treeOutput[t];
      if (!(o >= 0 && o < nOutputs)) {
        throw new ShapError('INVALID_INPUT', `Tree ${t} feeds output ${o}, outside 0..${nOutputs - 1}.`);
      }
      outputBase[t] = o;
    }
    maxDepth = Math.max(maxDepth, model.treeDepth[t]);
  }
  for (let t = 0; t < nTrees; t++) {
    const scale = model.aggregate === 'average' ? 1 / treesPerOutput[outputBase[t]] : 1;
    for (let i = treeOffsets[t] * valueWidth; i < treeOffsets[t + 1] * valueWidth; i++) values[i] = model.value[i] * scale;
  }
  // Depth from the structure (do not trust treeDepth blindly: it sizes the path buffers).
  maxDepth = Math.max(maxDepth, measureMaxDepth(model));

  let fractions: Float64Array | undefined;
  let coverExpectation: Float64Array | undefined;
  if (model.hasCovers) {
    const cover = model.cover;
    fractions = new Float64Array(nNodes);
    coverExpectation = new Float64Array(nOutputs);
    for (let o = 0; o < nOutputs; o++) coverExpectation[o] = model.baseScore[o] ?? 0;
    for (let t = 0; t < nTrees; t++) {
      const root = treeOffsets[t];
      fractions[root] = 1;
      if (!(cover[root] > 0)) {
        throw new ShapError(
          'INVALID_INPUT',
          `Tree ${t} has root cover ${cover[root]}; path-dependent TreeSHAP needs positive covers. ` +
            'Recompute them from data with withCovers(model, rows, nRows).',
        );
      }
      for (let n = root; n < treeOffsets[t + 1]; n++) {
        if (left[n] < 0) continue;
        const cl = cover[left[n]];
        const cr = cover[right[n]];
        if (!(cl >= 0 && cr >= 0)) {
          throw new ShapError('INVALID_INPUT', `Node ${n} has children with invalid covers (${cl}, ${cr}).`);
        }
        const s = cl + cr;
        fractions[left[n]] = s > 0 ? cl / s : 0.5;
        fractions[right[n]] = s > 0 ? cr / s : 0.5;
      }
      // Expected value: sum over leaves of (product of fractions) * value.
      accumulateExpectation(model, values, fractions, root, 1, outputBase[t], valueWidth, coverExpectation);
    }
  }
  const prepared: PreparedEnsemble = {
    model,
    nFeatures: model.nFeatures,
    nOutputs,
    valueWidth,
    outputBase,
    values,
    maxDepth,
    fractions,
    coverExpectation,
  };
  cache.set(model, prepared);
  return prepared;
}

function accumulateExpectation(
  m: TreeEnsemble,
  values: Float64Array,
  fractions: Float64Array,
  n: number,
  w: number,
  base: number,
  vw: number,
  out: Float64Array,
): void {
  if (m.left[n] < 0) {
    for (let j = 0; j < vw; j++) out[base + j] += w * values[n * vw + j];
    return;
  }
  accumulateExpectation(m, values, fractions, m.left[n], w * fractions[m.left[n]], base, vw, out);
  accumulateExpectation(m, values, fractions, m.right[n], w * fractions[m.right[n]], base, vw, out);
}

function measureMaxDepth(m: TreeEnsemble): number {
  const nNodes = m.treeOffsets[m.nTrees];
  const depth = new Int32Array(nNodes);
  let max = 0;
  // Children always have larger ids than parents? Not guaranteed: walk each tree with an explicit stack.
  const stack = new Int32Array(nNodes + 1);
  for (let t = 0; t < m.nTrees; t++) {
    const root = m.treeOffsets[t];
    const end = m.treeOffsets[t + 1];
    let sp = 0;
    stack[sp++] = root;
    depth[root] = 0;
    let visited = 0;
    while (sp > 0) {
      const n = stack[--sp];
      if (++visited > end - root) {
        throw new ShapError('INVALID_INPUT', `Tree ${t} is not a tree (a node is reachable twice).`);
      }
      if (m.left[n] < 0) {
        if (depth[n] > max) max = depth[n];
        continue;
      }
      const l = m.left[n];
      const r = m.right[n];
      const f = m.feature[n];
      if (!(f >= 0 && f < m.nFeatures)) {
        throw new ShapError('INVALID_INPUT', `Node ${n} of tree ${t} splits on feature ${f}, outside 0..${m.nFeatures - 1}.`);
      }
      if (l < root || l >= end || r < root || r >= end) {
        throw new ShapError('INVALID_INPUT', `Node ${n} of tree ${t} has children outside the tree.`);
      }
      depth[l] = depth[n] + 1;
      depth[r] = depth[n] + 1;
      stack[sp++] = l;
      stack[sp++] = r;
    }
  }
  return max;
}
