// Gemm/MatMul-based linear graphs (the shape of exported torch/keras logistic and linear models), built byte by
// byte with the library's protobuf writer (tools/onnx-build.ts) and run by onnxruntime as the reference.
import t from 'tap';
import { applyTransform, linearPredictRaw, loadOnnxLinearModel } from '../src/index.js';
import { buildModel, type InitializerSpec } from '../../../tools/onnx-build.js';
import { maxRelErr, randomRows, runOrt } from './onnx-helpers.js';

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number>;
}

/** A graph from X [N, nFeatures] to `out`, through the shared test builder (tools/onnx-build.ts). */
function buildGraph(nodes: Node[], inits: InitializerSpec[], nFeatures: number, out: string, outDims: (number | string)[]): Uint8Array {
  const specs = nodes.map((n) => ({ op: n.op, inputs: n.inputs, outputs: n.outputs, attrs: Object.entries(n.ints ?? {}).map(([name, i]) => ({ name, i })) }));
  return buildModel(specs, ['X', ['N', nFeatures]], [out, outDims], inits);
}

const floatTensor = (name: string, dims: number[], values: number[]): InitializerSpec => ({ name, dims, data: Float32Array.from(values) });

const f32 = (v: number) => Math.fround(v);

t.test('Gemm(transB=1) + Softmax reads as a 3-class logistic model that reproduces onnxruntime', async (t) => {
  const W = [0.5, -1.25, 2, 0.75, -0.3, 0.9, -1.1, 0.2, 1.7, 0.05, -0.6, -2.2].map(f32); // 3 x 4
  const B = [0.1, -0.4, 0.25].map(f32);
  const bytes = buildGraph(
    [
      { op: 'Gemm', inputs: ['X', 'W', 'B'], outputs: ['logits'], ints: { transB: 1 } },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], ints: { axis: 1 } },
    ],
    [floatTensor('W', [3, 4], W), floatTensor('B', [3], B)],
    4,
    'probabilities',
    ['N', 3],
  );
  const model = loadOnnxLinearModel(bytes);
  t.equal(model.nFeatures, 4);
  t.equal(model.nOutputs, 3);
  t.equal(model.link, 'softmax');
  for (let k = 0; k < 3; k++) for (let j = 0; j < 4; j++) t.equal(model.coefficients[k * 4 + j], W[k * 4 + j], `w[${k}][${j}]`);
  const n = 25;
  const rows = randomRows(n, 4, -3, 3, 11);
  const ref = await runOrt(bytes, rows, n, 4, ['probabilities']);
  const ours = applyTransform({ nOutputs: 3, transform: 'softmax' } as never, linearPredictRaw(model, rows, n), n);
  t.ok(maxRelErr(ours, ref.probabilities!) <= 1e-5, `max rel err ${maxRelErr(ours, ref.probabilities!)}`);
});

t.test('MatMul + Add + Sigmoid reads as a binary logistic model that reproduces onnxruntime', async (t) => {
  const W = [1.5, -0.25, 0.8].map(f32); // 3 x 1
  const B = [-0.35].map(f32);
  const bytes = buildGraph(
    [
      { op: 'MatMul', inputs: ['X', 'W'], outputs: ['z0'] },
      { op: 'Add', inputs: ['z0', 'B'], outputs: ['z'] },
      { op: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
    ],
    [floatTensor('W', [3, 1], W), floatTensor('B', [1], B)],
    3,
    'p',
    ['N', 1],
  );
  const model = loadOnnxLinearModel(bytes);
  t.equal(model.nOutputs, 1);
  t.equal(model.link, 'logistic');
  t.equal(model.intercepts[0], B[0]);
  const n = 25;
  const rows = randomRows(n, 3, -4, 4, 12);
  const ref = await runOrt(bytes, rows, n, 3, ['p']);
  const ours = applyTransform({ nOutputs: 1, transform: 'logistic' } as never, linearPredictRaw(model, rows, n), n);
  t.ok(maxRelErr(ours, ref.p!) <= 1e-5, `max rel err ${maxRelErr(ours, ref.p!)}`);
});
