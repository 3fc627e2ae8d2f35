import t from 'tap';
import { readFileSync } from 'node:fs';
import { loadOnnxTreeEnsemble, onnxPredictor, predictRaw, treePredictor } from '../src/index.js';
import { fixture, readFixtureJson } from '../../../tools/fixtures.js';

t.test('regression forest: tree predictor equals scikit-learn in both spaces', async (t) => {
  const ref = readFixtureJson<{ x: number[][]; sklearn_prediction: number[] }>('oracles/trees/california-housing-rf-seed/reference.json');
  const model = loadOnnxTreeEnsemble(readFileSync(fixture('oracles/trees/california-housing-rf-seed/model.onnx')));
  const x = Float64Array.from(ref.x.flat());
  for (const space of [undefined, 'raw', 'regression'] as const) {
    const p = treePredictor(model, space ? { outputSpace: space } : {});
    t.equal(p.kind, 'tabular');
    t.equal(p.nFeatures, 8);
    t.equal(p.outputSpace, 'regression', `${space}: identity link declares regression`);
    const m = await p.predict(x, ref.x.length);
    t.equal(m.cols, 1);
    for (let i = 0; i < ref.x.length; i++) {
      t.ok(Math.abs(m.data[i]! - ref.sklearn_prediction[i]!) <= 1e-5 * Math.max(1, Math.abs(ref.sklearn_prediction[i]!)), `${space} row ${i}`);
    }
  }
  await t.rejects(treePredictor(model).predict(new Float64Array(5), 1), { code: 'INVALID_INPUT' });
  t.throws(() => treePredictor(model, { outputSpace: 'logits' as 'raw' }), { code: 'INVALID_INPUT' });
});

t.test('binary classifier: probability space has two columns equal to onnxruntime, raw space one margin', async (t) => {
  const path = fixture('models/onnx-trees/skl2onnx_treecl2.onnx');
  const model = loadOnnxTreeEnsemble(readFileSync(path));
  const n = 16;
  const x = new Float64Array(n * model.nFeatures);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i * 12.9898) * 3);
  const prob = treePredictor(model, { outputSpace: 'probability' });
  t.equal(prob.outputSpace, 'probability');
  t.equal(prob.outputNames.length, 2);
  const ort = await onnxPredictor(path, { nFeatures: model.nFeatures });
  t.same(ort.outputNames, prob.outputNames, 'same class labels as the ONNX probabilities');
  const a = await prob.predict(x, n);
  const b = await ort.predict(x, n);
  t.equal(a.cols, 2);
  for (let i = 0; i < n * 2; i++) t.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-5, `value ${i}`);
  await ort.close!();
  const raw = treePredictor(model, { outputSpace: 'raw' });
  t.equal(raw.outputSpace, 'raw');
  const r = await raw.predict(x, n);
  t.equal(r.cols, 1);
  t.same(Array.from(r.data), Array.from(predictRaw(model, x, n)));
  for (let i = 0; i < n; i++) t.ok(Math.abs(1 / (1 + Math.exp(-r.data[i]!)) - a.data[2 * i + 1]!) < 1e-12, `logistic(raw) = p, row ${i}`);
});
