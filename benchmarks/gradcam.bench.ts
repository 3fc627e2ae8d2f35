/**
 * Grad-CAM latency relative to one forward pass of the same model, per CNN fixture (target <= 3x).
 * ONNX models: forward = onnxruntime-node; Grad-CAM = onnxruntime body (with the target exposed) + the head
 * differentiated by the typed-array evaluator ('typed'), and again with the head translated to TF.js and
 * differentiated by TF.js autodiff ('tfjs', the fallback for heads with other ops). TF.js models: everything on
 * the active TF.js backend.
 * Latencies are tinybench means for one image (batch 1), including CAM reductions and the upsampled heatmap.
 * Run: node --import=tsx --conditions=@genome/source benchmarks/gradcam.bench.ts
 */
import { statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Bench } from 'tinybench';
import { computeCams, loadCamModel, type CamModel, type OnnxCamModel } from '@genome/gradcam';
import { loadTf } from '@genome/model-format';
import { fixture, readFixtureJson } from '../tools/fixtures.js';

interface Case {
  name: string;
  path: string;
  target?: string;
  gradientEngine?: 'tfjs';
}

const cases: Case[] = [
  { name: 'small-cnn-squares (ONNX)', path: fixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx'), target: readFixtureJson<{ target_tensor: string }>('oracles', 'cams', 'small-cnn-squares', 'reference.json').target_tensor },
  { name: 'tiny-resnet (ONNX)', path: fixture('oracles', 'cams', 'tiny-resnet', 'model.onnx'), target: readFixtureJson<{ target_tensor: string }>('oracles', 'cams', 'tiny-resnet', 'reference.json').target_tensor },
  { name: 'squeezenet1_1 (ONNX)', path: fixture('oracles', 'cams', 'squeezenet1_1', 'model.onnx'), target: readFixtureJson<{ target_tensor: string }>('oracles', 'cams', 'squeezenet1_1', 'reference.json').target_tensor },
  { name: 'mnist-8 (ONNX)', path: fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), target: 'ReLU114_Output_0' },
];
for (const c of [...cases]) if (c.path.endsWith('.onnx')) cases.push({ ...c, gradientEngine: 'tfjs' });
cases.push(
  { name: 'darknet-tiny (TF.js Layers)', path: fixture('models', 'tfjs', 'darknet-tiny-layersmodel', 'model.json'), target: 'leaky_re_lu_15' },
  { name: 'emotion mini-Xception (TF.js Graph)', path: fixture('models', 'tfjs', 'human-emotion-graphmodel', 'emotion.json') },
  { name: 'AutoML flowers (TF.js Graph)', path: fixture('models', 'tfjs', 'automl-flowers-graphmodel', 'model.json') },
);

function sizeOf(path: string): string {
  let bytes = statSync(path).size;
  if (path.endsWith('.json')) for (const f of readdirSync(dirname(path))) if (f.endsWith('.bin') || /shard/.test(f)) bytes += statSync(join(dirname(path), f)).size;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

function mean(bench: Bench, i: number): number {
  const r = bench.tasks[i]!.result as { latency?: { mean: number }; mean?: number };
  return r.latency?.mean ?? r.mean ?? Number.NaN;
}

const tf = await loadTf();
const rows: Record<string, string | number>[] = [];
for (const c of cases) {
  const model: CamModel = await loadCamModel(c.path, { target: c.target, gradientEngine: c.gradientEngine });
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: per }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.013));
  // warm-up (kernel compilation, session init, head weight caching)
  await computeCams(model, x, 1, { method: 'gradcam' });
  await model.forward(x, 1);
  const bench = new Bench({ time: 1000, iterations: 5 });
  bench.add('forward', async () => {
    await model.forward(x, 1);
  });
  bench.add('gradcam', async () => {
    await computeCams(model, x, 1, { method: 'gradcam' });
  });
  bench.add('gradcam++', async () => {
    await computeCams(model, x, 1, { method: 'gradcam++' });
  });
  bench.add('eigencam', async () => {
    await computeCams(model, x, 1, { method: 'eigencam' });
  });
  await bench.run();
  const body = await model.body(x, 1);
  const f = mean(bench, 0);
  rows.push({
    model: c.name,
    gradients: model.kind === 'onnx' ? (model as OnnxCamModel).gradientEngine : 'tfjs',
    size: sizeOf(c.path),
    input: `[${model.inputShape}] ${model.layout}`,
    target: `${body.channels}x${body.height}x${body.width}`,
    'forward ms': f.toFixed(2),
    'gradcam ms': mean(bench, 1).toFixed(2),
    'gradcam/forward': (mean(bench, 1) / f).toFixed(2),
    'gradcam++ ms': mean(bench, 2).toFixed(2),
    'eigencam ms': mean(bench, 3).toFixed(2),
  });
  model.release(body);
  await model.dispose();
}
console.log(`TF.js backend: ${tf.getBackend()}; onnxruntime-node CPU; Node ${process.version}`);
console.table(rows);
