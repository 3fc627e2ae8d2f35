import t from 'tap';
import { applyTransform, linearPredictRaw, loadOnnxLinearModel, loadTreeModel, sniffTreeFormat, predictRaw } from '../src/index.js';
import { readFixture } from '../../../tools/fixtures.js';
import { exposeOutputs, maxRelErr, randomRows, runOrt } from './onnx-helpers.js';

const TOL = 1e-5;

function linkRows(link: string, raw: Float64Array, K: number): Float64Array {
  // Reuse the tree transform code path through a minimal model-shaped object.
  return applyTransform({ nOutputs: K, transform: link } as never, raw, raw.length / K);
}

const cases = [
  { file: ['models', 'onnx-trees', 'linear_classifier_logreg_iris.onnx'], fetch: 'probability_tensor', K: 3, link: 'logistic' },
  { file: ['models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnLogitisticRegressionMulti.model.onnx'], fetch: 'probability_tensor', K: 3, link: 'logistic' },
  { file: ['models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnLinearRegression-Dec4.model.onnx'], fetch: 'variable', K: 1, link: 'identity' },
] as const;
for (const c of cases) {
  t.test(`${c.file.at(-1)}: coefficients reproduce onnxruntime`, async (t) => {
    const bytes = readFixture(...c.file);
    const model = loadOnnxLinearModel(bytes);
    t.equal(model.nOutputs, c.K);
    t.equal(model.link, c.link);
    const n = 21;
    const rows = randomRows(n, model.nFeatures, -3, 3, 5);
    const ortOut = await runOrt(c.fetch === 'variable' ? bytes : exposeOutputs(bytes, [c.fetch]), rows, n, model.nFeatures, [c.fetch], c.file.at(-1) === 'linear_classifier_logreg_iris.onnx' ? 3 : false);
    const ours = linkRows(model.link, linearPredictRaw(model, rows, n), model.nOutputs);
    t.ok(maxRelErr(ours, ortOut[c.fetch]!) <= TOL, `max rel err ${maxRelErr(ours, ortOut[c.fetch]!)}`);
  });
}

t.test('Gemm-based graph: the last layer of a CNN reads as a linear model only when it reads the input', async (t) => {
  t.throws(() => loadOnnxLinearModel(readFixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx')), { code: 'UNSUPPORTED' });
});

t.test('loadTreeModel sniffs every format', async (t) => {
  const cases: [string[], string][] = [
    [['models', 'xgboost', 'ankane-regression', 'model.json'], 'xgboost-json'],
    [['models', 'lightgbm', 'ankane', 'model.txt'], 'lightgbm-text'],
    [['models', 'onnx-trees', 'skl2onnx_treecl.onnx'], 'onnx'],
  ];
  for (const [file, fmt] of cases) {
    const bytes = readFixture(...file);
    t.equal(sniffTreeFormat(bytes), fmt);
    const m = loadTreeModel(bytes);
    t.ok(m.nTrees > 0);
    t.ok(predictRaw(m, new Float64Array(m.nFeatures), 1).every(Number.isFinite));
  }
  t.throws(() => loadTreeModel(new TextEncoder().encode('PK\x03\x04 zip?')), { code: 'INVALID_MODEL' });
});
