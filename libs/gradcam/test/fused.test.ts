/**
 * The fused gradient path: the model extended with its head's backward pass (onnxruntime, one call per image for
 * raw class scores) against TF.js autodiff of the same head, on the ONNX fixtures (mnist-8 is opset 8, IR 3: the
 * extension raises its opset), the MobileNetV3-style heads and a head with every lowered op; targets it does not
 * take (softmax, custom, top-k) keep the split path. Also the lowering of MaxPool, AveragePool and Concat in the
 * standalone backward graph.
 */
import t from 'tap';
import { computeCams, loadCamModel, type CamTargets, type OnnxCamModel } from '../src/index.js';
import type { FusedBackward } from '../src/onnx/backward-graph.js';
import { fixture } from '../../../tools/fixtures.js';
import { buildModel, type InitializerSpec } from '../../../tools/onnx-build.js';
import { compareEngines, inputFor } from './engines.js';
import { camReference, relErr } from './helpers.js';
import { MOBILENET_V3, mobileNetV3Small } from './mobilenet-v3.js';

/** Grad-CAM weights are linear in the gradient; Grad-CAM++ weights about triple a relative gradient error. */
const BOUND = { gradcam: 2e-6, 'gradcam++': 6e-6 } as const;

function weights(name: string, dims: number[], phase: number, scale = 1): InitializerSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, data: Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 1.7 + phase)) };
}

/**
 * Target r = Relu(x) [N, 4, 9, 9] -> overlapping padded MaxPool, a conv, AveragePool (padded, counting the pad),
 * AveragePool (no pad), Concat of two branches, GlobalAveragePool, Gemm: the pooling and Concat lowerings.
 */
function poolHead(): Uint8Array {
  return buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['mp'], attrs: [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }] },
      { op: 'Conv', inputs: ['mp', 'W'], outputs: ['c'], attrs: [{ name: 'pads', ints: [1, 1, 1, 1] }] },
      { op: 'AveragePool', inputs: ['c'], outputs: ['ap'], attrs: [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [1, 1] }, { name: 'pads', ints: [1, 1, 1, 1] }, { name: 'count_include_pad', i: 1 }] },
      { op: 'AveragePool', inputs: ['mp'], outputs: ['ap2'], attrs: [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [1, 1] }] },
      { op: 'MaxPool', inputs: ['ap2'], outputs: ['mp2'], attrs: [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [1, 1] }, { name: 'pads', ints: [1, 1, 1, 1] }] },
      { op: 'Concat', inputs: ['ap', 'mp2'], outputs: ['cat'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'GlobalAveragePool', inputs: ['cat'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Gemm', inputs: ['f', 'G', 'C'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }] },
    ],
    ['x', ['N', 4, 9, 9]],
    ['y', ['N', 6]],
    [weights('W', [5, 4, 3, 3], 0.3, 0.5), weights('G', [6, 9], 0.8), weights('C', [6], 0.2)],
  );
}

/**
 * Target r = Relu(x) [N, 4, 10, 10] -> strided convolutions and average pools (their input gradients are stride-1
 * convolutions of zero-inserted gradients): 3x3 stride 2 (an input row no window reaches from the bottom), a 5x5
 * depthwise stride 2, a 3x3 with strides [2, 3] and uneven pads (TF.js takes no dilation with strides), AveragePool
 * 2x2 stride 2 and 3x3 stride 2 counting the pad; pooled, concatenated, a Relu and a Gemm.
 */
function stridedHead(): Uint8Array {
  const attrs = (k: number[], s: number[], p: number[], extra: { name: string; i?: number; ints?: number[] }[] = []) => [{ name: 'kernel_shape', ints: k }, { name: 'strides', ints: s }, { name: 'pads', ints: p }, ...extra];
  return buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'W1'], outputs: ['a'], attrs: attrs([3, 3], [2, 2], [1, 1, 1, 1]) },
      { op: 'Conv', inputs: ['r', 'W2'], outputs: ['b'], attrs: attrs([5, 5], [2, 2], [2, 2, 2, 2], [{ name: 'group', i: 4 }]) },
      { op: 'Conv', inputs: ['r', 'W3'], outputs: ['c'], attrs: attrs([3, 3], [2, 3], [2, 0, 1, 1]) },
      { op: 'AveragePool', inputs: ['r'], outputs: ['d'], attrs: attrs([2, 2], [2, 2], [0, 0, 0, 0]) },
      { op: 'AveragePool', inputs: ['r'], outputs: ['e'], attrs: attrs([3, 3], [2, 2], [1, 1, 1, 1], [{ name: 'count_include_pad', i: 1 }]) },
      { op: 'Concat', inputs: ['a', 'b', 'd', 'e'], outputs: ['cat'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Relu', inputs: ['cat'], outputs: ['rc'] },
      { op: 'GlobalAveragePool', inputs: ['rc'], outputs: ['g1'] },
      { op: 'Relu', inputs: ['c'], outputs: ['rcc'] },
      { op: 'GlobalAveragePool', inputs: ['rcc'], outputs: ['g2'] },
      { op: 'Concat', inputs: ['g1', 'g2'], outputs: ['g'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Gemm', inputs: ['f', 'G', 'C'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }] },
    ],
    ['x', ['N', 4, 10, 10]],
    ['y', ['N', 6]],
    [weights('W1', [6, 4, 3, 3], 0.1, 0.5), weights('W2', [4, 1, 5, 5], 0.4, 0.5), weights('W3', [3, 4, 3, 3], 0.9, 0.5), weights('G', [6, 21], 0.8), weights('C', [6], 0.2)],
  );
}

type TestLike = Pick<typeof t, 'ok' | 'equal' | 'same' | 'rejects' | 'teardown'>;

async function compareFused(t: TestLike, label: string, src: string | Uint8Array, target: string | undefined): Promise<void> {
  const fused = (await loadCamModel(src, { target, backwardEvaluator: 'fused' })) as OnnxCamModel;
  const tfjs = (await loadCamModel(src, { target, gradientEngine: 'tfjs' })) as OnnxCamModel;
  t.teardown(async () => {
    await fused.dispose();
    await tfjs.dispose();
  });
  const x = inputFor(fused, 1, 0.2);
  const first = await computeCams(fused, x, 1);
  t.equal(fused.evaluator, 'fused', `${label}: fused evaluator`);
  t.equal(first.modelCalls, 1, `${label}: one model call for the body and the gradient`);
  const nOut = first.nOut;
  const targets: [string, CamTargets][] = [['top class', undefined], ['last class', nOut - 1], ['class 1, per image', [{ class: Math.min(1, nOut - 1) }]]];
  for (const [what, spec] of targets) {
    for (const method of ['gradcam', 'gradcam++'] as const) {
      const a = await computeCams(fused, x, 1, { method, targets: spec });
      const b = await computeCams(tfjs, x, 1, { method, targets: spec });
      t.equal(a.results[0]!.target.class, b.results[0]!.target.class, `${label}, ${what}, ${method}: same class`);
      t.same(Array.from(a.outputs), Array.from(b.outputs), `${label}, ${what}: the outputs of onnxruntime's forward pass`);
      const e = relErr(a.results[0]!.weights!, b.results[0]!.weights!);
      t.ok(e < BOUND[method] && a.results[0]!.weights!.some((v) => v !== 0), `${label}, ${what}, ${method}: fused = TF.js weights (rel err ${e.toExponential(2)})`);
      t.equal(a.modelCalls, 1, `${label}, ${what}, ${method}: one call`);
    }
  }
  // two images: one fused call each, top class per image
  const x2 = inputFor(fused, 2, 0.7);
  const a = await computeCams(fused, x2, 2, { method: 'hirescam' });
  const b = await computeCams(tfjs, x2, 2, { method: 'hirescam' });
  t.equal(a.modelCalls, 2, `${label}: two images, two calls`);
  t.ok(relErr(a.results[1]!.raw, b.results[1]!.raw) < 2e-6, `${label}: second image's HiResCAM = TF.js`);
  // softmax targets keep the split path (body, then the typed head)
  const s = await computeCams(fused, x, 1, { targets: { class: 0, softmax: true } });
  t.equal(s.modelCalls, 2, `${label}: softmax target takes the split path`);
  await t.rejects(computeCams(fused, x, 1, { targets: nOut }), { code: 'INVALID_INPUT' }, `${label}: class out of range is refused`);
}

t.test('fused path = TF.js autodiff: ONNX fixtures, MobileNetV3-style heads, every lowered op', async (t) => {
  for (const name of ['small-cnn-squares', 'tiny-resnet', 'squeezenet1_1']) await compareFused(t, name, fixture('oracles', 'cams', name, 'model.onnx'), camReference(name).target_tensor);
  // opset 8, IR 3: initializers of the added nodes are listed as inputs, the opset is raised to 16
  await compareFused(t, 'mnist-8 ReLU114 (MaxPool)', fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), 'ReLU114_Output_0');
  await compareFused(t, 'mnist-8 default target', fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), undefined);
  const mnv3 = mobileNetV3Small({ size: 64, classes: 100 });
  for (const [label, target] of [['last feature block', MOBILENET_V3.lastBlock], ['block 6', MOBILENET_V3.block6], ['block 5', MOBILENET_V3.block5]] as const) {
    await compareFused(t, `MobileNetV3-style from ${label}`, mnv3, target);
  }
  await compareFused(t, 'pools and Concat', poolHead(), 'r');
  await compareFused(t, 'strided convolutions and pools', stridedHead(), 'r');
});

t.test("the fused model reads a MaxPool's own indices instead of pooling again", async (t) => {
  const model = (await loadCamModel(fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), { target: 'ReLU114_Output_0', backwardEvaluator: 'fused' })) as OnnxCamModel;
  t.teardown(() => model.dispose());
  await computeCams(model, inputFor(model, 1, 0.3), 1);
  const { lowered } = (model as unknown as { fused: { lowered: FusedBackward } }).fused;
  t.same(lowered.nodeOutputs, [{ node: 'Pooling160_Output_0', output: 'genome_gradcam_backward/Pooling160_Output_0/indices' }], "Indices appended to the model's MaxPool");
  const ops = lowered.nodes.map((n) => new TextDecoder().decode(n));
  t.notOk(ops.some((n) => n.includes('MaxPool')), 'no MaxPool among the backward nodes');
  t.ok(ops.some((n) => n.includes('MaxUnpool')), 'MaxUnpool scatters the gradient to them');
});

t.test('tied top scores: the fused path explains the first, as the split path', async (t) => {
  // outputs = the two channels' means (identity Gemm): an image whose channels have equal means ties them, and only
  // channel k has a gradient for class k, so the weights tell which class was explained
  const bytes = buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Gemm', inputs: ['f', 'I'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }] },
    ],
    ['x', ['N', 2, 2, 2]],
    ['y', ['N', 2]],
    [{ name: 'I', dims: [2, 2], data: Float32Array.of(1, 0, 0, 1) }],
  );
  const fused = (await loadCamModel(bytes, { target: 'r', backwardEvaluator: 'fused' })) as OnnxCamModel;
  const split = (await loadCamModel(bytes, { target: 'r', backwardEvaluator: 'steps' })) as OnnxCamModel;
  t.teardown(async () => {
    await fused.dispose();
    await split.dispose();
  });
  const x = Float32Array.of(1, 2, 3, 4, 4, 3, 2, 1);
  const a = await computeCams(fused, x, 1);
  const b = await computeCams(split, x, 1);
  t.equal(fused.evaluator, 'fused');
  t.equal(a.outputs[0], a.outputs[1], 'the scores tie');
  t.equal(a.results[0]!.target.class, 0, 'fused: the first');
  t.equal(b.results[0]!.target.class, 0, 'split: the first');
  t.same(Array.from(a.results[0]!.weights!), [0.25, 0], 'fused: the gradient of class 0');
  t.same(Array.from(a.results[0]!.weights!), Array.from(b.results[0]!.weights!), 'fused = split');
  const c = await computeCams(fused, x, 1, { targets: 1 });
  t.same(Array.from(c.results[0]!.weights!), [0, 0.25], 'class 1 on request');
  t.equal(c.modelCalls, 1, 'in one call');
  // scores beyond 1e37 could outweigh the class input: the split path explains them
  const huge = Float32Array.from(x, (v) => v * 1e37);
  const d = await computeCams(fused, huge, 1, { targets: 0 });
  t.equal(d.modelCalls, 3, 'huge scores: the fused call, then the body and the gradient');
  t.same(Array.from(d.results[0]!.weights!), [0.25, 0], 'huge scores: class 0 still explained');
});

t.test('auto: the evaluator is chosen on the first image and kept; results repeat bit for bit', async (t) => {
  const model = (await loadCamModel(mobileNetV3Small({ size: 64, classes: 100 }), { target: MOBILENET_V3.block6 })) as OnnxCamModel;
  t.teardown(() => model.dispose());
  const x = inputFor(model, 1, 0.4);
  t.equal(model.evaluator, undefined, 'undecided before the first gradient');
  // concurrent first calls: one times the paths, the other waits for its choice
  const [r1, r2] = await Promise.all([computeCams(model, x, 1), computeCams(model, x, 1)]);
  const chosen = model.evaluator;
  t.ok(chosen === 'fused' || chosen === 'steps' || chosen === 'graph', `chosen: ${chosen}`);
  const r3 = await computeCams(model, x, 1);
  t.same(Array.from(r2.results[0]!.weights!), Array.from(r1.results[0]!.weights!), 'concurrent first calls agree bit for bit');
  t.same(Array.from(r3.results[0]!.weights!), Array.from(r1.results[0]!.weights!), 'a later call agrees bit for bit');
  t.equal(model.evaluator, chosen, 'the choice is kept');
});

t.test('pinned evaluators never build the fused model', async (t) => {
  for (const backwardEvaluator of ['steps', 'graph'] as const) {
    const model = (await loadCamModel(fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), { target: camReference('tiny-resnet').target_tensor, backwardEvaluator })) as OnnxCamModel;
    t.teardown(() => model.dispose());
    const r = await computeCams(model, inputFor(model, 1, 0.1), 1);
    t.equal(r.modelCalls, 2, `${backwardEvaluator}: body and gradient calls`);
    t.equal(model.evaluator, backwardEvaluator, `${backwardEvaluator}: kept`);
  }
});

t.test('standalone backward graph lowers MaxPool, AveragePool, Concat and strided convolutions: graph = TF.js', async (t) => {
  const x = Float32Array.from({ length: 2 * 4 * 81 }, (_, i) => Math.sin(i * 0.61) + 0.2 * Math.cos(i * 0.07));
  const evaluator = await compareEngines(t, 'pools and Concat (graph)', poolHead(), 'r', x, 2, false, 'graph');
  t.equal(evaluator, 'graph', 'every step lowered');
  const x10 = Float32Array.from({ length: 2 * 4 * 100 }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.11));
  t.equal(await compareEngines(t, 'strided convolutions and pools (graph)', stridedHead(), 'r', x10, 2, false, 'graph'), 'graph', 'strided: every step lowered');
});

t.test("a second CamModel of the same model takes the first one's choices: the same gradients bit for bit", async (t) => {
  const bytes = mobileNetV3Small({ size: 64, classes: 100 });
  const a = (await loadCamModel(bytes, { target: MOBILENET_V3.lastBlock })) as OnnxCamModel;
  const b = (await loadCamModel(Uint8Array.from(bytes), { target: MOBILENET_V3.lastBlock })) as OnnxCamModel;
  t.teardown(async () => {
    await a.dispose();
    await b.dispose();
  });
  const x = inputFor(a, 1, 0.9);
  // the first explains the top class, the second is asked for it by index
  const ra = await computeCams(a, x, 1);
  const rb = await computeCams(b, x, 1, { targets: ra.results[0]!.target.class! });
  t.equal(b.evaluator, a.evaluator, `both use ${a.evaluator}`);
  t.same(Array.from(rb.results[0]!.weights!), Array.from(ra.results[0]!.weights!), 'bit for bit');
});
