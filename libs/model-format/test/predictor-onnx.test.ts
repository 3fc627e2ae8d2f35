import t from 'tap';
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { ModelFormatError, onnxPredictor } from '../src/index.js';
import { fixture, readFixtureJson } from '../../../tools/fixtures.js';

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

t.test('california housing RF (regression, dynamic batch): matches scikit-learn predictions', async (t) => {
  const ref = readFixtureJson<{ x: number[][]; sklearn_prediction: number[] }>(
    'oracles/trees/california-housing-rf-seed/reference.json',
  );
  const p = await onnxPredictor(fixture('oracles/trees/california-housing-rf-seed/model.onnx'), { maxBatch: 3 });
  t.equal(p.kind, 'tabular');
  t.equal(p.nFeatures, 8);
  t.equal(p.outputSpace, 'regression');
  t.same(p.outputNames, ['variable']);
  const rows = new Float64Array(ref.x.flat());
  const m = await p.predict(rows, ref.x.length);
  t.equal(m.rows, ref.x.length);
  t.equal(m.cols, 1);
  // ONNX TreeEnsembleRegressor runs in float32: agreement to float32 precision.
  for (let i = 0; i < ref.x.length; i++) t.ok(close(m.data[i]!, ref.sklearn_prediction[i]!, 1e-5), `row ${i}`);
  const empty = await p.predict(new Float64Array(0), 0);
  t.equal(empty.rows, 0);
  await t.rejects(p.predict(new Float64Array(7), 1), { code: 'INVALID_INPUT' });
  await p.close!();
  await p.close!();
  await t.rejects(p.predict(rows, ref.x.length), { code: 'RUNTIME' });
});

async function labelsOf(path: string, x: Float32Array, nFeatures: number, fixedBatch: boolean) {
  const s = await ort.InferenceSession.create(path, { logSeverityLevel: 3 });
  const n = x.length / nFeatures;
  const out: string[] = [];
  const per = fixedBatch ? 1 : n;
  for (let i = 0; i < n; i += per) {
    const r = await s.run(
      { [s.inputNames[0]!]: new ort.Tensor('float32', x.slice(i * nFeatures, (i + per) * nFeatures), [per, nFeatures]) },
      [s.outputNames[0]!],
    );
    for (const v of Array.from(r[s.outputNames[0]!]!.data as ArrayLike<unknown>)) out.push(String(v));
  }
  return out;
}

function rowsOf(n: number, f: number, seed: number): Float64Array {
  let s = seed;
  const a = new Float64Array(n * f);
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = (s / 2147483648) * 8 - 1;
  }
  return a;
}

for (const [name, file, f, fixed, labels] of [
  ['random forest iris with ZipMap (int labels)', 'models/onnx-trees/skl2onnx_randomforest_iris.onnx', 4, true, ['0', '1', '2']],
  ['LightGBM classifier with ZipMap', 'models/onnx-trees/lightgbm_classifier_zipmap.onnx', 2, true, undefined],
  ['binary GB classifier with string labels + ZipMap', 'models/onnx-trees/onnxmltools-1.3.1/SklearnBinGradientBoostingClassifier.model.onnx', 2, true, ['A', 'B']],
  ['label + probabilities pair (binary)', 'models/onnx-trees/skl2onnx_treecl2.onnx', 20, false, undefined],
  ['label + probabilities pair (3 classes)', 'models/onnx-trees/skl2onnx_treecl.onnx', 20, false, undefined],
] as const) {
  t.test(`${name}: probabilities whose argmax is onnxruntime's label`, async (t) => {
    const path = fixture(file);
    const p = await onnxPredictor(path, { maxBatch: 4, nFeatures: f });
    t.equal(p.outputSpace, 'probability');
    if (labels) t.same(p.outputNames, labels);
    const n = 11;
    const x = rowsOf(n, f, 7);
    const m = await p.predict(x, n);
    t.equal(m.rows, n);
    t.equal(m.cols, p.outputNames.length);
    const expected = await labelsOf(path, Float32Array.from(x), f, fixed);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      let best = 0;
      for (let c = 0; c < m.cols; c++) {
        sum += m.data[i * m.cols + c]!;
        if (m.data[i * m.cols + c]! > m.data[i * m.cols + best]!) best = c;
      }
      t.ok(close(sum, 1, 1e-5), `row ${i} probabilities sum to 1`);
      t.equal(p.outputNames[best], expected[i], `row ${i} argmax = label`);
    }
    await p.close!();
  });
}

t.test('image model (NCHW): logits equal the PyTorch reference; batches of 3 are split', async (t) => {
  const ref = readFixtureJson<{ input: number[][][]; logits: number[]; input_shape: number[] }>(
    'oracles/cams/small-cnn-squares/reference.json',
  );
  const p = await onnxPredictor(fixture('oracles/cams/small-cnn-squares/model.onnx'), { kind: 'image', maxBatch: 2 });
  t.equal(p.kind, 'image');
  t.equal(p.layout, 'NCHW');
  t.same(p.inputShape, ref.input_shape);
  t.equal(p.outputSpace, 'raw');
  const one = Float32Array.from(ref.input.flat(2));
  const three = new Float32Array(one.length * 3);
  for (let k = 0; k < 3; k++) three.set(one, k * one.length);
  const m = await p.predict(three, 3);
  t.equal(m.rows, 3);
  t.equal(m.cols, ref.logits.length);
  for (let k = 0; k < 3; k++) {
    for (let c = 0; c < m.cols; c++) t.ok(Math.abs(m.data[k * m.cols + c]! - ref.logits[c]!) < 1e-4, `image ${k} logit ${c}`);
  }
  await p.close!();
});

t.test('fixed batch 1 image model (mnist-8) runs image by image', async (t) => {
  const p = await onnxPredictor(fixture('models/onnx-cnn/mnist-8-optimized.onnx'), { kind: 'image' });
  t.same(p.inputShape, [1, 1, 28, 28]);
  t.equal(p.outputNames.length, 10);
  const m = await p.predict(new Float32Array(28 * 28 * 3).fill(0.5), 3);
  t.equal(m.rows, 3);
  t.same(Array.from(m.data.subarray(0, 10)), Array.from(m.data.subarray(20, 30)));
  await p.close!();
});

t.test('bad input gives typed errors', async (t) => {
  await t.rejects(onnxPredictor('/nonexistent/model.onnx'), { code: 'INVALID_INPUT' });
  await t.rejects(onnxPredictor(new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0x7f])), ModelFormatError);
  const bytes = readFileSync(fixture('oracles/trees/california-housing-rf-seed/model.onnx'));
  await t.rejects(onnxPredictor(bytes.subarray(0, bytes.length / 2)), { code: 'INVALID_MODEL' });
  await t.rejects(onnxPredictor(bytes, { outputName: 'nope' }), /no output "nope"/);
  await t.rejects(onnxPredictor(bytes, { maxBatch: 0 }), { code: 'INVALID_INPUT' });
});
