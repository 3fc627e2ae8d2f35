// Gemm/MatMul-based linear graphs (the shape of exported torch/keras logistic and linear models), built here
// byte by byte with the library's protobuf writer and run by onnxruntime as the reference.
import t from 'tap';
import { applyTransform, linearPredictRaw, loadOnnxLinearModel, ProtoWriter } from '../src/index.js';
import { maxRelErr, randomRows, runOrt } from './onnx-helpers.js';

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number>;
}

function valueInfo(name: string, dims: (number | string)[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) shape.bytes(1, typeof d === 'number' ? new ProtoWriter().varint(1, d).finish() : new ProtoWriter().string(2, d).finish());
  const tensor = new ProtoWriter().varint(1, 1).bytes(2, shape.finish()).finish();
  return new ProtoWriter().string(1, name).bytes(2, new ProtoWriter().bytes(1, tensor).finish()).finish();
}

function floatTensor(name: string, dims: number[], values: number[]): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.varint(1, d);
  const raw = new Uint8Array(new Float32Array(values).buffer);
  return w.varint(2, 1).string(8, name).bytes(9, raw).finish();
}

function buildGraph(nodes: Node[], inits: Uint8Array[], nFeatures: number, out: string, outDims: (number | string)[]): Uint8Array {
  const g = new ProtoWriter();
  for (const n of nodes) {
    const w = new ProtoWriter();
    for (const i of n.inputs) w.string(1, i);
    for (const o of n.outputs) w.string(2, o);
    w.string(3, n.outputs[0]!).string(4, n.op);
    for (const [name, v] of Object.entries(n.ints ?? {})) w.bytes(5, new ProtoWriter().string(1, name).varint(3, v).varint(20, 2).finish());
    g.bytes(1, w.finish());
  }
  g.string(2, 'linear');
  for (const i of inits) g.bytes(5, i);
  g.bytes(11, valueInfo('X', ['N', nFeatures]));
  g.bytes(12, valueInfo(out, outDims));
  return new ProtoWriter().varint(1, 8).bytes(8, new ProtoWriter().varint(2, 13).finish()).bytes(7, g.finish()).finish();
}

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
