/**
 * Fast prediction from the tree IR: iterative traversal over the flat typed arrays, no allocation per row.
 * Rows are row-major `nRows x nFeatures` Float64Arrays; NaN marks a missing value.
 */
import { ModelFormatError } from '../errors.js';
import { Decision, Missing, type TreeEnsemble } from './ensemble.js';

/** Rows that walk one tree before the next tree is taken (keeps the tree's nodes in cache). */
const ROW_BLOCK = 64;

function checkRows(model: TreeEnsemble, rows: Float64Array, nRows: number): void {
  if (!(rows instanceof Float64Array)) throw new ModelFormatError('INVALID_INPUT', 'rows must be a Float64Array (row-major, nRows x nFeatures).');
  if (!Number.isInteger(nRows) || nRows < 0) throw new ModelFormatError('INVALID_INPUT', `nRows must be a non-negative integer, got ${nRows}.`);
  if (rows.length < nRows * model.nFeatures) {
    throw new ModelFormatError('INVALID_INPUT', `rows has ${rows.length} values but ${nRows} rows x ${model.nFeatures} features need ${nRows * model.nFeatures}.`);
  }
}

/**
 * Leaf (global node id) reached by the row starting at `base` in `rows`, for the tree rooted at `root`.
 * Exported for explainers that walk single trees.
 */
export function findLeaf(model: TreeEnsemble, rows: Float64Array, base: number, root: number): number {
  const { left, right, feature, threshold, decision, defaultLeft, missing, catStart, catLen, catBits } = model;
  let n = root;
  let l = left[n]!;
  while (l >= 0) {
    let x = rows[base + feature[n]!]!;
    const m = missing[n]!;
    let goLeft: boolean;
    if (x !== x) {
      if (m === Missing.AS_ZERO) {
        x = 0;
        goLeft = decide(decision[n]!, x, threshold[n]!, catStart[n]!, catLen[n]!, catBits);
      } else goLeft = defaultLeft[n] === 1;
    } else if (m === Missing.ZERO_DEFAULT && x >= -1e-35 && x <= 1e-35) {
      goLeft = defaultLeft[n] === 1;
    } else {
      const d = decision[n]!;
      if (d === Decision.LT) goLeft = x < threshold[n]!;
      else if (d === Decision.LEQ) goLeft = x <= threshold[n]!;
      else goLeft = inSet(x, catStart[n]!, catLen[n]!, catBits);
    }
    n = goLeft ? l : right[n]!;
    l = left[n]!;
  }
  return n;
}

function decide(d: number, x: number, thr: number, cs: number, cl: number, bits: Uint32Array): boolean {
  if (d === Decision.LT) return x < thr;
  if (d === Decision.LEQ) return x <= thr;
  return inSet(x, cs, cl, bits);
}

/** Category membership: x truncated to an integer; negative or beyond the bitset means "not in the set". */
export function inSet(x: number, cs: number, cl: number, bits: Uint32Array): boolean {
  if (!(x >= 0)) return false;
  const c = Math.trunc(x);
  const w = c >>> 5;
  if (c >= 2147483648 || w >= cl) return false;
  return (bits[cs + w]! & (1 << (c & 31))) !== 0;
}

/**
 * Raw (margin) outputs, `nRows x nOutputs` row-major: aggregate of the trees' leaf values plus baseScore.
 */
export function predictRaw(model: TreeEnsemble, rows: Float64Array, nRows: number): Float64Array {
  checkRows(model, rows, nRows);
  const { nOutputs: K, nFeatures: F, nTrees, treeOffsets, treeOutput, valueWidth: W, value, baseScore, aggregate } = model;
  const out = new Float64Array(nRows * K);
  const isMin = aggregate === 'min';
  const isMax = aggregate === 'max';
  const init = isMin ? Infinity : isMax ? -Infinity : 0;
  // Per-output tree counts for AVERAGE.
  const treesPerOutput = new Float64Array(K);
  if (W === 1) for (let t = 0; t < nTrees; t++) treesPerOutput[treeOutput[t]!]! += 1;
  else treesPerOutput.fill(nTrees);
  if (init !== 0) out.fill(init);
  // Tree-major over blocks of rows: one tree's nodes stay in cache while a block of rows walks it.
  for (let r0 = 0; r0 < nRows; r0 += ROW_BLOCK) {
    const r1 = Math.min(nRows, r0 + ROW_BLOCK);
    for (let t = 0; t < nTrees; t++) {
      const root = treeOffsets[t]!;
      for (let r = r0; r < r1; r++) {
        const leaf = findLeaf(model, rows, r * F, root);
        const o = r * K;
        if (W === 1) {
          const k = o + treeOutput[t]!;
          const v = value[leaf]!;
          if (isMin) {
            if (v < out[k]!) out[k] = v;
          } else if (isMax) {
            if (v > out[k]!) out[k] = v;
          } else out[k]! += v;
        } else {
          const vb = leaf * W;
          for (let k = 0; k < K; k++) {
            const v = value[vb + k]!;
            if (isMin) {
              if (v < out[o + k]!) out[o + k] = v;
            } else if (isMax) {
              if (v > out[o + k]!) out[o + k] = v;
            } else out[o + k]! += v;
          }
        }
      }
    }
  }
  for (let r = 0; r < nRows; r++) {
    const o = r * K;
    for (let k = 0; k < K; k++) {
      let s = out[o + k]!;
      if (aggregate === 'average') s = treesPerOutput[k]! > 0 ? s / treesPerOutput[k]! : 0;
      else if ((isMin || isMax) && !Number.isFinite(s) && treesPerOutput[k] === 0) s = 0;
      out[o + k] = s + baseScore[k]!;
    }
  }
  return out;
}

/** Width of {@link predict}'s output rows: 2 for binary classifiers with `binaryLabels`, else nOutputs. */
export function predictWidth(model: TreeEnsemble): number {
  return model.binaryLabels && model.nOutputs === 1 ? 2 : model.nOutputs;
}

/**
 * User-facing predictions: {@link predictRaw} followed by the model's transform. Binary classifiers with
 * `binaryLabels` return two columns `[1-p, p]`.
 */
export function predict(model: TreeEnsemble, rows: Float64Array, nRows: number): Float64Array {
  const raw = predictRaw(model, rows, nRows);
  return applyTransform(model, raw, nRows);
}

/** Applies the model's output transform to raw margins (`nRows x nOutputs`). */
export function applyTransform(model: TreeEnsemble, raw: Float64Array, nRows: number): Float64Array {
  const K = model.nOutputs;
  const tr = model.transform;
  const binary = model.binaryLabels !== undefined && K === 1;
  if (binary) {
    const out = new Float64Array(nRows * 2);
    for (let r = 0; r < nRows; r++) {
      const p = link1(tr, raw[r]!);
      out[2 * r] = 1 - p;
      out[2 * r + 1] = p;
    }
    return out;
  }
  const out = new Float64Array(raw.length);
  if (tr === 'softmax' || tr === 'softmax_zero') {
    for (let r = 0; r < nRows; r++) {
      const o = r * K;
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (raw[o + k]! > max) max = raw[o + k]!;
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const v = raw[o + k]!;
        const e = tr === 'softmax_zero' && v === 0 ? 0 : Math.exp(v - max);
        out[o + k] = e;
        sum += e;
      }
      for (let k = 0; k < K; k++) out[o + k] = sum > 0 ? out[o + k]! / sum : 0;
    }
    return out;
  }
  for (let i = 0; i < raw.length; i++) out[i] = link1(tr, raw[i]!);
  return out;
}

function link1(tr: string, v: number): number {
  switch (tr) {
    case 'logistic':
      return 1 / (1 + Math.exp(-v));
    case 'probit':
      return probit(v);
    case 'exp':
      return Math.exp(v);
    default:
      return v;
  }
}

/**
 * ONNX PROBIT: the inverse of the standard normal CDF (sqrt(2) * erfinv(2p - 1)), as onnxruntime computes it.
 */
function probit(p: number): number {
  return Math.SQRT2 * erfInv(2 * p - 1);
}

function erfInv(x: number): number {
  // Giles' single-precision approximation refined by two Newton steps.
  if (x <= -1) return -Infinity;
  if (x >= 1) return Infinity;
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    p = 3.43273939e-7 + p * w;
    p = -3.5233877e-6 + p * w;
    p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  let y = p * x;
  for (let i = 0; i < 2; i++) {
    const err = erf(y) - x;
    y -= err / ((2 / Math.sqrt(Math.PI)) * Math.exp(-y * y));
  }
  return y;
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for Newton refinement; use a series / continued fraction.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** Leaf reached in every tree: `nRows x nTrees` global node ids. */
export function predictLeaves(model: TreeEnsemble, rows: Float64Array, nRows: number): Int32Array {
  checkRows(model, rows, nRows);
  const { nTrees, treeOffsets, nFeatures: F } = model;
  const out = new Int32Array(nRows * nTrees);
  for (let r = 0; r < nRows; r++) {
    const base = r * F;
    for (let t = 0; t < nTrees; t++) out[r * nTrees + t] = findLeaf(model, rows, base, treeOffsets[t]!);
  }
  return out;
}

/**
 * A copy of `model` whose `cover` holds, for every node, the number of `rows` reaching it (and `hasCovers` true).
 * Use it for formats without training covers (ONNX) before path-dependent TreeSHAP.
 */
export function withCovers(model: TreeEnsemble, rows: Float64Array, nRows: number): TreeEnsemble {
  checkRows(model, rows, nRows);
  if (nRows === 0) throw new ModelFormatError('INVALID_INPUT', 'withCovers needs at least one row.');
  const { nTrees, treeOffsets, nFeatures: F, left, right } = model;
  const cover = new Float64Array(model.left.length);
  for (let t = 0; t < nTrees; t++) {
    const root = treeOffsets[t]!;
    for (let r = 0; r < nRows; r++) {
      const leaf = findLeaf(model, rows, r * F, root);
      cover[leaf]! += 1;
    }
    // Propagate leaf counts to ancestors: post-order over the tree.
    const stack: number[] = [root];
    const order: number[] = [];
    while (stack.length) {
      const i = stack.pop()!;
      order.push(i);
      if (left[i]! >= 0) stack.push(left[i]!, right[i]!);
    }
    for (let k = order.length - 1; k >= 0; k--) {
      const i = order[k]!;
      if (left[i]! >= 0) cover[i] = cover[left[i]!]! + cover[right[i]!]!;
    }
  }
  return { ...model, cover, hasCovers: true };
}
