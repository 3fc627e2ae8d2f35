/**
 * Test helpers for TreeSHAP: a seeded random TreeEnsemble generator (exercising every split rule of the IR)
 * and a brute-force Shapley enumerator over all feature subsets, written independently of src/tree.
 */
import { loadTreeModel, type TreeEnsemble } from '@genome/model-format';
import { readFixture } from '../../../tools/fixtures.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomTreeOptions {
  nFeatures: number;
  nOutputs: number;
  valueWidth: 1 | 'all';
  nTrees: number;
  maxDepth: number;
  aggregate?: 'sum' | 'average';
  /** Probability that a leaf has zero cover. */
  zeroCover?: number;
  /** Use only numeric LT/LEQ splits without missing values. */
  numericOnly?: boolean;
}

const THRESHOLDS = [0, 0.5, 1, 1.5, 2];
export const VALUE_POOL = [Number.NaN, -1, 0, 1e-40, 0.5, 1, 1.5, 2, 3];

export function randomEnsemble(seed: number, o: RandomTreeOptions): TreeEnsemble {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const left: number[] = [];
  const right: number[] = [];
  const feature: number[] = [];
  const threshold: number[] = [];
  const decision: number[] = [];
  const defaultLeft: number[] = [];
  const missing: number[] = [];
  const catStart: number[] = [];
  const catLen: number[] = [];
  const catBits: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const vw = o.valueWidth === 1 ? 1 : o.nOutputs;
  const treeOffsets = [0];
  const treeOutput: number[] = [];
  const treeDepth: number[] = [];
  let maxSeen = 0;
  function node(depth: number): number {
    const id = left.length;
    left.push(-1);
    right.push(-1);
    feature.push(-1);
    threshold.push(0);
    decision.push(0);
    defaultLeft.push(0);
    missing.push(1);
    catStart.push(0);
    catLen.push(0);
    for (let j = 0; j < vw; j++) value.push(0);
    cover.push(0);
    if (depth >= o.maxDepth || (depth > 0 && rnd() < 0.25)) {
      for (let j = 0; j < vw; j++) value[id * vw + j] = Math.round((rnd() * 4 - 2) * 1000) / 1000;
      cover[id] = rnd() < (o.zeroCover ?? 0) ? 0 : 1 + Math.floor(rnd() * 6);
      maxSeen = Math.max(maxSeen, depth);
      return id;
    }
    feature[id] = Math.floor(rnd() * o.nFeatures);
    if (o.numericOnly) {
      decision[id] = rnd() < 0.5 ? 0 : 1;
      threshold[id] = pick(THRESHOLDS);
      missing[id] = 1;
      defaultLeft[id] = rnd() < 0.5 ? 1 : 0;
    } else {
      decision[id] = Math.floor(rnd() * 3);
      threshold[id] = pick(THRESHOLDS);
      missing[id] = Math.floor(rnd() * 3);
      defaultLeft[id] = rnd() < 0.5 ? 1 : 0;
      if (decision[id] === 2) {
        catStart[id] = catBits.length;
        catLen[id] = 1;
        catBits.push(Math.floor(rnd() * 16));
      }
    }
    const l = node(depth + 1);
    const r = node(depth + 1);
    left[id] = l;
    right[id] = r;
    cover[id] = cover[l]! + cover[r]!;
    return id;
  }
  for (let t = 0; t < o.nTrees; t++) {
    maxSeen = 0;
    const root = node(0);
    if (cover[root] === 0) cover[root] = 1; // keep the root defined; children both 0 split 1/2 : 1/2
    treeOffsets.push(left.length);
    treeOutput.push(vw === 1 ? Math.floor(rnd() * o.nOutputs) : -1);
    treeDepth.push(maxSeen);
  }
  const baseScore = new Float64Array(o.nOutputs);
  for (let k = 0; k < o.nOutputs; k++) baseScore[k] = Math.round((rnd() - 0.5) * 100) / 100;
  return {
    nFeatures: o.nFeatures,
    featureNames: Array.from({ length: o.nFeatures }, (_, i) => `f${i}`),
    featureTypes: Array.from({ length: o.nFeatures }, () => 'float' as const),
    nOutputs: o.nOutputs,
    outputNames: Array.from({ length: o.nOutputs }, (_, i) => `out${i}`),
    baseScore,
    aggregate: o.aggregate ?? 'sum',
    transform: 'identity',
    nTrees: o.nTrees,
    treeOffsets: Int32Array.from(treeOffsets),
    valueWidth: vw,
    treeOutput: Int32Array.from(treeOutput),
    treeDepth: Int32Array.from(treeDepth),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    decision: Uint8Array.from(decision),
    defaultLeft: Uint8Array.from(defaultLeft),
    missing: Uint8Array.from(missing),
    catStart: Int32Array.from(catStart),
    catLen: Int32Array.from(catLen),
    catBits: Uint32Array.from(catBits),
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
    hasCovers: true,
    source: { format: 'ir' },
  };
}

export function randomRows(seed: number, nRows: number, nFeatures: number): Float64Array {
  const rnd = mulberry32(seed ^ 0x9e3779b9);
  const out = new Float64Array(nRows * nFeatures);
  for (let i = 0; i < out.length; i++) out[i] = VALUE_POOL[Math.floor(rnd() * VALUE_POOL.length)]!;
  return out;
}

// ---- an independent reading of the IR split rule ----

function left(m: TreeEnsemble, n: number, v: number): boolean {
  const miss = m.missing[n];
  if (Number.isNaN(v)) {
    if (miss === 0) v = 0;
    else return m.defaultLeft[n] === 1;
  } else if (miss === 2 && Math.abs(v) <= 1e-35) return m.defaultLeft[n] === 1;
  switch (m.decision[n]) {
    case 0:
      return v < m.threshold[n]!;
    case 1:
      return v <= m.threshold[n]!;
    default: {
      if (v < 0) return false;
      const c = Math.floor(v);
      const word = Math.floor(c / 32);
      if (word >= m.catLen[n]!) return false;
      return (m.catBits[m.catStart[n]! + word]! & (2 ** (c % 32))) !== 0;
    }
  }
}

export function predictRawRef(m: TreeEnsemble, x: ArrayLike<number>): number[] {
  const out: number[] = Array.from(m.baseScore);
  for (let t = 0; t < m.nTrees; t++) {
    const scale = treeScale(m, t);
    let n = m.treeOffsets[t]!;
    while (m.left[n]! >= 0) n = left(m, n, x[m.feature[n]!]!) ? m.left[n]! : m.right[n]!;
    addLeaf(m, t, n, scale, out);
  }
  return out;
}

/** `average` divides by the number of trees feeding the same output (predictRaw's rule). */
function treeScale(m: TreeEnsemble, t: number): number {
  if (m.aggregate !== 'average') return 1;
  if (m.valueWidth !== 1) return 1 / m.nTrees;
  let c = 0;
  for (let u = 0; u < m.nTrees; u++) if (m.treeOutput[u] === m.treeOutput[t]) c++;
  return 1 / c;
}

function addLeaf(m: TreeEnsemble, t: number, n: number, w: number, out: number[]): void {
  if (m.valueWidth === 1) out[m.treeOutput[t]!]! += w * m.value[n]!;
  else for (let j = 0; j < m.nOutputs; j++) out[j]! += w * m.value[n * m.valueWidth + j]!;
}

/** Path-dependent value function E[f(x) | x_S] under the covers (child share = cover / sum of both children). */
export function pathValue(m: TreeEnsemble, x: ArrayLike<number>, S: number): number[] {
  const out: number[] = Array.from(m.baseScore);
  const rec = (t: number, n: number, w: number): void => {
    if (w === 0) return;
    if (m.left[n]! < 0) return addLeaf(m, t, n, w, out);
    const f = m.feature[n]!;
    if ((S >> f) & 1) return rec(t, left(m, n, x[f]!) ? m.left[n]! : m.right[n]!, w);
    const cl = m.cover[m.left[n]!]!;
    const cr = m.cover[m.right[n]!]!;
    const s = cl + cr;
    rec(t, m.left[n]!, w * (s > 0 ? cl / s : 0.5));
    rec(t, m.right[n]!, w * (s > 0 ? cr / s : 0.5));
  };
  for (let t = 0; t < m.nTrees; t++) rec(t, m.treeOffsets[t]!, treeScale(m, t));
  return out;
}

/** Interventional value function: mean over background rows z of f(x_S, z_notS). */
export function interventionalValue(m: TreeEnsemble, x: ArrayLike<number>, bg: number[][], S: number): number[] {
  const out = new Array<number>(m.nOutputs).fill(0);
  for (const z of bg) {
    const h = z.map((zv, f) => ((S >> f) & 1 ? x[f]! : zv));
    const p = predictRawRef(m, h);
    for (let o = 0; o < m.nOutputs; o++) out[o]! += p[o]! / bg.length;
  }
  return out;
}

function factorial(n: number): number {
  let r = 1;
  for (let i = 2; i <= n; i++) r *= i;
  return r;
}

function popcount(x: number): number {
  let c = 0;
  while (x) {
    c += x & 1;
    x >>>= 1;
  }
  return c;
}

/** Brute-force Shapley values [feature][output] of value function v over M players. */
export function bruteShapley(M: number, nOut: number, v: (S: number) => number[]): number[][] {
  const cache = new Map<number, number[]>();
  const V = (S: number): number[] => {
    let r = cache.get(S);
    if (!r) cache.set(S, (r = v(S)));
    return r;
  };
  const phi = Array.from({ length: M }, () => new Array<number>(nOut).fill(0));
  for (let i = 0; i < M; i++) {
    for (let S = 0; S < 1 << M; S++) {
      if ((S >> i) & 1) continue;
      const s = popcount(S);
      const w = (factorial(s) * factorial(M - s - 1)) / factorial(M);
      const a = V(S | (1 << i));
      const b = V(S);
      for (let o = 0; o < nOut; o++) phi[i]![o]! += w * (a[o]! - b[o]!);
    }
  }
  return phi;
}

/** Brute-force Shapley interaction index [i][j][output] (off-diagonal halved as in shap; diagonal = main effect). */
export function bruteInteractions(M: number, nOut: number, v: (S: number) => number[]): number[][][] {
  const cache = new Map<number, number[]>();
  const V = (S: number): number[] => {
    let r = cache.get(S);
    if (!r) cache.set(S, (r = v(S)));
    return r;
  };
  const phi = bruteShapley(M, nOut, V);
  const I = Array.from({ length: M }, () => Array.from({ length: M }, () => new Array<number>(nOut).fill(0)));
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      if (i === j) continue;
      for (let S = 0; S < 1 << M; S++) {
        if ((S >> i) & 1 || (S >> j) & 1) continue;
        const s = popcount(S);
        const w = (factorial(s) * factorial(M - s - 2)) / (2 * factorial(M - 1));
        const a = V(S | (1 << i) | (1 << j));
        const b = V(S | (1 << i));
        const c = V(S | (1 << j));
        const d = V(S);
        for (let o = 0; o < nOut; o++) I[i]![j]![o]! += w * (a[o]! - b[o]! - c[o]! + d[o]!);
      }
    }
  }
  for (let i = 0; i < M; i++) {
    for (let o = 0; o < nOut; o++) {
      let s = 0;
      for (let j = 0; j < M; j++) if (j !== i) s += I[i]![j]![o]!;
      I[i]![i]![o] = phi[i]![o]! - s;
    }
  }
  return I;
}

/**
 * Tree `t` of `m` as a stand-alone ensemble whose outputs are its leaves: leaf k has the one-hot value vector e_k.
 * TreeSHAP of this model gives, per output k, the coefficient of leaf k's value in every attribution — the
 * attributions are linear in the leaf values — which bounds how far float32-stored leaves can move them.
 */
export function oneHotTree(m: TreeEnsemble, t: number): { model: TreeEnsemble; leaves: number[] } {
  const a = m.treeOffsets[t]!;
  const b = m.treeOffsets[t + 1]!;
  const leaves: number[] = [];
  for (let n = a; n < b; n++) if (m.left[n]! < 0) leaves.push(n);
  const L = leaves.length;
  const value = new Float64Array((b - a) * L);
  leaves.forEach((n, k) => (value[(n - a) * L + k] = 1));
  const shift = (arr: Int32Array) => Int32Array.from(arr.subarray(a, b), (v) => (v < 0 ? v : v - a));
  const catStart = Int32Array.from(m.catStart.subarray(a, b));
  const model: TreeEnsemble = {
    ...m,
    nOutputs: L,
    outputNames: leaves.map(String),
    binaryLabels: undefined,
    baseScore: new Float64Array(L),
    aggregate: 'sum',
    transform: 'identity',
    nTrees: 1,
    treeOffsets: Int32Array.from([0, b - a]),
    valueWidth: L,
    treeOutput: Int32Array.from([-1]),
    treeDepth: Int32Array.from([m.treeDepth[t]!]),
    left: shift(m.left),
    right: shift(m.right),
    feature: Int32Array.from(m.feature.subarray(a, b)),
    threshold: Float64Array.from(m.threshold.subarray(a, b)),
    decision: Uint8Array.from(m.decision.subarray(a, b)),
    defaultLeft: Uint8Array.from(m.defaultLeft.subarray(a, b)),
    missing: Uint8Array.from(m.missing.subarray(a, b)),
    catStart,
    catLen: Int32Array.from(m.catLen.subarray(a, b)),
    catBits: m.catBits,
    value,
    cover: Float64Array.from(m.cover.subarray(a, b)),
  };
  return { model, leaves };
}

/** Largest rounding error of a value stored as float32 (half an ulp, relative 2^-24), as a bound on |true - stored|. */
export function float32Error(v: number): number {
  return Math.abs(v) * 2 ** -24 * (1 + 2 ** -22) + 1e-45;
}

/** Per output: 1 / (trees feeding it) for `average`, else 1. */
export function treeScaleOf(m: TreeEnsemble, t: number): number {
  if (m.aggregate !== 'average') return 1;
  if (m.valueWidth !== 1) return 1 / m.nTrees;
  let c = 0;
  for (let u = 0; u < m.nTrees; u++) if (m.treeOutput[u] === m.treeOutput[t]) c++;
  return 1 / c;
}

/** max |a − b| / max |b|: relative difference of two value arrays (Infinity when the lengths differ). */
export function maxRelDiff(a: Float64Array, b: Float64Array): number {
  let scale = 1e-300;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return a.length === b.length ? d / scale : Number.POSITIVE_INFINITY;
}

/**
 * Rows with values around the model's own thresholds (so both children of most nodes are taken), plus NaN and
 * (±) zero, which exercise every missing-value rule (NaN as zero, NaN default, LightGBM's zero as missing).
 */
export function rowsAroundSplits(m: TreeEnsemble, n: number, seed: number): Float64Array {
  const rnd = mulberry32(seed);
  const out = new Float64Array(n * m.nFeatures);
  const thresholds: number[][] = Array.from({ length: m.nFeatures }, () => []);
  for (let i = 0; i < m.left.length; i++) if (m.left[i] >= 0 && m.decision[i] !== 2) thresholds[m.feature[i]].push(m.threshold[i]);
  for (let i = 0; i < out.length; i++) {
    const th = thresholds[i % m.nFeatures];
    const u = rnd();
    if (u < 0.05) out[i] = Number.NaN;
    else if (u < 0.1) out[i] = u < 0.075 ? 0 : -1e-36;
    else out[i] = th.length ? th[Math.floor(rnd() * th.length)] + (rnd() - 0.5) * 1e-3 : Math.floor(rnd() * 8);
  }
  return out;
}

/**
 * Fixture tree models that cover every kernel case: categorical splits (XGBoost, LightGBM), multiclass boosting,
 * logistic output, LightGBM missing types, scikit-learn boosting and forests (`average`, one value per class).
 * Throws when a fixture is missing or no longer loads.
 */
export function kernelFixtureModels(): [string, TreeEnsemble][] {
  return [
    ['xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical_model.json'],
    ['xgboost', 'xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.cls.json'],
    ['xgboost', 'xgboost-1.0-compat', 'xgboost-1.0.0rc1.logit.json'],
    ['lightgbm', 'lleaves', 'mixed_categorical.model.txt'],
    ['lightgbm', 'lleaves', 'multiclass.model.txt'],
    ['lightgbm', 'ankane', 'categorical.txt'],
    ['lightgbm', 'leaves', 'lg_breast_cancer.txt'],
    ['onnx-trees', 'onnxmltools-1.3.1', 'SklearnRegGradientBoostingRegressor.model.onnx'],
    ['onnx-trees', 'onnxmltools-1.3.1', 'SklearnMRgRandomForestRegressor.model.onnx'],
    ['onnx-trees', 'skl2onnx_randomforest_iris.onnx'],
  ].map((path) => [path.join('/'), loadTreeModel(new Uint8Array(readFixture('models', ...path)))]);
}
