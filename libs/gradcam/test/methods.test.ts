/**
 * The eight CAM methods on real ONNX models: identities that hold exactly for the model structure, batching,
 * targets, unsupported heads, and gradients checked against finite differences on onnxruntime.
 */
import t from 'tap';
import { CAM_METHODS, computeCams, GradCamError, loadCamModel, type CamModel } from '../src/index.js';
import { decodeOnnxTensor, tensorToFloat32Array } from '@genome/model-format';
import { fixture, readFixture } from '../../../tools/fixtures.js';
import { buildModel } from '../../../tools/onnx-build.js';
import { camReference, relErr } from './helpers.js';

const ref = camReference('tiny-resnet');
const x1 = Float32Array.from(ref.input.flat(2));

t.test('tiny-resnet: all methods, identities of a GAP + linear head', async (t) => {
  const model = await loadCamModel(fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), { target: ref.target_tensor });
  t.teardown(() => model.dispose());
  const c = ref.target_class;
  const all = new Map<string, Awaited<ReturnType<typeof computeCams>>['results'][number]>();
  for (const method of CAM_METHODS) {
    const r = (await computeCams(model, x1, 1, { method, targets: c })).results[0]!;
    t.equal(r.cam.length, 16 * 16, `${method}: 16x16 map`);
    t.ok(r.cam.every((v) => v >= 0 && Number.isFinite(v)), `${method}: ReLU'd and finite`);
    t.ok(Math.max(...r.heatmap) <= 1 && Math.min(...r.heatmap) >= 0, `${method}: heatmap in [0, 1]`);
    all.set(method, r);
  }
  const gc = all.get('gradcam')!;
  // GAP head: the gradient is constant over space, so HiResCAM == Grad-CAM.
  t.ok(relErr(all.get('hirescam')!.raw, gc.raw) < 1e-6, 'HiResCAM equals Grad-CAM under global average pooling');
  // LayerCAM == sum_c relu(alpha_c) A_c under GAP.
  const body = await model.body(x1, 1);
  const S = body.height * body.width;
  const layer = new Float64Array(S);
  for (let ch = 0; ch < body.channels; ch++) for (let s = 0; s < S; s++) layer[s]! += Math.max(gc.weights![ch]!, 0) * body.acts[ch * S + s]!;
  t.ok(relErr(all.get('layercam')!.raw, layer) < 1e-6, 'LayerCAM equals sum relu(alpha) A under GAP');
  // Ablation-CAM with a ReLU target and a linear head: zeroing channel c drops the logit by S * alpha_c * mean(A_c).
  const ab = all.get('ablationcam')!;
  const expected = new Float64Array(body.channels);
  for (let ch = 0; ch < body.channels; ch++) {
    let m = 0;
    for (let s = 0; s < S; s++) m += body.acts[ch * S + s]!;
    expected[ch] = (gc.weights![ch]! * m) / gc.score;
  }
  t.ok(relErr(ab.weights!, expected) < 1e-4, `Ablation-CAM weights = alpha_c * sum(A_c) / score (${relErr(ab.weights!, expected).toExponential(2)})`);
  const sc = all.get('scorecam')!;
  t.ok(Math.abs(sc.weights!.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'Score-CAM weights are a softmax');
  model.release(body);
});

t.test('batches, top-k and custom targets', async (t) => {
  const model = await loadCamModel(fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), { target: ref.target_tensor });
  t.teardown(() => model.dispose());
  const x2 = new Float32Array(x1.length * 2);
  x2.set(x1);
  for (let i = 0; i < x1.length; i++) x2[x1.length + i] = x1[x1.length - 1 - i]!;
  const single = await computeCams(model, x2.subarray(x1.length), 1, { method: 'gradcam++' });
  const batch = await computeCams(model, x2, 2, { method: 'gradcam++' });
  t.equal(batch.results.length, 2);
  t.ok(relErr(batch.results[1]!.cam, single.results[0]!.cam) < 1e-5, 'batch of 2 = one at a time');
  const top = await computeCams(model, x2, 2, { targets: { topK: 3 } });
  t.same(top.results.map((r) => r.image), [0, 0, 0, 1, 1, 1], 'top-3 per image, image-major');
  t.ok(top.results[0]!.score >= top.results[1]!.score && top.results[1]!.score >= top.results[2]!.score, 'top-k ordered by score');
  // a custom target: logit(a) - logit(b) has alpha_a - alpha_b
  const [a, b] = [top.results[0]!.target.class!, top.results[1]!.target.class!];
  const custom = await computeCams(model, x1, 1, { targets: { fn: (o, tf) => tf.sub(tf.gather(o, a), tf.gather(o, b)) as never, name: 'a-b' } });
  const ga = (await computeCams(model, x1, 1, { targets: a })).results[0]!.weights!;
  const gb = (await computeCams(model, x1, 1, { targets: b })).results[0]!.weights!;
  t.ok(relErr(custom.results[0]!.weights!, ga.map((v, i) => v - gb[i]!)) < 1e-5, 'custom target gradient is linear');
  t.equal(custom.results[0]!.target.label, 'a-b');
  const soft = await computeCams(model, x1, 1, { targets: { class: a, softmax: true } });
  t.ok(soft.results[0]!.score > 0 && soft.results[0]!.score < 1, 'softmax target score is a probability');
  await t.rejects(computeCams(model, x1, 1, { targets: 99 }), { code: 'INVALID_INPUT' }, 'class out of range');
  await t.rejects(computeCams(model, x1.subarray(1), 1), { code: 'INVALID_INPUT' }, 'wrong input size');
  await t.rejects(computeCams(model, x1, 1, { method: 'nope' as never }), { code: 'INVALID_INPUT' }, 'unknown method');
});

t.test('a head with an op that has no TF.js translation', async (t) => {
  const bytes = buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'LpNormalization', inputs: ['f'], outputs: ['y'], attrs: [{ name: 'axis', i: 1 }, { name: 'p', i: 2 }] },
    ],
    ['x', ['N', 3, 6, 6]],
    ['y', ['N', 3]],
  );
  const model = await loadCamModel(bytes, { target: 'r' });
  t.teardown(() => model.dispose());
  t.equal(model.gradientError?.code, 'UNSUPPORTED');
  t.match(model.gradientError?.message ?? '', /LpNormalization.*scorecam, ablationcam, eigencam/s, 'names the op and the forward-only methods');
  const x = Float32Array.from({ length: 2 * 3 * 36 }, (_, i) => Math.sin(i));
  await t.rejects(computeCams(model, x, 2, { method: 'gradcam' }), GradCamError);
  for (const method of ['scorecam', 'ablationcam', 'eigencam'] as const) {
    const r = await computeCams(model, x, 2, { method });
    t.equal(r.results.length, 2, `${method} runs on onnxruntime alone`);
  }
});

async function finiteDifferenceAlpha(model: CamModel, x: Float32Array, cls: number, h = 1e-2): Promise<{ fd: Float64Array; alpha: Float64Array }> {
  const body = await model.body(x, 1);
  const S = body.height * body.width;
  const alpha = (await computeCams(model, x, 1, { targets: cls })).results[0]!.weights!;
  const fd = new Float64Array(body.channels);
  const acts = new Float32Array(2 * body.acts.length);
  for (let c = 0; c < body.channels; c++) {
    acts.set(body.acts, 0);
    acts.set(body.acts, body.acts.length);
    for (let s = 0; s < S; s++) {
      acts[c * S + s]! += h;
      acts[body.acts.length + c * S + s]! -= h;
    }
    const out = await model.head(body, Int32Array.of(0, 0), acts);
    const k = out.length / 2;
    fd[c] = (out[cls]! - out[k + cls]!) / (2 * h) / S;
  }
  model.release(body);
  return { fd, alpha };
}

t.test('mnist-8 (ONNX model zoo, fixed batch 1): outputs and gradients', async (t) => {
  const model = await loadCamModel(fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'));
  t.teardown(() => model.dispose());
  t.equal(model.maxBatch, 1, 'fixed batch of 1 is honoured');
  t.equal(model.target, 'Pooling160_Output_0', 'default target: the tensor before Reshape/Gemm');
  const input = decodeOnnxTensor(readFixture('models', 'onnx-cnn', 'mnist_test_data_set_0', 'input_0.pb'));
  const expected = decodeOnnxTensor(readFixture('models', 'onnx-cnn', 'mnist_test_data_set_0', 'output_0.pb'));
  const x = tensorToFloat32Array(input);
  const { outputs } = await model.forward(x, 1);
  t.ok(relErr(outputs, tensorToFloat32Array(expected)) < 1e-5, 'onnxruntime reproduces output_0.pb');
  const cls = Array.from(outputs).indexOf(Math.max(...outputs));
  const { fd, alpha } = await finiteDifferenceAlpha(model, x, cls);
  t.ok(relErr(alpha, fd) < 1e-3, `alpha = finite differences of the onnxruntime head (${relErr(alpha, fd).toExponential(2)})`);
  // a deeper target: the head is MaxPool -> Reshape -> Gemm
  const deep = await loadCamModel(fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), { target: 'ReLU114_Output_0' });
  t.teardown(() => deep.dispose());
  const d = await finiteDifferenceAlpha(deep, x, cls);
  t.ok(relErr(d.alpha, d.fd) < 1e-2, `ReLU114 target: alpha = finite differences through MaxPool (${relErr(d.alpha, d.fd).toExponential(2)})`);
  const two = new Float32Array(x.length * 2);
  two.set(x);
  two.set(x, x.length);
  const r = await computeCams(deep, two, 2, { method: 'gradcam++' });
  t.equal(r.results.length, 2, 'batch of 2 on a batch-1 model runs image by image');
  t.ok(relErr(r.results[1]!.cam, r.results[0]!.cam) < 1e-6);
  for (const method of CAM_METHODS) {
    const q = await computeCams(deep, x, 1, { method });
    t.ok(q.results[0]!.cam.every(Number.isFinite), `${method} on mnist-8`);
  }
});

t.test('tiny-resnet from an early layer: 3x3 convs, a skip connection and computed weights in the head', async (t) => {
  const model = await loadCamModel(fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), { target: '/layer1/Relu_output_0' });
  t.teardown(() => model.dispose());
  const plan = (model as unknown as { plan: { externals: string[]; nodes: { opType: string }[] } }).plan;
  t.ok(plan.externals.includes('/stem/stem.2/Relu_output_0'), 'the skip connection is fetched from onnxruntime');
  t.ok(plan.externals.includes('onnx::Conv_72'), 'a weight produced by an Identity node is fetched too');
  t.ok(plan.nodes.filter((n) => n.opType === 'Conv').length >= 4, 'stride-1 and stride-2 3x3 convolutions in the head');
  // ReLUs after the target make central differences inexact: the error falls with h (1.1e-2 at h=0.1, 3.3e-3 at
  // 1e-2, 1.6e-3 at 3e-3) until float32 rounding of the onnxruntime outputs takes over (1.4e-3 at 1e-3).
  const { fd, alpha } = await finiteDifferenceAlpha(model, x1, ref.target_class, 3e-3);
  t.ok(relErr(alpha, fd) < 5e-3, `alpha = finite differences of the onnxruntime head (${relErr(alpha, fd).toExponential(2)})`);
  const two = new Float32Array(x1.length * 2);
  two.set(x1);
  two.set(x1.map((v) => -v), x1.length);
  const b = await computeCams(model, two, 2, { method: 'gradcam', targets: ref.target_class });
  const s = await computeCams(model, two.subarray(x1.length), 1, { method: 'gradcam', targets: ref.target_class });
  t.ok(relErr(b.results[1]!.weights!, s.results[0]!.weights!) < 1e-5, 'batched skip-connection externals are per image');
});

t.test('a signal stops a run between model calls, with its own reason', async (t) => {
  const model = await loadCamModel(fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), { target: ref.target_tensor });
  t.teardown(() => model.dispose());
  const reason = new Error('caller gone');
  const pre = new AbortController();
  pre.abort(reason);
  await t.rejects(computeCams(model, x1, 1, { method: 'gradcam', signal: pre.signal }), reason, 'a pre-aborted signal: no model call');
  // Score-CAM runs one batch of masked inputs per 16 channels: abort after the first model call.
  const ctl = new AbortController();
  let calls = 0;
  const counting = Object.create(model, {
    forward: { value: async (input: Float32Array, n: number) => { calls++; if (calls === 1) ctl.abort(reason); return model.forward(input, n); } },
  }) as CamModel;
  await t.rejects(computeCams(counting, x1, 1, { method: 'scorecam', signal: ctl.signal, batchSize: 1 }), reason, 'Score-CAM stops at the next batch');
  t.equal(calls, 1, 'no model call after the abort');
  const plain = await computeCams(model, x1, 1, { method: 'gradcam' });
  const withSignal = await computeCams(model, x1, 1, { method: 'gradcam', signal: new AbortController().signal });
  t.same(Array.from(withSignal.results[0]!.cam), Array.from(plain.results[0]!.cam), 'an unaborted signal changes nothing');
});
