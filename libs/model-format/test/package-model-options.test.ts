/**
 * Genome packages: `modelOptions.iterationRange` reaches the XGBoost loader (pkg.open() honours it), and the
 * manifest's categorical `levels` become the opened tree's `featureCategories`.
 */
import t from 'tap';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGenomeManifest, encodeRows, loadGenomePackage, loadXGBoostModel, predictRaw, validateGenomeManifest } from '../src/index.js';
import { fixture } from '../../../tools/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'genome-pkg-options-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** A package around the ankane XGBoost model (10 rounds of one tree, features x0..x3, x3 holding 0-9). */
function ankanePackage(dir: string, extra: Record<string, unknown>, features?: unknown[]): string {
  const d = join(tmp, dir);
  mkdirSync(d);
  cpSync(fixture('models/xgboost/ankane-regression/model.json'), join(d, 'model.json'));
  writeFileSync(
    join(d, 'genome.json'),
    JSON.stringify({
      schemaVersion: 'genome.package/v1', name: dir, version: '1.0.0', framework: 'xgboost',
      artifacts: { model: 'model.json' }, output: { space: 'regression' },
      input: { modality: 'tabular', features: features ?? ['x0', 'x1', 'x2', 'x3'].map((name) => ({ name, type: 'float' })) },
      ...extra,
    }),
  );
  return d;
}

t.test('modelOptions.iterationRange is honoured by pkg.open()', async (t) => {
  const bytes = readFileSync(fixture('models/xgboost/ankane-regression/model.json'));
  const x = new Float64Array(4 * 5).map((_, i) => (i * 1.37) % 10);

  const p = await loadGenomePackage(ankanePackage('rounds', { modelOptions: { iterationRange: [0, 4] } }));
  t.same(p.manifest.modelOptions, { iterationRange: [0, 4] });
  const { tree, predictor } = await p.open();
  const want = loadXGBoostModel(bytes, { iterationRange: [0, 4] });
  t.equal(tree!.nTrees, 4, 'rounds 0-3 of 10');
  t.same(tree!.source.iterationRange, [0, 4]);
  t.same(Array.from((await predictor.predict(x as never, 5)).data), Array.from(predictRaw(want, x, 5)));
  t.notSame(Array.from(predictRaw(tree!, x, 5)), Array.from(predictRaw(loadXGBoostModel(bytes), x, 5)), 'differs from all rounds');

  // 'best' on a model without early stopping: every round, as XGBRegressor.predict.
  const best = await (await loadGenomePackage(ankanePackage('best', { modelOptions: { iterationRange: 'best' } }))).open();
  t.equal(best.tree!.nTrees, 10);
  // No modelOptions: every round (Booster.predict).
  t.equal((await (await loadGenomePackage(ankanePackage('default', {}))).open()).tree!.nTrees, 10);

  const past = await loadGenomePackage(ankanePackage('past', { modelOptions: { iterationRange: [2, 11] } }));
  await t.rejects(past.open(), {
    name: 'ModelFormatError',
    code: 'INVALID_PACKAGE',
    message: /^\/modelOptions\/iterationRange: iterationRange \[2, 11\] goes past the last boosting round: the model has 10 boosting rounds/,
  });
});

t.test('the manifest checks modelOptions', async (t) => {
  const base = JSON.parse(readFileSync(join(ankanePackage('schema', {}), 'genome.json'), 'utf8'));
  t.same(checkGenomeManifest({ ...base, modelOptions: { iterationRange: 'best' } }), []);
  t.same(checkGenomeManifest({ ...base, modelOptions: { iterationRange: [3, 0] } }), [], 'end 0 = through the last round');
  t.same(checkGenomeManifest({ ...base, modelOptions: {} }), []);
  for (const bad of ['last', [1], [1, 2, 3], [-1, 2], [0.5, 2], null, { begin: 0 }]) {
    t.same(
      checkGenomeManifest({ ...base, modelOptions: { iterationRange: bad } }),
      [{ path: '/modelOptions/iterationRange', message: `must be "best" or [begin, end]: two non-negative integers, end exclusive (got ${JSON.stringify(bad)})` }],
      `refuses ${JSON.stringify(bad)}`,
    );
  }
  t.same(checkGenomeManifest({ ...base, modelOptions: { iterationRange: [4, 2] } }), [
    { path: '/modelOptions/iterationRange', message: 'selects no boosting round: begin must be below end (got [4,2])' },
  ]);
  t.same(checkGenomeManifest({ ...base, framework: 'lightgbm', modelOptions: { iterationRange: [0, 2] } }), [
    { path: '/modelOptions/iterationRange', message: 'applies to XGBoost models only (framework is "lightgbm")' },
  ]);
  t.same(checkGenomeManifest({ ...base, modelOptions: { rounds: 3 } }), [{ path: '/modelOptions/rounds', message: 'is not a known property (check the spelling)' }]);
  t.throws(() => validateGenomeManifest({ ...base, modelOptions: { iterationRange: 'last' } }), { code: 'INVALID_PACKAGE', message: /\/modelOptions\/iterationRange/ });
});

t.test('levels become featureCategories of the opened tree', async (t) => {
  const features = [
    { name: 'x0', type: 'float' },
    { name: 'x1', type: 'float' },
    { name: 'x2', type: 'float' },
    { name: 'x3', type: 'categorical', levels: DIGITS },
  ];
  const p = await loadGenomePackage(ankanePackage('levels', {}, features));
  const { tree, predictor } = await p.open();
  t.same(tree!.featureCategories, [undefined, undefined, undefined, DIGITS]);
  const named = encodeRows(tree!, [{ x0: 1.5, x1: 7, x2: 3.3, x3: 'seven' }, [9, 0.5, 2, 'zero']]);
  t.same(Array.from(named), [1.5, 7, 3.3, 7, 9, 0.5, 2, 0]);
  t.same(Array.from((await predictor.predict(named as never, 2)).data), Array.from(predictRaw(tree!, Float64Array.from([1.5, 7, 3.3, 7, 9, 0.5, 2, 0]), 2)));

  const wrongCount = await loadGenomePackage(ankanePackage('levels-count', {}, features.slice(1)));
  await t.rejects(wrongCount.open(), { code: 'INVALID_PACKAGE', message: /\/input\/features lists 3 features but the model model.json takes 4/ });
});

t.test('levels must agree with the category names an XGBoost 3.1+ model stores', async (t) => {
  // LinearRegressionAuto (jpmml-AGPL test fixture, used here as a test input only) stores cylinders as
  // "3","4","5","6","8" and records best_iteration 24 of 28 rounds.
  const features = (cylinders: string[]) => [
    { name: 'cylinders', type: 'categorical', levels: cylinders },
    { name: 'displacement', type: 'float' },
    { name: 'horsepower', type: 'int' },
    { name: 'weight', type: 'int' },
    { name: 'acceleration', type: 'float' },
    { name: 'model_year', type: 'categorical', levels: Array.from({ length: 13 }, (_, i) => String(70 + i)) },
    { name: 'origin', type: 'categorical', levels: ['1', '2', '3'] },
  ];
  const write = (dir: string, cylinders: string[]) => {
    const d = join(tmp, dir);
    mkdirSync(d);
    cpSync(fixture('models/xgboost/jpmml-AGPL/LinearRegressionAuto.ubj'), join(d, 'model.ubj'));
    writeFileSync(
      join(d, 'genome.json'),
      JSON.stringify({
        schemaVersion: 'genome.package/v1', name: dir, version: '1.0.0', framework: 'xgboost',
        artifacts: { model: 'model.ubj' }, output: { space: 'regression', target: 'mpg' },
        modelOptions: { iterationRange: 'best' },
        input: { modality: 'tabular', features: features(cylinders) },
      }),
    );
    return d;
  };
  const ok = await (await loadGenomePackage(write('auto-ok', ['3', '4', '5', '6', '8']))).open();
  t.equal(ok.tree!.nTrees, 25, "'best' = best_iteration + 1 rounds");
  t.same(ok.tree!.featureCategories![0], ['3', '4', '5', '6', '8']);
  const bad = await loadGenomePackage(write('auto-bad', ['4', '3', '5', '6', '8']));
  await t.rejects(bad.open(), { code: 'INVALID_PACKAGE', message: /^\/input\/features\/0\/levels: .* differ from the categories the model model.ubj stores for feature "cylinders"/ });
});
