/**
 * ONNX-ML tree ensembles -> {@link TreeEnsemble}: TreeEnsembleRegressor / TreeEnsembleClassifier (ai.onnx.ml
 * opset 1-3, including the *_as_tensor attributes) and TreeEnsemble (ai.onnx.ml opset 5).
 *
 * Semantics follow onnxruntime: SUM/AVERAGE/MIN/MAX aggregation (AVERAGE divides by the number of trees),
 * base_values added after aggregation, NaN follows the true branch when nodes_missing_value_tracks_true is set.
 * Branch modes are normalised to "condition true => left": GTE/GT become LT/LEQ with swapped children,
 * EQ/NEQ/MEMBER become category sets (non-integer set values are expanded into equivalent `<`/`<=` chains).
 * Identity, Cast and Scaler nodes between the graph input and the tree op are folded into the thresholds.
 */
import { ModelFormatError } from '../errors.js';
import { Decision, Missing, type Aggregate, type OutputTransform, type TreeEnsemble } from '../tree/ensemble.js';
import { MAX_TREE_DEPTH, assembleEnsemble, categoryBitset, newRawTree, type RawTree } from '../tree/build.js';
import {
  attributeString,
  attributeStrings,
  decodeOnnxModel,
  findAttribute,
  tensorToFloat64Array,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
} from './model.js';

const TREE_OPS = new Set(['TreeEnsembleRegressor', 'TreeEnsembleClassifier', 'TreeEnsemble']);

const enum Mode {
  LEQ = 0,
  LT = 1,
  GTE = 2,
  GT = 3,
  EQ = 4,
  NEQ = 5,
  MEMBER = 6,
  LEAF = 7,
}

const MODE_NAMES: Record<string, Mode> = {
  BRANCH_LEQ: Mode.LEQ,
  BRANCH_LT: Mode.LT,
  BRANCH_GTE: Mode.GTE,
  BRANCH_GT: Mode.GT,
  BRANCH_EQ: Mode.EQ,
  BRANCH_NEQ: Mode.NEQ,
  BRANCH_MEMBER: Mode.MEMBER,
  LEAF: Mode.LEAF,
};

const TRANSFORMS: Record<string, OutputTransform> = {
  NONE: 'identity',
  LOGISTIC: 'logistic',
  SOFTMAX: 'softmax',
  SOFTMAX_ZERO: 'softmax_zero',
  PROBIT: 'probit',
};
const TRANSFORMS_V5: OutputTransform[] = ['identity', 'softmax', 'logistic', 'softmax_zero', 'probit'];
const AGGREGATES: Record<string, Aggregate> = { SUM: 'sum', AVERAGE: 'average', MIN: 'min', MAX: 'max' };
const AGGREGATES_V5: Aggregate[] = ['average', 'sum', 'min', 'max'];

export interface OnnxTreeOptions {
  /** Name of the tree node to load when the graph holds several tree ensembles. */
  nodeName?: string;
}

function invalid(msg: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid ONNX tree ensemble: ${msg}`);
}
function unsupported(msg: string): ModelFormatError {
  return new ModelFormatError('UNSUPPORTED', `Unsupported ONNX tree ensemble: ${msg}`);
}

/** Source-level tree description shared by both encodings. Refs >= 0 are branch nodes, refs < 0 leaf -(ref+1). */
interface SrcEnsemble {
  mode: Uint8Array;
  feature: Int32Array;
  value: Float64Array;
  trueRef: Int32Array;
  falseRef: Int32Array;
  tracksTrue: Uint8Array;
  /** Set values for MEMBER nodes. */
  sets: Map<number, number[]>;
  roots: number[];
  /** Per leaf: list of (target, weight). */
  leafStart: Int32Array;
  leafTarget: Int32Array;
  leafWeight: Float64Array;
  nLeaves: number;
}

/**
 * Loads the tree ensemble of an ONNX model (bytes or a decoded {@link OnnxModel}).
 */
export function loadOnnxTreeEnsemble(input: Uint8Array | OnnxModel, options: OnnxTreeOptions = {}): TreeEnsemble {
  const model = input instanceof Uint8Array ? decodeOnnxModel(input) : input;
  const graph = model.graph;
  const candidates = graph.nodes.filter((n) => TREE_OPS.has(n.opType) && (n.domain === 'ai.onnx.ml'));
  let node: OnnxNode | undefined;
  if (options.nodeName !== undefined) {
    node = candidates.find((n) => n.name === options.nodeName);
    if (!node) throw new ModelFormatError('INVALID_INPUT', `No tree ensemble node named '${options.nodeName}' in the graph.`);
  } else {
    if (candidates.length === 0) {
      const ops = [...new Set(graph.nodes.map((n) => n.opType))].join(', ');
      throw new ModelFormatError('INVALID_MODEL', `The ONNX graph has no ai.onnx.ml tree ensemble operator (ops: ${ops || 'none'}). Use loadOnnxLinearModel for linear models.`);
    }
    if (candidates.length > 1) {
      throw new ModelFormatError('UNSUPPORTED', `The ONNX graph has ${candidates.length} tree ensemble nodes; pass options.nodeName to pick one (${candidates.map((n) => n.name).join(', ')}).`);
    }
    node = candidates[0]!;
  }
  const { nInputFeatures, scale, offset } = traceInput(graph, node);
  const isClassifier = node.opType === 'TreeEnsembleClassifier';
  const src = node.opType === 'TreeEnsemble' ? readV5(node) : readV1(node, isClassifier);
  // Fold a Scaler into thresholds.
  let maxFeature = -1;
  for (let i = 0; i < src.feature.length; i++) if (src.mode[i] !== Mode.LEAF && src.feature[i]! > maxFeature) maxFeature = src.feature[i]!;
  const nFeatures = nInputFeatures ?? maxFeature + 1;
  if (maxFeature >= nFeatures) throw invalid(`split feature ${maxFeature} is out of range: the input has ${nFeatures} features.`);
  if (scale || offset) foldScaler(src, scale, offset);

  // Outputs.
  let nOutputs: number;
  let outputNames: string[];
  let binaryLabels: [string, string] | undefined;
  let transform: OutputTransform;
  let aggregate: Aggregate;
  let base: Float64Array;
  let leafTarget = src.leafTarget;
  const usedTargets = new Set<number>();
  for (let i = 0; i < src.leafTarget.length; i++) usedTargets.add(src.leafTarget[i]!);
  if (node.opType === 'TreeEnsemble') {
    nOutputs = intAttr(node, 'n_targets', 1);
    const agg = intAttr(node, 'aggregate_function', 1);
    const pt = intAttr(node, 'post_transform', 0);
    if (!(agg in AGGREGATES_V5)) throw invalid(`aggregate_function ${agg} is not one of 0..3.`);
    if (!(pt in TRANSFORMS_V5)) throw invalid(`post_transform ${pt} is not one of 0..4.`);
    aggregate = AGGREGATES_V5[agg]!;
    transform = TRANSFORMS_V5[pt]!;
    base = new Float64Array(nOutputs);
    outputNames = nOutputs === 1 ? ['target'] : Array.from({ length: nOutputs }, (_, i) => `target_${i}`);
  } else {
    const ptName = attributeString(findAttribute(node, 'post_transform')) ?? 'NONE';
    transform = TRANSFORMS[ptName] ?? (() => { throw invalid(`post_transform '${ptName}' is not one of NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT.`); })();
    const baseValues = floatsAttr(node, 'base_values') ?? new Float64Array(0);
    if (isClassifier) {
      aggregate = 'sum';
      const ints = findAttribute(node, 'classlabels_int64s')?.ints;
      const strs = attributeStrings(findAttribute(node, 'classlabels_strings'));
      const labels = strs ?? (ints ? Array.from(ints, (v) => String(v)) : undefined);
      if (!labels || labels.length === 0) throw invalid('TreeEnsembleClassifier without classlabels_int64s or classlabels_strings.');
      for (const t of usedTargets) if (t < 0 || t >= labels.length) throw invalid(`class id ${t} out of range for ${labels.length} class labels.`);
      if (labels.length === 2 && usedTargets.size <= 1) {
        // onnxruntime's binary case: one margin, probabilities [1-p, p].
        nOutputs = 1;
        outputNames = [labels[1]!];
        binaryLabels = [labels[0]!, labels[1]!];
        leafTarget = new Int32Array(leafTarget.length);
        base = new Float64Array([baseValues.length === 2 ? baseValues[1]! : baseValues.length === 1 ? baseValues[0]! : 0]);
      } else {
        nOutputs = labels.length;
        outputNames = labels;
        base = new Float64Array(nOutputs);
        if (baseValues.length === nOutputs) base.set(baseValues);
        else if (baseValues.length === 1 && nOutputs === 2) base[0] = baseValues[0]!;
        else if (baseValues.length !== 0) throw invalid(`${baseValues.length} base_values for ${nOutputs} classes.`);
      }
    } else {
      nOutputs = intAttr(node, 'n_targets', 1);
      const aggName = attributeString(findAttribute(node, 'aggregate_function')) ?? 'SUM';
      aggregate = AGGREGATES[aggName] ?? (() => { throw invalid(`aggregate_function '${aggName}' is not one of SUM, AVERAGE, MIN, MAX.`); })();
      base = new Float64Array(nOutputs);
      if (baseValues.length === nOutputs) base.set(baseValues);
      else if (baseValues.length === 1) base[0] = baseValues[0]!;
      else if (baseValues.length !== 0) throw invalid(`${baseValues.length} base_values for ${nOutputs} targets.`);
      outputNames = nOutputs === 1 ? ['target'] : Array.from({ length: nOutputs }, (_, i) => `target_${i}`);
      // onnxruntime applies only PROBIT to a single-target regressor.
      if (nOutputs === 1 && transform !== 'probit') transform = 'identity';
    }
  }
  if (!Number.isInteger(nOutputs) || nOutputs < 1 || nOutputs > 65536) throw invalid(`invalid number of targets ${nOutputs}.`);
  for (let i = 0; i < leafTarget.length; i++) {
    const t = leafTarget[i]!;
    if (t < 0 || t >= nOutputs) throw invalid(`leaf target id ${t} out of range [0, ${nOutputs}).`);
  }

  // Per-tree target sets decide the value width.
  const treeTargets = src.roots.map((r) => collectTargets(src, r, leafTarget));
  let valueWidth = 1;
  if (nOutputs > 1) {
    if (aggregate !== 'sum' || treeTargets.some((s) => s.size > 1)) valueWidth = nOutputs;
  }
  const budget = Math.max(4 * (src.mode.length + src.nLeaves), 1 << 16) + (1 << 20);
  const emitter = new Emitter(src, leafTarget, valueWidth, budget);
  const trees: RawTree[] = [];
  for (let t = 0; t < src.roots.length; t++) {
    const out = valueWidth === 1 ? (treeTargets[t]!.values().next().value ?? 0) : 0;
    trees.push(emitter.tree(src.roots[t]!, out));
  }
  const ensemble = assembleEnsemble(
    {
      nFeatures,
      nOutputs,
      outputNames,
      ...(binaryLabels ? { binaryLabels } : {}),
      baseScore: base,
      aggregate,
      transform,
      valueWidth,
      hasCovers: false,
      source: { format: 'onnx-ml', objective: node.opType, ...(model.producerName ? { version: `${model.producerName} ${model.producerVersion}`.trim() } : {}) },
    },
    trees,
  );
  return ensemble;
}

function intAttr(node: OnnxNode, name: string, dflt: number): number {
  const a = findAttribute(node, name);
  return a?.i ?? dflt;
}

/** FLOATS attribute or its `_as_tensor` (double) variant, as Float64Array. */
function floatsAttr(node: OnnxNode, name: string): Float64Array | undefined {
  const a = findAttribute(node, name);
  if (a?.floats) return Float64Array.from(a.floats);
  const t = findAttribute(node, `${name}_as_tensor`)?.t;
  if (t) return tensorToFloat64Array(t);
  return undefined;
}

function tensorAttr(node: OnnxNode, name: string): Float64Array | undefined {
  const a = findAttribute(node, name);
  if (a?.t) return tensorToFloat64Array(a.t);
  if (a?.floats) return Float64Array.from(a.floats);
  return undefined;
}

function intsAttr(node: OnnxNode, name: string, required: boolean): Float64Array | undefined {
  const a: OnnxAttribute | undefined = findAttribute(node, name);
  if (!a?.ints) {
    if (required) throw invalid(`missing attribute ${name}.`);
    return undefined;
  }
  return a.ints;
}

function checkLen(name: string, arr: { length: number } | undefined, n: number): void {
  if (arr && arr.length !== n) throw invalid(`attribute ${name} has ${arr.length} entries, expected ${n}.`);
}

function toIndex(v: number, what: string, limit = 2 ** 31): number {
  if (!Number.isInteger(v) || v < 0 || v >= limit) throw invalid(`${what} ${v} is out of range.`);
  return v;
}

/** TreeEnsembleRegressor / TreeEnsembleClassifier (opset 1-3). */
function readV1(node: OnnxNode, isClassifier: boolean): SrcEnsemble {
  const treeIds = intsAttr(node, 'nodes_treeids', true)!;
  const nodeIds = intsAttr(node, 'nodes_nodeids', true)!;
  const n = treeIds.length;
  const featureIds = intsAttr(node, 'nodes_featureids', true)!;
  const trueIds = intsAttr(node, 'nodes_truenodeids', true)!;
  const falseIds = intsAttr(node, 'nodes_falsenodeids', true)!;
  const modes = attributeStrings(findAttribute(node, 'nodes_modes'));
  if (!modes) throw invalid('missing attribute nodes_modes.');
  const values = floatsAttr(node, 'nodes_values') ?? new Float64Array(n);
  const tracks = intsAttr(node, 'nodes_missing_value_tracks_true', false);
  checkLen('nodes_nodeids', nodeIds, n);
  checkLen('nodes_featureids', featureIds, n);
  checkLen('nodes_truenodeids', trueIds, n);
  checkLen('nodes_falsenodeids', falseIds, n);
  checkLen('nodes_modes', modes, n);
  checkLen('nodes_values', values, n);
  checkLen('nodes_missing_value_tracks_true', tracks, n);
  if (n === 0) throw invalid('the ensemble has no nodes.');

  // (tree, node id) -> index
  const treeIndex = new Map<number, number>();
  const roots: number[] = [];
  const key = new Map<number, number>();
  const treeOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const tid = toIndex(treeIds[i]!, 'tree id');
    let ti = treeIndex.get(tid);
    if (ti === undefined) {
      ti = treeIndex.size;
      treeIndex.set(tid, ti);
      roots.push(-1);
    }
    treeOf[i] = ti;
    const nid = toIndex(nodeIds[i]!, 'node id');
    const k = ti * 4294967296 + nid;
    if (key.has(k)) throw invalid(`node id ${nid} appears twice in tree ${tid}.`);
    key.set(k, i);
    if (nid === 0) roots[ti] = i;
  }
  // Roots: node id 0, else the node no other node points to.
  for (let t = 0; t < roots.length; t++) if (roots[t] === -1) throw invalid(`tree #${t} has no node with id 0 (root).`);

  const mode = new Uint8Array(n);
  const feature = new Int32Array(n);
  const trueRef = new Int32Array(n).fill(-1);
  const falseRef = new Int32Array(n).fill(-1);
  const tracksTrue = new Uint8Array(n);
  // Leaves become refs -(leafIndex+1); a leaf index per LEAF node.
  const leafIndex = new Int32Array(n).fill(-1);
  let nLeaves = 0;
  for (let i = 0; i < n; i++) {
    const m = MODE_NAMES[modes[i]!];
    if (m === undefined) throw invalid(`unknown node mode '${modes[i]}'.`);
    mode[i] = m;
    if (m === Mode.LEAF) leafIndex[i] = nLeaves++;
  }
  const resolve = (i: number, id: number): number => {
    const nid = toIndex(id, 'child node id');
    const j = key.get(treeOf[i]! * 4294967296 + nid);
    if (j === undefined) throw invalid(`node ${nodeIds[i]} of tree ${treeIds[i]} points to missing node ${nid}.`);
    return mode[j] === Mode.LEAF ? -(leafIndex[j]! + 1) : j;
  };
  for (let i = 0; i < n; i++) {
    if (mode[i] === Mode.LEAF) continue;
    feature[i] = toIndex(featureIds[i]!, 'feature id', 1 << 24);
    trueRef[i] = resolve(i, trueIds[i]!);
    falseRef[i] = resolve(i, falseIds[i]!);
    tracksTrue[i] = tracks && tracks[i] ? 1 : 0;
  }
  // Weights.
  const p = isClassifier ? 'class' : 'target';
  const wTree = intsAttr(node, `${p}_treeids`, false) ?? new Float64Array(0);
  const wNode = intsAttr(node, `${p}_nodeids`, false) ?? new Float64Array(0);
  const wId = intsAttr(node, `${p}_ids`, false) ?? new Float64Array(0);
  const wVal = floatsAttr(node, `${p}_weights`) ?? new Float64Array(0);
  const m = wTree.length;
  checkLen(`${p}_nodeids`, wNode, m);
  checkLen(`${p}_ids`, wId, m);
  checkLen(`${p}_weights`, wVal, m);
  const counts = new Int32Array(nLeaves + 1);
  const entryLeaf = new Int32Array(m);
  for (let e = 0; e < m; e++) {
    const ti = treeIndex.get(wTree[e]!);
    if (ti === undefined) throw invalid(`${p}_treeids refers to unknown tree ${wTree[e]}.`);
    const j = key.get(ti * 4294967296 + toIndex(wNode[e]!, `${p}_nodeids`));
    if (j === undefined || mode[j] !== Mode.LEAF) throw invalid(`${p} weight ${e} refers to node ${wNode[e]} of tree ${wTree[e]}, which is not a leaf.`);
    entryLeaf[e] = leafIndex[j]!;
    counts[leafIndex[j]! + 1]!++;
  }
  for (let l = 0; l < nLeaves; l++) counts[l + 1]! += counts[l]!;
  const leafTarget = new Int32Array(m);
  const leafWeight = new Float64Array(m);
  const fill = counts.slice(0, nLeaves);
  for (let e = 0; e < m; e++) {
    const pos = fill[entryLeaf[e]!]!++;
    leafTarget[pos] = toIndex(wId[e]!, `${p}_ids`, 1 << 16);
    leafWeight[pos] = wVal[e]!;
  }
  const rootRefs = roots.map((r) => (mode[r] === Mode.LEAF ? -(leafIndex[r]! + 1) : r));
  return { mode, feature, value: values, trueRef, falseRef, tracksTrue, sets: new Map(), roots: rootRefs, leafStart: counts, leafTarget, leafWeight, nLeaves };
}

/** TreeEnsemble (ai.onnx.ml opset 5). */
function readV5(node: OnnxNode): SrcEnsemble {
  const featureIds = intsAttr(node, 'nodes_featureids', true)!;
  const n = featureIds.length;
  const splits = tensorAttr(node, 'nodes_splits');
  const modesT = tensorAttr(node, 'nodes_modes');
  const trueIds = intsAttr(node, 'nodes_truenodeids', true)!;
  const falseIds = intsAttr(node, 'nodes_falsenodeids', true)!;
  const trueLeafs = intsAttr(node, 'nodes_trueleafs', true)!;
  const falseLeafs = intsAttr(node, 'nodes_falseleafs', true)!;
  const tracks = intsAttr(node, 'nodes_missing_value_tracks_true', false);
  const roots = intsAttr(node, 'tree_roots', true)!;
  const leafTargets = intsAttr(node, 'leaf_targetids', true)!;
  const leafWeights = tensorAttr(node, 'leaf_weights');
  const membership = tensorAttr(node, 'membership_values');
  if (!splits) throw invalid('missing attribute nodes_splits.');
  if (!modesT) throw invalid('missing attribute nodes_modes.');
  if (!leafWeights) throw invalid('missing attribute leaf_weights.');
  for (const [name, arr] of [['nodes_splits', splits], ['nodes_modes', modesT], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds], ['nodes_trueleafs', trueLeafs], ['nodes_falseleafs', falseLeafs], ['nodes_missing_value_tracks_true', tracks]] as const) {
    checkLen(name, arr, n);
  }
  const nLeaves = leafTargets.length;
  checkLen('leaf_weights', leafWeights, nLeaves);
  const mode = new Uint8Array(n);
  const feature = new Int32Array(n);
  const trueRef = new Int32Array(n);
  const falseRef = new Int32Array(n);
  const tracksTrue = new Uint8Array(n);
  const sets = new Map<number, number[]>();
  let mpos = 0;
  for (let i = 0; i < n; i++) {
    const md = modesT[i]!;
    if (!Number.isInteger(md) || md < 0 || md > 6) throw invalid(`node ${i}: unknown mode ${md}.`);
    mode[i] = md;
    feature[i] = toIndex(featureIds[i]!, 'feature id', 1 << 24);
    const ref = (id: number, leaf: number) => (leaf ? -(toIndex(id, 'leaf index', nLeaves) + 1) : toIndex(id, 'node index', n));
    trueRef[i] = ref(trueIds[i]!, trueLeafs[i]!);
    falseRef[i] = ref(falseIds[i]!, falseLeafs[i]!);
    tracksTrue[i] = tracks && tracks[i] ? 1 : 0;
    if (md === Mode.MEMBER) {
      if (!membership) throw invalid('BRANCH_MEMBER node without membership_values.');
      const set: number[] = [];
      while (mpos < membership.length && !Number.isNaN(membership[mpos]!)) set.push(membership[mpos++]!);
      mpos++; // NaN separator
      sets.set(i, set);
    }
  }
  const rootRefs = Array.from(roots, (r) => toIndex(r, 'tree root', n));
  const leafStart = new Int32Array(nLeaves + 1);
  for (let l = 0; l <= nLeaves; l++) leafStart[l] = l;
  const leafTarget = Int32Array.from(leafTargets, (t) => toIndex(t, 'leaf target id', 1 << 16));
  return { mode, feature, value: splits, trueRef, falseRef, tracksTrue, sets, roots: rootRefs, leafStart, leafTarget, leafWeight: leafWeights, nLeaves };
}

/** Targets reached by the leaves of the tree rooted at `root` (bounded walk; cycles are caught later). */
function collectTargets(src: SrcEnsemble, root: number, leafTarget: Int32Array): Set<number> {
  const out = new Set<number>();
  const stack = [root];
  let steps = 0;
  const limit = 4 * (src.mode.length + src.nLeaves) + 16;
  while (stack.length && steps++ < limit) {
    const r = stack.pop()!;
    if (r < 0) {
      const l = -r - 1;
      for (let e = src.leafStart[l]!; e < src.leafStart[l + 1]!; e++) out.add(leafTarget[e]!);
    } else stack.push(src.trueRef[r]!, src.falseRef[r]!);
  }
  return out;
}

/** Emits IR trees from the source description, duplicating subtrees where a set split must become a chain. */
class Emitter {
  private l: number[] = [];
  private r: number[] = [];
  private f: number[] = [];
  private thr: number[] = [];
  private dec: number[] = [];
  private dl: number[] = [];
  private vals: number[] = [];
  private cats = new Map<number, Uint32Array>();
  private total = 0;
  /** Source nodes on the path being expanded: meeting one again means the child pointers form a cycle. */
  private onPath: Uint8Array | undefined;

  constructor(
    private readonly src: SrcEnsemble,
    private readonly leafTarget: Int32Array,
    private readonly w: number,
    private readonly budget: number,
  ) {}

  tree(root: number, output: number): RawTree {
    this.l = [];
    this.r = [];
    this.f = [];
    this.thr = [];
    this.dec = [];
    this.dl = [];
    this.vals = [];
    this.cats = new Map();
    this.onPath ??= new Uint8Array(this.src.mode.length);
    try {
      this.emit(root, 0);
    } catch (e) {
      // A legal but very deep chain can exhaust the JavaScript stack before MAX_TREE_DEPTH: report it as bad input.
      if (e instanceof RangeError) throw invalid(`a tree is too deep to expand (${e.message}); the file's child pointers may be corrupt.`);
      throw e;
    }
    const n = this.l.length;
    const t = newRawTree(n, this.w, output);
    t.left.set(this.l);
    t.right.set(this.r);
    t.feature.set(this.f);
    t.threshold.set(this.thr);
    t.decision.set(this.dec);
    t.defaultLeft.set(this.dl);
    t.missing.fill(Missing.NAN_DEFAULT);
    t.value.set(this.vals);
    t.cats = this.cats;
    return t;
  }

  private node(): number {
    if (++this.total > this.budget) throw unsupported(`expanding the trees would need more than ${this.budget} nodes (shared subtrees or large non-integer set splits).`);
    const id = this.l.length;
    this.l.push(-1);
    this.r.push(-1);
    this.f.push(-1);
    this.thr.push(0);
    this.dec.push(0);
    this.dl.push(0);
    for (let k = 0; k < this.w; k++) this.vals.push(0);
    return id;
  }

  private split(id: number, feature: number, dec: number, thr: number, left: number, right: number, defaultLeft: boolean): void {
    this.f[id] = feature;
    this.dec[id] = dec;
    this.thr[id] = thr;
    this.l[id] = left;
    this.r[id] = right;
    this.dl[id] = defaultLeft ? 1 : 0;
  }

  private emit(ref: number, depth: number): number {
    if (depth > MAX_TREE_DEPTH) throw invalid(`a tree is deeper than ${MAX_TREE_DEPTH} (cycle in child pointers?).`);
    if (ref < 0) return this.emitNode(ref, depth);
    const onPath = this.onPath!;
    if (onPath[ref] === 1) throw invalid(`node ${ref} is its own descendant: the tree's child pointers form a cycle.`);
    onPath[ref] = 1;
    const id = this.emitNode(ref, depth);
    onPath[ref] = 0;
    return id;
  }

  private emitNode(ref: number, depth: number): number {
    const s = this.src;
    if (ref < 0) {
      const id = this.node();
      const l = -ref - 1;
      for (let e = s.leafStart[l]!; e < s.leafStart[l + 1]!; e++) {
        const k = this.w === 1 ? 0 : this.leafTarget[e]!;
        this.vals[id * this.w + k]! += s.leafWeight[e]!;
      }
      return id;
    }
    const mode = s.mode[ref]! as Mode;
    const f = s.feature[ref]!;
    const v = s.value[ref]!;
    const tt = s.tracksTrue[ref] === 1;
    const tRef = s.trueRef[ref]!;
    const fRef = s.falseRef[ref]!;
    const id = this.node();
    switch (mode) {
      case Mode.LEQ:
      case Mode.LT: {
        const a = this.emit(tRef, depth + 1);
        const b = this.emit(fRef, depth + 1);
        this.split(id, f, mode === Mode.LEQ ? Decision.LEQ : Decision.LT, v, a, b, tt);
        return id;
      }
      case Mode.GTE:
      case Mode.GT: {
        const a = this.emit(fRef, depth + 1);
        const b = this.emit(tRef, depth + 1);
        this.split(id, f, mode === Mode.GTE ? Decision.LT : Decision.LEQ, v, a, b, !tt);
        return id;
      }
      case Mode.EQ:
      case Mode.NEQ:
      case Mode.MEMBER: {
        const set = mode === Mode.MEMBER ? s.sets.get(ref) ?? [] : [v];
        const neq = mode === Mode.NEQ;
        // NaN: onnxruntime sends NaN to the true branch for NEQ (NaN != v), else per tracks-true.
        const nanToTrue = neq || tt;
        const inRef = neq ? fRef : tRef;
        const outRef = neq ? tRef : fRef;
        const nanIn = neq ? false : nanToTrue;
        if (set.every((c) => Number.isInteger(c) && c >= 0 && c <= 1 << 20)) {
          const a = this.emit(inRef, depth + 1);
          const b = this.emit(outRef, depth + 1);
          this.split(id, f, Decision.IN_SET, 0, a, b, nanIn);
          this.cats.set(id, categoryBitset(set));
          return id;
        }
        // Chain over sorted distinct values: x < v1 -> out; x <= v1 -> in; x < v2 -> out; ... else out.
        const sorted = [...new Set(set)].sort((x, y) => x - y);
        let cur = id;
        for (let k = 0; k < sorted.length; k++) {
          const val = sorted[k]!;
          const outA = this.emit(outRef, depth + 1 + 2 * k);
          const eq = this.node();
          this.split(cur, f, Decision.LT, val, outA, eq, !nanIn);
          const inB = this.emit(inRef, depth + 2 + 2 * k);
          const next = k + 1 < sorted.length ? this.node() : this.emit(outRef, depth + 2 + 2 * k);
          this.split(eq, f, Decision.LEQ, val, inB, next, nanIn);
          cur = next;
        }
        if (sorted.length === 0) {
          // Empty set: never a member; route everything to `out` (NaN too unless it tracks true).
          const a = this.emit(inRef, depth + 1);
          const b = this.emit(outRef, depth + 1);
          this.split(id, f, Decision.IN_SET, 0, a, b, nanIn);
          this.cats.set(id, new Uint32Array(1));
        }
        return id;
      }
      default:
        throw invalid(`unexpected node mode ${mode}.`);
    }
  }
}

/** Follows Identity/Cast/Scaler from the tree node's input back to a graph input. */
function traceInput(graph: OnnxGraph, node: OnnxNode): { nInputFeatures: number | undefined; scale?: Float64Array; offset?: Float64Array } {
  const producers = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producers.set(o, n);
  let name = node.inputs[0];
  if (name === undefined) throw invalid('the tree node has no input.');
  let scale: Float64Array | undefined;
  let offset: Float64Array | undefined;
  for (let hops = 0; hops < 64; hops++) {
    const p = producers.get(name);
    if (!p) break;
    if (p.opType === 'Identity' || p.opType === 'Cast') {
      name = p.inputs[0]!;
      continue;
    }
    if (p.opType === 'Scaler' && p.domain === 'ai.onnx.ml' && !scale) {
      scale = floatsAttr(p, 'scale') ?? new Float64Array([1]);
      offset = floatsAttr(p, 'offset') ?? new Float64Array([0]);
      name = p.inputs[0]!;
      continue;
    }
    throw unsupported(`the trees read '${name}', computed by a ${p.opType} node; only Identity, Cast and one Scaler before the tree operator are supported. Export the preprocessing separately.`);
  }
  const input = graph.inputs.find((i) => i.name === name);
  let nInputFeatures: number | undefined;
  if (input && input.type.kind === 'tensor' && input.type.shape && input.type.shape.length >= 1) {
    const last = input.type.shape[input.type.shape.length - 1];
    if (typeof last === 'number' && last > 0 && input.type.shape.length === 2) nInputFeatures = last;
  }
  const out: { nInputFeatures: number | undefined; scale?: Float64Array; offset?: Float64Array } = { nInputFeatures };
  if (scale) out.scale = scale;
  if (offset) out.offset = offset;
  return out;
}

/** Scaler y = (x - offset) * scale folded into thresholds on x. */
function foldScaler(src: SrcEnsemble, scale: Float64Array | undefined, offset: Float64Array | undefined): void {
  const sAt = (f: number) => (scale && scale.length ? (scale.length === 1 ? scale[0]! : scale[f] ?? 1) : 1);
  const oAt = (f: number) => (offset && offset.length ? (offset.length === 1 ? offset[0]! : offset[f] ?? 0) : 0);
  const value = Float64Array.from(src.value);
  for (let i = 0; i < src.mode.length; i++) {
    const m = src.mode[i]! as Mode;
    if (m === Mode.LEAF) continue;
    const f = src.feature[i]!;
    const s = sAt(f);
    const o = oAt(f);
    if (s === 0 || !Number.isFinite(s)) throw unsupported(`Scaler scale ${s} for feature ${f} cannot be folded into the tree thresholds.`);
    value[i] = value[i]! / s + o;
    const set = src.sets.get(i);
    if (set) src.sets.set(i, set.map((v) => v / s + o));
    if (s < 0) {
      if (m === Mode.LEQ) src.mode[i] = Mode.GTE;
      else if (m === Mode.LT) src.mode[i] = Mode.GT;
      else if (m === Mode.GTE) src.mode[i] = Mode.LEQ;
      else if (m === Mode.GT) src.mode[i] = Mode.LT;
    }
  }
  src.value = value;
}
