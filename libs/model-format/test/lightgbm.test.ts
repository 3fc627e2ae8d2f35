import t from 'tap';
import { loadLightGBMModel, predict, predictLeaves, predictRaw, Decision, Missing } from '../src/index.js';
import { readFixture, readFixtureText, readNumericCsv } from '../../../tools/fixtures.js';

const TOL = 1e-5;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
const table = (text: string, sep: RegExp) => text.split('\n').filter((l) => l.trim()).map((l) => l.trim().split(sep).map(Number));
const maxErr = (got: ArrayLike<number>, want: number[]) => (got.length !== want.length ? Infinity : Math.max(...want.map((w, i) => rel(got[i]!, w))));

t.test('breast cancer (v3, binary): leaf indices equal LightGBM pred_leaf', async (t) => {
  const model = loadLightGBMModel(readFixture('models', 'lightgbm', 'leaves', 'lg_breast_cancer.txt'));
  t.equal(model.nTrees, 39);
  t.equal(model.transform, 'logistic');
  const rows = table(readFixtureText('models', 'lightgbm', 'leaves', 'lg_breast_cancer_data.txt'), /\s+/);
  const want = table(readFixtureText('models', 'lightgbm', 'leaves', 'lg_breast_cancer_data_pred_leaves.txt'), /\s+/);
  const leaves = predictLeaves(model, Float64Array.from(rows.flat()), rows.length);
  let mismatches = 0;
  for (let r = 0; r < rows.length; r++) {
    for (let tr = 0; tr < model.nTrees; tr++) {
      const start = model.treeOffsets[tr]!;
      const nLeaves = (model.treeOffsets[tr + 1]! - start + 1) / 2;
      const leafIdx = leaves[r * model.nTrees + tr]! - start - (nLeaves - 1);
      if (leafIdx !== want[r]![tr]) mismatches++;
    }
  }
  t.equal(mismatches, 0, `${rows.length} rows x 39 trees`);
});

t.test('multiclass (v2, 5 classes): raw scores and probabilities', async (t) => {
  const model = loadLightGBMModel(readFixture('models', 'lightgbm', 'leaves', 'lgmulticlass.model'));
  t.equal(model.nOutputs, 5);
  t.equal(model.source.version, 'v2');
  const data = table(readFixtureText('models', 'lightgbm', 'leaves', 'multiclass_test.tsv'), /\t/);
  const rows = Float64Array.from(data.flatMap((r) => r.slice(1)));
  const raw = predictRaw(model, rows, data.length);
  const wantRaw = table(readFixtureText('models', 'lightgbm', 'leaves', 'lgmulticlass_true_raw_predictions.txt'), /\s+/).flat();
  t.ok(maxErr(raw, wantRaw) <= TOL, `raw max rel err ${maxErr(raw, wantRaw)}`);
  const prob = predict(model, rows, data.length);
  const wantProb = table(readFixtureText('models', 'lightgbm', 'leaves', 'lgmulticlass_true_predictions.txt'), /\s+/).flat();
  t.ok(maxErr(prob, wantProb) <= TOL, `prob max rel err ${maxErr(prob, wantProb)}`);
});

// lg_kddcup99_true_predictions.txt holds raw scores (negative values), despite its name.
t.test('kddcup99 (v2, 13 classes, categorical): raw scores', async (t) => {
  const model = loadLightGBMModel(readFixture('models', 'lightgbm', 'leaves', 'lg_kddcup99.model'));
  t.equal(model.nOutputs, 13);
  t.ok(Array.from(model.decision).filter((d) => d === Decision.IN_SET).length === 275, '275 categorical splits');
  const data = table(readFixtureText('models', 'lightgbm', 'leaves', 'kddcup99_test.tsv'), /\t/);
  const want = table(readFixtureText('models', 'lightgbm', 'leaves', 'lg_kddcup99_true_predictions.txt'), /\s+/).flat();
  t.ok(want.some((v) => v < 0), 'the reference file holds margins');
  const prob = predictRaw(model, Float64Array.from(data.flat()), data.length);
  t.ok(maxErr(prob, want) <= TOL, `max rel err ${maxErr(prob, want)}`);
});

t.test('treelite toy categorical (v2): expected predictions', async (t) => {
  const model = loadLightGBMModel(readFixtureText('models', 'lightgbm', 'treelite-toy-categorical', 'toy_categorical_model.txt'));
  const lines = readFixtureText('models', 'lightgbm', 'treelite-toy-categorical', 'toy_categorical.test').split('\n').filter((l) => l.trim());
  const rows = new Float64Array(lines.length * 2).fill(Number.NaN);
  lines.forEach((l, r) => {
    for (const tok of l.trim().split(/\s+/).slice(1)) {
      const [i, v] = tok.split(':');
      rows[r * 2 + Number(i)] = Number(v);
    }
  });
  const want = readFixtureText('models', 'lightgbm', 'treelite-toy-categorical', 'toy_categorical.test.pred').split('\n').filter(Boolean).map(Number);
  const got = predict(model, rows, lines.length);
  t.ok(maxErr(got, want) <= TOL, `max rel err ${maxErr(got, want)}`);
});

/** Independent walk of the text model (LightGBM's NumericalDecision / CategoricalDecision), not via the IR. */
function naiveLgb(text: string, row: number[]): number[] {
  const K = Number(/num_tree_per_iteration=(\d+)/.exec(text)?.[1] ?? 1);
  const out = new Array(K).fill(0);
  const blocks = text.split(/\nTree=\d+\n/).slice(1);
  blocks.forEach((b, ti) => {
    const f = (k: string) => (new RegExp(`^${k}=(.*)$`, 'm').exec(b)?.[1] ?? '').split(' ').filter(Boolean).map(Number);
    const leafValue = f('leaf_value');
    if (leafValue.length === 1) {
      out[ti % K] += leafValue[0];
      return;
    }
    const [sf, th, dt, lc, rc, cb, ct] = ['split_feature', 'threshold', 'decision_type', 'left_child', 'right_child', 'cat_boundaries', 'cat_threshold'].map(f);
    let n = 0;
    while (n >= 0) {
      let x = row[sf![n]!]!;
      const d = dt![n]!;
      const miss = (d >> 2) & 3;
      let left: boolean;
      if (d & 1) {
        if (Number.isNaN(x) && miss === 2) left = false;
        else {
          const c = Number.isNaN(x) ? 0 : Math.trunc(x);
          const idx = th![n]!;
          const words = ct!.slice(cb![idx]!, cb![idx + 1]!);
          left = c >= 0 && c >> 5 < words.length && ((words[c >> 5]! >>> (c & 31)) & 1) === 1;
        }
      } else {
        if (Number.isNaN(x) && miss !== 2) x = 0;
        if ((miss === 1 && Math.abs(x) <= 1e-35) || (miss === 2 && Number.isNaN(x))) left = (d & 2) === 2;
        else left = x <= th![n]!;
      }
      n = left ? lc![n]! : rc![n]!;
    }
    out[ti % K] += leafValue[~n]!;
  });
  if (/\naverage_output\n/.test(text)) for (let k = 0; k < K; k++) out[k] /= blocks.length / K;
  return out;
}

const others = [
  ['lleaves', 'mixed_categorical.model.txt'],
  ['lleaves', 'airline.model.txt'],
  ['lleaves', 'multiclass.model.txt'],
  ['lleaves', 'boston_housing.model.txt'],
  ['ankane', 'model.txt'],
  ['ankane', 'categorical.txt'],
] as const;
for (const [dir, file] of others) {
  t.test(`${dir}/${file}: IR traversal equals a direct walk of the text model`, async (t) => {
    const text = readFixtureText('models', 'lightgbm', dir, file);
    const model = loadLightGBMModel(text);
    const F = model.nFeatures;
    let rows: number[][];
    if (dir === 'ankane') rows = readNumericCsv('models', 'lightgbm', dir, 'data.csv').rows.map((r) => r.slice(0, F));
    else {
      let s = 11;
      const rnd = () => ((s = (s * 16807) % 2147483647), s / 2147483647);
      rows = Array.from({ length: 200 }, () =>
        Array.from({ length: F }, (_, f) => (rnd() < 0.05 ? Number.NaN : model.featureTypes[f] === 'categorical' ? Math.floor(rnd() * 40) - 2 : (rnd() - 0.5) * 4)),
      );
    }
    const raw = predictRaw(model, Float64Array.from(rows.flat()), rows.length);
    const K = model.nOutputs;
    let err = 0;
    rows.forEach((row, r) => {
      const ref = naiveLgb(text, row);
      for (let k = 0; k < K; k++) err = Math.max(err, rel(raw[r * K + k]!, ref[k]!));
    });
    t.ok(err <= TOL, `max rel err ${err} (${model.nTrees} trees)`);
    // covers: internal_count of the root = leaf counts summed
    const r0 = model.treeOffsets[0]!;
    let leafSum = 0;
    for (let i = r0; i < model.treeOffsets[1]!; i++) if (model.left[i]! < 0) leafSum += model.cover[i]!;
    if (model.treeOffsets[1]! - r0 > 1) t.equal(model.cover[r0], leafSum, 'root count = sum of leaf counts');
  });
}

t.test('missing types and pandas_categorical', async (t) => {
  const model = loadLightGBMModel(readFixture('models', 'lightgbm', 'ankane', 'categorical.txt'));
  t.equal(model.featureTypes[3], 'categorical');
  t.equal(model.source.version, 'v4');
  const m2 = loadLightGBMModel(readFixture('models', 'lightgbm', 'leaves', 'lg_breast_cancer.txt'));
  const internal = Array.from(m2.missing).filter((_, i) => m2.left[i]! >= 0);
  t.ok(internal.length > 0 && internal.every((m) => m === Missing.AS_ZERO), 'decision_type 2 = default left, missing None');
});

t.test('linear trees and hostile input are rejected with typed errors', async (t) => {
  const text = readFixtureText('models', 'lightgbm', 'lleaves', 'mixed_categorical.model.txt');
  t.throws(() => loadLightGBMModel(text.replace('is_linear=0', 'is_linear=1')), { code: 'UNSUPPORTED' });
  t.throws(() => loadLightGBMModel(text.replace(/left_child=1 /, 'left_child=0 ')), { code: 'INVALID_MODEL' }, 'cycle');
  t.throws(() => loadLightGBMModel(text.replace(/split_feature=4 /, 'split_feature=40 ')), { code: 'INVALID_MODEL' }, 'feature out of range');
  t.throws(() => loadLightGBMModel(text.replace(/num_leaves=19/, 'num_leaves=99999999999')), { code: 'INVALID_MODEL' }, 'huge size');
  t.throws(() => loadLightGBMModel('hello'), { code: 'INVALID_MODEL' });
});
