/**
 * Synthetic tabular predictors and an independent brute-force Shapley reference for the model-agnostic
 * explainer tests (plain arrays, no code shared with the library).
 */
import type { Matrix, OutputSpace, Predictor } from '@genome/model-format';

export type RowFn = (x: ArrayLike<number>, out: Float64Array) => void;

/** A Predictor around a plain row function. */
export function fnPredictor(nFeatures: number, nOutputs: number, fn: RowFn, outputSpace: OutputSpace = 'regression'): Predictor & { calls: number; rows: number } {
  const p = {
    kind: 'tabular' as const,
    nFeatures,
    outputNames: Array.from({ length: nOutputs }, (_, i) => `y${i}`),
    outputSpace,
    calls: 0,
    rows: 0,
    async predict(rows: Float64Array, nRows: number): Promise<Matrix> {
      p.calls++;
      p.rows += nRows;
      const data = new Float64Array(nRows * nOutputs);
      const out = new Float64Array(nOutputs);
      for (let r = 0; r < nRows; r++) {
        fn(rows.subarray(r * nFeatures, (r + 1) * nFeatures), out);
        data.set(out, r * nOutputs);
      }
      return { data, rows: nRows, cols: nOutputs };
    },
  };
  return p;
}

/** f = intercept + w.x */
export function linearFn(w: number[], intercept: number): RowFn {
  return (x, out) => {
    let s = intercept;
    for (let j = 0; j < w.length; j++) s += w[j]! * x[j]!;
    out[0] = s;
  };
}

/** Polynomial with main effects, pairwise and one triple interaction, two outputs. */
export function interactionFn(a: number[], pairs: [number, number, number][], triple: number): RowFn {
  return (x, out) => {
    let s = 0;
    for (let j = 0; j < a.length; j++) s += a[j]! * x[j]!;
    for (const [i, j, c] of pairs) s += c * x[i]! * x[j]!;
    s += triple * x[0]! * x[1]! * x[2]!;
    out[0] = s;
    out[1] = Math.tanh(s) + x[a.length - 1]!;
  };
}

/**
 * Interventional Shapley values by brute force: phi[j][d] = sum_S |S|!(M-|S|-1)!/M! (v(S+j) - v(S)),
 * v(S) = weighted mean over background rows of f(x_S, b_{not S}).
 */
export function bruteForceShapley(
  fn: RowFn,
  nOutputs: number,
  x: number[],
  background: number[][],
  weights?: number[],
): { phi: number[][]; base: number[] } {
  const M = x.length;
  const w = weights ?? background.map(() => 1 / background.length);
  const v: number[][] = [];
  const out = new Float64Array(nOutputs);
  for (let S = 0; S < 1 << M; S++) {
    const acc = new Array<number>(nOutputs).fill(0);
    for (let r = 0; r < background.length; r++) {
      const z = background[r]!.map((b, j) => ((S >> j) & 1 ? x[j]! : b));
      fn(z, out);
      for (let d = 0; d < nOutputs; d++) acc[d]! += w[r]! * out[d]!;
    }
    v.push(acc);
  }
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = Array.from({ length: M }, () => new Array<number>(nOutputs).fill(0));
  for (let S = 0; S < 1 << M; S++) {
    let size = 0;
    for (let j = 0; j < M; j++) size += (S >> j) & 1;
    for (let j = 0; j < M; j++) {
      if ((S >> j) & 1) continue;
      const wt = (fact(size) * fact(M - size - 1)) / fact(M);
      for (let d = 0; d < nOutputs; d++) phi[j]![d]! += wt * (v[S | (1 << j)]![d]! - v[S]![d]!);
    }
  }
  return { phi, base: v[0]! };
}

/** Max |a - b| over nested arrays of equal shape. */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, maxAbsDiff(a[i], b[i]));
    return m;
  }
  return Infinity;
}

/** Seeded tiny LCG for test data (independent of the library's generator). */
export function testRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randomRows(n: number, m: number, seed: number, scale = 1): number[][] {
  const r = testRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: m }, () => (r() * 2 - 1) * scale));
}

// ---- oracle fixtures (trees/<case>/ with interventional references) ----
import { loadOnnxTreeEnsemble, treePredictor, type TreeEnsemble } from '@genome/model-format';
import { readFixture, readFixtureJson, readNumericCsv } from '../../../tools/fixtures.js';

export interface OracleReference {
  n_features: number;
  feature_names: string[];
  output_space: string;
  background_rows: number[];
  x: number[][];
  raw_prediction: number[][];
  interventional: { expected_value: number[]; shap_values: number[][][] } | null;
}

export interface OracleCase {
  name: string;
  ref: OracleReference;
  model: TreeEnsemble;
  predictor: Predictor;
  background: number[][];
  /**
   * Bound on |model file - oracle's float64 model| at any input: the ONNX file stores leaf values and base
   * values as float32, each off by at most half an ulp (|v| * 2^-24) from the float64 values the oracle used.
   * Shapley values are differences of averages of model outputs with weights summing to 1 on each side, so
   * their error is at most twice this.
   */
  float32Bound: number;
}

/** Cases whose reference.json has interventional values. */
export const INTERVENTIONAL_CASES = ['diabetes-gbm-regressor', 'iris-rf-classifier'];

export function loadOracleCase(name: string): OracleCase {
  const ref = readFixtureJson<OracleReference>('oracles', 'trees', name, 'reference.json');
  const model = loadOnnxTreeEnsemble(readFixture('oracles', 'trees', name, 'model.onnx'));
  const csv = readNumericCsv('oracles', 'trees', name, 'data.csv');
  const F = ref.n_features;
  const rows = csv.rows.map((r) => r.slice(0, F));
  const background = ref.background_rows.map((i) => rows[i]!);
  // the oracle values are in the model's raw (margin / averaged) space
  const predictor = treePredictor(model, { outputSpace: 'raw' });
  let bound = 0;
  const W = model.valueWidth;
  for (let t = 0; t < model.nTrees; t++) {
    let m = 0;
    for (let n = model.treeOffsets[t]!; n < model.treeOffsets[t + 1]!; n++) {
      if (model.left[n]! >= 0) continue;
      for (let k = 0; k < W; k++) m = Math.max(m, Math.abs(model.value[n * W + k]!));
    }
    bound += m;
  }
  if (model.aggregate === 'average') bound /= model.nTrees;
  let base = 0;
  for (const b of model.baseScore) base = Math.max(base, Math.abs(b));
  const float32Bound = (bound + base) * 2 ** -24;
  return { name, ref, model, predictor, background, float32Bound };
}
