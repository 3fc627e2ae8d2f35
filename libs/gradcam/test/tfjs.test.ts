/**
 * TF.js fixtures (LayersModel and GraphModel): the head walker reproduces the model, gradients match finite
 * differences of the head, real photos are classified as expected, and every method runs.
 */
import t from 'tap';
import { CAM_METHODS, computeCams, decodeImage, explainImages, loadCamModel, preprocessImages, type CamModel } from '../src/index.js';
import { fixture, readFixture, readFixtureText } from '../../../tools/fixtures.js';
import { argmax, relErr } from './helpers.js';

async function checkGradients(t: TestLike, model: CamModel, x: Float32Array, cls: number, channels: number): Promise<void> {
  const body = await model.body(x, 1);
  const S = body.height * body.width;
  const per = body.acts.length;
  const same = await model.head(body, Int32Array.of(0), body.acts);
  t.ok(relErr(same, body.outputs) < 1e-4, `head(activations) reproduces the model output (${relErr(same, body.outputs).toExponential(2)})`);
  const res = await computeCams(model, x, 1, { targets: cls });
  const alpha = res.results[0]!.weights!;
  // channels with the largest |alpha| plus the first ones
  const order = Array.from(alpha.keys()).sort((a, b) => Math.abs(alpha[b]!) - Math.abs(alpha[a]!));
  const chosen = [...new Set([...order.slice(0, channels), 0, 1])];
  const h = 1e-2;
  const fd: number[] = [];
  const an: number[] = [];
  for (const c of chosen) {
    const acts = new Float32Array(2 * per);
    acts.set(body.acts, 0);
    acts.set(body.acts, per);
    for (let s = 0; s < S; s++) {
      acts[c * S + s]! += h;
      acts[per + c * S + s]! -= h;
    }
    const out = await model.head(body, Int32Array.of(0, 0), acts);
    const k = out.length / 2;
    fd.push((out[cls]! - out[k + cls]!) / (2 * h) / S);
    an.push(alpha[c]!);
  }
  model.release(body);
  t.ok(relErr(an, fd) < 2e-2, `alpha = central finite differences on ${chosen.length} channels (${relErr(an, fd).toExponential(2)})`);
}

type TestLike = { ok: typeof t.ok };

t.test('wasm gradient kernel bridges equal the cpu kernels', async (t) => {
  const { loadTf } = await import('../src/tfjs/runtime.js');
  const tf = await loadTf();
  if (tf.getBackend() !== 'wasm') {
    t.pass(`backend is ${tf.getBackend()}, no bridge needed`);
    return;
  }
  const cases = [
    { x: [2, 9, 7, 5], f: [3, 3, 5, 4], s: 2, pad: 'same' as const },
    { x: [1, 6, 6, 3], f: [1, 1, 3, 8], s: 1, pad: 'valid' as const },
    { x: [1, 8, 8, 4], f: [3, 3, 4, 1], s: 1, pad: 'same' as const, depthwise: true },
  ];
  for (const c of cases) {
    const run = (): Float32Array[] =>
      tf.tidy(() => {
        const x = tf.tensor(Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37)), c.x);
        const f = tf.tensor(Float32Array.from({ length: c.f.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11)), c.f);
        const loss = (a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor) =>
          tf.sum(tf.square(c.depthwise ? tf.depthwiseConv2d(a as never, b as never, c.s, c.pad) : tf.conv2d(a as never, b as never, c.s, c.pad)));
        return tf.grads(loss)([x, f]).map((g) => Float32Array.from(g.dataSync() as Float32Array));
      });
    const onWasm = run();
    await tf.setBackend('cpu');
    const onCpu = run();
    await tf.setBackend('wasm');
    t.ok(relErr(onWasm[0]!, onCpu[0]!) < 1e-5 && relErr(onWasm[1]!, onCpu[1]!) < 1e-5, `${c.depthwise ? 'depthwise' : 'conv2d'} ${c.x} * ${c.f}: input and filter gradients match cpu`);
  }
  // pooling gradients with tied maxima (ReLU zeros), the case tfjs-backend-wasm's MaxPoolGrad gets wrong
  for (const [k, s] of [[3, 3], [2, 2], [3, 2]] as const) {
    const run = (): Float32Array[] =>
      tf.tidy(() => {
        const x = tf.relu(tf.tensor(Float32Array.from({ length: 14 * 14 * 16 }, (_, i) => Math.sin(i * 0.37) - 0.5), [1, 14, 14, 16]));
        const w = tf.tensor(Float32Array.from({ length: 4096 }, (_, i) => Math.cos(i)));
        const f = (pool: 'max' | 'avg') => (a: import('@tensorflow/tfjs').Tensor) => {
          const y: import('@tensorflow/tfjs').Tensor = pool === 'max' ? tf.maxPool(a as never, k, s, 'valid') : tf.avgPool(a as never, k, s, 'valid');
          return tf.sum(tf.mul(y, tf.reshape(tf.slice(w, 0, y.size), y.shape)));
        };
        return [tf.grad(f('max'))(x), tf.grad(f('avg'))(x)].map((g) => Float32Array.from(g.dataSync() as Float32Array));
      });
    const onWasm = run();
    await tf.setBackend('cpu');
    const onCpu = run();
    await tf.setBackend('wasm');
    t.ok(relErr(onWasm[0]!, onCpu[0]!) < 1e-6, `maxPool ${k}/${s} gradient with ties matches cpu`);
    t.ok(relErr(onWasm[1]!, onCpu[1]!) < 1e-6, `avgPool ${k}/${s} gradient matches cpu`);
  }
});

t.test('darknet-tiny LayersModel (ImageNet) on cat.jpg', async (t) => {
  const model = await loadCamModel(fixture('models', 'tfjs', 'darknet-tiny-layersmodel', 'model.json'), { target: 'leaky_re_lu_15' });
  t.teardown(() => model.dispose());
  t.equal(model.kind, 'tfjs-layers');
  const pre = { width: 224, height: 224, channels: 3, layout: 'NHWC', scale: 1 / 255 } as const;
  const x = preprocessImages([decodeImage(readFixture('data', 'images', 'gradcam', 'cat.jpg'))], pre);
  const { outputs } = await model.forward(x, 1);
  const top = argmax(outputs);
  await checkGradients(t, model, x, top, 3);
  // an earlier target: the head has 3x3 'same' convs, batch norms and LeakyReLUs (the walker's fast Conv2D path)
  const early = await loadCamModel(fixture('models', 'tfjs', 'darknet-tiny-layersmodel', 'model.json'), { target: 'leaky_re_lu_13' });
  t.teardown(() => early.dispose());
  await checkGradients(t, early, x, top, 3);
  const r = await explainImages(model, [readFixture('data', 'images', 'gradcam', 'cat.jpg')], { preprocessing: pre, method: 'gradcam' });
  t.equal(r.overlays.length, 1);
  const png = decodeImage(r.overlays[0]!);
  t.same([png.width, png.height], [224, 224], 'overlay PNG at the image size');
});

t.test('emotion mini-Xception GraphModel', async (t) => {
  const model = await loadCamModel(fixture('models', 'tfjs', 'human-emotion-graphmodel', 'emotion.json'), { target: 'StatefulPartitionedCall/model_1/add_2/add' });
  t.teardown(() => model.dispose());
  t.equal(model.kind, 'tfjs-graph');
  t.same(model.inputShape, [64, 64, 1]);
  const x = preprocessImages([decodeImage(readFixture('data', 'images', 'gradcam', 'dog.jpg'))], { width: 64, height: 64, channels: 1, layout: 'NHWC', channelOrder: 'GRAY', scale: 1 / 255 });
  const { outputs } = await model.forward(x, 1);
  t.ok(Math.abs(outputs.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'softmax output');
  await checkGradients(t, model, x, argmax(outputs), 4);
  for (const method of CAM_METHODS) {
    const r = await computeCams(model, x, 1, { method });
    t.ok(r.results[0]!.cam.every(Number.isFinite), `${method} on a GraphModel`);
  }
});

t.test('AutoML flowers GraphModel on daisy.jpg', async (t) => {
  const model = await loadCamModel(fixture('models', 'tfjs', 'automl-flowers-graphmodel', 'model.json'));
  t.teardown(() => model.dispose());
  const labels = readFixtureText('models', 'tfjs', 'automl-flowers-graphmodel', 'dict.txt').split(/\r?\n/).filter(Boolean);
  const pre = { width: 224, height: 224, channels: 3, layout: 'NHWC', scale: 1 / 255 } as const;
  const x = preprocessImages([decodeImage(readFixture('models', 'tfjs', 'automl-flowers-graphmodel', 'daisy.jpg'))], pre);
  const { outputs } = await model.forward(x, 1);
  t.equal(labels[argmax(outputs)], 'daisy', 'classified as daisy');
  await checkGradients(t, model, x, argmax(outputs), 3);
});
