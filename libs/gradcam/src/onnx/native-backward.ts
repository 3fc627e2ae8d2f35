/**
 * Large linear steps of the typed-array backward pass run on onnxruntime (MLAS, SIMD, float32 accumulation), where
 * plain JavaScript loops would cost more than the whole forward pass: the transposed product of a dense Gemm /
 * MatMul, and the input gradient of a stride-1 convolution, which is itself a convolution of the output gradient
 * with the flipped, channel-transposed filter. Each is a one-node ONNX model (weights as initializer) written with
 * model-format's ONNX encoders, run in its own single-threaded session.
 */
import { encodeAttribute, encodeModel, encodeNode, encodeTensor, encodeValueInfo, OnnxDataType } from '@genome/model-format';
import { GradCamError } from '../errors.js';
import type { Ort } from './runtime.js';

const FLOAT = OnnxDataType.FLOAT;

/** Runs a one-input, one-output model on a float32 input of fixed dims. */
export type NativeRun = (x: Float32Array) => Promise<Float32Array>;
/** Creates a {@link NativeRun} for ONNX bytes whose input 'x' has dims `xDims`. */
export type NativeRunFactory = (model: Uint8Array, xDims: readonly number[]) => Promise<NativeRun>;
/** Runs a model with several float32 inputs (in the order given at creation) and one output. */
export type NativeGraphRun = (inputs: readonly Float32Array[]) => Promise<Float32Array>;
export type NativeGraphFactory = (model: Uint8Array, inputs: readonly { name: string; dims: readonly number[] }[]) => Promise<NativeGraphRun>;

/** A model of one node with input 'x', output 'y' and one initializer. */
function oneNodeModel(op: string, inputs: string[], attrs: Uint8Array[], init: Uint8Array, xDims: readonly number[], yDims: readonly number[]): Uint8Array {
  return encodeModel(
    { name: 'gradcam-backward', nodes: [encodeNode(op, inputs, ['y'], attrs, 'backward')], initializers: [init], inputs: [encodeValueInfo('x', FLOAT, xDims)], outputs: [encodeValueInfo('y', FLOAT, yDims)] },
    13,
  );
}

/** `y[n, c] = x[n, r] . B[r, c]` with `B` an initializer. */
export function matMulModel(b: Float32Array, r: number, c: number, n: number): Uint8Array {
  return oneNodeModel('MatMul', ['x', 'B'], [], encodeTensor('B', [r, c], b), [n, r], [n, c]);
}

/**
 * Input gradient of the stride-1 convolution `y = conv(x, W)` (W `[M, C/group, kh, kw]`, dilations, pads
 * `[top, left, bottom, right]`, groups), for one image: `dx = conv(dy, W')` with
 * `W'[g Cg + c, m, ky, kx] = W[g Mg + m, c, kh-1-ky, kw-1-kx]` and pads `d (k - 1) - p`. Undefined when a forward
 * pad exceeds the dilated kernel extent (the backward pad would be negative).
 */
export function convInputGradModel(w: ArrayLike<number>, M: number, C: number, kh: number, kw: number, group: number, dil: readonly [number, number], pads: readonly [number, number, number, number], out: readonly [number, number], H: number, W: number): Uint8Array | undefined {
  const bp = backwardConvPads(kh, kw, dil, pads);
  if (!bp) return undefined;
  const [dh, dw] = dil;
  const attrs = [encodeAttribute('kernel_shape', { ints: [kh, kw] }), encodeAttribute('dilations', { ints: [dh, dw] }), encodeAttribute('pads', { ints: bp }), encodeAttribute('group', { i: group })];
  return oneNodeModel('Conv', ['x', 'Wt'], attrs, encodeTensor('Wt', [C, M / group, kh, kw], flippedConvWeights(w, M, C, kh, kw, group)), [1, M, out[0], out[1]], [1, C, H, W]);
}

/** Pads of the stride-1 input-gradient convolution, `d (k - 1) - p`; undefined when one would be negative. */
export function backwardConvPads(kh: number, kw: number, dil: readonly [number, number], pads: readonly [number, number, number, number]): number[] | undefined {
  const [dh, dw] = dil;
  const bp = [dh * (kh - 1) - pads[0], dw * (kw - 1) - pads[1], dh * (kh - 1) - pads[2], dw * (kw - 1) - pads[3]];
  return bp.some((p) => p < 0) ? undefined : bp;
}

/** `W'[g Cg + c, m, ky, kx] = W[g Mg + m, c, kh-1-ky, kw-1-kx]` for W `[M, C/group, kh, kw]`. */
export function flippedConvWeights(w: ArrayLike<number>, M: number, C: number, kh: number, kw: number, group: number): Float32Array {
  const Mg = M / group, Cg = C / group;
  const flipped = new Float32Array(C * Mg * kh * kw);
  for (let g = 0; g < group; g++) {
    for (let m = 0; m < Mg; m++) {
      for (let c = 0; c < Cg; c++) {
        const src = ((g * Mg + m) * Cg + c) * kh * kw;
        const dst = ((g * Cg + c) * Mg + m) * kh * kw;
        for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) flipped[dst + ky * kw + kx] = w[src + (kh - 1 - ky) * kw + (kw - 1 - kx)]!;
      }
    }
  }
  return flipped;
}

/**
 * Sessions on onnxruntime-node with the caller's options, one thread and no pool (these graphs are small, and idle
 * pools of many sessions spin against the body's); `sessions` collects them for release. `what` names the graph in
 * errors. Each run feeds `inputs` in order and returns the graph's (only) output.
 */
function ortSessionFactory(ort: Ort, sessionOptions: Record<string, unknown> | undefined, sessions: { release(): Promise<void> }[], what: string): NativeGraphFactory {
  return async (model, inputs) => {
    let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
    try {
      session = await ort.InferenceSession.create(model, { logSeverityLevel: 3, ...(sessionOptions ?? {}), intraOpNumThreads: 1, interOpNumThreads: 1 } as never);
    } catch (err) {
      throw new GradCamError('RUNTIME', `onnxruntime could not load ${what}: ${(err as Error).message}`, { cause: err });
    }
    sessions.push(session);
    const out = session.outputNames[0]!;
    return async (xs) => {
      const feeds: Record<string, unknown> = {};
      inputs.forEach((inp, i) => (feeds[inp.name] = new ort.Tensor('float32', xs[i]!, inp.dims as number[])));
      try {
        const res = await session.run(feeds as never);
        return (res as Record<string, { data: unknown }>)[out]!.data as Float32Array;
      } catch (err) {
        throw new GradCamError('RUNTIME', `onnxruntime failed in ${what}: ${(err as Error).message}`, { cause: err });
      }
    };
  };
}

/** A {@link NativeGraphFactory} on onnxruntime-node for the whole backward graph. */
export function ortGraphFactory(ort: Ort, sessionOptions: Record<string, unknown> | undefined, sessions: { release(): Promise<void> }[]): NativeGraphFactory {
  return ortSessionFactory(ort, sessionOptions, sessions, 'the backward graph');
}

/** A {@link NativeRunFactory} on onnxruntime-node: a one-node product model with input `x` and output `y`. */
export function ortRunFactory(ort: Ort, sessionOptions: Record<string, unknown> | undefined, sessions: { release(): Promise<void> }[]): NativeRunFactory {
  const graph = ortSessionFactory(ort, sessionOptions, sessions, 'a gradient product');
  return async (model, dims) => {
    const run = await graph(model, [{ name: 'x', dims }]);
    return (x) => run([x]);
  };
}
