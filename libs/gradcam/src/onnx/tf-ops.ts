/**
 * ONNX operators translated into TF.js ops, so the "head" of an ONNX CNN (target tensor -> logits) can be
 * differentiated with TF.js autodiff. Tensors keep ONNX layout (NCHW); convolution and pooling transpose to
 * NHWC around the TF.js kernel. Every translation follows the ONNX operator spec (opsets 1-21).
 */
import type { Tensor } from '@tensorflow/tfjs';
import { GradCamError } from '../errors.js';
import type { OnnxAttr, OnnxNode, OnnxTensor } from './graph.js';
import type { Tf } from '../tfjs/runtime.js';
import { convNhwc } from '../tfjs/fast-conv.js';

export interface OpContext {
  readonly tf: Tf;
  readonly opset: number;
  /** A tensor by name ('' = absent optional input -> undefined). */
  get(name: string): Tensor | undefined;
  /** Integer/float values of a (small, constant-like) input, read synchronously. */
  values(name: string): number[] | undefined;
  /** A cached, transformed copy of an initializer (e.g. a conv filter in TF layout); undefined when not an initializer. */
  cached(name: string, key: string, make: (t: Tensor) => Tensor): Tensor | undefined;
}

type OpFn = (node: OnnxNode, ctx: OpContext) => Tensor | Tensor[];

export function attrInt(n: OnnxNode, k: string, d: number): number {
  const a = n.attrs.get(k);
  return a && (a.kind === 'int' || a.kind === 'float') ? a.value : d;
}
export function attrFloat(n: OnnxNode, k: string, d: number): number {
  const a = n.attrs.get(k);
  return a && (a.kind === 'float' || a.kind === 'int') ? a.value : d;
}
export function attrInts(n: OnnxNode, k: string): number[] | undefined {
  const a = n.attrs.get(k);
  return a && a.kind === 'ints' ? a.value : undefined;
}
export function attrStr(n: OnnxNode, k: string, d: string): string {
  const a = n.attrs.get(k);
  return a && a.kind === 'string' ? a.value : d;
}
function unsupported(n: OnnxNode, why: string): GradCamError {
  return new GradCamError('UNSUPPORTED', `ONNX node '${n.name || n.outputs[0]}' (${n.opType}): ${why}. Use a forward-only method (scorecam, ablationcam, eigencam) for this model, or pick a later target tensor.`);
}
function input(n: OnnxNode, ctx: OpContext, i: number): Tensor {
  const t = ctx.get(n.inputs[i] ?? '');
  if (!t) throw new GradCamError('INVALID_MODEL', `ONNX node '${n.name}' (${n.opType}) is missing input ${i}.`);
  return t;
}
function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Spatial padding [[top,bottom],[left,right]] for conv/pool from pads / auto_pad. */
export function spatialPads(n: OnnxNode, inH: number, inW: number, k: number[], s: number[], d: number[], ceil: boolean): [[number, number], [number, number]] {
  const autoPad = attrStr(n, 'auto_pad', 'NOTSET');
  const res: [[number, number], [number, number]] = [[0, 0], [0, 0]];
  const ins = [inH, inW];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(ins[i]! / s[i]!);
      const total = Math.max((out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - ins[i]!, 0);
      const small = Math.floor(total / 2);
      res[i] = autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    }
    return res;
  }
  if (autoPad === 'VALID') return res;
  const pads = attrInts(n, 'pads') ?? [0, 0, 0, 0];
  res[0] = [pads[0] ?? 0, pads[2] ?? 0];
  res[1] = [pads[1] ?? 0, pads[3] ?? 0];
  if (ceil) {
    for (let i = 0; i < 2; i++) {
      const span = ins[i]! + res[i]![0] + res[i]![1] - ((k[i]! - 1) * d[i]! + 1);
      let out = Math.ceil(span / s[i]!) + 1;
      // PyTorch/ONNX: the last window must start inside the input or the begin padding
      if ((out - 1) * s[i]! >= ins[i]! + res[i]![0]) out--;
      const need = (out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - (ins[i]! + res[i]![0] + res[i]![1]);
      if (need > 0) res[i]![1] += need;
    }
  }
  return res;
}

function toNhwc(tf: Tf, x: Tensor): Tensor {
  return tf.transpose(x, [0, 2, 3, 1]);
}
function toNchw(tf: Tf, x: Tensor): Tensor {
  return tf.transpose(x, [0, 3, 1, 2]);
}
function check2d(n: OnnxNode, x: Tensor): void {
  if (x.rank !== 4) throw unsupported(n, `only 2-D spatial inputs (rank 4) are translated, got rank ${x.rank}`);
}

const conv: OpFn = (n, ctx) => {
  const { tf } = ctx;
  const x = input(n, ctx, 0);
  check2d(n, x);
  const wName = n.inputs[1]!;
  const w = input(n, ctx, 1); // [M, C/g, kh, kw]
  const group = attrInt(n, 'group', 1);
  const [M, Cg, kh, kw] = w.shape as number[];
  const k = attrInts(n, 'kernel_shape') ?? [kh!, kw!];
  const s = attrInts(n, 'strides') ?? [1, 1];
  const d = attrInts(n, 'dilations') ?? [1, 1];
  const C = x.shape[1]!;
  const pads = spatialPads(n, x.shape[2]!, x.shape[3]!, k, s, d, false);
  if (group === 1 && kh === 1 && kw === 1 && s[0] === 1 && s[1] === 1 && !pads[0][0] && !pads[0][1] && !pads[1][0] && !pads[1][1]) {
    // 1x1 convolution as one matMul in NCHW with a custom gradient dx = W^T dy (pre-transposed weights: the
    // wasm backend's transposed matMul and Conv2DBackpropInput are an order of magnitude slower)
    const [N, , H, W] = x.shape as [number, number, number, number];
    const w2 = ctx.cached(wName, 'mat', (t) => tf.reshape(t, [M!, C])) ?? tf.reshape(w, [M!, C]);
    const w2t = ctx.cached(wName, 'matT', (t) => tf.transpose(tf.reshape(t, [M!, C])));
    // (a weight that is not an initializer is transposed inside gradFunc: tensors made in the forward scope are gone by then)
    const mm = tf.customGrad(((xx: Tensor) => ({
      value: tf.matMul(w2 as never, xx as never),
      gradFunc: (dy: Tensor) => tf.matMul((w2t ?? tf.transpose(tf.reshape(w, [M!, C]))) as never, dy as never),
    })) as never) as (x: Tensor) => Tensor;
    const x2 = N === 1 ? tf.reshape(x, [C, H * W]) : tf.reshape(tf.transpose(tf.reshape(x, [N, C, H * W]), [1, 0, 2]), [C, N * H * W]);
    let y2 = mm(x2);
    const b1 = n.inputs[2] ? ctx.get(n.inputs[2]) : undefined;
    if (b1) y2 = tf.add(y2, tf.reshape(b1, [M!, 1]));
    return N === 1 ? tf.reshape(y2, [1, M!, H, W]) : tf.reshape(tf.transpose(tf.reshape(y2, [M!, N, H * W]), [1, 0, 2]), [N, M!, H, W]);
  }
  let h = toNhwc(tf, x);
  if (pads[0][0] || pads[0][1] || pads[1][0] || pads[1][1]) h = tf.pad(h, [[0, 0], pads[0], pads[1], [0, 0]]);
  const strides: [number, number] = [s[0]!, s[1]!];
  const dil: [number, number] = [d[0]!, d[1]!];
  let y: Tensor;
  if (group === 1) {
    const f = ctx.cached(wName, 'conv', (t) => tf.transpose(t, [2, 3, 1, 0])) ?? tf.transpose(w, [2, 3, 1, 0]);
    // NHWC filter [kh, kw, C, M]; the rotated [kh, kw, M, C] copy for the fast input gradient is cached too
    const fr = ctx.cached(wName, 'flip', (t) => tf.reverse(tf.transpose(t, [2, 3, 0, 1]), [0, 1]));
    y = convNhwc(tf, h, f, strides, dil, fr);
  } else if (group === C && Cg === 1) {
    // depthwise: filter [kh, kw, C, M/C]
    const mult = M! / C;
    const make = (t: Tensor): Tensor => tf.transpose(tf.reshape(t, [C, mult, kh!, kw!]), [2, 3, 0, 1]);
    const f = ctx.cached(wName, 'dw', make) ?? make(w);
    y = tf.depthwiseConv2d(h as never, f as never, strides, 'valid', 'NHWC', dil);
  } else {
    const f = ctx.cached(wName, 'conv', (t) => tf.transpose(t, [2, 3, 1, 0])) ?? tf.transpose(w, [2, 3, 1, 0]);
    const xs = tf.split(h, group, 3);
    const fs = tf.split(f, group, 3);
    y = tf.concat(xs.map((xi, i) => tf.conv2d(xi as never, fs[i] as never, strides, 'valid', 'NHWC', dil)), 3);
  }
  const b = n.inputs[2] ? ctx.get(n.inputs[2]) : undefined;
  if (b) y = tf.add(y, b);
  return toNchw(tf, y);
};

function pool(kind: 'max' | 'avg'): OpFn {
  return (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    check2d(n, x);
    const k = attrInts(n, 'kernel_shape');
    if (!k || k.length !== 2) throw unsupported(n, 'only 2-D kernel_shape is translated');
    const s = attrInts(n, 'strides') ?? [1, 1];
    const d = attrInts(n, 'dilations') ?? [1, 1];
    if (d[0] !== 1 || d[1] !== 1) throw unsupported(n, 'dilated pooling is not translated');
    const ceil = attrInt(n, 'ceil_mode', 0) === 1;
    const base = spatialPads(n, x.shape[2]!, x.shape[3]!, k, s, d, false);
    const pads = spatialPads(n, x.shape[2]!, x.shape[3]!, k, s, d, ceil);
    let h = toNhwc(tf, x);
    const any = pads[0][0] || pads[0][1] || pads[1][0] || pads[1][1];
    const filter: [number, number] = [k[0]!, k[1]!];
    const strides: [number, number] = [s[0]!, s[1]!];
    let y: Tensor;
    if (kind === 'max') {
      if (any) h = tf.pad(h, [[0, 0], pads[0], pads[1], [0, 0]], Number.NEGATIVE_INFINITY);
      y = tf.maxPool(h as never, filter, strides, 'valid');
    } else {
      const includePad = attrInt(n, 'count_include_pad', 0) === 1;
      if (any) h = tf.pad(h, [[0, 0], pads[0], pads[1], [0, 0]]);
      y = tf.avgPool(h as never, filter, strides, 'valid');
      if (any) {
        // divide by the number of counted cells instead of k*k
        const [H, W] = [x.shape[2]!, x.shape[3]!];
        const ones = tf.ones([1, H, W, 1]);
        const counted = includePad
          ? tf.pad(tf.pad(ones, [[0, 0], base[0], base[1], [0, 0]], 1), [[0, 0], [0, pads[0][1] - base[0][1]], [0, pads[1][1] - base[1][1]], [0, 0]])
          : tf.pad(ones, [[0, 0], pads[0], pads[1], [0, 0]]);
        const frac = tf.avgPool(counted as never, filter, strides, 'valid');
        y = tf.div(y, frac);
      }
    }
    return toNchw(tf, y);
  };
}

function reduce(kind: 'mean' | 'sum' | 'max' | 'min'): OpFn {
  return (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    let axes = attrInts(n, 'axes');
    if (!axes && n.inputs[1]) axes = ctx.values(n.inputs[1]);
    const keep = attrInt(n, 'keepdims', 1) === 1;
    if (!axes || axes.length === 0) {
      if (attrInt(n, 'noop_with_empty_axes', 0) === 1) return x;
      axes = x.shape.map((_, i) => i);
    }
    const ax = axes.map((a) => norm(a, x.rank));
    if (kind === 'mean') return tf.mean(x, ax, keep);
    if (kind === 'sum') return tf.sum(x, ax, keep);
    if (kind === 'max') return tf.max(x, ax, keep);
    return tf.min(x, ax, keep);
  };
}

function unary(f: (tf: Tf, x: Tensor, n: OnnxNode) => Tensor): OpFn {
  return (n, ctx) => f(ctx.tf, input(n, ctx, 0), n);
}
function binary(f: (tf: Tf, a: Tensor, b: Tensor) => Tensor): OpFn {
  return (n, ctx) => f(ctx.tf, input(n, ctx, 0), input(n, ctx, 1));
}
function variadic(f: (tf: Tf, a: Tensor, b: Tensor) => Tensor, finish?: (tf: Tf, acc: Tensor, count: number) => Tensor): OpFn {
  return (n, ctx) => {
    let acc = input(n, ctx, 0);
    for (let i = 1; i < n.inputs.length; i++) acc = f(ctx.tf, acc, input(n, ctx, i));
    return finish ? finish(ctx.tf, acc, n.inputs.length) : acc;
  };
}

function reshapeTo(x: Tensor, spec: number[], allowZero: boolean): number[] {
  const out = spec.map((v, i) => (v === 0 && !allowZero ? x.shape[i]! : v));
  const known = out.reduce((p, v) => (v === -1 ? p : p * v), 1);
  return out.map((v) => (v === -1 ? x.size / known : v));
}

function tensorFromOnnx(tf: Tf, t: OnnxTensor): Tensor {
  return t.data instanceof Float32Array ? tf.tensor(t.data, t.dims, 'float32') : tf.tensor(t.data, t.dims, 'int32');
}

function softmaxLike(log: boolean): OpFn {
  return (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    const axis = norm(attrInt(n, 'axis', ctx.opset >= 13 ? -1 : 1), x.rank);
    if (ctx.opset >= 13 || axis === x.rank - 1) {
      const moved = axis === x.rank - 1 ? x : tf.transpose(x, moveLast(x.rank, axis));
      const y = log ? tf.logSoftmax(moved) : tf.softmax(moved);
      return axis === x.rank - 1 ? y : tf.transpose(y, invert(moveLast(x.rank, axis)));
    }
    // opset < 13: coerce to 2-D at `axis`
    const rows = x.shape.slice(0, axis).reduce((p, v) => p * v, 1);
    const flat = tf.reshape(x, [rows, x.size / rows]);
    return tf.reshape(log ? tf.logSoftmax(flat) : tf.softmax(flat), x.shape);
  };
}
function moveLast(rank: number, axis: number): number[] {
  const p = [...Array(rank).keys()].filter((i) => i !== axis);
  p.push(axis);
  return p;
}
function invert(p: number[]): number[] {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
}

const OPS: Record<string, OpFn> = {
  Conv: conv,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: unary((tf, x) => tf.mean(x, x.shape.slice(2).map((_, i) => i + 2), true)),
  GlobalMaxPool: unary((tf, x) => tf.max(x, x.shape.slice(2).map((_, i) => i + 2), true)),
  BatchNormalization: (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    const eps = attrFloat(n, 'epsilon', 1e-5);
    const shape = x.shape.map((v, i) => (i === 1 ? v : 1));
    const key = `bn:${eps}:${x.rank}`;
    const make = (): [Tensor, Tensor] => {
      const scale = input(n, ctx, 1), bias = input(n, ctx, 2), mean = input(n, ctx, 3), variance = input(n, ctx, 4);
      const mul = tf.div(scale, tf.sqrt(tf.add(variance, eps)));
      return [tf.reshape(mul, shape), tf.reshape(tf.sub(bias, tf.mul(mean, mul)), shape)];
    };
    const mul = ctx.cached(n.inputs[1]!, `${key}:mul:${n.inputs.slice(1).join(',')}`, () => make()[0]);
    const add = ctx.cached(n.inputs[2]!, `${key}:add:${n.inputs.slice(1).join(',')}`, () => make()[1]);
    if (mul && add) return tf.add(tf.mul(x, mul), add);
    const [m, a] = make();
    return tf.add(tf.mul(x, m), a);
  },
  Relu: unary((tf, x) => tf.relu(x)),
  LeakyRelu: unary((tf, x, n) => tf.leakyRelu(x, attrFloat(n, 'alpha', 0.01))),
  PRelu: binary((tf, x, slope) => tf.where(tf.greater(x, 0), x, tf.mul(x, slope))),
  Sigmoid: unary((tf, x) => tf.sigmoid(x)),
  Tanh: unary((tf, x) => tf.tanh(x)),
  Elu: unary((tf, x, n) => {
    const a = attrFloat(n, 'alpha', 1);
    return a === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(a, tf.sub(tf.exp(x), 1)));
  }),
  Selu: unary((tf, x, n) => {
    const a = attrFloat(n, 'alpha', 1.67326319217681884765625), g = attrFloat(n, 'gamma', 1.05070102214813232421875);
    return tf.mul(g, tf.where(tf.greater(x, 0), x, tf.mul(a, tf.sub(tf.exp(x), 1))));
  }),
  Softplus: unary((tf, x) => tf.softplus(x)),
  Exp: unary((tf, x) => tf.exp(x)),
  Log: unary((tf, x) => tf.log(x)),
  Neg: unary((tf, x) => tf.neg(x)),
  Abs: unary((tf, x) => tf.abs(x)),
  Sqrt: unary((tf, x) => tf.sqrt(x)),
  Reciprocal: unary((tf, x) => tf.reciprocal(x)),
  Erf: unary((tf, x) => tf.erf(x)),
  HardSigmoid: unary((tf, x, n) => tf.clipByValue(tf.add(tf.mul(x, attrFloat(n, 'alpha', 0.2)), attrFloat(n, 'beta', 0.5)), 0, 1)),
  HardSwish: unary((tf, x) => tf.mul(x, tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1))),
  Clip: (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    let lo = attrFloat(n, 'min', Number.NEGATIVE_INFINITY);
    let hi = attrFloat(n, 'max', Number.POSITIVE_INFINITY);
    if (n.inputs[1]) lo = ctx.values(n.inputs[1])?.[0] ?? lo;
    if (n.inputs[2]) hi = ctx.values(n.inputs[2])?.[0] ?? hi;
    // tf.clipByValue has the same gradient as ONNX Clip (1 inside, 0 outside)
    return tf.clipByValue(x, lo, hi);
  },
  Identity: unary((_tf, x) => x),
  Dropout: unary((_tf, x) => x),
  Add: binary((tf, a, b) => tf.add(a, b)),
  Sub: binary((tf, a, b) => tf.sub(a, b)),
  Mul: binary((tf, a, b) => tf.mul(a, b)),
  Div: binary((tf, a, b) => tf.div(a, b)),
  Pow: binary((tf, a, b) => tf.pow(a, b)),
  Sum: variadic((tf, a, b) => tf.add(a, b)),
  Mean: variadic((tf, a, b) => tf.add(a, b), (tf, acc, k) => tf.div(acc, k)),
  Max: variadic((tf, a, b) => tf.maximum(a, b)),
  Min: variadic((tf, a, b) => tf.minimum(a, b)),
  Concat: (n, ctx) => {
    const xs = n.inputs.filter((s) => s).map((_, i) => input(n, ctx, i));
    return ctx.tf.concat(xs, norm(attrInt(n, 'axis', 1), xs[0]!.rank));
  },
  ReduceMean: reduce('mean'),
  ReduceSum: reduce('sum'),
  ReduceMax: reduce('max'),
  ReduceMin: reduce('min'),
  Flatten: (n, ctx) => {
    const x = input(n, ctx, 0);
    const axis = norm(attrInt(n, 'axis', 1), x.rank);
    const rows = x.shape.slice(0, axis).reduce((p, v) => p * v, 1);
    return ctx.tf.reshape(x, [rows, x.size / rows]);
  },
  Reshape: (n, ctx) => {
    const x = input(n, ctx, 0);
    const spec = n.inputs[1] ? ctx.values(n.inputs[1]) : attrInts(n, 'shape');
    if (!spec) throw unsupported(n, 'the target shape is not known');
    return ctx.tf.reshape(x, reshapeTo(x, spec, attrInt(n, 'allowzero', 0) === 1));
  },
  Squeeze: (n, ctx) => {
    const x = input(n, ctx, 0);
    const axes = attrInts(n, 'axes') ?? (n.inputs[1] ? ctx.values(n.inputs[1]) : undefined);
    return ctx.tf.squeeze(x, axes?.map((a) => norm(a, x.rank)));
  },
  Unsqueeze: (n, ctx) => {
    const x = input(n, ctx, 0);
    const axes = attrInts(n, 'axes') ?? (n.inputs[1] ? ctx.values(n.inputs[1]) : undefined);
    if (!axes) throw unsupported(n, 'axes are not known');
    const rank = x.rank + axes.length;
    const sorted = axes.map((a) => norm(a, rank)).sort((a, b) => a - b);
    const shape = [...x.shape];
    for (const a of sorted) shape.splice(a, 0, 1);
    return ctx.tf.reshape(x, shape);
  },
  Transpose: (n, ctx) => {
    const x = input(n, ctx, 0);
    return ctx.tf.transpose(x, attrInts(n, 'perm') ?? [...Array(x.rank).keys()].reverse());
  },
  Gemm: (n, ctx) => {
    const { tf } = ctx;
    const a = input(n, ctx, 0);
    const b = input(n, ctx, 1);
    let y = tf.matMul(a as never, b as never, attrInt(n, 'transA', 0) === 1, attrInt(n, 'transB', 0) === 1);
    const alpha = attrFloat(n, 'alpha', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    const c = n.inputs[2] ? ctx.get(n.inputs[2]) : undefined;
    if (c) {
      const beta = attrFloat(n, 'beta', 1);
      y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
    }
    return y;
  },
  MatMul: binary((tf, a, b) => {
    if (a.rank === 2 && b.rank === 2) return tf.matMul(a as never, b as never);
    if (b.rank === 2) {
      const lead = a.shape.slice(0, -1);
      const y = tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]) as never, b as never);
      return tf.reshape(y, [...lead, b.shape[1]!]);
    }
    return tf.matMul(a as never, b as never);
  }),
  Softmax: softmaxLike(false),
  LogSoftmax: softmaxLike(true),
  Pad: (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    const mode = attrStr(n, 'mode', 'constant');
    const pads = attrInts(n, 'pads') ?? (n.inputs[1] ? ctx.values(n.inputs[1]) : undefined);
    if (!pads) throw unsupported(n, 'pads are not known');
    if (n.inputs[3]) throw unsupported(n, 'Pad with an axes input is not translated');
    const value = n.inputs[2] ? (ctx.values(n.inputs[2])?.[0] ?? 0) : attrFloat(n, 'value', 0);
    const r = x.rank;
    const pp = [...Array(r).keys()].map((i) => [pads[i] ?? 0, pads[i + r] ?? 0] as [number, number]);
    if (pp.some(([a, b]) => a < 0 || b < 0)) throw unsupported(n, 'negative pads (cropping) are not translated');
    if (mode === 'constant') return tf.pad(x, pp, value);
    if (mode === 'reflect') return tf.mirrorPad(x, pp, 'reflect');
    throw unsupported(n, `Pad mode '${mode}' is not translated`);
  },
  Constant: (n, ctx) => {
    const { tf } = ctx;
    const a = n.attrs.get('value') ?? n.attrs.get('value_float') ?? n.attrs.get('value_floats') ?? n.attrs.get('value_int') ?? n.attrs.get('value_ints');
    if (!a) throw unsupported(n, 'only value/value_float(s)/value_int(s) constants are translated');
    return constantTensor(tf, a, n);
  },
  Shape: (n, ctx) => {
    const x = input(n, ctx, 0);
    let shape = x.shape as number[];
    const start = attrInt(n, 'start', 0);
    const endA = n.attrs.get('end');
    shape = shape.slice(norm(start, x.rank), endA ? norm(attrInt(n, 'end', x.rank), x.rank) : x.rank);
    return ctx.tf.tensor1d(shape, 'int32');
  },
  Gather: (n, ctx) => {
    const x = input(n, ctx, 0);
    const idx = input(n, ctx, 1);
    const axis = norm(attrInt(n, 'axis', 0), x.rank);
    const fixed = ctx.tf.where(ctx.tf.less(idx, 0), ctx.tf.add(idx, x.shape[axis]!), idx);
    return ctx.tf.gather(x, ctx.tf.cast(fixed, 'int32'), axis);
  },
  Cast: (n, ctx) => {
    const to = attrInt(n, 'to', 1);
    const x = input(n, ctx, 0);
    return ctx.tf.cast(x, to === 1 || to === 10 || to === 11 ? 'float32' : to === 9 ? 'bool' : 'int32');
  },
  Slice: (n, ctx) => {
    const { tf } = ctx;
    const x = input(n, ctx, 0);
    const starts = attrInts(n, 'starts') ?? ctx.values(n.inputs[1] ?? '');
    const ends = attrInts(n, 'ends') ?? ctx.values(n.inputs[2] ?? '');
    const axes = attrInts(n, 'axes') ?? (n.inputs[3] ? ctx.values(n.inputs[3]) : undefined) ?? starts?.map((_, i) => i);
    const steps = n.inputs[4] ? ctx.values(n.inputs[4]) : undefined;
    if (!starts || !ends || !axes) throw unsupported(n, 'slice bounds are not known');
    if (steps && steps.some((s) => s !== 1)) throw unsupported(n, 'Slice with steps other than 1 is not translated');
    const begin = x.shape.map(() => 0);
    const size = [...x.shape] as number[];
    axes.forEach((a0, i) => {
      const a = norm(a0, x.rank);
      const dim = x.shape[a]!;
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      const b = clamp(starts[i]!);
      const e = clamp(ends[i]!);
      begin[a] = b;
      size[a] = Math.max(e - b, 0);
    });
    return tf.slice(x, begin, size);
  },
};

function constantTensor(tf: Tf, a: OnnxAttr, n: OnnxNode): Tensor {
  switch (a.kind) {
    case 'tensor': return tensorFromOnnx(tf, a.value);
    case 'float': return tf.scalar(a.value, 'float32');
    case 'floats': return tf.tensor1d(a.value, 'float32');
    case 'int': return tf.scalar(a.value, 'int32');
    case 'ints': return tf.tensor1d(a.value, 'int32');
    default: throw unsupported(n, `constant of kind ${a.kind}`);
  }
}

/** ONNX op types (default domain) this module translates into TF.js. */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.keys(OPS).sort();

export function isSupported(n: OnnxNode): boolean {
  return (n.domain === '' || n.domain === 'ai.onnx') && Object.prototype.hasOwnProperty.call(OPS, n.opType);
}

export function runOp(n: OnnxNode, ctx: OpContext): Tensor[] {
  const fn = OPS[n.opType];
  if (!fn || !isSupported(n)) throw unsupported(n, 'this operator has no TF.js translation');
  const out = fn(n, ctx);
  return Array.isArray(out) ? out : [out];
}

export { tensorFromOnnx };
