/**
 * XGBoost >= 3.1 models that carry their category names (the jpmml-AGPL fixtures, saved by XGBoost 3.4.1 as JSON
 * and UBJSON): raw data rows with category names as text go through encodeRows + the tree IR and must reproduce
 * XGBoost's own predictions, for every round (Booster.predict), the first N rounds (iteration_range=(0, N)) and the
 * early-stopping rounds (scikit-learn's predict, 'best').
 */
import t from 'tap';
import type tap from 'tap';
import { encodeRows, loadTreeModel, loadXGBoostModel, ModelFormatError, predict, predictRaw, type RawCell, type TreeEnsemble } from '../src/index.js';
import { readFixture, readFixtureText } from '../../../tools/fixtures.js';

const DIR = ['models', 'xgboost', 'jpmml-AGPL'] as const;
/** Same tolerance as the other XGBoost tests: XGBoost sums float32 leaves, the IR sums doubles. */
const TOL = 1e-5;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

/** CSV with a header; quoted cells may hold commas (the expected files' "probability(_target1, 0)" headers). */
function csv(file: string): { header: string[]; rows: string[][] } {
  const split = (line: string) => {
    const out: string[] = [];
    let cur = '';
    let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) {
        out.push(cur);
        cur = '';
      } else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const lines = readFixtureText(...DIR, file).split(/\r?\n/).filter((l) => l.length > 0);
  return { header: split(lines[0]!), rows: lines.slice(1).map(split) };
}

/**
 * A cell as a user holding the data frame has it (pandas.read_csv types): blank -> null, TRUE/FALSE -> the booleans
 * XGBoost reads as 1/0 (Audit's Deductions, feature type "i"), numbers -> numbers, anything else -> the text.
 */
function cell(s: string): RawCell {
  if (s === '') return null;
  if (s === 'TRUE') return 1;
  if (s === 'FALSE') return 0;
  const x = Number(s);
  return Number.isFinite(x) ? x : s;
}

/** The data rows as objects keyed by the model's feature names (Multi* models use a subset of the columns). */
function dataRows(model: TreeEnsemble, dataset: string): Record<string, RawCell>[] {
  const { header, rows } = csv(`${dataset}.csv`);
  const cols = model.featureNames.map((n) => {
    const c = header.indexOf(n);
    if (c < 0 || c === header.length - 1) throw new Error(`${dataset}.csv has no feature column ${n}`);
    return c;
  });
  return rows.map((r) => Object.fromEntries(model.featureNames.map((n, j) => [n, cell(r[cols[j]!]!)])));
}

/** Expected value of output k per row: `probability(1)` / `probability(k)` / `probability(_targetK, 1)` / `_target(K)`. */
function expected(file: string, K: number): Float64Array {
  const { header, rows } = csv(file);
  const probs = header.map((h, i) => [h, i] as const).filter(([h]) => h.startsWith('probability('));
  const col = (k: number): number => {
    if (probs.length === 0) return header.indexOf(K === 1 ? '_target' : `_target${k + 1}`);
    if (K === 1) return header.indexOf('probability(1)');
    if (probs.length === K) return header.indexOf(`probability(${k})`);
    return header.indexOf(`probability(_target${k + 1}, 1)`);
  };
  const cols = Array.from({ length: K }, (_, k) => col(k));
  if (cols.some((c) => c < 0)) throw new Error(`${file}: cannot find the expected columns in ${header.join(',')}`);
  return Float64Array.from(rows.flatMap((r) => cols.map((c) => Number(r[c]))));
}

/** What XGBoost reports: `predict` after the link; binary:hinge predicts 1 when the margin is positive, else 0. */
function xgbPredict(model: TreeEnsemble, x: Float64Array, n: number): Float64Array {
  if (model.source.objective === 'binary:hinge') return predictRaw(model, x, n).map((m) => (m > 0 ? 1 : 0));
  return predict(model, x, n);
}

const MODELS: [name: string, dataset: string, rounds: number[]][] = [
  ['BinomialClassificationAudit', 'Audit', [31]],
  ['ExpectileRegressionAuto', 'Auto', []],
  ['GammaRegressionVisit', 'Visit', []],
  ['HingeClassificationAudit', 'Audit', []],
  ['LinearRegressionAuto', 'Auto', []],
  ['LogisticRegressionAudit', 'Audit', []],
  ['MultiBinomialClassificationAudit', 'Audit', [31]],
  ['MultiDecisionTreeAuto', 'Auto', []],
  ['MultiLinearRegressionAuto', 'Auto', []],
  ['MultiRandomForestAuto', 'Auto', []],
  ['MultinomialClassificationAudit', 'Audit', []],
  ['MultinomialClassificationIris', 'Iris', [11]],
  ['PoissonRegressionVisit', 'Visit', []],
  ['QuantileRegressionAuto', 'Auto', []],
  ['TweedieRegressionVisit', 'Visit', []],
];

function check(t: Pick<typeof tap, 'equal' | 'ok'>, model: TreeEnsemble, dataset: string, file: string): void {
  const rows = dataRows(model, dataset);
  const x = encodeRows(model, rows);
  const got = xgbPredict(model, x, rows.length);
  const want = expected(file, model.nOutputs);
  t.equal(got.length, want.length, `${file}: ${rows.length} rows x ${model.nOutputs} outputs`);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, rel(got[i]!, want[i]!));
  t.ok(err <= TOL, `${file}: max rel err ${err.toExponential(2)} over ${rows.length} rows (${model.nTrees} trees)`);
}

for (const [name, dataset, partial] of MODELS) {
  t.test(`${name}: raw rows through encodeRows reproduce XGBoost's predictions`, async (t) => {
    // 'best' is what XGBRegressor.predict uses; only LinearRegressionAuto records best_iteration (its expected file
    // was written with iteration_range=(0, best_iteration + 1)); for the others 'best' means every round.
    const json = loadXGBoostModel(readFixture(...DIR, `${name}.json`), { iterationRange: 'best' });
    const ubj = loadTreeModel(readFixture(...DIR, `${name}.ubj`), { iterationRange: 'best' });
    t.equal(ubj.source.format, 'xgboost-ubjson');
    t.same(ubj.featureCategories, json.featureCategories, 'UBJSON and JSON carry the same category names');
    t.same(Array.from(ubj.value), Array.from(json.value), 'UBJSON and JSON give the same trees');
    for (const model of [json, ubj]) check(t, model, dataset, `${name}.csv`);
    for (const n of partial) {
      for (const file of [`${name}.json`, `${name}.ubj`]) {
        const sliced = loadTreeModel(readFixture(...DIR, file), { iterationRange: [0, n] });
        t.same(sliced.source.iterationRange, [0, n]);
        check(t, sliced, dataset, `${name}@${n}.csv`);
      }
    }
  });
}

t.test('boosting rounds map to trees as XGBoost slices them', async (t) => {
  const full = loadXGBoostModel(readFixture(...DIR, 'MultinomialClassificationIris.json'));
  t.equal(full.nTrees, 51, '17 rounds x 3 classes');
  t.equal(full.source.iterationRange, undefined, 'no range given: every round, as Booster.predict');
  const mid = loadXGBoostModel(readFixture(...DIR, 'MultinomialClassificationIris.json'), { iterationRange: [2, 5] });
  t.equal(mid.nTrees, 9, 'rounds 2..4 = trees 6..14');
  t.same(Array.from(mid.treeOutput), [0, 1, 2, 0, 1, 2, 0, 1, 2], 'one tree per class per round');
  t.same(Array.from(mid.value), Array.from(full.value.subarray(full.treeOffsets[6]!, full.treeOffsets[15]!)), 'the same trees');
  t.same(Array.from(mid.baseScore), Array.from(full.baseScore), 'base_score unchanged');
  t.same(mid.source.rounds, 17);

  const forest = loadXGBoostModel(readFixture(...DIR, 'MultiRandomForestAuto.ubj'), { iterationRange: [0, 1] });
  t.equal(forest.nTrees, 74, 'one round of num_parallel_tree 37 x 2 targets');
  t.equal(forest.source.rounds, 1);

  const early = loadXGBoostModel(readFixture(...DIR, 'LinearRegressionAuto.json'), { iterationRange: 'best' });
  t.equal(early.nTrees, 25, 'best_iteration 24 -> rounds [0, 25)');
  t.same(early.source.iterationRange, [0, 25]);
  const all = loadXGBoostModel(readFixture(...DIR, 'LinearRegressionAuto.json'));
  t.equal(all.nTrees, 28, 'the default keeps all 28 rounds (Booster.predict)');
  const zeroEnd = loadXGBoostModel(readFixture(...DIR, 'LinearRegressionAuto.json'), { iterationRange: [3, 0] });
  t.equal(zeroEnd.nTrees, 25, 'end 0 = through the last round, as XGBoost');

  // Files without iteration_indptr (XGBoost 1.x): rounds of num_parallel_tree (absent -> 1) x outputs trees.
  const old = loadXGBoostModel(readFixture('models', 'xgboost', 'xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.cls.json'), { iterationRange: [0, 2] });
  t.equal(old.nTrees, 6, '2 rounds x 3 classes');
  t.equal(old.source.rounds, 4);
});

t.test('ranges that do not fit are clear errors', async (t) => {
  const bytes = readFixture(...DIR, 'LinearRegressionAuto.json');
  t.throws(() => loadXGBoostModel(bytes, { iterationRange: [0, 29] }), {
    name: 'ModelFormatError',
    code: 'INVALID_INPUT',
    message: /\[0, 29\] goes past the last boosting round: the model has 28 boosting rounds \(28 trees\), so end can be at most 28/,
  });
  t.throws(() => loadXGBoostModel(readFixture(...DIR, 'MultiRandomForestAuto.json'), { iterationRange: [0, 2] }), {
    code: 'INVALID_INPUT',
    message: /the model has 1 boosting round \(74 trees\)/,
  });
  t.throws(() => loadXGBoostModel(bytes, { iterationRange: [5, 5] }), { code: 'INVALID_INPUT', message: /selects no boosting round/ });
  t.throws(() => loadXGBoostModel(bytes, { iterationRange: [-1, 3] }), { code: 'INVALID_INPUT', message: /non-negative integers/ });
  t.throws(() => loadXGBoostModel(bytes, { iterationRange: [0, 2.5] as never }), { code: 'INVALID_INPUT' });
  t.throws(() => loadXGBoostModel(bytes, { iterationRange: 'last' as never }), { code: 'INVALID_INPUT', message: /or 'best'/ });
  // best_iteration past the end of the model is the file's fault.
  const json = JSON.parse(readFixtureText(...DIR, 'LinearRegressionAuto.json'));
  json.learner.attributes.best_iteration = '28';
  t.throws(() => loadXGBoostModel(json, { iterationRange: 'best' }), { code: 'INVALID_MODEL', message: /best_iteration 28 is past the last boosting round: the model has 28/ });
  const bad = JSON.parse(readFixtureText(...DIR, 'LinearRegressionAuto.json'));
  bad.learner.gradient_booster.model.iteration_indptr[3] = 1;
  t.throws(() => loadXGBoostModel(bad, { iterationRange: [0, 2] }), { code: 'INVALID_MODEL', message: /iteration_indptr/ });
  // Other formats.
  t.throws(() => loadTreeModel(readFixture('models', 'lightgbm', 'ankane', 'model.txt'), { iterationRange: [0, 1] }), {
    code: 'INVALID_INPUT',
    message: /iterationRange applies to XGBoost models only.*LightGBM/,
  });
  t.throws(() => loadTreeModel(readFixture('models', 'lightgbm', 'ankane', 'model.txt'), { iterationRange: 'best' }), ModelFormatError);
});

t.test('category names: strings and integer-valued categories, codes = positions', async (t) => {
  const audit = loadXGBoostModel(readFixture(...DIR, 'BinomialClassificationAudit.ubj'));
  t.equal(audit.featureCategories![0], undefined, 'numeric feature Age');
  t.same(audit.featureCategories![6], ['Female', 'Male']);
  t.equal(audit.featureCategories![1]![0], 'Consultant');
  t.equal(audit.featureCategories![5], undefined, 'numeric feature Income');
  const auto = loadXGBoostModel(readFixture(...DIR, 'QuantileRegressionAuto.json'));
  t.same(auto.featureCategories![0], ['3', '4', '5', '6', '8']);
  t.same(auto.featureCategories![6], ['1', '2', '3']);
  // Numbers look up numeric-valued category lists by value; the names work the same.
  const byNumber = encodeRows(auto, [[8, 307, 130, 3504, 12, 70, 1]]);
  const byName = encodeRows(auto, [['8', 307, 130, 3504, 12, '70', '1']]);
  t.same(Array.from(byNumber), [4, 307, 130, 3504, 12, 0, 0]);
  t.same(Array.from(byName), Array.from(byNumber));
  // A file that has no categories (Iris: an empty cats.enc) has no featureCategories at all.
  t.equal(loadXGBoostModel(readFixture(...DIR, 'MultinomialClassificationIris.ubj')).featureCategories, undefined);
  t.equal(loadXGBoostModel(readFixture('models', 'xgboost', 'ankane-regression', 'model.json')).featureCategories, undefined);
  // Numeric categories saved as {type, values} (XGBoost's int64 columns) become decimal strings.
  const json = JSON.parse(readFixtureText(...DIR, 'QuantileRegressionAuto.json'));
  json.learner.gradient_booster.model.cats.enc[0] = { type: 15, values: [3, 4, 5, 6, 8] };
  const ints = loadXGBoostModel(json);
  t.same(ints.featureCategories![0], ['3', '4', '5', '6', '8']);
  t.same(Array.from(encodeRows(ints, [[8, 307, 130, 3504, 12, 70, 1]])), Array.from(byNumber));
  // An unseen category is refused as XGBoost's re-coder does.
  t.throws(() => encodeRows(auto, [[7, 307, 130, 3504, 12, 70, 1]]), {
    code: 'INVALID_INPUT',
    message: /row 0, feature "cylinders": 7 is not a category the model was trained on.*"3", "4", "5", "6", "8"/,
  });
});

t.test('dart weights stored inside the gbtree model are applied', async (t) => {
  const json = JSON.parse(readFixtureText(...DIR, 'LogisticRegressionAudit.json'));
  const model = json.learner.gradient_booster.model;
  t.ok(model.weight_drop.some((w: number) => w !== 1), 'the fixture scales its trees');
  const withWeights = loadXGBoostModel(json);
  delete model.weight_drop;
  const without = loadXGBoostModel(json);
  const leaf = Array.from(withWeights.left).findIndex((l) => l < 0);
  t.not(withWeights.value[leaf], without.value[leaf], 'leaf values differ once weight_drop is dropped');
});
