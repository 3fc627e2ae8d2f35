import t from 'tap';
import {
  decodeOnnxModel,
  decodeOnnxTensor,
  initializerMap,
  loadOnnxTreeEnsemble,
  predict,
  predictRaw,
  tensorToFloat32Array,
  tensorToFloat64Array,
  withCovers,
  ModelFormatError,
  Decision,
} from '../src/index.js';
import { readFixture, readFixtureJson, readNumericCsv, fixturesDir } from '../../../tools/fixtures.js';
import { exposeOutputs, maxRelErr, randomRows, runOrt } from './onnx-helpers.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const TOL = 1e-5;

t.test('decodeOnnxModel reads CNN graphs with zero-copy weights', async (t) => {
  const bytes = readFixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx');
  const m = decodeOnnxModel(bytes);
  t.equal(m.irVersion, 8);
  t.same(m.opsetImports, [{ domain: '', version: 17 }]);
  t.same(m.graph.nodes.map((n) => n.opType).slice(0, 3), ['Conv', 'Relu', 'MaxPool']);
  t.same(m.graph.inputs[0]!.type, { kind: 'tensor', elemType: 1, shape: ['batch', 3, 48, 48] });
  const w = initializerMap(m.graph).get('head.weight')!;
  t.same(w.dims, [4, 64]);
  t.equal(w.rawData!.buffer, bytes.buffer, 'raw_data is a view into the file');
  const arr = tensorToFloat32Array(w);
  t.equal(arr.length, 256);
  t.ok(arr.every(Number.isFinite));
  const conv = m.graph.nodes[0]!;
  t.same(Array.from(conv.attributes.find((a) => a.name === 'kernel_shape')!.ints!), [3, 3]);
  // mnist-8: initializers in float_data/int64 form and a Reshape shape tensor.
  const mn = decodeOnnxModel(readFixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'));
  const shape = initializerMap(mn.graph).get('Pooling160_Output_0_reshape0_shape')!;
  t.same(Array.from(tensorToFloat64Array(shape)), [1, 256]);
  // TensorProto files.
  const input = decodeOnnxTensor(readFixture('models', 'onnx-cnn', 'mnist_test_data_set_0', 'input_0.pb'));
  t.same(input.dims, [1, 1, 28, 28]);
  t.equal(tensorToFloat32Array(input).length, 784);
});

t.test('decodeOnnxModel rejects non-ONNX input with a typed error', async (t) => {
  t.throws(() => decodeOnnxModel(new Uint8Array(0)), ModelFormatError);
  t.throws(() => decodeOnnxModel(new TextEncoder().encode('{"learner": {}}')), ModelFormatError);
  const bytes = readFixture('models', 'onnx-trees', 'skl2onnx_treecl.onnx');
  t.throws(() => decodeOnnxModel(bytes.subarray(0, bytes.length - 100)), { code: 'INVALID_MODEL' });
});

const oracleCases = ['breast-cancer-gbm-binary', 'california-housing-rf-seed', 'diabetes-gbm-regressor', 'iris-rf-classifier'];
for (const name of oracleCases) {
  t.test(`oracle ${name}: raw predictions and data covers`, async (t) => {
    const ref = readFixtureJson<{ x: number[][]; raw_prediction: number[][]; path_dependent: { expected_value: number[] } }>('oracles', 'trees', name, 'reference.json');
    const model = loadOnnxTreeEnsemble(readFixture('oracles', 'trees', name, 'model.onnx'));
    t.equal(model.hasCovers, false);
    const x = Float64Array.from(ref.x.flat());
    const raw = predictRaw(model, x, ref.x.length);
    t.ok(maxRelErr(raw, ref.raw_prediction.flat()) <= TOL, `raw predictions match (max rel err ${maxRelErr(raw, ref.raw_prediction.flat())})`);
    // Covers from the training rows: root cover = n rows, cover-weighted mean = expected value.
    const { header, rows } = readNumericCsv('oracles', 'trees', name, 'data.csv');
    const F = header.length - 1;
    t.equal(F, model.nFeatures);
    const data = Float64Array.from(rows.flatMap((r) => r.slice(0, F)));
    const covered = withCovers(model, data, rows.length);
    t.equal(covered.hasCovers, true);
    const rootCovers = Array.from(covered.treeOffsets.subarray(0, model.nTrees), (o) => covered.cover[o]);
    t.ok(rootCovers.every((c) => c === rows.length), 'every root is reached by every row');
    const meanRaw = new Float64Array(model.nOutputs);
    const all = predictRaw(model, data, rows.length);
    for (let i = 0; i < all.length; i++) meanRaw[i % model.nOutputs]! += all[i]! / rows.length;
    t.ok(maxRelErr(meanRaw, ref.path_dependent.expected_value) <= TOL, 'mean prediction over the data = path-dependent expected value');
    // Compare with onnxruntime on the data rows.
    const bytes = readFixture('oracles', 'trees', name, 'model.onnx');
    const fetch = model.binaryLabels || model.nOutputs > 1 ? 'probabilities' : 'variable';
    const ortOut = await runOrt(bytes, data, Math.min(rows.length, 2000), F, [fetch]);
    const ours = predict(model, data.subarray(0, Math.min(rows.length, 2000) * F), Math.min(rows.length, 2000));
    t.ok(maxRelErr(ours, ortOut[fetch]!) <= TOL, `matches onnxruntime (${maxRelErr(ours, ortOut[fetch]!)})`);
  });
}

interface OrtCase {
  file: string[];
  fetch: string;
  expose?: boolean;
  lo?: number;
  hi?: number;
  batch?: boolean;
}
const ortCases: OrtCase[] = [
  { file: ['models', 'onnx-trees', 'onnxmltools_xgboost_regressor.onnx'], fetch: 'variable', lo: 0, hi: 10 },
  { file: ['models', 'onnx-trees', 'skl2onnx_treecl.onnx'], fetch: 'proba_0', lo: -3, hi: 3 },
  { file: ['models', 'onnx-trees', 'skl2onnx_treecl2.onnx'], fetch: 'proba_2', lo: -3, hi: 3 },
  { file: ['models', 'onnx-trees', 'skl2onnx_treecl3.onnx'], fetch: 'proba_0', lo: -3, hi: 3 },
  { file: ['models', 'onnx-trees', 'skl2onnx_randomforest_iris.onnx'], fetch: 'probabilities', expose: true, lo: 0, hi: 8, batch: false },
  { file: ['models', 'onnx-trees', 'lightgbm_classifier_zipmap.onnx'], fetch: 'probability_tensor', expose: true, lo: -3, hi: 3, batch: false },
  { file: ['models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnBinGradientBoostingClassifier.model.onnx'], fetch: 'probability_tensor', expose: true, lo: -3, hi: 3, batch: false },
  { file: ['models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnRegGradientBoostingRegressor.model.onnx'], fetch: 'variable', lo: -3, hi: 3, batch: false },
  { file: ['models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnMRgRandomForestRegressor.model.onnx'], fetch: 'variable', lo: -3, hi: 3, batch: false },
];
for (const name of readdirSync(join(fixturesDir, 'bench'))) {
  ortCases.push({ file: ['bench', name, 'model.onnx'], fetch: name.includes('binary') ? 'probabilities' : 'variable' });
}

for (const c of ortCases) {
  t.test(`onnxruntime agreement: ${c.file.at(-1)} (${c.file.at(-2)})`, async (t) => {
    let bytes: Uint8Array = readFixture(...c.file);
    const model = loadOnnxTreeEnsemble(bytes);
    if (c.expose) bytes = exposeOutputs(bytes, [c.fetch]);
    const n = c.batch === false ? 60 : 300;
    let rows: Float64Array;
    if (c.file[0] === 'bench') {
      const { rows: data } = readNumericCsv(...c.file.slice(0, 2), 'data.csv');
      rows = Float64Array.from(data.slice(0, n).flatMap((r) => r.slice(0, model.nFeatures).map(Math.fround)));
    } else rows = randomRows(n, model.nFeatures, c.lo ?? -3, c.hi ?? 3, 7);
    const ortOut = await runOrt(bytes, rows, n, model.nFeatures, [c.fetch], c.batch !== false);
    const ours = predict(model, rows, n);
    const err = maxRelErr(ours, ortOut[c.fetch]!);
    t.ok(err <= TOL, `max rel err ${err} (${model.nTrees} trees, ${model.nOutputs} outputs)`);
  });
}

t.test('bench models: first-row raw prediction from meta.json', async (t) => {
  for (const name of readdirSync(join(fixturesDir, 'bench'))) {
    const meta = readFixtureJson<{ trees: number; raw_first_row: number[]; features: number }>('bench', name, 'meta.json');
    const model = loadOnnxTreeEnsemble(readFixture('bench', name, 'model.onnx'));
    t.equal(model.nTrees, meta.trees);
    t.equal(model.nFeatures, meta.features);
    const { rows } = readNumericCsv('bench', name, 'data.csv');
    const raw = predictRaw(model, Float64Array.from(rows[0]!.slice(0, model.nFeatures)), 1);
    t.ok(maxRelErr(raw, meta.raw_first_row) <= TOL, `${name}: ${raw[0]} vs ${meta.raw_first_row[0]}`);
  }
});

for (const name of ['set_membership', 'single_tree']) {
  t.test(`opset 5 TreeEnsemble ${name}: ONNX backend test data`, async (t) => {
    const dir = ['models', 'onnx-trees', 'opset5-tree-ensemble', name];
    const model = loadOnnxTreeEnsemble(readFixture(...dir, 'model.onnx'));
    const x = decodeOnnxTensor(readFixture(...dir, 'input_0.pb'));
    const y = decodeOnnxTensor(readFixture(...dir, 'output_0.pb'));
    const rows = tensorToFloat64Array(x);
    const out = predict(model, rows, x.dims[0]!);
    t.same(y.dims, [x.dims[0], model.nOutputs]);
    t.ok(maxRelErr(out, tensorToFloat64Array(y)) <= TOL, `outputs ${Array.from(out)} vs ${Array.from(tensorToFloat64Array(y))}`);
    if (name === 'set_membership') t.ok(Array.from(model.decision).includes(Decision.LT), 'non-integer set expanded to comparisons');
  });
}

t.test('loadOnnxTreeEnsemble errors', async (t) => {
  t.throws(() => loadOnnxTreeEnsemble(readFixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx')), { code: 'INVALID_MODEL' });
});
