/** Typed-array gradients against TF.js autodiff of the same ONNX head, shared by the typed-head tests. */
import type t from 'tap';
import { loadCamModel, type CamModel, type OnnxCamModel, type ResolvedTarget } from '../src/index.js';
import { relErr } from './helpers.js';

/** float32-aware bound: both engines see the same float32 activations; TF.js accumulates in float32, we in float64. */
export const TOL = 2e-6;

export function inputFor(model: CamModel, n: number, phase: number): Float32Array {
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: per * n }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37 + phase + Math.floor(i / per) * 1.3));
}

export type TestLike = Pick<typeof t, 'ok' | 'equal' | 'teardown'>;

/** Softmax targets: TF.js forms 1 - p_k in float32, so its gradient carries a relative error ~ 2^-24 / (1 - p_k). */
function softmaxTol(outputs: Float32Array, nOut: number, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(outputs.subarray(i * nOut, (i + 1) * nOut));
    const m = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
    worst = Math.max(worst, 1 / (1 - 1 / z));
  }
  return TOL + 8 * 2 ** -24 * worst;
}

/**
 * `fnByChainRule`: check the custom target (sum of squared outputs) against the chain rule over TF.js's class
 * gradients, sum_k 2 o_k dO_k/dA with onnxruntime's outputs o, combined in float64, instead of TF.js's gradient of
 * the function: TF.js re-evaluates the head in float32, and on deep heads (Div, Softmax) its outputs differ from
 * onnxruntime's by ~1e-6, which the dense seed 2 o carries into its gradient.
 */
export async function compareEngines(
  t: TestLike,
  label: string,
  src: string | Uint8Array,
  target: string | undefined,
  x: Float32Array | undefined,
  nImages: number,
  fnByChainRule = false,
  backwardEvaluator: 'auto' | 'steps' | 'graph' = 'auto',
): Promise<OnnxCamModel['evaluator']> {
  const typed = (await loadCamModel(src, { target, backwardEvaluator })) as OnnxCamModel;
  const tfjs = (await loadCamModel(src, { target, gradientEngine: 'tfjs' })) as OnnxCamModel;
  t.teardown(async () => {
    await typed.dispose();
    await tfjs.dispose();
  });
  t.equal(typed.gradientEngine, 'typed', `${label}: typed engine selected`);
  t.equal(tfjs.gradientEngine, 'tfjs', `${label}: TF.js engine forced`);
  const input = x ?? inputFor(typed, nImages, 0.1);
  const n = input.length / typed.inputShape.reduce((a, b) => a * b, 1);
  const b1 = await typed.body(input, n);
  const b2 = await tfjs.body(input, n);
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const argmax = (i: number): number => {
    const row = b1.outputs.subarray(i * b1.nOut, (i + 1) * b1.nOut);
    return Array.from(row).indexOf(Math.max(...row));
  };
  const sets: [string, ResolvedTarget[]][] = [
    ['argmax class', [...rows].map((i) => ({ kind: 'class', index: argmax(i), softmax: false }))],
    ['last class', [...rows].map(() => ({ kind: 'class', index: b1.nOut - 1, softmax: false }))],
    ['softmax', [...rows].map((i) => ({ kind: 'class', index: argmax(i), softmax: true }))],
    ['custom fn', [...rows].map(() => ({ kind: 'fn', name: 'sq', fn: (o, tf) => tf.sum(tf.mul(o, o)) as never }))],
  ];
  for (const [what, targets] of sets) {
    const g1 = await typed.gradients(b1, rows, targets);
    let g2 = await tfjs.gradients(b2, rows, targets);
    if (what === 'custom fn' && fnByChainRule) {
      const per = g1.length / n;
      const combo = new Float64Array(g1.length);
      for (let k = 0; k < b1.nOut; k++) {
        const gk = await tfjs.gradients(b2, rows, [...rows].map(() => ({ kind: 'class', index: k, softmax: false })));
        for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) combo[i * per + j]! += 2 * b1.outputs[i * b1.nOut + k]! * gk[i * per + j]!;
      }
      g2 = Float32Array.from(combo);
    }
    const e = relErr(g1, g2);
    const tol = what === 'softmax' ? softmaxTol(b1.outputs, b1.nOut, n) : TOL;
    t.ok(e < tol && g1.some((v) => v !== 0), `${label}, ${what}: typed = TF.js gradients (rel err ${e.toExponential(2)}, bound ${tol.toExponential(1)})`);
  }
  // a subset of rows in reverse order (per-row externals and cached values)
  if (n > 1) {
    const rev = Int32Array.of(n - 1, 0);
    const tg = sets[0]![1];
    const targets = [tg[n - 1]!, tg[0]!];
    const e = relErr(await typed.gradients(b1, rev, targets), await tfjs.gradients(b2, rev, targets));
    t.ok(e < TOL, `${label}: reordered rows (rel err ${e.toExponential(2)})`);
  }
  t.equal(typed.gradientEngine, 'typed', `${label}: still typed after the calls`);
  return typed.evaluator;
}

