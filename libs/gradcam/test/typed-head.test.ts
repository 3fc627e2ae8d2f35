/**
 * The typed-array head evaluator against TF.js autodiff of the same ONNX head: every ONNX fixture head, a
 * synthetic head with every typed op in unusual configurations (grouped/strided/dilated/asymmetrically padded
 * conv, ceil_mode pools with padding and ties, Clip, BatchNormalization, broadcast Add/Sub, Concat, MatMul,
 * transposed scaled Gemm), class / softmax / custom targets, batches; and the fallback to TF.js for a head
 * with an op outside TYPED_HEAD_OPS.
 */
import t from 'tap';
import { computeCams, loadCamModel, TYPED_HEAD_OPS, type OnnxCamModel } from '../src/index.js';
import { fixture } from '../../../tools/fixtures.js';
import { buildModel, type InitializerSpec } from '../../../tools/onnx-build.js';
import { compareEngines as compare } from './engines.js';
import { camReference, relErr } from './helpers.js';

t.test('ONNX fixture heads: typed evaluator = TF.js autodiff', async (t) => {
  for (const name of ['small-cnn-squares', 'tiny-resnet', 'squeezenet1_1']) {
    const ref = camReference(name);
    await compare(t, name, fixture('oracles', 'cams', name, 'model.onnx'), ref.target_tensor, undefined, 2);
  }
  const ref = camReference('tiny-resnet');
  const x1 = Float32Array.from(ref.input.flat(2));
  const x2 = new Float32Array(x1.length * 2);
  x2.set(x1);
  x2.set(x1.map((v) => -v), x1.length);
  await compare(t, 'tiny-resnet from /layer1 (3x3 convs, stride 2, skip connection, external weights)', fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), '/layer1/Relu_output_0', x2, 2);
  const mnist = fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx');
  // fixed batch of 1
  await compare(t, 'mnist-8 default target (Reshape, Gemm)', mnist, undefined, undefined, 1);
  await compare(t, 'mnist-8 ReLU114 (MaxPool with tied zeros)', mnist, 'ReLU114_Output_0', undefined, 1);
});

function weights(name: string, dims: number[], phase: number, scale = 1): InitializerSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, data: Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 1.7 + phase)) };
}

t.test('every typed op, unusual configurations: typed = TF.js', async (t) => {
  const init: InitializerSpec[] = [
    weights('W1', [6, 2, 3, 3], 0.3),
    weights('B1', [6], 0.9),
    weights('bn_s', [6], 1.1),
    weights('bn_b', [6], 0.2),
    weights('bn_m', [6], 0.4, 0.1),
    { name: 'bn_v', dims: [6], data: Float32Array.from({ length: 6 }, (_, i) => 0.5 + i * 0.1) },
    { name: 'lo', dims: [], data: Float32Array.of(-0.5) },
    { name: 'hi', dims: [], data: Float32Array.of(0.6) },
    weights('W2', [6, 4, 1, 1], 2.1),
    weights('bias', [6, 1, 1], 0.7),
    weights('W3', [3, 4, 3, 3], 1.9, 0.5),
    weights('M1', [19, 8], 1.3, 0.5),
    weights('vec', [8], 0.1),
    weights('G', [5, 8], 0.5),
    weights('C', [5], 0.8),
  ];
  const bytes = buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'W1', 'B1'], outputs: ['c1'], attrs: [{ name: 'group', i: 2 }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 0, 2, 1] }] },
      { op: 'Conv', inputs: ['r', 'W3'], outputs: ['c3'], attrs: [{ name: 'pads', ints: [2, 1, 1, 0] }] },
      { op: 'Relu', inputs: ['c3'], outputs: ['r3'] },
      { op: 'GlobalAveragePool', inputs: ['r3'], outputs: ['gap3'] },
      { op: 'BatchNormalization', inputs: ['c1', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], outputs: ['bn'], attrs: [{ name: 'epsilon', f: 1e-3 }] },
      { op: 'Clip', inputs: ['bn', 'lo', 'hi'], outputs: ['cl'] },
      { op: 'MaxPool', inputs: ['cl'], outputs: ['mp'], attrs: [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 0, 0] }, { name: 'ceil_mode', i: 1 }] },
      { op: 'AveragePool', inputs: ['r'], outputs: ['ap'], attrs: [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }] },
      { op: 'AveragePool', inputs: ['r'], outputs: ['ap2'], attrs: [{ name: 'kernel_shape', ints: [2, 3] }, { name: 'strides', ints: [3, 2] }, { name: 'pads', ints: [0, 1, 1, 1] }, { name: 'ceil_mode', i: 1 }, { name: 'count_include_pad', i: 1 }] },
      { op: 'Conv', inputs: ['ap', 'W2'], outputs: ['pw'] },
      { op: 'Relu', inputs: ['pw'], outputs: ['pr'] },
      { op: 'Add', inputs: ['pr', 'bias'], outputs: ['add'] },
      { op: 'Identity', inputs: ['add'], outputs: ['id'] },
      { op: 'GlobalAveragePool', inputs: ['id'], outputs: ['gap1'] },
      { op: 'GlobalAveragePool', inputs: ['mp'], outputs: ['gap2'] },
      { op: 'ReduceMean', inputs: ['ap2'], outputs: ['rm'], attrs: [{ name: 'axes', ints: [2, 3] }, { name: 'keepdims', i: 1 }] },
      { op: 'Concat', inputs: ['gap1', 'gap2', 'rm', 'gap3'], outputs: ['cat'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Flatten', inputs: ['cat'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'MatMul', inputs: ['f', 'M1'], outputs: ['mm'] },
      { op: 'Dropout', inputs: ['mm'], outputs: ['d'] },
      { op: 'Sub', inputs: ['d', 'vec'], outputs: ['sub'] },
      { op: 'Add', inputs: ['sub', 'd'], outputs: ['twice'] },
      { op: 'Gemm', inputs: ['twice', 'G', 'C'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }, { name: 'alpha', f: 0.7 }] },
    ],
    ['x', ['N', 4, 9, 9]],
    ['y', ['N', 5]],
    init,
  );
  const m = (await loadCamModel(bytes, { target: 'r' })) as OnnxCamModel;
  const ops = new Set((m as unknown as { plan: { nodes: { opType: string }[] } }).plan.nodes.map((n) => n.opType));
  await m.dispose();
  for (const op of ['Conv', 'BatchNormalization', 'Clip', 'MaxPool', 'AveragePool', 'Add', 'Sub', 'Concat', 'MatMul', 'Gemm', 'Dropout', 'Identity', 'Flatten', 'ReduceMean', 'GlobalAveragePool', 'Relu']) {
    t.ok(ops.has(op) && TYPED_HEAD_OPS.includes(op), `head exercises ${op}`);
  }
  // integer-valued inputs make the clipped values and max-pool windows tie often
  const x = Float32Array.from({ length: 3 * 4 * 81 }, (_, i) => Math.round(2 * Math.sin(i * 0.61)) * 0.5);
  await compare(t, 'synthetic head', bytes, 'r', x, 3);
});

t.test('a head with an op outside TYPED_HEAD_OPS falls back to TF.js', async (t) => {
  const bytes = buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Tanh', inputs: ['r'], outputs: ['s'] },
      { op: 'GlobalAveragePool', inputs: ['s'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['y'], attrs: [{ name: 'axis', i: 1 }] },
    ],
    ['x', ['N', 3, 4, 4]],
    ['y', ['N', 3]],
  );
  t.notOk(TYPED_HEAD_OPS.includes('Tanh'));
  const model = (await loadCamModel(bytes, { target: 'r' })) as OnnxCamModel;
  t.teardown(() => model.dispose());
  t.equal(model.gradientEngine, 'tfjs', 'TF.js engine selected');
  t.equal(model.gradientError, undefined, 'exact gradients still available');
  const x = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * 0.9));
  const r = (await computeCams(model, x, 1, { method: 'gradcam', targets: 1 })).results[0]!;
  // d mean(tanh(r_1)) / d r_1 = tanh'(r_1) / 16, averaged over space for alpha
  let alpha = 0;
  for (let s = 0; s < 16; s++) {
    const v = Math.max(x[16 + s]!, 0);
    alpha += (1 - Math.tanh(v) ** 2) / 16 / 16;
  }
  t.ok(Math.abs(r.weights![1]! - alpha) < 1e-6 * alpha + 1e-9, `alpha by TF.js = analytic (${r.weights![1]} vs ${alpha})`);
  t.equal(r.weights![0], 0, 'other channels get no gradient');
});

t.test('dilated grouped convolution (no TF.js gradient): typed = finite differences of the onnxruntime head', async (t) => {
  // TF.js cannot differentiate dilated convolutions; this head is linear in r, so one-sided differences with a
  // unit step are exact up to float32 rounding.
  const bytes = buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'W'], outputs: ['c'], attrs: [{ name: 'dilations', ints: [2, 3] }, { name: 'strides', ints: [1, 2] }, { name: 'pads', ints: [2, 1, 1, 3] }, { name: 'group', i: 2 }] },
      { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['y'], attrs: [{ name: 'axis', i: 1 }] },
    ],
    ['x', ['N', 4, 7, 9]],
    ['y', ['N', 4]],
    [weights('W', [4, 2, 3, 2], 0.4)],
  );
  const model = (await loadCamModel(bytes, { target: 'r' })) as OnnxCamModel;
  t.teardown(() => model.dispose());
  t.equal(model.gradientEngine, 'typed');
  const x = Float32Array.from({ length: 4 * 63 }, (_, i) => Math.cos(i * 0.3));
  const body = await model.body(x, 1);
  const per = body.acts.length;
  const rows = new Int32Array(per + 1);
  const acts = new Float32Array((per + 1) * per);
  for (let i = 0; i <= per; i++) {
    acts.set(body.acts, i * per);
    if (i < per) acts[i * per + i]! += 1;
  }
  const out = await model.head(body, rows, acts);
  for (const k of [0, 3]) {
    const fd = new Float64Array(per);
    for (let i = 0; i < per; i++) fd[i] = out[i * 4 + k]! - out[per * 4 + k]!;
    const g = await model.gradients(body, Int32Array.of(0), [{ kind: 'class', index: k, softmax: false }]);
    t.ok(relErr(g, fd) < 1e-5, `class ${k}: rel err ${relErr(g, fd).toExponential(2)}`);
  }
});
