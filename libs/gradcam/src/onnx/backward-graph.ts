/**
 * The whole backward pass of a typed head as one ONNX graph, run by onnxruntime in a single call: each backward
 * step of `typed-head.ts` lowered to ONNX ops (masks with Where, ConvTranspose for convolutions, Gemm with the
 * weights, ReduceSum over broadcast axes, Expand for pooling, Sum where a tensor feeds several ops). Inputs: the
 * seed d target / d output and the forward values the steps read (the same tensors the JavaScript steps read);
 * output: the gradient at the target, float32 (MLAS accumulation). Heads with a step that has no lowering here
 * (MaxPool, AveragePool, Concat) get none and keep the step-by-step evaluator.
 */
import { ProtoWriter } from '@genome/model-format';
import type { OnnxTensor } from './graph.js';
import { backwardConvPads, flippedConvWeights } from './native-backward.js';

const FLOAT = 1;
const INT64 = 7;

type Attr = Uint8Array;
const ints = (name: string, v: readonly number[]): Attr => {
  const a = new ProtoWriter().string(1, name);
  for (const x of v) a.varint(8, x);
  return a.varint(20, 7).finish();
};
const int = (name: string, v: number): Attr => new ProtoWriter().string(1, name).varint(3, v).varint(20, 2).finish();
const float = (name: string, v: number): Attr => {
  const f = new Uint8Array(5);
  f[0] = (2 << 3) | 5;
  new DataView(f.buffer).setFloat32(1, v, true);
  return new ProtoWriter().string(1, name).raw(f).varint(20, 1).finish();
};

function valueInfo(name: string, dims: readonly number[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) shape.bytes(1, new ProtoWriter().varint(1, d).finish());
  const tensor = new ProtoWriter().varint(1, FLOAT).bytes(2, shape.finish()).finish();
  return new ProtoWriter().string(1, name).bytes(2, new ProtoWriter().bytes(1, tensor).finish()).finish();
}

/** Builds the graph node by node; names are generated. */
class GraphWriter {
  private readonly nodes: Uint8Array[] = [];
  private readonly inits: Uint8Array[] = [];
  private readonly inputs: Uint8Array[] = [];
  private k = 0;
  private readonly constants = new Map<string, string>();

  node(op: string, inputs: readonly string[], attrs: readonly Attr[] = []): string {
    const y = `t${this.k++}`;
    const w = new ProtoWriter();
    for (const i of inputs) w.string(1, i);
    w.string(2, y).string(3, y).string(4, op);
    for (const a of attrs) w.bytes(5, a);
    this.nodes.push(w.finish());
    return y;
  }

  floats(data: ArrayLike<number>, dims: readonly number[]): string {
    const name = `c${this.k++}`;
    const w = new ProtoWriter();
    for (const d of dims) w.varint(1, d);
    const f = Float32Array.from(data);
    this.inits.push(w.varint(2, FLOAT).string(8, name).bytes(9, new Uint8Array(f.buffer)).finish());
    return name;
  }

  scalar(v: number): string {
    const key = `f${v}`;
    let n = this.constants.get(key);
    if (!n) this.constants.set(key, (n = this.floats([v], [])));
    return n;
  }

  int64s(v: readonly number[]): string {
    const key = `i${v.join(',')}`;
    let name = this.constants.get(key);
    if (name) return name;
    name = `c${this.k++}`;
    const data = BigInt64Array.from(v, (x) => BigInt(x));
    this.inits.push(new ProtoWriter().varint(1, v.length).varint(2, INT64).string(8, name).bytes(9, new Uint8Array(data.buffer)).finish());
    this.constants.set(key, name);
    return name;
  }

  input(name: string, dims: readonly number[]): void {
    this.inputs.push(valueInfo(name, dims));
  }

  finish(output: string, dims: readonly number[]): Uint8Array {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.bytes(1, n);
    g.string(2, 'gradcam-backward');
    for (const i of this.inits) g.bytes(5, i);
    for (const i of this.inputs) g.bytes(11, i);
    g.bytes(12, valueInfo(output, dims));
    return new ProtoWriter().varint(1, 8).bytes(8, new ProtoWriter().varint(2, 13).finish()).bytes(7, g.finish()).finish();
  }
}

/** The subset of a typed-head step the lowering reads (`Step` in typed-head.ts; the compiler checks every Step is one). */
export type LowerableStep =
  | { op: 'copy' | 'relu' | 'hardswish' | 'sigmoid'; x: number; y: number; v: string }
  | { op: 'clip'; x: number; y: number; v: string; lo: number; hi: number }
  | { op: 'hardsigmoid'; x: number; y: number; v: string; alpha: number; beta: number }
  | { op: 'softmax'; x: number; y: number; v: string; outer: number; len: number; inner: number }
  | { op: 'scale'; x: number; y: number; mul: Float64Array; inner: number }
  | { op: 'reduce'; x: number; y: number; red: number; inner: number; f: number }
  | { op: 'maxpool' | 'avgpool' | 'concat'; y: number }
  | { op: 'conv'; x: number; y: number; w: string; C: number; H: number; W: number; M: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; pb: number; pr: number; group: number }
  | { op: 'gemm'; x: number; y: number; b: string; rows: number; K: number; cols: number; transA: boolean; transB: boolean; alpha: number }
  | { op: 'add' | 'sub' | 'mul' | 'div'; a: number; b: number; y: number; va: string; vb: string };

export interface BackwardGraph {
  readonly bytes: Uint8Array;
  /** Graph inputs besides 'seed': head tensors whose values are fed per image, with their per-image dims. */
  readonly values: readonly { name: string; input: string; dims: readonly number[] }[];
  readonly seedDims: readonly number[];
}

/**
 * Lowers the steps (in forward order) of a compiled head. `names[id]` / `shapes[id]` are the gradient buffers'
 * tensors; `shapeOf` gives the per-image shape of any tensor. Undefined when a step has no lowering.
 */
export function lowerBackward(
  steps: readonly LowerableStep[],
  names: readonly string[],
  shapeOf: (name: string) => readonly number[] | undefined,
  initializers: ReadonlyMap<string, OnnxTensor>,
  outputId: number,
): BackwardGraph | undefined {
  const g = new GraphWriter();
  const values = new Map<string, { name: string; input: string; dims: readonly number[] }>();
  const value = (name: string): string | undefined => {
    const init = initializers.get(name);
    if (init) return g.floats(init.data, init.dims);
    let v = values.get(name);
    if (!v) {
      const dims = shapeOf(name);
      if (!dims) return undefined;
      v = { name, input: `v${values.size}`, dims };
      values.set(name, v);
      g.input(v.input, dims);
    }
    return v.input;
  };
  const shape = (id: number): readonly number[] => shapeOf(names[id]!)!;
  const grads = new Map<number, string[]>();
  const add = (id: number, t: string): void => {
    if (id < 0) return;
    const l = grads.get(id);
    if (l) l.push(t);
    else grads.set(id, [t]);
  };
  const gradOf = (id: number): string | undefined => {
    const l = grads.get(id);
    if (!l) return undefined;
    return l.length === 1 ? l[0] : g.node('Sum', l);
  };
  const outDims = shape(outputId);
  g.input('seed', outDims);
  add(outputId, 'seed');
  const zero = g.scalar(0);
  /** Sums `t` (y's shape) over the axes along which `xs` was broadcast, and reshapes it to `xs`. */
  const unbroadcast = (t: string, xs: readonly number[], ys: readonly number[]): string => {
    if (xs.length === ys.length && xs.every((d, i) => d === ys[i])) return t;
    const px = [...Array<number>(ys.length - xs.length).fill(1), ...xs];
    const axes = ys.map((d, i) => (px[i] === 1 && d !== 1 ? i : -1)).filter((i) => i >= 0);
    const r = axes.length ? g.node('ReduceSum', [t, g.int64s(axes)], [int('keepdims', 1)]) : t;
    return g.node('Reshape', [r, g.int64s(xs)]);
  };
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    const dy = gradOf(s.y);
    if (!dy) continue;
    switch (s.op) {
      case 'maxpool':
      case 'avgpool':
      case 'concat':
        return undefined;
      case 'copy':
        add(s.x, g.node('Reshape', [dy, g.int64s(shape(s.x))]));
        break;
      case 'relu': {
        const x = value(s.v);
        if (!x) return undefined;
        add(s.x, g.node('Where', [g.node('Greater', [x, zero]), dy, zero]));
        break;
      }
      case 'clip': {
        const x = value(s.v);
        if (!x) return undefined;
        const mask = g.node('And', [g.node('GreaterOrEqual', [x, g.scalar(s.lo)]), g.node('LessOrEqual', [x, g.scalar(s.hi)])]);
        add(s.x, g.node('Where', [mask, dy, zero]));
        break;
      }
      case 'hardswish': {
        const x = value(s.v);
        if (!x) return undefined;
        const mid = g.node('Add', [g.node('Div', [x, g.scalar(3)]), g.scalar(0.5)]);
        const slope = g.node('Where', [g.node('Less', [x, g.scalar(-3)]), zero, g.node('Where', [g.node('LessOrEqual', [x, g.scalar(3)]), mid, g.scalar(1)])]);
        add(s.x, g.node('Mul', [dy, slope]));
        break;
      }
      case 'hardsigmoid': {
        const x = value(s.v);
        if (!x) return undefined;
        const v = g.node('Add', [g.node('Mul', [x, g.scalar(s.alpha)]), g.scalar(s.beta)]);
        const mask = g.node('And', [g.node('Greater', [v, zero]), g.node('Less', [v, g.scalar(1)])]);
        add(s.x, g.node('Where', [mask, g.node('Mul', [dy, g.scalar(s.alpha)]), zero]));
        break;
      }
      case 'sigmoid': {
        const y = value(s.v);
        if (!y) return undefined;
        add(s.x, g.node('Mul', [dy, g.node('Mul', [y, g.node('Sub', [g.scalar(1), y])])]));
        break;
      }
      case 'softmax': {
        const yv = value(s.v);
        if (!yv) return undefined;
        const dims = g.int64s([s.outer, s.len, s.inner]);
        const d3 = g.node('Reshape', [dy, dims]);
        const y3 = g.node('Reshape', [yv, dims]);
        const dot = g.node('ReduceSum', [g.node('Mul', [d3, y3]), g.int64s([1])], [int('keepdims', 1)]);
        add(s.x, g.node('Reshape', [g.node('Mul', [y3, g.node('Sub', [d3, dot])]), g.int64s(shape(s.x))]));
        break;
      }
      case 'scale': {
        const xs = shape(s.x);
        const mul = g.floats(s.mul, [1, s.mul.length, ...Array<number>(Math.max(0, xs.length - 2)).fill(1)].slice(0, Math.max(2, xs.length)));
        add(s.x, g.node('Mul', [dy, mul]));
        break;
      }
      case 'reduce': {
        const outer = shape(s.y).reduce((a, b) => a * b, 1) / s.inner;
        const d3 = g.node('Reshape', [dy, g.int64s([outer, 1, s.inner])]);
        const e = g.node('Expand', [g.node('Mul', [d3, g.scalar(s.f)]), g.int64s([outer, s.red, s.inner])]);
        add(s.x, g.node('Reshape', [e, g.int64s(shape(s.x))]));
        break;
      }
      case 'conv': {
        const w = initializers.get(s.w);
        if (!w) return undefined;
        const oph = s.H - ((s.OH - 1) * s.sh - s.pt - s.pb + s.dh * (s.kh - 1) + 1);
        const opw = s.W - ((s.OW - 1) * s.sw - s.pl - s.pr + s.dw * (s.kw - 1) + 1);
        if (oph < 0 || opw < 0 || oph >= Math.max(s.sh, s.dh) || opw >= Math.max(s.sw, s.dw)) return undefined;
        const bp = s.sh === 1 && s.sw === 1 ? backwardConvPads(s.kh, s.kw, [s.dh, s.dw], [s.pt, s.pl, s.pb, s.pr]) : undefined;
        if (bp) {
          // stride 1: a convolution with the flipped filter (onnxruntime's depthwise / 1x1 kernels beat its grouped ConvTranspose)
          const wt = g.floats(flippedConvWeights(w.data, s.M, s.C, s.kh, s.kw, s.group), [s.C, s.M / s.group, s.kh, s.kw]);
          add(s.x, g.node('Conv', [dy, wt], [ints('kernel_shape', [s.kh, s.kw]), ints('dilations', [s.dh, s.dw]), ints('pads', bp), int('group', s.group)]));
        } else {
          const attrs = [ints('kernel_shape', [s.kh, s.kw]), ints('strides', [s.sh, s.sw]), ints('dilations', [s.dh, s.dw]), ints('pads', [s.pt, s.pl, s.pb, s.pr]), int('group', s.group), ints('output_padding', [oph, opw])];
          add(s.x, g.node('ConvTranspose', [dy, g.floats(w.data, w.dims)], attrs));
        }
        break;
      }
      case 'gemm': {
        const b = initializers.get(s.b);
        if (!b) return undefined;
        const d2 = g.node('Reshape', [dy, g.int64s([s.rows, s.cols])]);
        // dA = alpha dY B'^T: B' = B^T when transB, so dY . B; else dY . B^T
        let da = g.node('Gemm', [d2, g.floats(b.data, b.dims)], [float('alpha', s.alpha), int('transB', s.transB ? 0 : 1)]);
        if (s.transA) da = g.node('Transpose', [da]);
        add(s.x, g.node('Reshape', [da, g.int64s(shape(s.x))]));
        break;
      }
      case 'add':
      case 'sub':
      case 'mul':
      case 'div': {
        const ys = shape(s.y);
        const aShape = shapeOf(s.va), bShape = shapeOf(s.vb);
        if (!aShape || !bShape) return undefined;
        const needA = s.b >= 0 && (s.op === 'mul' || s.op === 'div');
        const needB = (s.a >= 0 && (s.op === 'mul' || s.op === 'div')) || (s.b >= 0 && s.op === 'div');
        const av = needA ? value(s.va) : '';
        const bv = needB ? value(s.vb) : '';
        if (av === undefined || bv === undefined) return undefined;
        if (s.a >= 0) {
          const t = s.op === 'mul' ? g.node('Mul', [dy, bv]) : s.op === 'div' ? g.node('Div', [dy, bv]) : dy;
          add(s.a, unbroadcast(t, aShape, ys));
        }
        if (s.b >= 0) {
          const t =
            s.op === 'add' ? dy
            : s.op === 'sub' ? g.node('Neg', [dy])
            : s.op === 'mul' ? g.node('Mul', [dy, av])
            : g.node('Neg', [g.node('Div', [g.node('Mul', [dy, av]), g.node('Mul', [bv, bv])])]);
          add(s.b, unbroadcast(t, bShape, ys));
        }
        break;
      }
    }
  }
  const dx = gradOf(0);
  if (!dx) return undefined;
  const out = g.node('Identity', [dx]);
  return { bytes: g.finish(out, shape(0)), values: [...values.values()], seedDims: outDims };
}
