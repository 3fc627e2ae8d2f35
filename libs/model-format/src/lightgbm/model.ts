/**
 * LightGBM text models (`model.txt`, format versions v2-v4) -> {@link TreeEnsemble}.
 *
 * decision_type bits: 1 = categorical, 2 = default_left, bits 2-3 = missing type (0 None, 1 Zero, 2 NaN).
 * Numerical splits are `x <= threshold`; missing None => NaN compared as 0 (Missing.AS_ZERO), Zero => NaN and
 * |x| <= 1e-35 follow the default direction (Missing.ZERO_DEFAULT), NaN => NaN follows it (Missing.NAN_DEFAULT).
 * Categorical splits: category in the cat_threshold bitset => left; NaN goes right for missing type NaN, else is
 * treated as category 0. Node layout is kept: internal nodes 0..L-2, leaf k at local node L-1+k.
 * Covers are internal_count / leaf_count; internal node values are LightGBM's internal_value.
 * Category names: the `pandas_categorical:` line the Python package appends (a JSON list with one category list per
 * pandas category column, in column order; code c = position c, as pandas' cat.codes) -> `featureCategories`, given
 * to the categorical features in feature order when the counts agree (otherwise the columns cannot be told apart
 * from the file, e.g. with ordered pandas categoricals or extra integer categorical columns, and no names are set).
 */
import { ModelFormatError } from '../errors.js';
import { Decision, Missing, type FeatureType, type OutputTransform, type TreeEnsemble } from '../tree/ensemble.js';
import { assembleEnsemble, newRawTree, treesHaveGain, type RawTree } from '../tree/build.js';

function invalid(msg: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid LightGBM model: ${msg}`);
}

const MAX_LEAVES = 1 << 24;

/** Loads a LightGBM text model (bytes or text). */
export function loadLightGBMModel(input: Uint8Array | string): TreeEnsemble {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (lines[i]?.trim() !== 'tree') throw invalid('the file does not start with "tree". Save the model with booster.save_model("model.txt").');
  const header = new Map<string, string>();
  let flags = new Set<string>();
  for (i++; i < lines.length && !lines[i]!.startsWith('Tree='); i++) {
    const line = lines[i]!.trim();
    if (line === '' ) continue;
    if (line === 'end of trees') break;
    const eq = line.indexOf('=');
    if (eq < 0) flags.add(line);
    else header.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const version = header.get('version');
  const intH = (k: string, d?: number) => {
    const v = header.get(k);
    if (v === undefined) {
      if (d !== undefined) return d;
      throw invalid(`header field ${k} is missing.`);
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > MAX_LEAVES) throw invalid(`header field ${k}=${v} is not a valid count.`);
    return n;
  };
  const numClass = intH('num_class', 1);
  const perIter = intH('num_tree_per_iteration', numClass);
  const nFeatures = intH('max_feature_idx') + 1;
  if (perIter < 1) throw invalid('num_tree_per_iteration must be >= 1.');
  const objectiveLine = header.get('objective') ?? 'regression';
  const [objective = 'regression', ...objParams] = objectiveLine.split(/\s+/);
  const sigmoidParam = objParams.find((p) => p.startsWith('sigmoid:'));
  if (sigmoidParam && Number(sigmoidParam.slice(8)) !== 1) {
    throw new ModelFormatError('UNSUPPORTED', `LightGBM objective '${objectiveLine}': only sigmoid:1 is supported (the IR's logistic link has no scale).`);
  }
  let transform: OutputTransform = 'identity';
  if (objective === 'binary' || objective === 'multiclassova' || objective === 'cross_entropy' || objective === 'xentropy') transform = 'logistic';
  else if (objective === 'multiclass' || objective === 'softmax') transform = 'softmax';
  else if (objective === 'poisson' || objective === 'gamma' || objective === 'tweedie') transform = 'exp';
  const average = flags.has('average_output');
  const featureNames = header.get('feature_names')?.split(' ');
  const infos = header.get('feature_infos')?.split(' ');
  const featureTypes: FeatureType[] | undefined =
    infos && infos.length === nFeatures ? infos.map((s) => (s !== 'none' && !s.startsWith('[') ? 'categorical' : 'float')) : undefined;

  // Trees.
  const trees: RawTree[] = [];
  while (i < lines.length) {
    const line = lines[i]!.trim();
    if (line === 'end of trees') break;
    if (!line.startsWith('Tree=')) {
      i++;
      continue;
    }
    const fields = new Map<string, string>();
    for (i++; i < lines.length; i++) {
      const l = lines[i]!.trim();
      if (l === '' || l.startsWith('Tree=') || l === 'end of trees') break;
      const eq = l.indexOf('=');
      if (eq > 0) fields.set(l.slice(0, eq), l.slice(eq + 1));
    }
    const t = trees.length;
    trees.push(readTree(fields, t, t % perIter, nFeatures));
  }
  if (trees.length === 0) throw invalid('no trees found.');
  flags = new Set();
  const featureCategories = featureTypes ? pandasCategories(lines, i, featureTypes) : undefined;
  return assembleEnsemble(
    {
      nFeatures,
      ...(featureNames && featureNames.length === nFeatures ? { featureNames } : {}),
      ...(featureTypes ? { featureTypes } : {}),
      ...(featureCategories ? { featureCategories } : {}),
      nOutputs: perIter,
      outputNames: perIter === 1 ? [transform === 'logistic' ? 'logit' : 'prediction'] : Array.from({ length: perIter }, (_, k) => `class_${k}`),
      baseScore: new Float64Array(perIter),
      aggregate: average ? 'average' : 'sum',
      transform,
      valueWidth: 1,
      hasCovers: true,
      hasGain: treesHaveGain(trees),
      source: { format: 'lightgbm-text', ...(version ? { version } : {}), objective: objectiveLine },
    },
    trees,
  );
}

/** Reads the `pandas_categorical:` trailer (after "end of trees") and assigns its lists to the categorical features. */
function pandasCategories(lines: string[], from: number, featureTypes: readonly FeatureType[]): (string[] | undefined)[] | undefined {
  let line: string | undefined;
  for (let j = from; j < lines.length; j++) {
    if (lines[j]!.startsWith('pandas_categorical:')) {
      line = lines[j]!.slice('pandas_categorical:'.length).trim();
      break;
    }
  }
  if (line === undefined || line === '' || line === 'null') return undefined;
  let lists: unknown;
  try {
    lists = JSON.parse(line);
  } catch (e) {
    throw invalid(`the pandas_categorical line is not valid JSON (${(e as Error).message}).`);
  }
  if (!Array.isArray(lists)) throw invalid('pandas_categorical must be a JSON list of category lists.');
  if (lists.length === 0) return undefined;
  const names = lists.map((l, k) => {
    if (!Array.isArray(l)) throw invalid(`pandas_categorical[${k}] is not a list of categories.`);
    return l.map((v, c) => {
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      if (typeof v === 'boolean') return v ? 'True' : 'False';
      throw invalid(`pandas_categorical[${k}][${c}] is neither a string nor a finite number.`);
    });
  });
  const categorical = featureTypes.flatMap((t, f) => (t === 'categorical' ? [f] : []));
  if (categorical.length !== names.length) return undefined;
  const out: (string[] | undefined)[] = featureTypes.map(() => undefined);
  categorical.forEach((f, k) => {
    out[f] = names[k];
  });
  return out;
}

function numbers(fields: Map<string, string>, key: string, n: number, t: number, required = true): Float64Array | undefined {
  const s = fields.get(key);
  if (s === undefined) {
    if (required) throw invalid(`Tree=${t}: field ${key} is missing.`);
    return undefined;
  }
  const parts = s.trim() === '' ? [] : s.trim().split(' ');
  if (parts.length !== n) throw invalid(`Tree=${t}: ${key} has ${parts.length} values, expected ${n}.`);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const p = parts[k]!;
    const v = p === 'inf' ? Infinity : p === '-inf' ? -Infinity : p === 'nan' ? Number.NaN : Number(p);
    if (Number.isNaN(v) && p !== 'nan') throw invalid(`Tree=${t}: ${key} value '${p}' is not a number.`);
    out[k] = v;
  }
  return out;
}

function readTree(fields: Map<string, string>, t: number, output: number, nFeatures: number): RawTree {
  const L = Number(fields.get('num_leaves'));
  if (!Number.isInteger(L) || L < 1 || L > MAX_LEAVES) throw invalid(`Tree=${t}: num_leaves '${fields.get('num_leaves')}' is not valid.`);
  if (fields.get('is_linear') === '1') {
    throw new ModelFormatError('UNSUPPORTED', `LightGBM linear trees (linear_tree=true, Tree=${t}) are not supported: their leaves hold linear models, not constants.`);
  }
  const shrinkage = 1; // leaf values in the file already include shrinkage
  const leafValue = numbers(fields, 'leaf_value', L, t)!;
  const leafCount = numbers(fields, 'leaf_count', L, t, false);
  const tr = newRawTree(2 * L - 1, 1, output);
  const off = L - 1;
  for (let k = 0; k < L; k++) {
    tr.value[off + k] = leafValue[k]! * shrinkage;
    tr.cover[off + k] = leafCount ? leafCount[k]! : Number.NaN;
  }
  if (L === 1) return tr;
  const m = L - 1;
  const feat = numbers(fields, 'split_feature', m, t)!;
  const thr = numbers(fields, 'threshold', m, t)!;
  const dt = numbers(fields, 'decision_type', m, t, false) ?? new Float64Array(m);
  const lc = numbers(fields, 'left_child', m, t)!;
  const rc = numbers(fields, 'right_child', m, t)!;
  const ival = numbers(fields, 'internal_value', m, t, false);
  const icount = numbers(fields, 'internal_count', m, t, false);
  const sgain = numbers(fields, 'split_gain', m, t, false);
  const numCat = Number(fields.get('num_cat') ?? '0');
  if (!Number.isInteger(numCat) || numCat < 0 || numCat > MAX_LEAVES) throw invalid(`Tree=${t}: num_cat is not valid.`);
  let catBounds: Float64Array | undefined;
  let catThr: Float64Array | undefined;
  if (numCat > 0) {
    catBounds = numbers(fields, 'cat_boundaries', numCat + 1, t)!;
    const total = catBounds[numCat]!;
    if (!Number.isInteger(total) || total < 0 || total > MAX_LEAVES) throw invalid(`Tree=${t}: cat_boundaries out of range.`);
    catThr = numbers(fields, 'cat_threshold', total, t)!;
  }
  const child = (c: number, node: number): number => {
    if (!Number.isInteger(c)) throw invalid(`Tree=${t}: child id ${c} of node ${node} is not an integer.`);
    if (c >= 0) {
      if (c >= m) throw invalid(`Tree=${t}: child ${c} of node ${node} out of range [0, ${m}).`);
      return c;
    }
    const leaf = ~c;
    if (leaf >= L) throw invalid(`Tree=${t}: leaf ${leaf} referenced by node ${node} out of range [0, ${L}).`);
    return off + leaf;
  };
  for (let n = 0; n < m; n++) {
    const f = feat[n]!;
    if (!Number.isInteger(f) || f < 0 || f >= nFeatures) throw invalid(`Tree=${t}: split feature ${f} of node ${n} out of range (max_feature_idx ${nFeatures - 1}).`);
    tr.feature[n] = f;
    tr.left[n] = child(lc[n]!, n);
    tr.right[n] = child(rc[n]!, n);
    tr.value[n] = ival ? ival[n]! : 0;
    tr.cover[n] = icount ? icount[n]! : Number.NaN;
    if (sgain) tr.gain[n] = sgain[n]!;
    const d = dt[n]!;
    const isCat = (d & 1) === 1;
    const defaultLeft = (d & 2) === 2;
    const missingType = (d >> 2) & 3;
    if (isCat) {
      const ci = thr[n]!;
      if (!catBounds || !catThr || !Number.isInteger(ci) || ci < 0 || ci >= numCat) throw invalid(`Tree=${t}: categorical node ${n} points to category set ${ci} (num_cat ${numCat}).`);
      const a = catBounds[ci]!;
      const b = catBounds[ci + 1]!;
      if (!(a >= 0 && b >= a && b <= catThr.length)) throw invalid(`Tree=${t}: cat_boundaries not increasing.`);
      const bits = new Uint32Array(Math.max(1, b - a));
      for (let k = a; k < b; k++) bits[k - a] = catThr[k]! >>> 0;
      tr.decision[n] = Decision.IN_SET;
      tr.cats.set(n, bits);
      tr.missing[n] = missingType === 2 ? Missing.NAN_DEFAULT : Missing.AS_ZERO;
      tr.defaultLeft[n] = 0;
    } else {
      tr.decision[n] = Decision.LEQ;
      tr.threshold[n] = thr[n]!;
      tr.missing[n] = missingType === 0 ? Missing.AS_ZERO : missingType === 1 ? Missing.ZERO_DEFAULT : Missing.NAN_DEFAULT;
      tr.defaultLeft[n] = defaultLeft ? 1 : 0;
    }
  }
  return tr;
}
