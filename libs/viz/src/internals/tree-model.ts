/** Reading a model-format tree ensemble for the internals charts: shape checks and per-tree structure. */
import { Decision, encodeRows, findLeaf, type RawRow, type TreeEnsemble } from '@genome/model-format';
import { format } from 'd3-format';
import { invalid } from '../core/chart.js';

const precise = format('.6~g');

/** A threshold or a row value with enough digits to tell it from a nearby threshold. */
export function formatPrecise(value: number): string {
  if (Number.isNaN(value)) return 'missing';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  return precise(value).replace('-', '−');
}

export function checkTreeModel(model: TreeEnsemble, fn: string): void {
  if (
    model === null ||
    typeof model !== 'object' ||
    !(model.treeOffsets instanceof Int32Array) ||
    !(model.left instanceof Int32Array) ||
    !(model.right instanceof Int32Array) ||
    !(model.feature instanceof Int32Array) ||
    !(model.value instanceof Float64Array) ||
    !Array.isArray(model.featureNames)
  ) {
    invalid(`${fn} needs a TreeEnsemble from @genome/model-format (loadTreeModel, loadXGBoostModel, loadLightGBMModel or loadOnnxTreeEnsemble)`);
  }
  if (model.treeOffsets.length !== model.nTrees + 1) invalid(`the model's treeOffsets has ${model.treeOffsets.length} entries for ${model.nTrees} trees`);
}

/** Structure of one tree: nodes in pre-order with parent, depth, subtree size and pre-order intervals. */
export interface TreeStructure {
  root: number;
  /** Global node ids in pre-order. */
  order: number[];
  parent: Map<number, number>;
  depth: Map<number, number>;
  /** Nodes in the subtree (itself included). */
  size: Map<number, number>;
  /** Pre-order position; the subtree of n is positions [pos(n), pos(n) + size(n)). */
  pos: Map<number, number>;
  leaves: number;
}

export function treeStructure(model: TreeEnsemble, t: number): TreeStructure {
  const root = model.treeOffsets[t]!;
  const { left, right } = model;
  const order: number[] = [];
  const parent = new Map<number, number>();
  const depth = new Map<number, number>([[root, 0]]);
  const stack = [root];
  let leaves = 0;
  while (stack.length) {
    const n = stack.pop()!;
    order.push(n);
    const l = left[n]!;
    if (l >= 0) {
      const r = right[n]!;
      parent.set(l, n);
      parent.set(r, n);
      depth.set(l, depth.get(n)! + 1);
      depth.set(r, depth.get(n)! + 1);
      stack.push(r, l);
    } else leaves++;
  }
  const pos = new Map<number, number>();
  order.forEach((n, i) => pos.set(n, i));
  const size = new Map<number, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const l = left[n]!;
    size.set(n, l >= 0 ? 1 + size.get(l)! + size.get(right[n]!)! : 1);
  }
  return { root, order, parent, depth, size, pos, leaves };
}

/** True when node `m` lies in the subtree of `n`. */
export function inSubtree(s: TreeStructure, n: number, m: number): boolean {
  const p = s.pos.get(n)!;
  const q = s.pos.get(m);
  return q !== undefined && q >= p && q < p + s.size.get(n)!;
}

/** Encodes one raw row with model-format's encodeRows; its errors become VizError INVALID_INPUT. */
export function encodeRow(model: TreeEnsemble, row: RawRow): Float64Array {
  try {
    return encodeRows(model, [row]);
  } catch (e) {
    invalid(`row: ${(e as Error).message}`);
  }
}

/** Nodes a row visits in tree `t`, root to leaf, as model-format's own prediction walks them (findLeaf). */
export function rowPath(model: TreeEnsemble, s: TreeStructure, x: Float64Array): number[] {
  const leaf = findLeaf(model, x, 0, s.root);
  const path = [leaf];
  let n = leaf;
  while (n !== s.root) {
    const p = s.parent.get(n);
    if (p === undefined) invalid(`model-format's findLeaf reached node ${leaf}, which is not in tree rooted at ${s.root}`);
    path.push(p);
    n = p;
  }
  return path.reverse();
}

/**
 * Where a missing value goes at internal node `n`, decided by model-format's split rule itself: an all-missing row
 * walks from `n` (findLeaf) and the leaf it reaches is in the left or the right subtree.
 */
export function missingGoesLeft(model: TreeEnsemble, s: TreeStructure, n: number, nanRow: Float64Array): boolean {
  const leaf = findLeaf(model, nanRow, 0, n);
  return inSubtree(s, model.left[n]!, leaf);
}

/** Category codes in the set of an IN_SET node. */
export function categoryCodes(model: TreeEnsemble, n: number): number[] {
  const start = model.catStart[n]!;
  const len = model.catLen[n]!;
  const out: number[] = [];
  for (let w = 0; w < len; w++) {
    const word = model.catBits[start + w]!;
    if (word === 0) continue;
    for (let b = 0; b < 32; b++) if ((word >>> b) & 1) out.push(w * 32 + b);
  }
  return out;
}

/** Name of category `code` of feature `f` (its code when the model has no names). */
export function categoryName(model: TreeEnsemble, f: number, code: number): string {
  return model.featureCategories?.[f]?.[code] ?? String(code);
}

export function featureName(model: TreeEnsemble, f: number): string {
  return model.featureNames[f] ?? `f${f}`;
}

/** The split condition that sends a row to the left child ("yes"), e.g. `age < 30.5`, `colour ∈ {red, blue}`. */
export function splitRule(model: TreeEnsemble, n: number, maxCategories = 6): string {
  const f = model.feature[n]!;
  const name = featureName(model, f);
  const d = model.decision[n];
  if (d === Decision.LT) return `${name} < ${formatPrecise(model.threshold[n]!)}`;
  if (d === Decision.LEQ) return `${name} ≤ ${formatPrecise(model.threshold[n]!)}`;
  const codes = categoryCodes(model, n);
  const names = codes.slice(0, maxCategories).map((c) => categoryName(model, f, c));
  const more = codes.length - names.length;
  return `${name} ∈ {${names.join(', ')}${more > 0 ? `, … +${more}` : ''}}`;
}

/** A row's value of feature `f` as the model sees it (category names for named categories). */
export function describeValue(model: TreeEnsemble, f: number, x: number): string {
  if (Number.isNaN(x)) return 'missing';
  const cats = model.featureCategories?.[f];
  if (cats && Number.isInteger(x) && x >= 0 && x < cats.length) return cats[x]!;
  return formatPrecise(x);
}

/** The output a tree adds to (valueWidth 1), or -1 when its leaves hold one value per output. */
export function treeOutputName(model: TreeEnsemble, t: number): string | undefined {
  if (model.valueWidth !== 1) return undefined;
  const k = model.treeOutput[t]!;
  return model.outputNames[k] ?? `output ${k}`;
}

export function formatName(model: TreeEnsemble): string {
  const s = model.source;
  const base = { 'xgboost-json': 'XGBoost (JSON)', 'xgboost-ubjson': 'XGBoost (UBJSON)', 'lightgbm-text': 'LightGBM', 'onnx-ml': 'ONNX-ML', ir: 'tree IR' }[s?.format] ?? String(s?.format);
  return s?.objective ? `${base}, ${s.objective}` : base;
}

/** What a node's cover counts, by format. */
export function coverKind(model: TreeEnsemble): string {
  if (!model.hasCovers) return 'not stored by this format';
  switch (model.source?.format) {
    case 'xgboost-json':
    case 'xgboost-ubjson':
      return 'sum of hessians';
    case 'lightgbm-text':
      return 'training rows';
    default:
      return 'cover';
  }
}
