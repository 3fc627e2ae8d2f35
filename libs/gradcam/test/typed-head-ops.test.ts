/**
 * The ops of modern CNN heads on the typed-array evaluator (HardSwish, HardSigmoid, Sigmoid, Swish as Mul(x,
 * Sigmoid(x)), broadcast Mul / Div / Sub / Add as in squeeze-excitation, Clip as Relu6, Softmax, Gemm, MatMul,
 * Dropout, Flatten, GlobalAveragePool, ReduceMean, Concat, BatchNormalization, Identity): gradients against TF.js
 * autodiff of the same head (the path checked against PyTorch autograd) and against central finite differences of
 * the onnxruntime head; the MobileNetV3-style model's heads (HardSwish, squeeze-excitation, large products run on
 * onnxruntime) against TF.js; and Grad-CAM through the public API on them.
 */
import t from 'tap';
import { computeCams, loadCamModel, TYPED_HEAD_OPS, type OnnxCamModel } from '../src/index.js';
import { buildModel, type InitializerSpec, type NodeSpec } from '../../../tools/onnx-build.js';
import { compareEngines } from './engines.js';
import { relErr } from './helpers.js';
import { MOBILENET_V3, mobileNetV3Small } from './mobilenet-v3.js';

function weights(name: string, dims: number[], phase: number, scale = 1, offset = 0): InitializerSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, data: Float32Array.from({ length: n }, (_, i) => offset + scale * Math.sin(i * 1.7 + phase)) };
}

/**
 * Target r = Relu(x) [N, 4, 5, 5]; every new op between it and the 5 logits, several with two differentiable
 * inputs. `smooth`: smaller conv weights and shifted biases keep every Relu / Clip / HardSwish / HardSigmoid input
 * away from its kinks (for finite differences); otherwise values straddle them.
 */
function modernHead(smooth = false, concat = true): Uint8Array {
  const k = smooth ? 0.15 : 1;
  const nodes: NodeSpec[] = [
    { op: 'Relu', inputs: ['x'], outputs: ['r'] },
    { op: 'Conv', inputs: ['r', 'W1', 'B1'], outputs: ['c1'], attrs: [{ name: 'pads', ints: [1, 1, 1, 1] }] },
    { op: 'HardSwish', inputs: ['c1'], outputs: ['hs'] },
    { op: 'HardSigmoid', inputs: ['c1'], outputs: ['hsig'], attrs: [{ name: 'alpha', f: 0.3 }, { name: 'beta', f: 0.4 }] },
    // Swish / SiLU as exported: x * sigmoid(x)
    { op: 'Sigmoid', inputs: ['c1'], outputs: ['sg'] },
    { op: 'Mul', inputs: ['c1', 'sg'], outputs: ['swish'] },
    // squeeze-excitation: pool, 1x1 conv, Relu, 1x1 conv, HardSigmoid, broadcast Mul
    { op: 'GlobalAveragePool', inputs: ['hs'], outputs: ['pool'] },
    { op: 'Conv', inputs: ['pool', 'Wse1', 'Bse1'], outputs: ['se1'] },
    { op: 'Relu', inputs: ['se1'], outputs: ['se1r'] },
    { op: 'Conv', inputs: ['se1r', 'Wse2', 'Bse2'], outputs: ['se2'] },
    { op: 'HardSigmoid', inputs: ['se2'], outputs: ['gate'], attrs: [{ name: 'alpha', f: 1 / 6 }, { name: 'beta', f: 0.5 }] },
    { op: 'Mul', inputs: ['swish', 'gate'], outputs: ['excited'] },
    // Div with both inputs differentiable and a broadcast constant in the denominator
    { op: 'Add', inputs: ['sg', 'one'], outputs: ['den'] },
    { op: 'Div', inputs: ['excited', 'den'], outputs: ['q'] },
    { op: 'Div', inputs: ['q', 'chanScale'], outputs: ['q2'] },
    { op: 'BatchNormalization', inputs: ['q2', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], outputs: ['bn'] },
    { op: 'Clip', inputs: ['bn', 'zero', 'six'], outputs: ['relu6'] },
    { op: 'Softmax', inputs: ['relu6'], outputs: ['sm'], attrs: [{ name: 'axis', i: 1 }] },
    { op: 'Sub', inputs: ['sm', 'hsig'], outputs: ['diff'] },
    { op: 'Mul', inputs: ['chanScale', 'diff'], outputs: ['scaled'] },
    { op: 'Identity', inputs: ['scaled'], outputs: ['id'] },
    { op: 'ReduceMean', inputs: ['id'], outputs: ['rm'], attrs: [{ name: 'axes', ints: [2, 3] }, { name: 'keepdims', i: 1 }] },
    { op: 'GlobalAveragePool', inputs: ['excited'], outputs: ['g2'] },
    concat ? { op: 'Concat', inputs: ['rm', 'g2'], outputs: ['cat'], attrs: [{ name: 'axis', i: 1 }] } : { op: 'Add', inputs: ['rm', 'g2'], outputs: ['cat'] },
    { op: 'Flatten', inputs: ['cat'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
    { op: 'MatMul', inputs: ['f', 'M1'], outputs: ['mm'] },
    { op: 'HardSwish', inputs: ['mm'], outputs: ['mmh'] },
    { op: 'Dropout', inputs: ['mmh'], outputs: ['d'] },
    { op: 'Mul', inputs: ['d', 'vec'], outputs: ['dv'] },
    { op: 'Gemm', inputs: ['dv', 'G', 'C'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }] },
  ];
  const init: InitializerSpec[] = [
    weights('W1', [6, 4, 3, 3], 0.3, 0.6 * k),
    weights('B1', [6], 0.9, 0.3, smooth ? 0.4 : 0),
    weights('Wse1', [3, 6, 1, 1], 1.1, k),
    weights('Bse1', [3], 0.2, 0.2, smooth ? 1 : 0),
    weights('Wse2', [6, 3, 1, 1], 2.3),
    weights('Bse2', [6], 0.4, 0.5),
    { name: 'one', dims: [1], data: Float32Array.of(1.5) },
    weights('chanScale', [6, 1, 1], 0.7, 0.3, 1),
    weights('bn_s', [6], 1.1),
    weights('bn_b', [6], 0.2, 0.5, 1),
    weights('bn_m', [6], 0.4, 0.1),
    { name: 'bn_v', dims: [6], data: Float32Array.from({ length: 6 }, (_, i) => 0.5 + i * 0.1) },
    { name: 'zero', dims: [], data: Float32Array.of(0) },
    { name: 'six', dims: [], data: Float32Array.of(6) },
    weights('M1', [concat ? 12 : 6, 8], 1.3, smooth ? 0.5 : 3),
    weights('vec', [8], 0.1, 0.5, 1),
    weights('G', [5, 8], 0.5),
    weights('C', [5], 0.8),
  ];
  return buildModel(nodes, ['x', ['N', 4, 5, 5]], ['y', ['N', 5]], init);
}

/** Target r [N, 3, 4, 4] -> pool -> Gemm -> Softmax (the explained output is a probability vector). */
function softmaxOutputHead(): Uint8Array {
  return buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Gemm', inputs: ['f', 'G'], outputs: ['logits'], attrs: [{ name: 'alpha', f: 3 }] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['prob'] },
    ],
    ['x', ['N', 3, 4, 4]],
    ['prob', ['N', 4]],
    [weights('G', [3, 4], 0.6)],
  );
}

const smooth = (n: number, per: number): Float32Array => Float32Array.from({ length: n * per }, (_, i) => 1.2 * Math.sin(i * 0.73 + 0.4) + 0.3);

t.test('modern head ops: typed = TF.js autodiff', async (t) => {
  const bytes = modernHead();
  const m = (await loadCamModel(bytes, { target: 'r' })) as OnnxCamModel;
  const ops = new Set((m as unknown as { plan: { nodes: { opType: string }[] } }).plan.nodes.map((n) => n.opType));
  await m.dispose();
  for (const op of ['HardSwish', 'HardSigmoid', 'Sigmoid', 'Mul', 'Div', 'Add', 'Sub', 'Clip', 'Softmax', 'Gemm', 'MatMul', 'Dropout', 'Flatten', 'GlobalAveragePool', 'ReduceMean', 'Concat', 'BatchNormalization', 'Identity', 'Conv', 'Relu']) {
    t.ok(ops.has(op) && TYPED_HEAD_OPS.includes(op), `head exercises ${op}`);
  }
  await compareEngines(t, 'modern head', bytes, 'r', smooth(3, 100), 3, true);
  // every step has an ONNX lowering: the step-by-step evaluator and the whole backward pass as one onnxruntime
  // graph (typed-head.ts) are each pinned and compared with TF.js, with and without Concat
  for (const [label, src] of [['with Concat', bytes], ['without Concat', modernHead(false, false)]] as const) {
    for (const evaluator of ['steps', 'graph'] as const) {
      const used = await compareEngines(t, `modern head ${label} (${evaluator})`, src, 'r', smooth(3, 100), 3, true, evaluator);
      t.equal(used, evaluator, `modern head ${label}: ${evaluator} evaluator used`);
    }
  }
  await compareEngines(t, 'softmax output', softmaxOutputHead(), 'r', smooth(2, 48), 2);
});

t.test('modern head ops: typed = central differences of the onnxruntime head', async (t) => {
  // Directional central differences of the float32 onnxruntime head, f(a + d) - f(a - d) against g . (2d) with 2d
  // the float32 perturbation actually applied, d = h v for 16 sign vectors v: every element moves, so the change
  // of f is ~ h sum|g| and float32 rounding of f stays small against it (single-element differences drown in it).
  // The smooth head keeps every Relu / Clip / HardSwish / HardSigmoid input away from its kinks. Measured: the
  // error falls as 1/h (rounding) down to h = 4e-2 (3.8e-5) and grows again at 8e-2 (truncation, O(h^2)); an
  // error in the gradient would not depend on h.
  const h = 4e-2;
  const D = 16;
  for (const [label, bytes, nOut, per] of [['modern head (smooth region)', modernHead(true), 5, 100], ['softmax output', softmaxOutputHead(), 4, 48]] as const) {
    const model = (await loadCamModel(bytes, { target: 'r' })) as OnnxCamModel;
    t.teardown(() => model.dispose());
    t.equal(model.gradientEngine, 'typed', `${label}: typed engine`);
    const body = await model.body(smooth(1, per), 1);
    const S = body.acts.length;
    const acts = new Float32Array(2 * D * S);
    for (let d = 0; d < D; d++) {
      for (let i = 0; i < S; i++) {
        const v = Math.sin(i * 12.9898 + d * 78.233) >= 0 ? h : -h;
        acts[2 * d * S + i] = body.acts[i]! + v;
        acts[(2 * d + 1) * S + i] = body.acts[i]! - v;
      }
    }
    const out = await model.head(body, new Int32Array(2 * D), acts);
    for (const k of [0, nOut - 1]) {
      const g = await model.gradients(body, Int32Array.of(0), [{ kind: 'class', index: k, softmax: false }]);
      let worst = 0;
      for (let d = 0; d < D; d++) {
        let dot = 0;
        let abs = 0;
        for (let i = 0; i < S; i++) {
          const delta = acts[2 * d * S + i]! - acts[(2 * d + 1) * S + i]!;
          dot += g[i]! * delta;
          abs += Math.abs(g[i]! * delta);
        }
        const df = out[2 * d * nOut + k]! - out[(2 * d + 1) * nOut + k]!;
        worst = Math.max(worst, Math.abs(df - dot) / abs);
      }
      t.ok(worst < 1e-4 && g.some((v) => v !== 0), `${label}, class ${k}: typed = directional central differences (worst rel err ${worst.toExponential(2)} of ${D})`);
    }
  }
});

t.test('Sigmoid head: typed gradient = analytic derivative', async (t) => {
  const bytes = buildModel(
    [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Sigmoid', inputs: ['r'], outputs: ['s'] },
      { op: 'GlobalAveragePool', inputs: ['s'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['y'], attrs: [{ name: 'axis', i: 1 }] },
    ],
    ['x', ['N', 3, 4, 4]],
    ['y', ['N', 3]],
  );
  const model = (await loadCamModel(bytes, { target: 'r' })) as OnnxCamModel;
  t.teardown(() => model.dispose());
  t.equal(model.gradientEngine, 'typed');
  const x = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * 0.9));
  const r = (await computeCams(model, x, 1, { method: 'gradcam', targets: 1 })).results[0]!;
  let alpha = 0;
  for (let s = 0; s < 16; s++) {
    const sg = 1 / (1 + Math.exp(-Math.max(x[16 + s]!, 0)));
    alpha += (sg * (1 - sg)) / 16 / 16;
  }
  // the typed path uses onnxruntime's float32 sigmoid values
  t.ok(Math.abs(r.weights![1]! - alpha) < 1e-6 * alpha, `alpha = analytic (${r.weights![1]} vs ${alpha})`);
  t.equal(r.weights![0], 0, 'other channels get no gradient');
});

t.test('MobileNetV3-style heads (HardSwish, squeeze-excitation, products on onnxruntime): typed = TF.js', async (t) => {
  const bytes = mobileNetV3Small({ size: 64, classes: 100 });
  for (const [label, target] of [['last feature block', MOBILENET_V3.lastBlock], ['block 6', MOBILENET_V3.block6], ['block 5', MOBILENET_V3.block5]] as const) {
    await compareEngines(t, `MobileNetV3-style from ${label}`, bytes, target, undefined, 2);
  }
  // at 128x128 with 1000 classes, the benchmark's configuration, through the public API
  const full = mobileNetV3Small();
  const x = Float32Array.from({ length: 3 * 128 * 128 }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.013));
  for (const target of [MOBILENET_V3.lastBlock, MOBILENET_V3.block5]) {
    const typed = (await loadCamModel(full, { target })) as OnnxCamModel;
    const tfjs = (await loadCamModel(full, { target, gradientEngine: 'tfjs' })) as OnnxCamModel;
    t.teardown(async () => {
      await typed.dispose();
      await tfjs.dispose();
    });
    for (const method of ['gradcam', 'gradcam++'] as const) {
      const a = (await computeCams(typed, x, 1, { method })).results[0]!;
      const b = (await computeCams(tfjs, x, 1, { method })).results[0]!;
      t.equal(a.target.class, b.target.class, `${target} ${method}: same argmax class`);
      // Grad-CAM weights are linear in the gradient (bound: the gradients' 2e-6); Grad-CAM++ weights sum
      // g^3 / (2 g^2 + sum(A) g^3 + eps)-like terms, which triple a relative gradient error
      const e = relErr(a.weights!, b.weights!);
      const bound = method === 'gradcam' ? 2e-6 : 6e-6;
      t.ok(e < bound, `${target} ${method}: typed weights = TF.js weights (rel err ${e.toExponential(2)}, bound ${bound})`);
    }
    t.equal(typed.gradientEngine, 'typed', `${target}: typed engine`);
  }
});

t.test('concurrent gradient calls on one model (passes await onnxruntime between steps) = sequential calls', async (t) => {
  const model = (await loadCamModel(mobileNetV3Small({ size: 64, classes: 100 }), { target: MOBILENET_V3.block5 })) as OnnxCamModel;
  t.teardown(() => model.dispose());
  const per = 3 * 64 * 64;
  const xs = [0.3, 1.1].map((p) => Float32Array.from({ length: per }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.02 + p)));
  const bodies = await Promise.all(xs.map((x) => model.body(x, 1)));
  const targets = [7, 42].map((k) => [{ kind: 'class' as const, index: k, softmax: false }]);
  const sequential = [await model.gradients(bodies[0]!, Int32Array.of(0), targets[0]!), await model.gradients(bodies[1]!, Int32Array.of(0), targets[1]!)];
  let worst = 0;
  // the first round times both evaluators (on the first image, into scratch buffers) while the other call waits
  for (let r = 0; r < 12; r++) {
    const both = await Promise.all([0, 1].map((i) => model.gradients(bodies[i]!, Int32Array.of(0), targets[i]!)));
    for (const i of [0, 1]) worst = Math.max(worst, relErr(both[i]!, sequential[i]!));
  }
  // every gradient comes from the evaluator chosen on the first image; a mixed-up pass would be off by O(1)
  t.equal(worst, 0, 'concurrent = sequential, bit for bit');
});
