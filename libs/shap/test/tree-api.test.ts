import t from 'tap';
import { loadOnnxTreeEnsemble, predictRaw, withCovers, type TreeEnsemble } from '@genome/model-format';
import { readFixture, readFixtureJson, readNumericCsv } from '../../../tools/fixtures.js';
import {
  ShapError,
  createTreeShapPool,
  explainTree,
  prepareTreeShap,
  treeShapInteractions,
  treeShapInterventional,
  treeShapPathDependent,
} from '../src/index.js';
import { randomEnsemble, randomRows } from './tree-helpers.js';

function oracle(name: string): { model: TreeEnsemble; data: Float64Array; nRows: number; x: number[][] } {
  const ref = readFixtureJson<{ x: number[][]; feature_names: string[] }>('oracles', 'trees', name, 'reference.json');
  const model = loadOnnxTreeEnsemble(new Uint8Array(readFixture('oracles', 'trees', name, 'model.onnx')));
  const nF = ref.feature_names.length;
  const rows = readNumericCsv('oracles', 'trees', name, 'data.csv').rows.map((r) => r.slice(0, nF));
  return { model, data: Float64Array.from(rows.flat()), nRows: rows.length, x: ref.x };
}

t.test('explainTree returns the shared Explanation JSON (path-dependent + interactions)', async (t) => {
  const { model, data, nRows, x } = oracle('diabetes-gbm-regressor');
  const covered = withCovers(model, data, nRows);
  const e = await explainTree(covered, x, { interactions: true });
  t.equal(e.schema, 'genome.explanation/v1');
  t.equal(e.method, 'tree_shap.path_dependent');
  t.equal(e.outputSpace, 'regression');
  t.equal(e.values.length, x.length);
  t.equal(e.values[0]!.length, 10);
  t.equal(e.values[0]![0]!.length, 1);
  t.equal(e.featureNames.length, 10);
  t.equal(e.interactions!.length, x.length);
  const raw = predictRaw(covered, Float64Array.from(x.flat()), x.length);
  let add = 0;
  let rowSum = 0;
  for (let r = 0; r < x.length; r++) {
    add = Math.max(add, Math.abs(e.predictions![r]![0]! - raw[r]!));
    for (let i = 0; i < 10; i++) {
      let s = 0;
      for (let j = 0; j < 10; j++) s += e.interactions![r]![i]![j]![0]!;
      rowSum = Math.max(rowSum, Math.abs(s - e.values[r]![i]![0]!));
    }
  }
  t.ok(add < 1e-9, `predictions = expected + sum = raw prediction (${add})`);
  t.ok(rowSum < 1e-9, `interaction rows sum to the SHAP values (${rowSum})`);
  t.same(JSON.parse(JSON.stringify(e)).values, e.values, 'JSON round-trip');
});

t.test('worker pool gives the same numbers as the calling thread', async (t) => {
  const pool = createTreeShapPool({ threads: 2, chunkRows: 3 });
  t.teardown(() => pool.close());
  const m = randomEnsemble(7, { nFeatures: 5, nOutputs: 3, valueWidth: 1, nTrees: 6, maxDepth: 5 });
  const rows = randomRows(7, 20, 5);
  const bg = randomRows(8, 5, 5);
  for (const algorithm of ['quadrature', 'quadrature-js', 'classic'] as const) {
    const a = treeShapPathDependent(m, rows, 20, { algorithm });
    const b = await pool.pathDependent(m, rows, 20, { algorithm });
    t.same(Array.from(b.values), Array.from(a.values), `path-dependent ${algorithm}`);
  }
  const c = treeShapInterventional(m, rows, 20, bg, 5);
  const d = await pool.interventional(m, rows, 20, bg, 5);
  t.same(Array.from(d.values), Array.from(c.values), 'interventional');
  // the pool is reused: a second model and call
  const e1 = await explainTree(m, rows, { pool, interactions: true });
  const e2 = await explainTree(m, rows, { interactions: true });
  t.same(e1.interactions, e2.interactions, 'interactions through the pool');
});

t.test('pool.release forgets a model; a later task sends it again', async (t) => {
  const pool = createTreeShapPool({ threads: 2, chunkRows: 3 });
  t.teardown(() => pool.close());
  const m1 = randomEnsemble(11, { nFeatures: 4, nOutputs: 1, valueWidth: 1, nTrees: 5, maxDepth: 4 });
  const m2 = randomEnsemble(12, { nFeatures: 4, nOutputs: 1, valueWidth: 1, nTrees: 5, maxDepth: 4 });
  const rows = randomRows(13, 12, 4);
  const a1 = await pool.pathDependent(m1, rows, 12);
  await pool.pathDependent(m2, rows, 12);
  t.equal(pool.heldModels, 2);
  pool.release(m1);
  t.equal(pool.heldModels, 1, 'm1 is gone from the pool');
  pool.release(m1);
  t.equal(pool.heldModels, 1, 'releasing twice is harmless');
  const b1 = await pool.pathDependent(m1, rows, 12);
  t.same(Array.from(b1.values), Array.from(a1.values), 'the released model is sent again and gives the same values');
  t.equal(pool.heldModels, 2);
});

t.test('pool.register prepares a model on every worker before its first call; the workers share its arrays', async (t) => {
  const pool = createTreeShapPool({ threads: 2 });
  t.teardown(() => pool.close());
  const m = randomEnsemble(21, { nFeatures: 6, nOutputs: 2, valueWidth: 1, nTrees: 9, maxDepth: 6 });
  const rows = randomRows(22, 41, 6);
  const ready = pool.register(m, { interactions: true });
  t.equal(pool.heldModels, 1, 'held as soon as it is registered');
  await Promise.all([ready, pool.register(m)]);
  t.equal(pool.heldModels, 1, 'registering again adds nothing');
  const a = await pool.pathDependent(m, rows, 41);
  t.same(Array.from(a.values), Array.from(treeShapPathDependent(m, rows, 41).values), 'path-dependent values = the calling thread');
  // 41 rows on 2 workers: even-sized tasks (22 + 19 rows); the interaction kernel's batches are not split up
  const b = await pool.interactions(m, rows, 41);
  t.same(Array.from(b.values), Array.from(treeShapInteractions(m, rows, 41).values), 'interaction values = the calling thread');
  t.equal(m.left.buffer instanceof SharedArrayBuffer, false, "the caller's model keeps its own arrays");
  const maxModel = { ...randomEnsemble(23, { nFeatures: 3, nOutputs: 1, valueWidth: 1, nTrees: 2, maxDepth: 2 }), aggregate: 'max' as const };
  await t.rejects(pool.register(maxModel), ShapError, 'a model TreeSHAP cannot explain is refused before any worker sees it');
  t.throws(() => createTreeShapPool({ threads: 1, chunkRows: 0 }), /chunkRows must be a positive integer/);
});

t.test('a worker that exits is taken out of the pool; calls go to the others, and fail clearly when none is left', async (t) => {
  const pool = createTreeShapPool({ threads: 2 });
  t.teardown(() => pool.close());
  const m = randomEnsemble(51, { nFeatures: 4, nOutputs: 1, valueWidth: 1, nTrees: 5, maxDepth: 4 });
  const rows = randomRows(52, 30, 4);
  const want = Array.from(treeShapPathDependent(m, rows, 30).values);
  const workers = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots.map((s) => s.worker);
  await workers[0]!.terminate();
  t.same(Array.from((await pool.pathDependent(m, rows, 30)).values), want, 'the other worker answers every task');
  await workers[1]!.terminate();
  await t.rejects(pool.pathDependent(m, rows, 30), { code: 'INVALID_INPUT', message: /Every TreeSHAP worker of this pool has failed; create a new pool/ }, 'no call waits forever');
});

t.test('prepareTreeShap lays the model out and warms the kernels at load; calls after it give the same values', async (t) => {
  const m = randomEnsemble(31, { nFeatures: 5, nOutputs: 1, valueWidth: 1, nTrees: 7, maxDepth: 5 });
  const other = randomEnsemble(32, { nFeatures: 5, nOutputs: 1, valueWidth: 1, nTrees: 7, maxDepth: 5 });
  const rows = randomRows(33, 9, 5);
  const before = treeShapPathDependent(m, rows, 9).values;
  const p = prepareTreeShap(m, { interactions: true });
  t.equal(p.pathKernel, 'quadrature', 'WebAssembly kernel');
  t.equal(p.interactionKernel, 'quadrature');
  t.ok(p.milliseconds >= 0);
  // Each model keeps its own kernel instance: alternating models copies no model and mixes nothing up.
  const o1 = treeShapPathDependent(other, rows, 9).values;
  t.same(Array.from(treeShapPathDependent(m, rows, 9).values), Array.from(before), 'same values after another model ran');
  t.same(Array.from(treeShapPathDependent(other, rows, 9).values), Array.from(o1));
  const noCovers = { ...m, hasCovers: false } as typeof m;
  t.same({ ...prepareTreeShap(noCovers), milliseconds: 0 }, { pathKernel: 'none', interactionKernel: 'none', milliseconds: 0 }, 'without covers: interventional only');
});

t.test('algorithm names are checked; fast-v2 left the library', async (t) => {
  const m = randomEnsemble(41, { nFeatures: 3, nOutputs: 1, valueWidth: 1, nTrees: 2, maxDepth: 3 });
  const rows = randomRows(42, 2, 3);
  t.throws(() => treeShapPathDependent(m, rows, 2, { algorithm: 'fast-v2' as never }), { code: 'INVALID_OPTION', message: /fast-v2" was removed.*auto, quadrature, quadrature-js, classic/ });
  t.throws(() => treeShapPathDependent(m, rows, 2, { algorithm: 'fastest' as never }), { code: 'INVALID_OPTION', message: /Unknown TreeSHAP algorithm "fastest"/ });
});

t.test('interventional in probability space (logistic) adds up to the probability', async (t) => {
  const { model, data, nRows, x } = oracle('breast-cancer-gbm-binary');
  t.equal(model.transform, 'logistic');
  const bg = data.slice(0, 30 * model.nFeatures);
  const e = await explainTree(model, x, { method: 'interventional', background: bg, output: 'probability' });
  t.equal(e.outputSpace, 'probability');
  const raw = predictRaw(model, Float64Array.from(x.flat()), x.length);
  let d = 0;
  for (let r = 0; r < x.length; r++) d = Math.max(d, Math.abs(e.predictions![r]![0]! - 1 / (1 + Math.exp(-raw[r]!))));
  t.ok(d < 1e-12, `expected + sum = sigmoid(margin) (${d})`);
  const rawE = await explainTree(model, x, { method: 'interventional', background: bg });
  t.equal(rawE.outputSpace, 'raw');
  void nRows;
});

t.test('errors say what is wrong and how to fix it', async (t) => {
  const { model, x } = oracle('diabetes-gbm-regressor');
  t.throws(() => treeShapPathDependent(model, Float64Array.from(x.flat()), x.length), /withCovers/, 'no covers -> call withCovers');
  await t.rejects(explainTree(model, [[1, 2, 3]], { method: 'interventional', background: x }), /expects 10/, 'wrong feature count');
  t.throws(() => treeShapPathDependent(withCovers(model, Float64Array.from(x.flat()), x.length), new Float64Array(7), 1), /10 features/);
  const minModel = { ...model, aggregate: 'min' as const };
  t.throws(() => treeShapInterventional(minModel, Float64Array.from(x.flat()), x.length, Float64Array.from(x.flat()), x.length), /min/);
  try {
    treeShapInterventional(model, Float64Array.from(x.flat()), x.length, new Float64Array(0), 0);
    t.fail('empty background accepted');
  } catch (e) {
    t.ok(e instanceof ShapError, 'ShapError');
  }
  await t.rejects(explainTree(model, x), /background/, 'interventional without background');
  await t.rejects(explainTree(model, x, { method: 'interventional', background: x, interactions: true }), /path_dependent/);
});
