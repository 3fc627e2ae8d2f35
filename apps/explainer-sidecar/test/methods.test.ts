// Every built-in method through the same Explain call (one registry): tree_shap, kernel_shap, permutation_shap,
// exact_shap, lime, anchors on an ONNX random forest with background rows; methods that cannot apply say why.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { fixture, readFixtureJson, readFixtureText } from '../../../tools/fixtures.js';
import { client, describeModel, explainCall, grpcError } from './helpers/client.js';
import { linearSetup } from './helpers/linear.js';
import { sidecar } from './helpers/sidecar.js';

const rows = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });

t.test('built-in methods', async (t) => {
  const ref = readFixtureJson<{ feature_names: string[]; x: number[][]; background_rows: number[] }>('oracles', 'trees', 'iris-rf-classifier', 'reference.json');
  const lines = readFixtureText('oracles', 'trees', 'iris-rf-classifier', 'data.csv').trim().split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-methods-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bg = join(dir, 'bg.csv');
  writeFileSync(bg, [lines[0], ...ref.background_rows.map((i) => lines[i + 1])].join('\n'));
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [{ kind: 'file', name: 'iris', path: fixture('oracles', 'trees', 'iris-rf-classifier', 'model.onnx'), featureNames: ref.feature_names, backgroundPath: bg }, lin.spec] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const info = (await describeModel(c, 'iris')).model!;
  t.same(info.methods, ['tree_shap', 'kernel_shap', 'permutation_shap', 'exact_shap', 'lime', 'anchors'], 'all methods apply to a tree model with background rows');
  const x = ref.x.slice(0, 2);

  const ts = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'tree_shap', parameters: { feature_perturbation: 'interventional' }, tabular: rows(x) });
  const ex = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'exact_shap', tabular: rows(x) });
  // Interventional TreeSHAP and exact Shapley values over the same background explain the same (probability) model output.
  const tsProb = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: 'tree_shap', parameters: { feature_perturbation: 'interventional', model_output: 'probability' }, tabular: rows(x) });
  let worst = 0;
  for (let i = 0; i < ex.values.length; i++) worst = Math.max(worst, Math.abs(ex.values[i]! - tsProb.values[i]!));
  t.ok(worst < 1e-9, `exact_shap == interventional tree_shap in probability space (max diff ${worst.toExponential(2)})`);
  t.same(ts.shape, [2, 4, 3]);

  for (const [method, params] of [
    ['kernel_shap', { nsamples: 100, seed: 1 }],
    ['permutation_shap', { seed: 1 }],
    ['lime', { num_samples: 500, seed: 1 }],
    ['anchors', { seed: 1, coverage_samples: 500, batch_size: 50 }],
  ] as const) {
    const r = await explainCall(c, { model: { name: 'iris', version: '' }, methodName: method, parameters: params, tabular: rows(x) });
    t.equal(r.shape[0], 2, `${method}: two rows`);
    t.match(r.method, new RegExp(`^${method.split('_')[0]}`), `${method}: method ${r.method}`);
    const j = JSON.parse(r.explanationJson) as { schema: string };
    t.equal(j.schema, 'genome.explanation/v1', `${method}: explanation JSON`);
  }

  const e = await grpcError(explainCall(c, { model: { name: 'linear', version: '' }, methodName: 'tree_shap', tabular: rows([[1, 2, 3]]) }));
  t.equal(e.code, status.FAILED_PRECONDITION, 'tree_shap on a remote black-box model');
  t.match(e.details, /method "tree_shap" cannot explain model "linear": it is not a tree ensemble/);
});

t.test('linear_shap on an ONNX logistic regression equals w * (x - mean)', async (t) => {
  const { loadOnnxLinearModel } = await import('@genome/model-format');
  const { readFileSync } = await import('node:fs');
  const path = fixture('models', 'onnx-trees', 'linear_classifier_logreg_iris.onnx');
  const lin = loadOnnxLinearModel(readFileSync(path));
  const F = lin.nFeatures;
  const names = Array.from({ length: F }, (_, i) => `x${i}`);
  const bgRows = [0, 1, 2, 3, 4].map((r) => names.map((_, f) => ((r * 7 + f * 3) % 5) + 0.5 * f));
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-linear-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bg = join(dir, 'bg.csv');
  writeFileSync(bg, `${names.join(',')}\n${bgRows.map((r) => r.join(',')).join('\n')}\n`);
  const s = await sidecar({ models: [{ kind: 'file', name: 'logreg', path, featureNames: names, backgroundPath: bg }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  t.equal((await describeModel(c, 'logreg')).model!.methods[0], 'linear_shap', 'linear_shap is the default for a linear model');
  const x = [[5.1, 3.5, 1.4, 0.2].slice(0, F), [6.7, 3.0, 5.2, 2.3].slice(0, F)];
  const r = await explainCall(c, { methodName: 'linear_shap', tabular: rows(x) });
  const K = lin.nOutputs;
  t.same(r.shape, [2, F, K]);
  const mean = names.map((_, f) => bgRows.reduce((a, row) => a + row[f]!, 0) / bgRows.length);
  let worst = 0;
  x.forEach((row, i) => row.forEach((v, f) => {
    for (let k = 0; k < K; k++) worst = Math.max(worst, Math.abs(r.values[(i * F + f) * K + k]! - lin.coefficients[k * F + f]! * (v - mean[f]!)));
  }));
  t.ok(worst < 1e-9, `closed form (max |diff| ${worst.toExponential(2)})`);
});
