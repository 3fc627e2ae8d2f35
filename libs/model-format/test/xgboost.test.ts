import t from 'tap';
import { loadXGBoostModel, predict, predictRaw, Decision, ModelFormatError } from '../src/index.js';
import { float32LessThan } from '../src/xgboost/model.js';
import { readFixture, readFixtureText, readNumericCsv } from '../../../tools/fixtures.js';
import { parseLenientJson } from '../src/xgboost/json.js';
import { encodeUbjson } from './ubjson-encode.js';

const TOL = 1e-5;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

/** Parses LibSVM text rows `label i:v ...` into dense rows (missing -> NaN). */
function libsvm(text: string, nFeatures: number): { rows: Float64Array; n: number } {
  const lines = text.split('\n').filter((l) => l.trim());
  const rows = new Float64Array(lines.length * nFeatures).fill(Number.NaN);
  lines.forEach((l, r) => {
    for (const tok of l.trim().split(/\s+/).slice(1)) {
      const [i, v] = tok.split(':');
      rows[r * nFeatures + Number(i)] = Number(v);
    }
  });
  return { rows, n: lines.length };
}

/**
 * Independent reference: walks XGBoost's own JSON arrays with float32 comparisons (XGBoost semantics),
 * without going through the IR.
 */
function naiveXgb(json: any, row: number[]): number[] {
  const l = json.learner;
  const K = Math.max(Number(l.learner_model_param.num_class), 1);
  const out = new Array(K).fill(0);
  const gb = l.gradient_booster.name === 'dart' ? l.gradient_booster.gbtree : l.gradient_booster;
  gb.model.trees.forEach((tr: any, ti: number) => {
    let n = 0;
    while (tr.left_children[n] !== -1) {
      const x = row[tr.split_indices[n]]!;
      if (Number.isNaN(x)) n = tr.default_left[n] ? tr.left_children[n] : tr.right_children[n];
      else if (tr.split_type?.[n] === 1) {
        const k = tr.categories_nodes.indexOf(n);
        const set = tr.categories.slice(tr.categories_segments[k], tr.categories_segments[k] + tr.categories_sizes[k]);
        n = set.includes(Math.trunc(x)) ? tr.right_children[n] : tr.left_children[n];
      } else n = Math.fround(x) < Math.fround(tr.split_conditions[n]) ? tr.left_children[n] : tr.right_children[n];
    }
    const w = l.gradient_booster.name === 'dart' ? l.gradient_booster.weight_drop[ti] : 1;
    out[gb.model.tree_info[ti]] += tr.split_conditions[n] * w;
  });
  return out;
}

t.test('float32LessThan reproduces fround(x) < t on doubles', async (t) => {
  const ts = [0.5, 0.1, -0.1, 3.0172, 1e-30, -2.5, 0, 123456.78];
  let bad = 0;
  for (const t0 of ts) {
    const tf = Math.fround(t0);
    const [thr, dec] = float32LessThan(tf);
    for (const dx of [-1e-7, -1e-8, -3e-9, -1e-12, 0, 1e-12, 3e-9, 1e-8, 1e-7]) {
      for (const x of [tf + dx * Math.max(1, Math.abs(tf)), tf * (1 + dx)]) {
        const want = Math.fround(x) < tf;
        const got = dec === Decision.LT ? x < thr : x <= thr;
        if (want !== got) bad++;
      }
    }
  }
  t.equal(bad, 0);
});

t.test('treelite toy categorical (XGBoost 1.4): expected predictions', async (t) => {
  const text = readFixtureText('models', 'xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical_model.json');
  const model = loadXGBoostModel(text);
  t.equal(model.nTrees, 5);
  t.equal(model.hasCovers, true);
  t.ok(Array.from(model.decision).filter((d) => d === Decision.IN_SET).length === 25, '25 categorical splits');
  const { rows, n } = libsvm(readFixtureText('models', 'xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical.test'), 2);
  const want = readFixtureText('models', 'xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical.test.pred').split('\n').filter(Boolean).map(Number);
  t.equal(want.length, n);
  const got = predict(model, rows, n);
  const err = Math.max(...want.map((w, i) => rel(got[i]!, w)));
  t.ok(err <= TOL, `max rel err ${err}`);
  // Same model through UBJSON.
  const ubj = loadXGBoostModel(encodeUbjson(parseLenientJson(text)));
  t.equal(ubj.source.format, 'xgboost-ubjson');
  t.same(Array.from(predict(ubj, rows, n)), Array.from(got));
});

const compat = [
  ['xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.cls.json', 3, 'softmax'],
  ['xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.reg.json', 1, 'identity'],
  ['xgboost-1.0-compat', 'xgboost-1.0.0rc1.logit.json', 1, 'logistic'],
  ['ankane-regression', 'model.json', 1, 'identity'],
] as const;
for (const [dir, file, K, transform] of compat) {
  t.test(`${file}: schema, base score and traversal vs a direct walk of the JSON`, async (t) => {
    const text = readFixtureText('models', 'xgboost', dir, file);
    const json = parseLenientJson(text) as any;
    const model = loadXGBoostModel(readFixture('models', 'xgboost', dir, file));
    t.equal(model.nOutputs, K);
    t.equal(model.transform, transform);
    t.equal(model.nFeatures, 4);
    // base score in margin space
    const bs = Number(String(json.learner.learner_model_param.base_score).replace(/[[\]]/g, ''));
    const wantBase = transform === 'logistic' ? Math.log(bs / (1 - bs)) : bs;
    t.ok(Math.abs(model.baseScore[0]! - wantBase) < 1e-12, `base score ${model.baseScore[0]}`);
    // covers: root sum_hessian equals the sum over its leaves
    for (let tr = 0; tr < model.nTrees; tr++) {
      let leafSum = 0;
      for (let i = model.treeOffsets[tr]!; i < model.treeOffsets[tr + 1]!; i++) if (model.left[i]! < 0) leafSum += model.cover[i]!;
      if (Math.abs(leafSum - model.cover[model.treeOffsets[tr]!]!) > 1e-3 * leafSum) t.fail(`tree ${tr} covers`);
    }
    // Rows: the fixture data for ankane, random normal-ish rows (with some NaN) for the compat models.
    let rows: number[][];
    if (dir === 'ankane-regression') rows = readNumericCsv('models', 'xgboost', dir, 'data.csv').rows.map((r) => r.slice(0, 4));
    else {
      let s = 3;
      const rnd = () => ((s = (s * 16807) % 2147483647), s / 2147483647);
      rows = Array.from({ length: 300 }, () => Array.from({ length: 4 }, () => (rnd() < 0.05 ? Number.NaN : (rnd() - 0.5) * 4)));
    }
    const flat = Float64Array.from(rows.flat());
    const raw = predictRaw(model, flat, rows.length);
    let err = 0;
    rows.forEach((row, r) => {
      const ref = naiveXgb(json, row);
      for (let k = 0; k < K; k++) err = Math.max(err, rel(raw[r * K + k]!, ref[k]! + model.baseScore[k]!));
    });
    t.ok(err <= TOL, `max rel err vs direct walk ${err}`);
  });
}

t.test('the ankane model reads feature names and types', async (t) => {
  const model = loadXGBoostModel(readFixture('models', 'xgboost', 'ankane-regression', 'model.json'));
  t.same(model.featureNames, ['x0', 'x1', 'x2', 'x3']);
  t.same(model.featureTypes, ['float', 'float', 'float', 'int']);
  t.equal(model.source.version, '3.1.0');
});

t.test('dart weight_drop scales leaf values', async (t) => {
  const json = parseLenientJson(readFixtureText('models', 'xgboost', 'xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.reg.json')) as any;
  const gbtree = json.learner.gradient_booster;
  const n = gbtree.model.trees.length;
  json.learner.gradient_booster = { name: 'dart', gbtree, weight_drop: Array.from({ length: n }, (_, i) => 0.5 + i * 0.1) };
  const model = loadXGBoostModel(json);
  const row = [0.3, -0.2, 1.1, NaN];
  const raw = predictRaw(model, Float64Array.from(row), 1);
  t.ok(rel(raw[0]!, naiveXgb(json, row)[0]! + model.baseScore[0]!) <= TOL);
});

t.test('hostile XGBoost input gives typed errors', async (t) => {
  const json = parseLenientJson(readFixtureText('models', 'xgboost', 'xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.reg.json')) as any;
  const tree = json.learner.gradient_booster.model.trees[0];
  const cyc = structuredClone(json);
  cyc.learner.gradient_booster.model.trees[0].left_children[1] = 0;
  t.throws(() => loadXGBoostModel(cyc), ModelFormatError, 'cycle');
  const oob = structuredClone(json);
  oob.learner.gradient_booster.model.trees[0].split_indices[0] = 99;
  t.throws(() => loadXGBoostModel(oob), { code: 'INVALID_MODEL' }, 'feature out of range');
  const bad = structuredClone(json);
  bad.learner.gradient_booster.model.trees[0].right_children = tree.right_children.slice(1);
  t.throws(() => loadXGBoostModel(bad), { code: 'INVALID_MODEL' }, 'length mismatch');
  t.throws(() => loadXGBoostModel(new TextEncoder().encode('not a model')), { code: 'INVALID_MODEL' });
});
