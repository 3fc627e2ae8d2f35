/**
 * XGBoost `save_model` JSON / UBJSON (schemas of XGBoost 1.0 to 3.x) -> {@link TreeEnsemble}.
 *
 * - gbtree and dart (leaf values scaled by `weight_drop`, read from the dart booster or, in files written after
 *   XGBoost folded DART into gbtree (dmlc/xgboost#12078), from the gbtree model itself), tree_info -> output.
 * - Boosting rounds (`iterationRange`): round r holds trees `iteration_indptr[r] .. iteration_indptr[r+1]-1`
 *   (num_class x num_parallel_tree trees, or num_target x num_parallel_tree); files without `iteration_indptr`
 *   (XGBoost < 2) are cut as XGBoost's own loader does (`MakeIndptr`): num_parallel_tree (1 when the file does
 *   not store it) x (max(tree_info) + 1) trees per round.
 * - Category names (`cats`, XGBoost >= 3.1) -> `featureCategories`.
 * - base_score ("0.5", "5E-1" or "[9.9E-1]") converted to margin space by the objective's link.
 * - Splits `x < t` on float32 features are converted to exact double thresholds so that float64 rows give the
 *   same decision as XGBoost's float32 comparison.
 * - Categorical splits: the stored categories go right in XGBoost; the IR stores them with children swapped.
 * - Covers are sum_hessian.
 */
import { ModelFormatError } from '../errors.js';
import { Decision, Missing, type FeatureType, type OutputTransform, type TreeEnsemble } from '../tree/ensemble.js';
import { assembleEnsemble, categoryBitset, newRawTree, treesHaveGain, type RawTree } from '../tree/build.js';
import { parseLenientJson } from './json.js';
import { decodeUbjson } from './ubjson.js';

type Obj = Record<string, unknown>;

function invalid(msg: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid XGBoost model: ${msg}`);
}

function obj(v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) throw invalid(`${what} is missing or not an object.`);
  return v as Obj;
}

function nums(v: unknown, what: string, optional = false): ArrayLike<number> | undefined {
  if (v === undefined && optional) return undefined;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<number>;
  if (Array.isArray(v)) {
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      out[i] = x === null ? Number.NaN : typeof x === 'boolean' ? (x ? 1 : 0) : typeof x === 'number' ? x : Number.NaN;
      if (typeof x !== 'number' && typeof x !== 'boolean' && x !== null) throw invalid(`${what}[${i}] is not a number.`);
    }
    return out;
  }
  throw invalid(`${what} is missing or not an array.`);
}

function numParam(v: unknown, what: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim().replace(/^\[|\]$/g, '').split(',')[0]) : Number.NaN;
  if (!Number.isFinite(n)) throw invalid(`${what} '${String(v)}' is not a number.`);
  return n;
}

/** Parses base_score: "0.5", "5E-1", "[9.9E-1]" or "[0.1,0.2]" (vector, XGBoost >= 3). */
function baseScores(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (typeof v !== 'string') return [0.5];
  const s = v.trim().replace(/^\[|\]$/g, '');
  const parts = s.split(',').map((p) => Number(p.trim()));
  if (parts.length === 0 || parts.some((p) => !Number.isFinite(p))) throw invalid(`base_score '${v}' is not a number.`);
  return parts;
}

/**
 * Which boosting rounds of an XGBoost model to keep: `[begin, end]` (end exclusive, counted in boosting rounds as
 * XGBoost's `iteration_range`; `end` 0 means through the last round, as in XGBoost), or `'best'`: rounds
 * `[0, best_iteration + 1)` when the model records `best_iteration` (early stopping), else every round, which is
 * what scikit-learn's `XGBRegressor.predict` / `XGBClassifier.predict` do.
 */
export type XGBoostIterationRange = readonly [begin: number, end: number] | 'best';

export interface XGBoostOptions {
  /** Force the encoding; sniffed otherwise ('{' + '"' -> JSON, '{' + marker -> UBJSON). */
  encoding?: 'json' | 'ubjson';
  /**
   * Keep only these boosting rounds (default: every round, as `Booster.predict`). The returned ensemble holds just
   * the selected trees, so predictions, TreeSHAP and every other consumer see that sub-model; base_score is
   * unchanged. A range past the last round, or an empty one, is an `INVALID_INPUT` error naming the round count.
   */
  iterationRange?: XGBoostIterationRange;
}

/** Loads an XGBoost model from its JSON/UBJSON bytes, JSON text, or an already parsed object. */
export function loadXGBoostModel(input: Uint8Array | string | object, options: XGBoostOptions = {}): TreeEnsemble {
  let root: unknown;
  let format: 'xgboost-json' | 'xgboost-ubjson' = 'xgboost-json';
  if (typeof input === 'string') root = parseLenientJson(input);
  else if (input instanceof Uint8Array) {
    const enc = options.encoding ?? sniffEncoding(input);
    if (enc === 'ubjson') {
      format = 'xgboost-ubjson';
      root = decodeUbjson(input);
    } else root = parseLenientJson(new TextDecoder('utf-8').decode(input));
  } else root = input;
  return fromObject(obj(root, 'the model root'), format, options.iterationRange);
}

function sniffEncoding(b: Uint8Array): 'json' | 'ubjson' {
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (b[i] !== 0x7b) throw invalid('the file does not start with "{" (neither JSON nor UBJSON). Save it with booster.save_model("model.json") or ("model.ubj").');
  let j = i + 1;
  while (j < b.length && (b[j] === 0x20 || b[j] === 0x0a || b[j] === 0x0d || b[j] === 0x09)) j++;
  return b[j] === 0x22 || b[j] === 0x7d ? 'json' : 'ubjson';
}

const LOGIT_OBJECTIVES = new Set(['binary:logistic', 'reg:logistic', 'binary:logitraw']);
const LOG_OBJECTIVES = new Set(['count:poisson', 'reg:gamma', 'reg:tweedie', 'survival:cox']);

function fromObject(root: Obj, format: 'xgboost-json' | 'xgboost-ubjson', iterationRange: XGBoostIterationRange | undefined): TreeEnsemble {
  const learner = obj(root.learner, 'learner');
  const version = Array.isArray(root.version) || ArrayBuffer.isView(root.version) ? Array.from(root.version as ArrayLike<number>).join('.') : undefined;
  const lmp = obj(learner.learner_model_param, 'learner.learner_model_param');
  const objective = typeof obj(learner.objective ?? {}, 'learner.objective').name === 'string' ? String((learner.objective as Obj).name) : 'reg:squarederror';
  const nFeatures = numParam(lmp.num_feature, 'num_feature');
  const numClass = numParam(lmp.num_class, 'num_class', 0);
  const numTarget = numParam(lmp.num_target, 'num_target', 1);
  if (!Number.isInteger(nFeatures) || nFeatures < 0 || nFeatures > 1 << 24) throw invalid(`num_feature ${nFeatures} out of range.`);
  if (!Number.isInteger(numClass) || numClass < 0 || numClass > 1 << 16) throw invalid(`num_class ${numClass} out of range.`);
  if (!Number.isInteger(numTarget) || numTarget < 1 || numTarget > 1 << 16) throw invalid(`num_target ${numTarget} out of range.`);
  const nOutputs = Math.max(numClass, numTarget, 1);

  // Booster: gbtree or dart.
  let gb = obj(learner.gradient_booster, 'learner.gradient_booster');
  let weightDrop: ArrayLike<number> | undefined;
  if (gb.name === 'dart') {
    weightDrop = nums(gb.weight_drop, 'weight_drop');
    gb = obj(gb.gbtree, 'gradient_booster.gbtree');
  } else if (gb.name === 'gblinear') {
    throw new ModelFormatError('UNSUPPORTED', 'XGBoost gblinear models are linear, not tree ensembles; this loader only reads gbtree and dart.');
  } else if (gb.name !== undefined && gb.name !== 'gbtree') throw invalid(`unknown booster '${String(gb.name)}'.`);
  const m = obj(gb.model, 'gradient_booster.model');
  const treesJson = m.trees;
  if (!Array.isArray(treesJson)) throw invalid('gradient_booster.model.trees is not an array.');
  const treeInfo = nums(m.tree_info, 'tree_info', true) ?? new Float64Array(treesJson.length);
  if (treeInfo.length !== treesJson.length) throw invalid(`tree_info has ${treeInfo.length} entries for ${treesJson.length} trees.`);
  // DART tree weights: next to the trees for booster "dart"; inside the gbtree model in files written after
  // XGBoost moved DART into gbtree (dmlc/xgboost#12078). Leaving them out changes every prediction.
  // An empty list means no weights.
  if (!weightDrop && m.weight_drop !== undefined) {
    const w = nums(m.weight_drop, 'gradient_booster.model.weight_drop')!;
    if (w.length > 0) weightDrop = w;
  }
  if (weightDrop && weightDrop.length !== treesJson.length) throw invalid(`weight_drop has ${weightDrop.length} entries for ${treesJson.length} trees.`);

  let treeBegin = 0;
  let treeEnd = treesJson.length;
  let rounds: { begin: number; end: number; total: number } | undefined;
  if (iterationRange !== undefined) {
    const indptr = boostingRounds(m, treeInfo, treesJson.length);
    rounds = selectRounds(iterationRange, learner, indptr.length - 1, treesJson.length);
    treeBegin = indptr[rounds.begin]!;
    treeEnd = indptr[rounds.end]!;
  }

  const trees: RawTree[] = [];
  for (let t = treeBegin; t < treeEnd; t++) {
    const out = treeInfo[t]!;
    if (!Number.isInteger(out) || out < 0 || out >= nOutputs) throw invalid(`tree_info[${t}] = ${out} is not a valid output (model has ${nOutputs}).`);
    trees.push(readTree(obj(treesJson[t], `trees[${t}]`), t, out, weightDrop ? weightDrop[t]! : 1, nFeatures));
  }

  // Base score in margin space.
  let bs = baseScores(lmp.base_score);
  if (bs.length === 1 && nOutputs > 1) bs = Array.from({ length: nOutputs }, () => bs[0]!);
  if (bs.length !== nOutputs) throw invalid(`base_score has ${bs.length} values for ${nOutputs} outputs.`);
  let transform: OutputTransform = 'identity';
  const base = Float64Array.from(bs, (p) => {
    if (LOGIT_OBJECTIVES.has(objective)) {
      if (!(p > 0 && p < 1)) throw invalid(`base_score ${p} must be in (0, 1) for ${objective}.`);
      return Math.log(p / (1 - p));
    }
    if (LOG_OBJECTIVES.has(objective)) {
      if (!(p > 0)) throw invalid(`base_score ${p} must be positive for ${objective}.`);
      return Math.log(p);
    }
    return p;
  });
  if (objective === 'binary:logistic' || objective === 'reg:logistic') transform = 'logistic';
  else if (objective === 'multi:softprob' || objective === 'multi:softmax') transform = 'softmax';
  else if (LOG_OBJECTIVES.has(objective)) transform = 'exp';

  const names = Array.isArray(learner.feature_names) && learner.feature_names.length === nFeatures ? (learner.feature_names as unknown[]).map(String) : undefined;
  const types = Array.isArray(learner.feature_types) && learner.feature_types.length === nFeatures ? (learner.feature_types as unknown[]).map(featureType) : undefined;
  const outputNames = nOutputs === 1 ? [objective.startsWith('binary:') ? 'logit' : 'prediction'] : Array.from({ length: nOutputs }, (_, i) => (numClass > 0 ? `class_${i}` : `target_${i}`));
  const categories = categoryNames(m.cats, nFeatures);

  return assembleEnsemble(
    {
      nFeatures,
      ...(names ? { featureNames: names } : {}),
      ...(types ? { featureTypes: types } : {}),
      ...(categories ? { featureCategories: categories } : {}),
      nOutputs,
      outputNames,
      baseScore: base,
      aggregate: 'sum',
      transform,
      valueWidth: 1,
      hasCovers: true,
      hasGain: treesHaveGain(trees),
      internalValuesFromCovers: true,
      source: {
        format,
        ...(version ? { version } : {}),
        objective,
        ...(rounds ? { iterationRange: [rounds.begin, rounds.end] as const, rounds: rounds.total } : {}),
      },
    },
    trees,
  );
}

/**
 * Tree index where each boosting round starts (length rounds + 1, last = number of trees), as XGBoost's
 * `GBTreeModel::iteration_indptr`. Files without it (XGBoost < 2) get XGBoost's own reconstruction
 * (`MakeIndptr` in src/gbm/gbtree_model.cc): num_parallel_tree x (max(tree_info) + 1) trees per round.
 */
function boostingRounds(m: Obj, treeInfo: ArrayLike<number>, nTrees: number): ArrayLike<number> {
  if (m.iteration_indptr !== undefined) {
    const indptr = nums(m.iteration_indptr, 'gradient_booster.model.iteration_indptr')!;
    const last = indptr[indptr.length - 1];
    if (indptr.length === 0 || indptr[0] !== 0 || last !== nTrees) {
      throw invalid(`iteration_indptr must start at 0 and end at the number of trees (${nTrees}); it has ${indptr.length} entries ending at ${String(last)}.`);
    }
    for (let r = 1; r < indptr.length; r++) {
      if (!Number.isInteger(indptr[r]) || indptr[r]! < indptr[r - 1]!) throw invalid(`iteration_indptr is not a non-decreasing list of tree indices (entry ${r} = ${indptr[r]}).`);
    }
    return indptr;
  }
  if (nTrees === 0) return [0];
  const param = m.gbtree_model_param !== null && typeof m.gbtree_model_param === 'object' ? (m.gbtree_model_param as Obj) : {};
  const parallel = numParam(param.num_parallel_tree, 'gbtree_model_param.num_parallel_tree', 1);
  let groups = 0;
  for (let t = 0; t < treeInfo.length; t++) groups = Math.max(groups, treeInfo[t]! + 1);
  const perRound = parallel * groups;
  if (!Number.isInteger(parallel) || parallel < 1 || !(perRound >= 1) || nTrees % perRound !== 0) {
    throw invalid(
      `the file has no iteration_indptr and its ${nTrees} trees do not split into boosting rounds of num_parallel_tree (${parallel}) x ${groups} output(s) = ${perRound} trees.`,
    );
  }
  return Array.from({ length: nTrees / perRound + 1 }, (_, r) => r * perRound);
}

/** Resolves an iterationRange option against a model of `nRounds` boosting rounds (XGBoost's LayerToTree checks). */
function selectRounds(range: XGBoostIterationRange, learner: Obj, nRounds: number, nTrees: number): { begin: number; end: number; total: number } {
  const roundsText = `the model has ${nRounds} boosting round${nRounds === 1 ? '' : 's'} (${nTrees} trees)`;
  if (range === 'best') {
    const attrs = learner.attributes !== null && typeof learner.attributes === 'object' ? (learner.attributes as Obj) : {};
    const best = attrs.best_iteration;
    // scikit-learn's XGBModel._get_iteration_range: (0, best_iteration + 1) when set, else (0, 0) = every round.
    if (best === undefined) return { begin: 0, end: nRounds, total: nRounds };
    const b = typeof best === 'number' ? best : typeof best === 'string' && best.trim() !== '' ? Number(best) : Number.NaN;
    if (!Number.isInteger(b) || b < 0) throw invalid(`learner.attributes.best_iteration ${JSON.stringify(best)} is not a non-negative integer.`);
    if (b + 1 > nRounds) throw invalid(`best_iteration ${b} is past the last boosting round: ${roundsText}.`);
    return { begin: 0, end: b + 1, total: nRounds };
  }
  const ok = Array.isArray(range) && range.length === 2 && range.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0);
  if (!ok) {
    throw new ModelFormatError(
      'INVALID_INPUT',
      `iterationRange must be [begin, end] (non-negative integers, end exclusive, counted in boosting rounds) or 'best'; got ${preview(range)}.`,
    );
  }
  const begin = range[0];
  const end = range[1] === 0 ? nRounds : range[1];
  if (end > nRounds) {
    throw new ModelFormatError('INVALID_INPUT', `iterationRange [${range[0]}, ${range[1]}] goes past the last boosting round: ${roundsText}, so end can be at most ${nRounds}.`);
  }
  if (begin >= end) {
    throw new ModelFormatError('INVALID_INPUT', `iterationRange [${range[0]}, ${range[1]}] selects no boosting round: begin must be below end (${roundsText}).`);
  }
  return { begin, end, total: nRounds };
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Category names saved by XGBoost >= 3.1 (`gradient_booster.model.cats`, written by `CatContainer::Save` in
 * src/data/cat_container.cc): one entry per feature in `enc`; string categories as an Arrow-style string array
 * (`offsets`, n+1 of them, into `values`, the UTF-8 bytes stored as int8), numeric categories as `{type, values}`.
 * A feature with no categories (numeric features) has an empty list. Code c of a feature is its c-th name.
 */
function categoryNames(cats: unknown, nFeatures: number): (string[] | undefined)[] | undefined {
  if (cats === undefined || cats === null) return undefined;
  const c = obj(cats, 'gradient_booster.model.cats');
  if (c.enc === undefined) return undefined;
  if (!Array.isArray(c.enc)) throw invalid('gradient_booster.model.cats.enc is not an array.');
  if (c.enc.length === 0) return undefined;
  if (c.enc.length !== nFeatures) throw invalid(`cats.enc has ${c.enc.length} entries for ${nFeatures} features.`);
  const utf8 = new TextDecoder('utf-8');
  const out = (c.enc as unknown[]).map((e, f): string[] | undefined => {
    const col = obj(e, `cats.enc[${f}]`);
    if (col.offsets !== undefined) {
      const off = nums(col.offsets, `cats.enc[${f}].offsets`)!;
      const vals = nums(col.values, `cats.enc[${f}].values`)!;
      if (off.length === 0) return undefined;
      if (off[0] !== 0) throw invalid(`cats.enc[${f}].offsets must start at 0.`);
      const bytes = Uint8Array.from(vals as ArrayLike<number>, (v) => v & 0xff);
      const names: string[] = [];
      for (let i = 1; i < off.length; i++) {
        const a = off[i - 1]!;
        const b = off[i]!;
        if (!Number.isInteger(b) || b < a || b > bytes.length) throw invalid(`cats.enc[${f}].offsets[${i}] = ${b} is out of range (${bytes.length} bytes).`);
        names.push(utf8.decode(bytes.subarray(a, b)));
      }
      return names;
    }
    if (col.values === undefined) throw invalid(`cats.enc[${f}] has neither offsets (string categories) nor values (numeric categories).`);
    const vals = nums(col.values, `cats.enc[${f}].values`)!;
    if (vals.length === 0) return undefined;
    return Array.from(vals as ArrayLike<number>, (v, i) => {
      if (!Number.isFinite(v)) throw invalid(`cats.enc[${f}].values[${i}] is not a finite number.`);
      return String(v);
    });
  });
  return out.some((x) => x !== undefined) ? out : undefined;
}

function featureType(v: unknown): FeatureType {
  if (v === 'c') return 'categorical';
  if (v === 'int' || v === 'i') return 'int';
  return 'float';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * For a float32 threshold t, returns [threshold, decision] on float64 x equivalent to `fround(x) < t`.
 */
export function float32LessThan(t: number): [number, Decision] {
  if (!Number.isFinite(t)) return [t, Decision.LT];
  f32[0] = t;
  if (f32[0] !== t) return [t, Decision.LT]; // not a float32 value: compare as is
  if (t === 0) {
    // fround(x) < 0 <=> x < -(2^-150) (ties round to even, i.e. to 0): x < -2^-150... use LT on -2^-150 with LEQ semantics.
    return [-(2 ** -150), Decision.LT];
  }
  // Previous float32 below t.
  const bits = u32[0]!;
  u32[0] = t > 0 ? bits - 1 : bits + 1;
  const prev = f32[0]!;
  const mid = (prev + t) / 2; // exact in float64
  // fround(mid) rounds to the even mantissa of {prev, t}.
  const prevEven = (u32[0]! & 1) === 0;
  return prevEven ? [mid, Decision.LEQ] : [mid, Decision.LT];
}

function readTree(tj: Obj, t: number, output: number, scale: number, nFeatures: number): RawTree {
  const left = nums(tj.left_children, `trees[${t}].left_children`)!;
  const right = nums(tj.right_children, `trees[${t}].right_children`)!;
  const n = left.length;
  if (n === 0) throw invalid(`trees[${t}] has no nodes.`);
  const param = tj.tree_param && typeof tj.tree_param === 'object' ? (tj.tree_param as Obj) : {};
  const sizeLeaf = numParam(param.size_leaf_vector, 'size_leaf_vector', 1);
  if (sizeLeaf > 1) throw new ModelFormatError('UNSUPPORTED', 'XGBoost multi-target trees (multi_strategy="multi_output_tree") are not supported; train with one_output_per_tree.');
  const cond = nums(tj.split_conditions, `trees[${t}].split_conditions`)!;
  const idx = nums(tj.split_indices, `trees[${t}].split_indices`)!;
  const dl = nums(tj.default_left, `trees[${t}].default_left`)!;
  const hess = nums(tj.sum_hessian, `trees[${t}].sum_hessian`, true);
  const loss = nums(tj.loss_changes, `trees[${t}].loss_changes`, true);
  const splitType = nums(tj.split_type, `trees[${t}].split_type`, true);
  for (const [name, arr] of [['right_children', right], ['split_conditions', cond], ['split_indices', idx], ['default_left', dl], ['sum_hessian', hess], ['loss_changes', loss], ['split_type', splitType]] as const) {
    if (arr && arr.length !== n) throw invalid(`trees[${t}].${name} has ${arr.length} entries, expected ${n}.`);
  }
  // Categorical sets.
  const catSets = new Map<number, ArrayLike<number>>();
  const catNodes = nums(tj.categories_nodes, 'categories_nodes', true);
  if (catNodes && catNodes.length > 0) {
    const cats = nums(tj.categories, 'categories')!;
    const segs = nums(tj.categories_segments, 'categories_segments')!;
    const sizes = nums(tj.categories_sizes, 'categories_sizes')!;
    if (segs.length !== catNodes.length || sizes.length !== catNodes.length) throw invalid(`trees[${t}]: categories_* arrays have different lengths.`);
    for (let k = 0; k < catNodes.length; k++) {
      const s = segs[k]!;
      const z = sizes[k]!;
      if (!(s >= 0 && z >= 0 && s + z <= cats.length)) throw invalid(`trees[${t}]: category segment ${k} out of range.`);
      catSets.set(catNodes[k]!, Array.prototype.slice.call(cats, s, s + z) as number[]);
    }
  }
  const tr = newRawTree(n, 1, output);
  for (let i = 0; i < n; i++) {
    const l = left[i]!;
    const r = right[i]!;
    tr.cover[i] = hess ? Math.fround(hess[i]!) : Number.NaN;
    if (loss && l !== -1) tr.gain[i] = Math.fround(loss[i]!);
    if (l === -1) {
      if (r !== -1) throw invalid(`trees[${t}] node ${i}: left child -1 but right child ${r}.`);
      tr.value[i] = Math.fround(cond[i]!) * Math.fround(scale);
      continue;
    }
    if (!Number.isInteger(l) || !Number.isInteger(r) || l < 0 || r < 0 || l >= n || r >= n) throw invalid(`trees[${t}] node ${i}: child ids (${l}, ${r}) out of range [0, ${n}).`);
    const f = idx[i]!;
    if (!Number.isInteger(f) || f < 0 || f >= nFeatures) throw invalid(`trees[${t}] node ${i}: split feature ${f} out of range (num_feature ${nFeatures}).`);
    tr.feature[i] = f;
    tr.missing[i] = Missing.NAN_DEFAULT;
    const isCat = splitType ? splitType[i] === 1 : false;
    if (isCat) {
      const set = catSets.get(i);
      if (!set) throw invalid(`trees[${t}] node ${i}: categorical split without categories.`);
      // XGBoost: categories in the set go right; IR: in set => left.
      tr.decision[i] = Decision.IN_SET;
      tr.cats.set(i, categoryBitset(set));
      tr.left[i] = r;
      tr.right[i] = l;
      tr.defaultLeft[i] = dl[i] ? 0 : 1;
    } else {
      const [thr, dec] = float32LessThan(Math.fround(cond[i]!));
      tr.threshold[i] = thr;
      tr.decision[i] = dec;
      tr.left[i] = l;
      tr.right[i] = r;
      tr.defaultLeft[i] = dl[i] ? 1 : 0;
    }
  }
  return tr;
}
