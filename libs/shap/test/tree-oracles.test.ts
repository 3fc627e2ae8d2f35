/**
 * TreeSHAP against the independent oracles in ../shared/fixtures/oracles/trees (scikit-learn models exported to
 * ONNX; covers = number of data.csv rows reaching each node).
 *
 * The references were computed on the float64 scikit-learn models, but model.onnx stores leaf values and base
 * values as float32 (predictRaw differs from raw_prediction by up to ~6e-7 on diabetes). SHAP values are linear
 * in the leaf values, so for every reference number we compute a rigorous bound of the float32 storage effect,
 * sum over leaves |coefficient| * float32Error(leaf value), with the coefficients from TreeSHAP of a one-hot
 * copy of each tree, and require |ours - reference| <= 1e-9 + that bound. Separately, the algorithms are checked
 * to 1e-9 against a brute-force enumeration over all subsets on the stored model itself (M <= 10).
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { loadOnnxTreeEnsemble, predictRaw, withCovers, type TreeEnsemble } from '@genome/model-format';
import { fixture, readFixture, readFixtureJson, readNumericCsv } from '../../../tools/fixtures.js';
import { treeShapInteractions, treeShapInterventional, treeShapPathDependent } from '../src/tree/tree-shap.js';
import { PATH_KERNELS, pathDependentBy } from './oracles/fast-v2.js';
import { bruteInteractions, bruteShapley, float32Error, interventionalValue, oneHotTree, pathValue, treeScaleOf } from './tree-helpers.js';

const TOL = 1e-9;

interface Reference {
  feature_names: string[];
  explain_rows: number[];
  background_rows?: number[];
  x: number[][];
  raw_prediction: number[][];
  output_space?: string;
  path_dependent?: { expected_value: number[]; shap_values: number[][][] } | null;
  interventional?: { expected_value: number[]; shap_values: number[][][] } | null;
  interactions?: { values: number[][][][] } | null;
}

const cases = readdirSync(fixture('oracles', 'trees'));

function loadCase(name: string): { model: TreeEnsemble; covered: TreeEnsemble; ref: Reference; data: number[][]; nF: number } {
  const ref = readFixtureJson<Reference>('oracles', 'trees', name, 'reference.json');
  const model = loadOnnxTreeEnsemble(new Uint8Array(readFixture('oracles', 'trees', name, 'model.onnx')));
  const csv = readNumericCsv('oracles', 'trees', name, 'data.csv');
  const nF = ref.feature_names.length;
  // data.csv: features then `target`
  const data = csv.rows.map((r) => r.slice(0, nF));
  const flat = Float64Array.from(data.flat());
  const covered = withCovers(model, flat, data.length);
  return { model, covered, ref, data, nF };
}

function rowsOf(ref: Reference): Float64Array {
  return Float64Array.from(ref.x.flat());
}

type Kind = 'path' | 'interventional' | 'interactions';

/**
 * Bound per reference number (same layout as the result) on the change caused by storing leaf values and the
 * base score as float32. `evBound` gets the bound for the expected value per output.
 */
function float32Bounds(
  kind: Kind,
  m: TreeEnsemble,
  rows: Float64Array,
  n: number,
  bg: Float64Array | undefined,
  nBg: number,
): { values: Float64Array; ev: Float64Array } {
  const nF = m.nFeatures;
  const nO = m.nOutputs;
  const per = kind === 'interactions' ? nF * nF : nF;
  const values = new Float64Array(n * per * nO);
  const ev = new Float64Array(nO);
  for (let o = 0; o < nO; o++) ev[o] = float32Error(m.baseScore[o]!);
  for (let t = 0; t < m.nTrees; t++) {
    const { model: oh, leaves } = oneHotTree(m, t);
    const L = leaves.length;
    const scale = treeScaleOf(m, t);
    const err = (k: number, o: number): number => {
      const vw = m.valueWidth;
      if (vw === 1) return m.treeOutput[t] === o ? scale * float32Error(m.value[leaves[k]!]!) : 0;
      return scale * float32Error(m.value[leaves[k]! * vw + o]!);
    };
    const res =
      kind === 'path'
        ? treeShapPathDependent(oh, rows, n, { algorithm: 'classic' })
        : kind === 'interventional'
          ? treeShapInterventional(oh, rows, n, bg!, nBg)
          : treeShapInteractions(oh, rows, n);
    for (let q = 0; q < n * per; q++)
      for (let k = 0; k < L; k++) {
        const c = Math.abs(res.values[q * L + k]!);
        if (c === 0) continue;
        for (let o = 0; o < nO; o++) values[q * nO + o]! += c * err(k, o);
      }
    for (let k = 0; k < L; k++) for (let o = 0; o < nO; o++) ev[o]! += Math.abs(res.expectedValue[k]!) * err(k, o);
  }
  return { values, ev };
}

/** Largest |got - want| - bound (<= TOL means within tolerance after the float32 bound). */
function excess(got: Float64Array, want: number[][][] | number[][][][] | number[], bound: Float64Array): { excess: number; raw: number } {
  const flat = (want as unknown[]).flat(3) as number[];
  if (flat.length !== got.length) return { excess: Infinity, raw: Infinity };
  let e = -Infinity;
  let raw = 0;
  for (let i = 0; i < flat.length; i++) {
    const d = Math.abs(got[i]! - flat[i]!);
    raw = Math.max(raw, d);
    e = Math.max(e, d - bound[i]!);
  }
  return { excess: e, raw };
}

function maxAbs(got: Float64Array, want: number[][][] | number[][][][]): number {
  const flat = (want as unknown[]).flat(3) as number[];
  if (flat.length !== got.length) return Infinity;
  let d = 0;
  for (let i = 0; i < flat.length; i++) d = Math.max(d, Math.abs(got[i]! - flat[i]!));
  return d;
}

for (const name of cases) {
  t.test(name, async (t) => {
    const { model, covered, ref, data, nF } = loadCase(name);
    t.equal(model.nFeatures, nF, 'feature count');
    const rows = rowsOf(ref);
    const n = ref.x.length;
    // the rows in reference.json are data.csv rows
    t.same(ref.explain_rows.map((i) => data[i]), ref.x, 'x = data.csv[explain_rows]');
    const raw = predictRaw(model, rows, n);
    t.ok(maxAbs(raw, ref.raw_prediction as unknown as number[][][]) < 1e-6, 'predictRaw agrees with the reference prediction (float32 ONNX)');

    if (ref.path_dependent) {
      const b = float32Bounds('path', covered, rows, n, undefined, 0);
      for (const algorithm of PATH_KERNELS) {
        const res = pathDependentBy(algorithm, covered, rows, n);
        const e = excess(res.values, ref.path_dependent.shap_values, b.values);
        t.ok(e.excess <= TOL, `path_dependent (${algorithm}): |diff| - float32 bound = ${e.excess.toExponential(2)} <= ${TOL} (raw max diff ${e.raw.toExponential(2)})`);
        const ev = excess(res.expectedValue, ref.path_dependent.expected_value, b.ev);
        t.ok(ev.excess <= TOL, `expected_value: ${ev.excess.toExponential(2)} (raw ${ev.raw.toExponential(2)})`);
        // additivity against our own prediction
        let add = 0;
        for (let r = 0; r < n; r++)
          for (let k = 0; k < res.nOutputs; k++) {
            let s = res.expectedValue[k]!;
            for (let f = 0; f < nF; f++) s += res.values[(r * nF + f) * res.nOutputs + k]!;
            add = Math.max(add, Math.abs(s - raw[r * res.nOutputs + k]!));
          }
        t.ok(add <= TOL, `additivity ${add}`);
      }
      if (nF <= 10) {
        const res = treeShapPathDependent(covered, rows, n);
        let d = 0;
        for (let r = 0; r < n; r++) {
          const x = rows.subarray(r * nF, (r + 1) * nF);
          const ref2 = bruteShapley(nF, res.nOutputs, (S) => pathValue(covered, x, S));
          for (let f = 0; f < nF; f++) for (let k = 0; k < res.nOutputs; k++) d = Math.max(d, Math.abs(res.values[(r * nF + f) * res.nOutputs + k]! - ref2[f]![k]!));
        }
        t.ok(d <= TOL, `path_dependent equals brute force on the stored model: ${d.toExponential(2)}`);
      }
    }
    if (ref.interventional) {
      const bgIdx = ref.background_rows!;
      const bg = Float64Array.from(bgIdx.flatMap((i) => data[i]!));
      const res = treeShapInterventional(model, rows, n, bg, bgIdx.length);
      const b = float32Bounds('interventional', model, rows, n, bg, bgIdx.length);
      const e = excess(res.values, ref.interventional.shap_values, b.values);
      t.ok(e.excess <= TOL, `interventional: ${e.excess.toExponential(2)} (raw ${e.raw.toExponential(2)})`);
      const ev = excess(res.expectedValue, ref.interventional.expected_value, b.ev);
      t.ok(ev.excess <= TOL, `interventional expected_value: ${ev.excess.toExponential(2)} (raw ${ev.raw.toExponential(2)})`);
      if (nF <= 10) {
        const bgRows = bgIdx.map((i) => data[i]!);
        let d = 0;
        for (let r = 0; r < n; r++) {
          const x = rows.subarray(r * nF, (r + 1) * nF);
          const ref2 = bruteShapley(nF, res.nOutputs, (S) => interventionalValue(model, x, bgRows, S));
          for (let f = 0; f < nF; f++) for (let k = 0; k < res.nOutputs; k++) d = Math.max(d, Math.abs(res.values[(r * nF + f) * res.nOutputs + k]! - ref2[f]![k]!));
        }
        t.ok(d <= TOL, `interventional equals brute force on the stored model: ${d.toExponential(2)}`);
      }
    }
    if (ref.interactions) {
      const res = treeShapInteractions(covered, rows, n);
      const b = float32Bounds('interactions', covered, rows, n, undefined, 0);
      const e = excess(res.values, ref.interactions.values, b.values);
      t.ok(e.excess <= TOL, `interactions: ${e.excess.toExponential(2)} (raw ${e.raw.toExponential(2)})`);
      if (nF <= 10) {
        let d = 0;
        const nO = res.nOutputs;
        for (let r = 0; r < Math.min(n, 3); r++) {
          const x = rows.subarray(r * nF, (r + 1) * nF);
          const ref2 = bruteInteractions(nF, nO, (S) => pathValue(covered, x, S));
          for (let i = 0; i < nF; i++) for (let j = 0; j < nF; j++) for (let k = 0; k < nO; k++) d = Math.max(d, Math.abs(res.values[((r * nF + i) * nF + j) * nO + k]! - ref2[i]![j]![k]!));
        }
        t.ok(d <= TOL, `interactions equal brute force on the stored model: ${d.toExponential(2)}`);
      }
    }
  });
}
