/**
 * Assembles per-tree node arrays (local node ids) produced by the parsers into one validated {@link TreeEnsemble}.
 *
 * Validation: child ids in range, every internal node has two children, no cycles or shared subtrees (each node is
 * reached at most once from the root), feature ids in [0, nFeatures), depth bounded. Trees whose root is not node 0
 * or that contain unreachable nodes are renumbered in depth-first pre-order; otherwise the parser's numbering is kept
 * (so e.g. LightGBM leaf k of a tree with L leaves stays at local node L-1+k).
 */
import { ModelFormatError } from '../errors.js';
import { Decision, Missing, type Aggregate, type FeatureType, type ModelSource, type OutputTransform, type TreeEnsemble } from './ensemble.js';

/** Maximum tree depth accepted (deeper trees are almost certainly corrupt or hostile). */
export const MAX_TREE_DEPTH = 4096;

/** One tree in local numbering, as filled by a parser. */
export interface RawTree {
  n: number;
  root: number;
  /** Output this tree feeds when valueWidth == 1. */
  output: number;
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  decision: Uint8Array;
  defaultLeft: Uint8Array;
  missing: Uint8Array;
  /** n * valueWidth */
  value: Float64Array;
  cover: Float64Array;
  /** Split gain per internal node (loss reduction); NaN where the format stores none. */
  gain: Float64Array;
  /** Category bitsets of IN_SET nodes (sparse). */
  cats: Map<number, Uint32Array>;
}

export function newRawTree(n: number, valueWidth: number, output = 0): RawTree {
  if (!Number.isInteger(n) || n <= 0 || n > 1 << 28) throw new ModelFormatError('INVALID_MODEL', `Invalid tree size ${n}.`);
  const left = new Int32Array(n).fill(-1);
  const right = new Int32Array(n).fill(-1);
  const feature = new Int32Array(n).fill(-1);
  return {
    n,
    root: 0,
    output,
    left,
    right,
    feature,
    threshold: new Float64Array(n),
    decision: new Uint8Array(n),
    defaultLeft: new Uint8Array(n),
    missing: new Uint8Array(n).fill(Missing.NAN_DEFAULT),
    value: new Float64Array(n * valueWidth),
    cover: new Float64Array(n).fill(Number.NaN),
    gain: new Float64Array(n).fill(Number.NaN),
    cats: new Map(),
  };
}

/** True when every split node of `trees` has a split gain (so the ensemble can carry {@link TreeEnsemble.gain}). */
export function treesHaveGain(trees: readonly RawTree[]): boolean {
  for (const tr of trees) {
    for (let i = 0; i < tr.n; i++) if (tr.left[i]! >= 0 && Number.isNaN(tr.gain[i]!)) return false;
  }
  return true;
}

export interface EnsembleMeta {
  nFeatures: number;
  featureNames?: readonly string[];
  featureTypes?: readonly FeatureType[];
  /** Category names per feature (see {@link TreeEnsemble.featureCategories}); omitted when no feature has any. */
  featureCategories?: readonly (readonly string[] | undefined)[];
  nOutputs: number;
  outputNames?: readonly string[];
  binaryLabels?: readonly [string, string];
  baseScore: Float64Array;
  aggregate: Aggregate;
  transform: OutputTransform;
  valueWidth: number;
  hasCovers: boolean;
  /** The trees carry split gains (XGBoost loss_changes, LightGBM split_gain): {@link TreeEnsemble.gain} is set. */
  hasGain?: boolean;
  source: ModelSource;
  /** Fill internal node values with the cover-weighted mean of their children (needs covers). */
  internalValuesFromCovers?: boolean;
}

function invalid(msg: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', msg);
}

/** Validates and concatenates `trees` into a TreeEnsemble. */
export function assembleEnsemble(meta: EnsembleMeta, trees: RawTree[]): TreeEnsemble {
  const { nFeatures, nOutputs, valueWidth } = meta;
  if (!Number.isInteger(nFeatures) || nFeatures < 0 || nFeatures > 1 << 24) throw invalid(`Invalid feature count ${nFeatures}.`);
  if (!Number.isInteger(nOutputs) || nOutputs < 1 || nOutputs > 1 << 16) throw invalid(`Invalid output count ${nOutputs}.`);
  if (valueWidth !== 1 && valueWidth !== nOutputs) throw invalid(`valueWidth ${valueWidth} must be 1 or nOutputs (${nOutputs}).`);
  if (meta.baseScore.length !== nOutputs) throw invalid(`baseScore has ${meta.baseScore.length} values for ${nOutputs} outputs.`);

  const prepared: RawTree[] = [];
  const depths: number[] = [];
  let total = 0;
  for (let t = 0; t < trees.length; t++) {
    const { tree, depth } = checkTree(trees[t]!, t, nFeatures, valueWidth, nOutputs);
    prepared.push(tree);
    depths.push(depth);
    total += tree.n;
  }
  const nTrees = prepared.length;
  const treeOffsets = new Int32Array(nTrees + 1);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const feature = new Int32Array(total);
  const threshold = new Float64Array(total);
  const decision = new Uint8Array(total);
  const defaultLeft = new Uint8Array(total);
  const missing = new Uint8Array(total);
  const value = new Float64Array(total * valueWidth);
  const cover = new Float64Array(total);
  const gain = meta.hasGain ? new Float64Array(total) : undefined;
  const catStart = new Int32Array(total);
  const catLen = new Int32Array(total);
  let catWords = 0;
  for (const tr of prepared) for (const bits of tr.cats.values()) catWords += bits.length;
  const catBits = new Uint32Array(catWords);
  const treeOutput = new Int32Array(nTrees);
  const treeDepth = Int32Array.from(depths);
  let off = 0;
  let catOff = 0;
  for (let t = 0; t < nTrees; t++) {
    const tr = prepared[t]!;
    treeOffsets[t] = off;
    treeOutput[t] = valueWidth === 1 ? tr.output : -1;
    for (let i = 0; i < tr.n; i++) {
      const g = off + i;
      const l = tr.left[i]!;
      left[g] = l < 0 ? -1 : l + off;
      right[g] = l < 0 ? -1 : tr.right[i]! + off;
      feature[g] = l < 0 ? -1 : tr.feature[i]!;
      threshold[g] = l < 0 ? 0 : tr.threshold[i]!;
      decision[g] = tr.decision[i]!;
      defaultLeft[g] = tr.defaultLeft[i]!;
      missing[g] = tr.missing[i]!;
      cover[g] = tr.cover[i]!;
      if (gain) gain[g] = l < 0 ? Number.NaN : tr.gain[i]!;
    }
    value.set(tr.value, off * valueWidth);
    for (const [i, bits] of tr.cats) {
      catStart[off + i] = catOff;
      catLen[off + i] = bits.length;
      catBits.set(bits, catOff);
      catOff += bits.length;
    }
    off += tr.n;
  }
  treeOffsets[nTrees] = off;
  if (meta.internalValuesFromCovers && meta.hasCovers) fillInternalValues(treeOffsets, left, right, cover, value, valueWidth);

  const featureNames = meta.featureNames ?? Array.from({ length: nFeatures }, (_, i) => `f${i}`);
  if (featureNames.length !== nFeatures) throw invalid(`${featureNames.length} feature names for ${nFeatures} features.`);
  const featureTypes = meta.featureTypes ?? Array.from({ length: nFeatures }, () => 'float' as const);
  if (featureTypes.length !== nFeatures) throw invalid(`${featureTypes.length} feature types for ${nFeatures} features.`);
  const featureCategories = meta.featureCategories;
  if (featureCategories && featureCategories.length !== nFeatures) throw invalid(`${featureCategories.length} category lists for ${nFeatures} features.`);
  const outputNames = meta.outputNames ?? Array.from({ length: nOutputs }, (_, i) => (nOutputs === 1 ? 'output' : `class_${i}`));
  const model: TreeEnsemble = {
    nFeatures,
    featureNames,
    featureTypes,
    ...(featureCategories && featureCategories.some((c) => c !== undefined) ? { featureCategories } : {}),
    nOutputs,
    outputNames,
    ...(meta.binaryLabels ? { binaryLabels: meta.binaryLabels } : {}),
    baseScore: meta.baseScore,
    aggregate: meta.aggregate,
    transform: meta.transform,
    nTrees,
    treeOffsets,
    valueWidth,
    treeOutput,
    treeDepth,
    left,
    right,
    feature,
    threshold,
    decision,
    defaultLeft,
    missing,
    catStart,
    catLen,
    catBits,
    value,
    cover,
    hasCovers: meta.hasCovers,
    ...(gain ? { gain } : {}),
    source: meta.source,
  };
  return model;
}

/** Checks one tree; renumbers it in DFS pre-order when the root is not 0 or some nodes are unreachable. */
function checkTree(tr: RawTree, t: number, nFeatures: number, valueWidth: number, nOutputs: number): { tree: RawTree; depth: number } {
  const n = tr.n;
  if (tr.root < 0 || tr.root >= n) throw invalid(`Tree ${t}: root ${tr.root} out of range [0, ${n}).`);
  if (valueWidth === 1 && (tr.output < 0 || tr.output >= nOutputs || !Number.isInteger(tr.output))) {
    throw invalid(`Tree ${t} feeds output ${tr.output}, but the model has ${nOutputs} outputs.`);
  }
  for (let i = 0; i < n; i++) {
    const l = tr.left[i]!;
    const r = tr.right[i]!;
    if (l < 0 && r < 0) continue;
    if (l < 0 || r < 0 || l >= n || r >= n) throw invalid(`Tree ${t}, node ${i}: child ids (${l}, ${r}) out of range [0, ${n}).`);
    const f = tr.feature[i]!;
    if (f < 0 || f >= nFeatures) {
      throw invalid(`Tree ${t}, node ${i}: split feature ${f} out of range: the model has ${nFeatures} features.`);
    }
    const d = tr.decision[i]!;
    if (d > Decision.IN_SET) throw invalid(`Tree ${t}, node ${i}: unknown decision type ${d}.`);
    if (d === Decision.IN_SET && !tr.cats.has(i)) throw invalid(`Tree ${t}, node ${i}: categorical split without a category set.`);
  }
  // Iterative DFS from root: detects cycles / shared nodes, computes depth and pre-order.
  const order = new Int32Array(n);
  const depthOf = new Int32Array(n);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n + 1);
  let sp = 0;
  let count = 0;
  let maxDepth = 0;
  stack[sp++] = tr.root;
  seen[tr.root] = 1;
  while (sp > 0) {
    const i = stack[--sp]!;
    order[count++] = i;
    const d = depthOf[i]!;
    if (d > maxDepth) maxDepth = d;
    const l = tr.left[i]!;
    if (l < 0) continue;
    const r = tr.right[i]!;
    if (seen[l] || seen[r] || l === r) throw invalid(`Tree ${t}: node ${i} points to an already visited node (cycle or shared subtree in child pointers).`);
    if (d + 1 > MAX_TREE_DEPTH) throw invalid(`Tree ${t} is deeper than ${MAX_TREE_DEPTH}.`);
    seen[l] = 1;
    seen[r] = 1;
    depthOf[l] = d + 1;
    depthOf[r] = d + 1;
    stack[sp++] = r;
    stack[sp++] = l;
  }
  if (tr.root === 0 && count === n) return { tree: tr, depth: maxDepth };
  // Renumber reachable nodes in pre-order.
  const newId = new Int32Array(n).fill(-1);
  for (let k = 0; k < count; k++) newId[order[k]!] = k;
  const out = newRawTree(count, valueWidth, tr.output);
  for (let k = 0; k < count; k++) {
    const i = order[k]!;
    const l = tr.left[i]!;
    out.left[k] = l < 0 ? -1 : newId[l]!;
    out.right[k] = l < 0 ? -1 : newId[tr.right[i]!]!;
    out.feature[k] = tr.feature[i]!;
    out.threshold[k] = tr.threshold[i]!;
    out.decision[k] = tr.decision[i]!;
    out.defaultLeft[k] = tr.defaultLeft[i]!;
    out.missing[k] = tr.missing[i]!;
    out.cover[k] = tr.cover[i]!;
    out.gain[k] = tr.gain[i]!;
    for (let j = 0; j < valueWidth; j++) out.value[k * valueWidth + j] = tr.value[i * valueWidth + j]!;
    const c = tr.cats.get(i);
    if (c) out.cats.set(k, c);
  }
  return { tree: out, depth: maxDepth };
}

/** Internal node value = cover-weighted mean of its children (post-order over each tree). */
function fillInternalValues(treeOffsets: Int32Array, left: Int32Array, right: Int32Array, cover: Float64Array, value: Float64Array, w: number): void {
  const nTrees = treeOffsets.length - 1;
  for (let t = 0; t < nTrees; t++) {
    const start = treeOffsets[t]!;
    const end = treeOffsets[t + 1]!;
    // Reverse pre-order guarantees children before parents only for pre-order layouts; do an explicit post-order.
    const stack: number[] = [start];
    const post: number[] = [];
    while (stack.length) {
      const i = stack.pop()!;
      post.push(i);
      if (left[i]! >= 0) {
        stack.push(left[i]!, right[i]!);
      }
    }
    for (let k = post.length - 1; k >= 0; k--) {
      const i = post[k]!;
      const l = left[i]!;
      if (l < 0) continue;
      const r = right[i]!;
      const cl = cover[l]!;
      const cr = cover[r]!;
      const tot = cl + cr;
      for (let j = 0; j < w; j++) {
        value[i * w + j] = tot > 0 ? (cl * value[l * w + j]! + cr * value[r * w + j]!) / tot : 0;
      }
    }
    void end;
  }
}

/** Bitset (32-bit words) holding the given non-negative integer categories. */
export function categoryBitset(categories: ArrayLike<number>, maxCategory = 1 << 20): Uint32Array {
  let max = -1;
  for (let i = 0; i < categories.length; i++) {
    const c = categories[i]!;
    if (!Number.isInteger(c) || c < 0 || c > maxCategory) {
      throw new ModelFormatError('UNSUPPORTED', `Category value ${c} is not an integer in [0, ${maxCategory}]; categorical splits need non-negative integer codes.`);
    }
    if (c > max) max = c;
  }
  const bits = new Uint32Array(Math.max(1, (max >> 5) + 1));
  for (let i = 0; i < categories.length; i++) {
    const c = categories[i]!;
    bits[c >> 5]! |= 1 << (c & 31);
  }
  return bits;
}
