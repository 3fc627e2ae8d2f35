/**
 * Large linear steps of the typed-array backward pass run on onnxruntime (MLAS, SIMD, float32 accumulation), where
 * plain JavaScript loops would cost more than the whole forward pass: the transposed product of a dense Gemm /
 * MatMul, and the input gradient of a stride-1 convolution, which is itself a convolution of the output gradient
 * with the flipped, channel-transposed filter. Each is a one-node ONNX model (weights as initializer) written with
 * model-format's protobuf writer, run in its own single-threaded session.
 */
import { ProtoWriter } from '@genome/model-format';
import { GradCamError } from '../errors.js';
import type { Ort } from './runtime.js';

/** Runs a one-input, one-output model on a float32 input of fixed dims. */
export type NativeRun = (x: Float32Array) => Promise<Float32Array>;
/** Creates a {@link NativeRun} for ONNX bytes whose input 'x' has dims `xDims`. */
export type NativeRunFactory = (model: Uint8Array, xDims: readonly number[]) => Promise<NativeRun>;
/** Runs a model with several float32 inputs (in the order given at creation) and one output. */
export type NativeGraphRun = (inputs: readonly Float32Array[]) => Promise<Float32Array>;
export type NativeGraphFactory = (model: Uint8Array, inputs: readonly { name: string; dims: readonly number[] }[]) => Promise<NativeGraphRun>;

const FLOAT = 1;

function valueInfo(name: string, dims: readonly number[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) shape.bytes(1, new ProtoWriter().varint(1, d).finish());
  const tensor = new ProtoWriter().varint(1, FLOAT).bytes(2, shape.finish()).finish();
  return new ProtoWriter().string(1, name).bytes(2, new ProtoWriter().bytes(1, tensor).finish()).finish();
}

function initializer(name: string, dims: readonly number[], data: Float32Array): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.varint(1, d);
  return w.varint(2, FLOAT).string(8, name).bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.length * 4)).finish();
}

function oneNodeModel(op: string, inputs: string[], attrs: Uint8Array[], init: Uint8Array, xDims: readonly number[], yDims: readonly number[]): Uint8Array {
  const node = new ProtoWriter();
  for (const i of inputs) node.string(1, i);
  node.string(2, 'y').string(3, 'backward').string(4, op);
  for (const a of attrs) node.bytes(5, a);
  const g = new ProtoWriter().bytes(1, node.finish()).string(2, 'gradcam-backward').bytes(5, init);
  g.bytes(11, valueInfo('x', xDims));
  g.bytes(12, valueInfo('y', yDims));
  return new ProtoWriter().varint(1, 8).bytes(8, new ProtoWriter().varint(2, 13).finish()).bytes(7, g.finish()).finish();
}

function intsAttr(name: string, v: readonly number[]): Uint8Array {
  const a = new ProtoWriter().string(1, name);
  for (const x of v) a.varint(8, x);
  return a.varint(20, 7).finish();
}
function intAttr(name: string, v: number): Uint8Array {
  return new ProtoWriter().string(1, name).varint(3, v).varint(20, 2).finish();
}

/** `y[n, c] = x[n, r] . B[r, c]` with `B` an initializer. */
export function matMulModel(b: Float32Array, r: number, c: number, n: number): Uint8Array {
  return oneNodeModel('MatMul', ['x', 'B'], [], initializer('B', [r, c], b), [n, r], [n, c]);
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
  const attrs = [intsAttr('kernel_shape', [kh, kw]), intsAttr('dilations', [dh, dw]), intsAttr('pads', bp), intAttr('group', group)];
  return oneNodeModel('Conv', ['x', 'Wt'], attrs, initializer('Wt', [C, M / group, kh, kw], flippedConvWeights(w, M, C, kh, kw, group)), [1, M, out[0], out[1]], [1, C, H, W]);
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
