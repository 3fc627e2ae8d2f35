// TreeSHAP through the sidecar against independent oracle values (shap/brute force, computed outside this
// project): an ONNX random forest file with feature names and background rows from the oracle's data, and the
// example Genome package (the default model).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type tap from 'tap';
import { status } from '@grpc/grpc-js';
import { fixture, readFixtureJson, readFixtureText } from '../../../tools/fixtures.js';
import { DEFAULT_MODEL_DIR } from '../src/index.js';
import { client, explainCall, grpcError } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';

interface Ref {
  feature_names: string[];
  x: number[][];
  raw_prediction: number[] | number[][];
  background_rows?: number[];
  path_dependent: { expected_value: number | number[]; shap_values: number[][][] };
  interventional?: { expected_value: number | number[]; shap_values: number[][][] } | null;
}

const rows = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });

function close(t: Pick<typeof tap, 'equal' | 'ok'>, got: number[], want: number[], tol: number, what: string): void {
  t.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  t.ok(worst <= tol, `${what}: max |diff| ${worst.toExponential(2)} <= ${tol}`);
}

t.test('iris random forest (ONNX file, 3 classes) vs oracle', async (t) => {
  const ref = readFixtureJson<Ref>('oracles', 'trees', 'iris-rf-classifier', 'reference.json');
  const dataCsv = readFixtureText('oracles', 'trees', 'iris-rf-classifier', 'data.csv');
  const lines = dataCsv.trim().split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-iris-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Covers = all data rows (as the oracle); interventional background = the oracle's background rows.
  const all = join(dir, 'all.csv');
  writeFileSync(all, dataCsv);
  const bgFile = join(dir, 'bg.csv');
  writeFileSync(bgFile, [lines[0], ...ref.background_rows!.map((i) => lines[i + 1])].join('\n'));
  const model = fixture('oracles', 'trees', 'iris-rf-classifier', 'model.onnx');
  const s = await sidecar({
    models: [
      { kind: 'file', name: 'iris', path: model, featureNames: ref.feature_names, backgroundPath: all },
      { kind: 'file', name: 'iris-bg', path: model, featureNames: ref.feature_names, backgroundPath: bgFile },
    ],
  });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());

  const pd = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent' }, tabular: rows(ref.x) });
  t.same(pd.shape, [8, 4, 3]);
  t.equal(pd.method, 'tree_shap.path_dependent');
  close(t, pd.values, ref.path_dependent.shap_values.flat(2), 1e-6, 'path-dependent values');
  const ev = ([] as number[]).concat(ref.path_dependent.expected_value);
  close(t, pd.baseValues.slice(0, 3), ev, 1e-6, 'path-dependent expected value');

  const iv = await explainCall(c, { model: { name: 'iris-bg', version: '' }, methodName: 'tree_shap', parameters: { feature_perturbation: 'interventional' }, tabular: rows(ref.x) });
  t.equal(iv.method, 'tree_shap.interventional');
  close(t, iv.values, ref.interventional!.shap_values.flat(2), 1e-6, 'interventional values');

  // Output selection on the 3-class model: names pick outputs, top_k keeps the most likely class of a row.
  const sel = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'tree_shap', tabular: rows([ref.x[0]!]), outputs: { names: [pd.outputNames[2]!, pd.outputNames[0]!], indices: [], topK: 0 } });
  t.same(sel.outputNames, [pd.outputNames[2], pd.outputNames[0]]);
  t.same(sel.shape, [1, 4, 2]);
  // (one row vs eight may pick a different TreeSHAP kernel: equal up to rounding)
  close(t, [0, 1, 2, 3].map((f) => sel.values[f * 2]!), [0, 1, 2, 3].map((f) => pd.values[f * 3 + 2]!), 1e-12, 'selected output 0 = class 2');
  close(t, [0, 1, 2, 3].map((f) => sel.values[f * 2 + 1]!), [0, 1, 2, 3].map((f) => pd.values[f * 3]!), 1e-12, 'selected output 1 = class 0');
  const top = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'tree_shap', tabular: rows([ref.x[0]!]), outputs: { topK: 1, names: [], indices: [] } });
  const preds = pd.predictions.slice(0, 3);
  t.same(top.outputNames, [pd.outputNames[preds.indexOf(Math.max(...preds))]], 'top_k=1 keeps the predicted class');

  const e = await grpcError(explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'tree_shap', parameters: { feature_perturbation: 'sideways' }, tabular: rows(ref.x) }));
  t.equal(e.code, status.INVALID_ARGUMENT);
  t.match(e.details, /feature_perturbation" must be one of tree_path_dependent, interventional/);
});

t.test('the example package (default model) vs oracle predictions', async (t) => {
  const ref = readFixtureJson<Ref>('oracles', 'trees', 'california-housing-rf-seed', 'reference.json');
  const s = await sidecar({ models: [{ kind: 'package', path: DEFAULT_MODEL_DIR }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const r = await explainCall(c, { tabular: rows(ref.x) });
  t.equal(r.modelName, 'california-housing-rf');
  t.equal(r.modelVersion, '1.0.0');
  t.match(r.method, /^tree_shap\./, 'tree_shap is the default method of a tree package');
  t.same(r.shape, [8, 8, 1]);
  // Additivity and agreement with scikit-learn's prediction of the same model.
  const want = ([] as number[]).concat(...(ref.raw_prediction as number[]));
  const sums = ref.x.map((_, i) => r.baseValues[i]! + r.values.slice(i * 8, i * 8 + 8).reduce((a, b) => a + b, 0));
  close(t, sums, want, 1e-5, 'base + sum(values) = model prediction');
  close(t, r.predictions, want, 1e-5, 'predictions');
  const pd = await explainCall(c, { methodName: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent' }, tabular: rows(ref.x) });
  t.equal(pd.method, 'tree_shap.path_dependent', 'path-dependent works on the ONNX package (covers from its background rows)');
  close(t, pd.predictions, want, 1e-5, 'path-dependent predictions');
});
