/**
 * Grad-CAM and Grad-CAM++ latency relative to one plain forward pass of the same model (target: at most 2x).
 *
 * ONNX models: "forward" is a plain onnxruntime-node session of the ORIGINAL model bytes (default session options,
 * warm, batch 1), not the CAM model's session with the target tensor exposed. Grad-CAM / Grad-CAM++ are the public
 * `loadCamModel` + `computeCams` (default gradient engine and evaluator, chosen by timing on the first image),
 * including the body pass, the head's gradient, the CAM reductions, the upsampled heatmap and the result objects.
 * The gradients column names the evaluator: 'fused' (body and gradient in one onnxruntime call), 'graph' or
 * 'steps' (a body call, then the backward pass). Cases: every ONNX CNN fixture (the three CAM oracles
 * and mnist-8) and a MobileNetV3-small-style model built by `libs/gradcam/test/mobilenet-v3.ts` (128x128), with the
 * target at its last feature block (head: pool, Linear, HardSwish, Dropout, Linear) and at blocks 6 and 5 (the
 * head then also runs one or two inverted residual blocks with HardSwish and squeeze-excitation).
 *
 * Each case runs ROUNDS (default 3) tinybench rounds of the three tasks; a round gives each task's median latency
 * (p50), and the table shows the median over rounds of the latencies and of the per-round ratios, so the ratios
 * compare measurements taken close together on a shared machine.
 *
 * The second table (skipped with GRADCAM_BENCH_ONNX_ONLY=1) keeps the older comparison: the ONNX models with the
 * head forced onto TF.js autodiff, and the TF.js fixtures (LayersModel / GraphModel), against the CAM model's own
 * `forward`.
 *
 * Run: node --import=tsx --conditions=@genome/source benchmarks/gradcam.bench.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Bench } from 'tinybench';
import { computeCams, loadCamModel, type CamModel, type OnnxCamModel } from '@genome/gradcam';
import { loadOnnxRuntime, loadTf } from '@genome/model-format';
import { fixture, readFixtureJson } from '../tools/fixtures.js';
import { MOBILENET_V3, mobileNetV3Small } from '../libs/gradcam/test/mobilenet-v3.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TIME = Number(process.env.BENCH_MS ?? 400);

interface OnnxCase {
  name: string;
  bytes: Uint8Array;
  target?: string;
}

const oracleTarget = (name: string): string => readFixtureJson<{ target_tensor: string }>('oracles', 'cams', name, 'reference.json').target_tensor;
const mnv3 = mobileNetV3Small();
const onnxCases: OnnxCase[] = [
  ...['small-cnn-squares', 'tiny-resnet', 'squeezenet1_1'].map((name) => ({ name, bytes: new Uint8Array(readFileSync(fixture('oracles', 'cams', name, 'model.onnx'))), target: oracleTarget(name) })),
  { name: 'mnist-8', bytes: new Uint8Array(readFileSync(fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'))), target: 'ReLU114_Output_0' },
  { name: 'MobileNetV3-style, last feature block', bytes: mnv3, target: MOBILENET_V3.lastBlock },
  { name: 'MobileNetV3-style, block 6 (head: last block with HardSwish, SE)', bytes: mnv3, target: MOBILENET_V3.block6 },
  { name: 'MobileNetV3-style, block 5 (head: two blocks with HardSwish, SE)', bytes: mnv3, target: MOBILENET_V3.block5 },
];

function p50(bench: Bench, i: number): number {
  const r = bench.tasks[i]!.result as { latency?: { p50: number; mean: number } };
  return r.latency?.p50 ?? r.latency?.mean ?? Number.NaN;
}
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median latencies (ms) and per-round ratios to the first task, over ROUNDS tinybench rounds. */
async function measure(tasks: [string, () => Promise<unknown>][]): Promise<{ ms: number[]; ratio: number[]; spread: string[] }> {
  const lat: number[][] = tasks.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    const bench = new Bench({ time: TIME, iterations: 20, warmupTime: 50 });
    for (const [name, fn] of tasks) bench.add(name, fn);
    await bench.run();
    tasks.forEach((_, i) => lat[i]!.push(p50(bench, i)));
  }
  const ratios = lat.map((l) => l.map((v, r) => v / lat[0]![r]!));
  return {
    ms: lat.map(median),
    ratio: ratios.map(median),
    spread: ratios.map((r) => `${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}`),
  };
}

const input = (model: CamModel): Float32Array => {
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: per }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.013));
};

const ort = await loadOnnxRuntime();
const rows: Record<string, string>[] = [];
for (const c of onnxCases) {
  const plain = await ort.InferenceSession.create(c.bytes);
  const model = (await loadCamModel(c.bytes, { target: c.target })) as OnnxCamModel;
  const x = input(model);
  const feed = { [plain.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...model.inputShape]) };
  // warm-up (session init, head compilation, weight layouts, the typed head's choice of evaluator)
  for (let i = 0; i < 10; i++) {
    await plain.run(feed);
    await computeCams(model, x, 1, { method: 'gradcam' });
    await computeCams(model, x, 1, { method: 'gradcam++' });
  }
  const body = await model.body(x, 1);
  const m = await measure([
    ['forward', () => plain.run(feed)],
    ['gradcam', () => computeCams(model, x, 1, { method: 'gradcam' })],
    ['gradcam++', () => computeCams(model, x, 1, { method: 'gradcam++' })],
  ]);
  rows.push({
    model: c.name,
    input: `[${model.inputShape}]`,
    target: `${body.channels}x${body.height}x${body.width}`,
    gradients: model.evaluator ? `${model.gradientEngine} (${model.evaluator})` : model.gradientEngine,
    'forward ms': m.ms[0]!.toFixed(3),
    'Grad-CAM ms': m.ms[1]!.toFixed(3),
    'Grad-CAM ratio': m.ratio[1]!.toFixed(2),
    'Grad-CAM++ ms': m.ms[2]!.toFixed(3),
    'Grad-CAM++ ratio': m.ratio[2]!.toFixed(2),
    'ratio range (CAM, ++)': `${m.spread[1]}, ${m.spread[2]}`,
  });
  model.release(body);
  await model.dispose();
  await plain.release();
}
console.log(`onnxruntime-node CPU, default session options; Node ${process.version}; ${ROUNDS} rounds of ${TIME} ms per task; medians of p50 latencies`);
console.table(rows);

if (process.env.GRADCAM_BENCH_ONNX_ONLY !== '1') {
  interface Case {
    name: string;
    src: string | Uint8Array;
    path?: string;
    target?: string;
    gradientEngine?: 'tfjs';
  }
  const cases: Case[] = [
    ...onnxCases.map((c) => ({ name: `${c.name} (ONNX)`, src: c.bytes, target: c.target, gradientEngine: 'tfjs' as const })),
    { name: 'darknet-tiny (TF.js Layers)', src: fixture('models', 'tfjs', 'darknet-tiny-layersmodel', 'model.json'), target: 'leaky_re_lu_15' },
    { name: 'emotion mini-Xception (TF.js Graph)', src: fixture('models', 'tfjs', 'human-emotion-graphmodel', 'emotion.json') },
    { name: 'AutoML flowers (TF.js Graph)', src: fixture('models', 'tfjs', 'automl-flowers-graphmodel', 'model.json') },
  ];
  const sizeOf = (src: string | Uint8Array): string => {
    let bytes = typeof src === 'string' ? statSync(src).size : src.length;
    if (typeof src === 'string') for (const f of readdirSync(dirname(src))) if (f.endsWith('.bin') || /shard/.test(f)) bytes += statSync(join(dirname(src), f)).size;
    return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  };
  const tf = await loadTf();
  const more: Record<string, string>[] = [];
  for (const c of cases) {
    const model: CamModel = await loadCamModel(c.src, { target: c.target, gradientEngine: c.gradientEngine });
    const x = input(model);
    await computeCams(model, x, 1, { method: 'gradcam' });
    await model.forward(x, 1);
    const m = await measure([
      ['forward', () => model.forward(x, 1)],
      ['gradcam', () => computeCams(model, x, 1, { method: 'gradcam' })],
      ['gradcam++', () => computeCams(model, x, 1, { method: 'gradcam++' })],
    ]);
    more.push({
      model: c.name,
      gradients: model.kind === 'onnx' ? (model as OnnxCamModel).gradientEngine : 'tfjs',
      size: sizeOf(c.src),
      input: `[${model.inputShape}] ${model.layout}`,
      'forward ms': m.ms[0]!.toFixed(2),
      'Grad-CAM ms': m.ms[1]!.toFixed(2),
      'Grad-CAM ratio': m.ratio[1]!.toFixed(2),
      'Grad-CAM++ ms': m.ms[2]!.toFixed(2),
      'Grad-CAM++ ratio': m.ratio[2]!.toFixed(2),
    });
    await model.dispose();
  }
  console.log(`TF.js gradients (backend ${tf.getBackend()}), against the CAM model's own forward pass`);
  console.table(more);
}
