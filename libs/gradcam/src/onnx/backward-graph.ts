/**
 * The whole backward pass of a typed head as ONNX nodes, run by onnxruntime in a single call: each backward step
 * of `typed-head.ts` lowered to ONNX ops (Where masks for Relu / Clip / HardSigmoid, HardSigmoid and Shrink for
 * HardSwish's slope, Gemm for products and 1x1 convolutions, Conv with the flipped filter or ConvTranspose for other
 * convolutions, MaxPool's indices with MaxUnpool or ScatterElements, a depthwise ConvTranspose for AveragePool,
 * Slice for Concat, ReduceSum over broadcast axes, Sum where a tensor feeds several ops; a global pool's gradient
 * stays in its broadcast shape until an op needs the full tensor). Two forms:
 * - standalone ({@link lowerBackward}): a model of its own fed with the seed d target / d output and the forward
 *   values the steps read (the tensors the JavaScript steps read);
 * - fused ({@link lowerFusedBackward}): nodes appended to the model itself, reading its tensors, with a one-hot
 *   class seed made in the graph.
 * Gradients are float32 (MLAS accumulation). A head with a step that has no lowering (an AveragePool window that
 * counts fewer cells, a transposed convolution whose output padding onnxruntime refuses) gets neither and keeps the
 * step-by-step evaluator.
 */
import { encodeAttribute, encodeModel, encodeNode, encodeTensor, encodeValueInfo, OnnxDataType } from '@genome/model-format';
import type { OnnxNode, OnnxTensor } from './graph.js';
import type { ConvShape, PoolShape } from './typed-backward.js';
import { backwardConvPads, flippedConvWeights } from './native-backward.js';

const FLOAT = OnnxDataType.FLOAT;

const ints = (name: string, v: readonly number[]): Uint8Array => encodeAttribute(name, { ints: v });
const int = (name: string, v: number): Uint8Array => encodeAttribute(name, { i: v });
const str = (name: string, v: string): Uint8Array => encodeAttribute(name, { s: v });
const float = (name: string, v: number): Uint8Array => encodeAttribute(name, { f: v });

/** A convolution's (or full-window average pool's) geometry, as the backward pass needs it. */
interface ConvGeometry {
  readonly kh: number;
  readonly kw: number;
  readonly dh: number;
  readonly dw: number;
  readonly sh: number;
  readonly sw: number;
  readonly OH: number;
  readonly OW: number;
  readonly pt: number;
  readonly pl: number;
  readonly pb: number;
  readonly pr: number;
  /** Output padding: rows / columns of the input no window reaches from the bottom / right. */
  readonly oph: number;
  readonly opw: number;
  readonly group: number;
}

/** Opset of the backward nodes: 16 for ScatterElements with reduction 'add' (MaxPool's gradient). */
export const BACKWARD_OPSET = 16;

/** Builds the graph node by node; generated names carry `prefix` (so they cannot meet a model's own names when fused). */
class GraphWriter {
  private readonly written: { readonly bytes: Uint8Array; readonly inputs: readonly string[]; readonly outputs: readonly string[] }[] = [];
  readonly inits: Uint8Array[] = [];
  readonly inputs: Uint8Array[] = [];
  /** Outputs of the nodes written so far. */
  readonly made = new Set<string>();
  private k = 0;
  private readonly constants = new Map<string, string>();

  constructor(private readonly prefix = '') {}

  node(op: string, inputs: readonly string[], attrs: readonly Uint8Array[] = [], outputs = 1): string {
    const y = `${this.prefix}t${this.k++}`;
    const outs = [y, ...Array.from({ length: outputs - 1 }, (_, o) => `${y}_${o + 1}`)];
    this.written.push({ bytes: encodeNode(op, inputs, outs, attrs), inputs, outputs: outs });
    this.made.add(y);
    return y;
  }

  /**
   * The nodes that `results` depend on, in order: a node whose outputs nothing reads is left out (a reshape that a
   * later one skipped, say), since onnxruntime runs every node it is given.
   */
  nodes(results: readonly string[]): Uint8Array[] {
    const live = new Set(results);
    const keep: Uint8Array[] = [];
    for (let i = this.written.length - 1; i >= 0; i--) {
      const n = this.written[i]!;
      if (!n.outputs.some((o) => live.has(o))) continue;
      for (const x of n.inputs) live.add(x);
      keep.push(n.bytes);
    }
    return keep.reverse();
  }

  floats(data: ArrayLike<number>, dims: readonly number[]): string {
    const name = `${this.prefix}c${this.k++}`;
    this.inits.push(encodeTensor(name, dims, Float32Array.from(data)));
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
    name = `${this.prefix}c${this.k++}`;
    this.inits.push(encodeTensor(name, [v.length], BigInt64Array.from(v, (x) => BigInt(x))));
    this.constants.set(key, name);
    return name;
  }

  input(name: string, dims: readonly number[], elemType: number = FLOAT): void {
    this.inputs.push(encodeValueInfo(name, elemType, dims));
  }

  finish(output: string, dims: readonly number[]): Uint8Array {
    return encodeModel({ name: 'gradcam-backward', nodes: this.nodes([output]), initializers: this.inits, inputs: this.inputs, outputs: [encodeValueInfo(output, FLOAT, dims)] }, BACKWARD_OPSET);
  }
}

/**
 * A step of the typed head as the lowering reads it; `Step` in typed-head.ts takes these as they are and extends the
 * conv, gemm and binary ones with what its JavaScript kernels keep (the compiler checks every Step is one).
 */
export type LowerableStep =
  | { op: 'copy' | 'relu' | 'hardswish' | 'sigmoid'; x: number; y: number; v: string }
  | { op: 'clip'; x: number; y: number; v: string; lo: number; hi: number }
  | { op: 'hardsigmoid'; x: number; y: number; v: string; alpha: number; beta: number }
  | { op: 'softmax'; x: number; y: number; v: string; outer: number; len: number; inner: number }
  | { op: 'scale'; x: number; y: number; mul: Float64Array; inner: number }
  | { op: 'reduce'; x: number; y: number; red: number; inner: number; f: number }
  | ({ op: 'maxpool' | 'avgpool'; x: number; y: number; v: string } & PoolShape)
  | { op: 'concat'; xs: readonly number[]; y: number; outer: number; chunks: readonly number[]; total: number }
  | ({ op: 'conv'; x: number; y: number; w: string; pb: number; pr: number } & Omit<ConvShape, 'owLo' | 'owHi'>)
  | { op: 'gemm'; x: number; y: number; b: string; rows: number; K: number; cols: number; transA: boolean; transB: boolean; alpha: number }
  | { op: 'add' | 'sub' | 'mul' | 'div'; a: number; b: number; y: number; va: string; vb: string };

export interface BackwardGraph {
  readonly bytes: Uint8Array;
  /** Graph inputs besides 'seed': head tensors whose values are fed per image, with their per-image dims. */
  readonly values: readonly { name: string; input: string; dims: readonly number[] }[];
  readonly seedDims: readonly number[];
}

/** What the lowering of one head reads: its steps (forward order), buffer names and shapes, the model's initializers. */
export interface HeadLowering {
  readonly steps: readonly LowerableStep[];
  /** `names[id]`: the tensor of gradient buffer `id` (0 = the target). */
  readonly names: readonly string[];
  /** Per-image shape of any tensor of the head. */
  readonly shapeOf: (name: string) => readonly number[] | undefined;
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  /** Buffer id of the explained output. */
  readonly outputId: number;
  /** The model's node that outputs a tensor (the fused form reuses a MaxPool's own indices). */
  readonly producer?: (tensor: string) => OnnxNode | undefined;
}

/** How the lowered nodes reach forward values and the seed, standalone or inside the model. */
interface Env {
  readonly g: GraphWriter;
  /** The tensor holding a forward value of the head; undefined when it cannot be had. */
  value(name: string): string | undefined;
  /** A weight (initializer) as a tensor of this graph. */
  weight(t: OnnxTensor): string;
  /** Masks of Relu read its output (true inside the model: onnxruntime can still fuse Conv and Relu). */
  readonly reluOnOutput: boolean;
  /** The Indices output of the model's MaxPool giving `pooled`, when the lowered nodes can read it. */
  poolIndices?(pooled: string): string | undefined;
}

type Seed = { readonly dense: string } | { readonly oneHot: string };

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The backward nodes of `head` from `seed` to the target; the name of the target's gradient, or undefined when a step
 * has no lowering. With `perChannel`, a gradient that is constant over each channel's map (a global pool's) is
 * returned as it is, `[1, C, 1, 1]`, and `perChannel.value` set.
 */
function lower(head: HeadLowering, env: Env, seed: Seed, perChannel?: { value: boolean }): string | undefined {
  const { steps, names, shapeOf, initializers, outputId } = head;
  const g = env.g;
  const shape = (id: number): readonly number[] => shapeOf(names[id]!)!;
  const grads = new Map<number, string[]>();
  /** Gradient tensors whose shape only broadcasts to their buffer's (a global pool's gradient, before it meets a full one). */
  const narrow = new Map<string, readonly number[]>();
  /** Buffers whose whole gradient is the one-hot vector at the seed's index (flat over their shape). */
  const oneHot = new Set<number>();
  /** Outputs of {@link reshape} nodes: the tensor reshaped and its shape. */
  const reshaped = new Map<string, { readonly src: string; readonly shape: readonly number[] }>();
  /**
   * `t` (of shape `from`) reshaped to `to`: no node when they are the same, nor when `t` is a reshape of a tensor of
   * shape `to` (a 1x1 convolution's gradient goes back to [C, HW] after an Add passed it on as [1, C, H, W]).
   */
  const reshape = (t: string, from: readonly number[], to: readonly number[]): string => {
    if (same(from, to)) return t;
    const r = reshaped.get(t);
    if (r && same(r.shape, to)) return r.src;
    const y = g.node('Reshape', [r?.src ?? t, g.int64s(to)]);
    reshaped.set(y, r ?? { src: t, shape: from });
    return y;
  };
  /**
   * `d` `[1, C, OH, OW]` with s - 1 zeros after each element along both axes, `[1, C, OH sh, OW sw]`: each element
   * repeated (nearest-neighbour Resize), times a mask of the cells' first rows and columns.
   */
  const zeroInsert = (d: string, OH: number, OW: number, sh: number, sw: number): string => {
    const repeated = g.node('Resize', [d, '', g.floats([1, 1, sh, sw], [4])], [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')]);
    const mask = new Float32Array(OH * sh * OW * sw);
    for (let y = 0; y < OH * sh; y += sh) for (let x = 0; x < OW * sw; x += sw) mask[y * OW * sw + x] = 1;
    return g.node('Mul', [repeated, g.floats(mask, [1, 1, OH * sh, OW * sw])]);
  };
  /**
   * The input gradient of a convolution (filter `wt()` flipped, stride, dilation, pads `[t, l, b, r]`, output padding)
   * as a stride-1 convolution of `d4` (`[1, M, OH, OW]`) zero-inserted along strided axes, whose trailing zeros stand
   * for that much of the bottom and right pads: onnxruntime's depthwise and blocked Conv kernels beat its grouped
   * ConvTranspose several times over. Undefined when a backward pad would be negative.
   */
  const convInputGrad = (d4: string, wt: () => string, c: ConvGeometry): string | undefined => {
    const bp = backwardConvPads(c.kh, c.kw, [c.dh, c.dw], [c.pt, c.pl, c.pb - c.oph + c.sh - 1, c.pr - c.opw + c.sw - 1]);
    if (!bp) return undefined;
    const z = c.sh === 1 && c.sw === 1 ? d4 : zeroInsert(d4, c.OH, c.OW, c.sh, c.sw);
    return g.node('Conv', [z, wt()], [ints('kernel_shape', [c.kh, c.kw]), ints('dilations', [c.dh, c.dw]), ints('pads', bp), int('group', c.group)]);
  };
  /** The class index tensor of a one-hot seed ('' for a dense seed, which makes no one-hot buffers). */
  const hotIndex = 'oneHot' in seed ? seed.oneHot : '';
  const materialize = (id: number): string => {
    const n = size(shape(id));
    const hot = g.node('Cast', [g.node('Equal', [g.int64s(Array.from({ length: n }, (_, i) => i)), hotIndex])], [int('to', FLOAT)]);
    return reshape(hot, [n], shape(id));
  };
  const add = (id: number, t: string): void => {
    if (id < 0) return;
    if (oneHot.delete(id)) grads.set(id, [materialize(id)]);
    const l = grads.get(id);
    if (l) l.push(t);
    else grads.set(id, [t]);
  };
  const addOneHot = (id: number): void => {
    if (id < 0) return;
    if (grads.has(id) || oneHot.has(id)) add(id, materialize(id));
    else oneHot.add(id);
  };
  /** The gradient of buffer `id`, possibly of a shape that broadcasts to the buffer's (see {@link gradOf}). */
  const gradAny = (id: number): string | undefined => {
    if (oneHot.delete(id)) return materialize(id);
    const l = grads.get(id);
    if (!l) return undefined;
    if (l.length === 1) return l[0];
    const sum = g.node('Sum', l);
    // Sum broadcasts: the result is narrow only when every term is
    if (l.every((t) => narrow.has(t))) {
      const dims = l.map((t) => narrow.get(t)!);
      const b = dims[0]!.map((_, i) => Math.max(...dims.map((d) => d[i]!)));
      if (!same(b, shape(id))) narrow.set(sum, b);
    }
    return sum;
  };
  /** The gradient of buffer `id` in the buffer's shape. */
  const gradOf = (id: number): string | undefined => {
    const t = gradAny(id);
    if (t === undefined || !narrow.has(t)) return t;
    return g.node('Expand', [t, g.int64s(shape(id))]);
  };
  if ('dense' in seed) add(outputId, seed.dense);
  else oneHot.add(outputId);
  const zero = (): string => g.scalar(0);
  const weight = (name: string): string | undefined => {
    const t = initializers.get(name);
    return t ? env.weight(t) : undefined;
  };
  const value = (name: string): string | undefined => (initializers.has(name) ? weight(name) : env.value(name));
  /** Sums `t` (y's shape) over the axes along which `xs` was broadcast, and reshapes it to `xs`. */
  const unbroadcast = (t: string, xs: readonly number[], ys: readonly number[]): string => {
    if (same(xs, ys)) return t;
    const px = [...Array<number>(ys.length - xs.length).fill(1), ...xs];
    const axes = ys.map((d, i) => (px[i] === 1 && d !== 1 ? i : -1)).filter((i) => i >= 0);
    const r = axes.length ? g.node('ReduceSum', [t, g.int64s(axes)], [int('keepdims', 1)]) : t;
    return reshape(r, ys.map((d, i) => (axes.includes(i) ? 1 : d)), xs);
  };
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.y >= 0 && oneHot.has(s.y)) {
      // a one-hot gradient passes reshapes and biases as it is, and picks one row of a product's weights
      if (s.op === 'copy') {
        oneHot.delete(s.y);
        addOneHot(s.x);
        continue;
      }
      if ((s.op === 'add' || s.op === 'sub') && (s.a < 0) !== (s.b < 0)) {
        const live = s.a >= 0 ? s.va : s.vb;
        if (!(s.op === 'sub' && s.b >= 0) && same(shapeOf(live) ?? [], shape(s.y))) {
          oneHot.delete(s.y);
          addOneHot(s.a >= 0 ? s.a : s.b);
          continue;
        }
      }
      if (s.op === 'gemm' && s.rows === 1 && !s.transA && initializers.has(s.b)) {
        oneHot.delete(s.y);
        // dA[0, :] = alpha B'[:, k]: row k of B when transB (B is [cols, K]), else column k (B is [K, cols])
        let t = g.node('Gather', [weight(s.b)!, hotIndex], [int('axis', s.transB ? 0 : 1)]);
        if (s.alpha !== 1) t = g.node('Mul', [t, g.scalar(s.alpha)]);
        add(s.x, reshape(t, s.transB ? [1, s.K] : [s.K, 1], shape(s.x)));
        continue;
      }
    }
    // masks and slopes are full-shaped, so these take a narrow gradient as it is
    const elementwise = s.op === 'relu' || s.op === 'clip' || s.op === 'hardswish' || s.op === 'hardsigmoid' || s.op === 'sigmoid';
    const dy = elementwise ? gradAny(s.y) : gradOf(s.y);
    if (!dy) continue;
    switch (s.op) {
      case 'copy':
        add(s.x, reshape(dy, shape(s.y), shape(s.x)));
        break;
      case 'relu': {
        const out = env.reluOnOutput ? env.value(names[s.y]!) : undefined;
        const x = out ?? value(s.v);
        if (!x) return undefined;
        add(s.x, g.node('Where', [g.node('Greater', [x, zero()]), dy, zero()]));
        break;
      }
      case 'clip': {
        const x = value(s.v);
        if (!x) return undefined;
        const mask = g.node('And', [g.node('GreaterOrEqual', [x, g.scalar(s.lo)]), g.node('LessOrEqual', [x, g.scalar(s.hi)])]);
        add(s.x, g.node('Where', [mask, dy, zero()]));
        break;
      }
      case 'hardswish': {
        const x = value(s.v);
        if (!x) return undefined;
        // slope 0 below -3, x / 3 + 1/2 on [-3, 3], 1 above: HardSigmoid(x) (0, x / 6 + 1/2, 1) plus x / 6 on [-3, 3],
        // where x - Shrink(x, 3) is x and 0 outside; no comparisons
        const inside = g.node('Sub', [x, g.node('Shrink', [x], [float('lambd', 3)])]);
        const slope = g.node('Add', [g.node('HardSigmoid', [x], [float('alpha', 1 / 6), float('beta', 0.5)]), g.node('Div', [inside, g.scalar(6)])]);
        add(s.x, g.node('Mul', [dy, slope]));
        break;
      }
      case 'hardsigmoid': {
        // slope alpha where 0 < alpha x + beta < 1, i.e. between -beta / alpha and (1 - beta) / alpha
        if (s.alpha === 0) break;
        const x = value(s.v);
        if (!x) return undefined;
        const [lo, hi] = s.alpha > 0 ? [-s.beta / s.alpha, (1 - s.beta) / s.alpha] : [(1 - s.beta) / s.alpha, -s.beta / s.alpha];
        const mask = g.node('And', [g.node('Greater', [x, g.scalar(lo)]), g.node('Less', [x, g.scalar(hi)])]);
        add(s.x, g.node('Where', [mask, g.node('Mul', [dy, g.scalar(s.alpha)]), zero()]));
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
        const dims = [s.outer, s.len, s.inner];
        const d3 = reshape(dy, shape(s.y), dims);
        const y3 = reshape(yv, shape(s.y), dims);
        const dot = g.node('ReduceSum', [g.node('Mul', [d3, y3]), g.int64s([1])], [int('keepdims', 1)]);
        add(s.x, reshape(g.node('Mul', [y3, g.node('Sub', [d3, dot])]), dims, shape(s.x)));
        break;
      }
      case 'scale': {
        const xs = shape(s.x);
        const mul = g.floats(s.mul, [1, s.mul.length, ...Array<number>(Math.max(0, xs.length - 2)).fill(1)].slice(0, Math.max(2, xs.length)));
        add(s.x, g.node('Mul', [dy, mul]));
        break;
      }
      case 'reduce': {
        const xs = shape(s.x);
        const outer = size(shape(s.y)) / s.inner;
        // reduced trailing axes (global pooling): the scaled gradient in a shape that broadcasts to x's, expanded
        // only where an op needs the full tensor
        let k = xs.length;
        while (k > 0 && size(xs.slice(0, k)) > outer) k--;
        if (s.inner === 1 && size(xs.slice(0, k)) === outer) {
          const b = [...xs.slice(0, k), ...Array<number>(xs.length - k).fill(1)];
          const t = g.node('Mul', [reshape(dy, shape(s.y), b), g.scalar(s.f)]);
          if (!same(b, xs)) narrow.set(t, b);
          add(s.x, t);
          break;
        }
        const d3 = reshape(dy, shape(s.y), [outer, 1, s.inner]);
        const e = g.node('Expand', [g.node('Mul', [d3, g.scalar(s.f)]), g.int64s([outer, s.red, s.inner])]);
        add(s.x, reshape(e, [outer, s.red, s.inner], xs));
        break;
      }
      case 'maxpool': {
        // the window maxima's positions (onnxruntime's MaxPool indices: first maximum, as the forward pass), then
        // the gradient scattered to them, summed where windows overlap
        let indices = env.poolIndices?.(names[s.y]!);
        if (!indices) {
          const x = value(s.v);
          if (!x) return undefined;
          const pb = Math.max(0, (s.OH - 1) * s.sh + s.kh - s.H - s.pt);
          const pr = Math.max(0, (s.OW - 1) * s.sw + s.kw - s.W - s.pl);
          indices = `${g.node('MaxPool', [x], [ints('kernel_shape', [s.kh, s.kw]), ints('strides', [s.sh, s.sw]), ints('pads', [s.pt, s.pl, pb, pr])], 2)}_1`;
        }
        const d4 = [1, s.planes, s.OH, s.OW];
        if (s.sh >= s.kh && s.sw >= s.kw) {
          // disjoint windows: no position is the maximum of two, so MaxUnpool's writes are the sums
          const dx = g.node('MaxUnpool', [reshape(dy, shape(s.y), d4), indices, g.int64s([1, s.planes, s.H, s.W])], [ints('kernel_shape', [s.kh, s.kw]), ints('strides', [s.sh, s.sw])]);
          add(s.x, reshape(dx, [1, s.planes, s.H, s.W], shape(s.x)));
          break;
        }
        const flat = g.int64s([-1]);
        const n = s.planes * s.H * s.W;
        const zeros = g.node('ConstantOfShape', [g.int64s([n])]);
        const dx = g.node('ScatterElements', [zeros, g.node('Reshape', [indices, flat]), g.node('Reshape', [dy, flat])], [int('axis', 0), str('reduction', 'add')]);
        add(s.x, reshape(dx, [n], shape(s.x)));
        break;
      }
      case 'avgpool': {
        // a transposed depthwise convolution with 1/(kh kw): exact when every window counts kh kw cells
        const full = s.includePad ? (s.OH - 1) * s.sh + s.kh <= s.hLim + s.pt && (s.OW - 1) * s.sw + s.kw <= s.wLim + s.pl : s.pt === 0 && s.pl === 0 && (s.OH - 1) * s.sh + s.kh <= s.H && (s.OW - 1) * s.sw + s.kw <= s.W;
        if (!full) return undefined;
        const pb = Math.max(0, (s.OH - 1) * s.sh + s.kh - s.pt - s.H);
        const pr = Math.max(0, (s.OW - 1) * s.sw + s.kw - s.pl - s.W);
        const oph = s.H - ((s.OH - 1) * s.sh + s.kh - s.pt - pb);
        const opw = s.W - ((s.OW - 1) * s.sw + s.kw - s.pl - pr);
        if (oph < 0 || opw < 0 || oph >= s.sh || opw >= s.sw) return undefined;
        // a depthwise convolution with 1/(kh kw) (symmetric: its own flip)
        const w = (): string => g.floats(new Float32Array(s.planes * s.kh * s.kw).fill(1 / (s.kh * s.kw)), [s.planes, 1, s.kh, s.kw]);
        const d4 = reshape(dy, shape(s.y), [1, s.planes, s.OH, s.OW]);
        const geometry = { ...s, dh: 1, dw: 1, pb, pr, oph, opw, group: s.planes };
        const attrs = [ints('kernel_shape', [s.kh, s.kw]), ints('strides', [s.sh, s.sw]), ints('pads', [s.pt, s.pl, pb, pr]), int('group', s.planes), ints('output_padding', [oph, opw])];
        const dx = convInputGrad(d4, w, geometry) ?? g.node('ConvTranspose', [d4, w()], attrs);
        add(s.x, reshape(dx, [1, s.planes, s.H, s.W], shape(s.x)));
        break;
      }
      case 'concat': {
        const d2 = reshape(dy, shape(s.y), [s.outer, s.total]);
        let off = 0;
        s.xs.forEach((x, k) => {
          const c = s.chunks[k]!;
          if (x >= 0) add(x, reshape(g.node('Slice', [d2, g.int64s([off]), g.int64s([off + c]), g.int64s([1])]), [s.outer, c], shape(x)));
          off += c;
        });
        break;
      }
      case 'conv': {
        const w = initializers.get(s.w);
        if (!w) return undefined;
        const oph = s.H - ((s.OH - 1) * s.sh - s.pt - s.pb + s.dh * (s.kh - 1) + 1);
        const opw = s.W - ((s.OW - 1) * s.sw - s.pl - s.pr + s.dw * (s.kw - 1) + 1);
        if (oph < 0 || opw < 0 || oph >= Math.max(s.sh, s.dh) || opw >= Math.max(s.sw, s.dw)) return undefined;
        if (s.kh === 1 && s.kw === 1 && s.sh === 1 && s.sw === 1 && s.group === 1 && s.pt + s.pl + s.pb + s.pr === 0 && s.OH === s.H && s.OW === s.W) {
          // 1x1: dX[C, HW] = W[M, C]^T dY[M, HW] as a product, which onnxruntime keeps in NCHW (a Conv here is moved
          // to its blocked layout, with a reorder on either side)
          const d2 = reshape(dy, shape(s.y), [s.M, s.OH * s.OW]);
          const dx = g.node('Gemm', [g.floats(w.data, [s.M, s.C]), d2], [int('transA', 1)]);
          add(s.x, reshape(dx, [s.C, s.H * s.W], shape(s.x)));
          break;
        }
        const dx = convInputGrad(reshape(dy, shape(s.y), [1, s.M, s.OH, s.OW]), () => g.floats(flippedConvWeights(w.data, s.M, s.C, s.kh, s.kw, s.group), [s.C, s.M / s.group, s.kh, s.kw]), { ...s, oph, opw });
        if (dx) add(s.x, reshape(dx, [1, s.C, s.H, s.W], shape(s.x)));
        else {
          const attrs = [ints('kernel_shape', [s.kh, s.kw]), ints('strides', [s.sh, s.sw]), ints('dilations', [s.dh, s.dw]), ints('pads', [s.pt, s.pl, s.pb, s.pr]), int('group', s.group), ints('output_padding', [oph, opw])];
          add(s.x, g.node('ConvTranspose', [dy, env.weight(w)], attrs));
        }
        break;
      }
      case 'gemm': {
        const b = weight(s.b);
        if (!b) return undefined;
        const d2 = reshape(dy, shape(s.y), [s.rows, s.cols]);
        // dA = alpha dY B'^T: B' = B^T when transB, so dY . B; else dY . B^T
        let da = g.node('Gemm', [d2, b], [float('alpha', s.alpha), int('transB', s.transB ? 0 : 1)]);
        if (s.transA) da = g.node('Transpose', [da]);
        add(s.x, reshape(da, s.transA ? [s.K, s.rows] : [s.rows, s.K], shape(s.x)));
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
  // gradOf(0), keeping a per-channel gradient as it is when the caller takes one
  let dx = gradAny(0);
  if (dx !== undefined && narrow.has(dx)) {
    const t = shape(0);
    if (perChannel && t.length === 4 && t[0] === 1 && same(narrow.get(dx)!, [1, t[1]!, 1, 1])) perChannel.value = true;
    else dx = g.node('Expand', [dx, g.int64s(t)]);
  }
  return dx === undefined || g.made.has(dx) ? dx : g.node('Identity', [dx]);
}

/**
 * The backward pass of a compiled head as a model of its own: inputs 'seed' (d target / d output) and the forward
 * values the steps read (weights are copied in); output the gradient at the target. Undefined when a step has no
 * lowering.
 */
export function lowerBackward(head: HeadLowering): BackwardGraph | undefined {
  const { names, shapeOf, outputId } = head;
  const g = new GraphWriter();
  const values = new Map<string, { name: string; input: string; dims: readonly number[] }>();
  const env: Env = {
    g,
    reluOnOutput: false,
    weight: (t) => g.floats(t.data, t.dims),
    value: (name) => {
      let v = values.get(name);
      if (!v) {
        const dims = shapeOf(name);
        if (!dims) return undefined;
        v = { name, input: `v${values.size}`, dims };
        values.set(name, v);
        g.input(v.input, dims);
      }
      return v.input;
    },
  };
  const outDims = shapeOf(names[outputId]!)!;
  g.input('seed', outDims);
  const dx = lower(head, env, { dense: 'seed' });
  if (!dx) return undefined;
  return { bytes: g.finish(dx, shapeOf(names[0]!)!), values: [...values.values()], seedDims: outDims };
}

/** The backward pass appended to the model itself (see {@link lowerFusedBackward}). */
export interface FusedBackward {
  readonly nodes: readonly Uint8Array[];
  readonly initializers: readonly Uint8Array[];
  /**
   * The float `[1, outputSize]` class input, added to the output before its arg-max picks the class explained: 0
   * everywhere for the top-scoring class, {@link CLASS_BIAS} at a class to explain it.
   */
  readonly classInput: Uint8Array;
  readonly classInputName: string;
  /** The one graph output to add: {@link packedName}, float `[1, outputSize + size(targetDims) + gradient size]`. */
  readonly outputs: readonly Uint8Array[];
  /**
   * The packed output: the model output, the target activations and the gradient at the target (or per channel, see
   * {@link perChannel}), each flattened (one tensor leaves onnxruntime instead of three: each output costs a copy and
   * a JavaScript tensor).
   */
  readonly packedName: string;
  readonly outputSize: number;
  /** The target's dims (batch 1). */
  readonly targetDims: readonly number[];
  /**
   * The packed gradient is one value per channel (`[C]`; a global pool's gradient, constant over each map), which the
   * caller spreads over the map: onnxruntime then neither expands nor copies it.
   */
  readonly perChannel: boolean;
  /** Outputs to append to the model's own nodes (a MaxPool's Indices), for `extendOnnxGraph`. */
  readonly nodeOutputs: readonly { readonly node: string; readonly output: string }[];
}

/**
 * What the class input holds at a class to explain: with every output below 1e37 in magnitude, output + bias there is
 * above every other output, so the arg-max is that class (the caller checks, in float32 as onnxruntime adds).
 */
export const CLASS_BIAS = 3e38;

/** Name prefix of everything the fused lowering adds to a model. */
export const FUSED_PREFIX = 'genome_gradcam_backward/';

/**
 * The backward pass of a compiled head as nodes appended to the model's own graph, for one image: the forward
 * tensors are read where the model computes them, the model's float weights by name, and the seed is the one-hot
 * vector of a class given as an input (or the arg-max of the output for -1), which passes reshapes and biases as it
 * is and picks one row of a product's weights instead of multiplying by all of them. One onnxruntime run of the
 * extended model then gives the outputs, the target activations and their gradient. Undefined when a step has no
 * lowering.
 */
export function lowerFusedBackward(head: HeadLowering): FusedBackward | undefined {
  const { names, shapeOf, outputId } = head;
  const g = new GraphWriter(FUSED_PREFIX);
  const nodeOutputs: { node: string; output: string }[] = [];
  const env: Env = {
    g,
    reluOnOutput: true,
    // float weights are the model's own tensors; others (integer-coded, float16, double) are copied as float32
    weight: (t) => (t.dataType === FLOAT ? t.name : g.floats(t.data, t.dims)),
    value: (name) => (shapeOf(name) ? name : undefined),
    // the model's MaxPool also outputs its Indices (row-major, as a recomputed one's) instead of a second MaxPool
    poolIndices: (pooled) => {
      const n = head.producer?.(pooled);
      if (!n || n.opType !== 'MaxPool' || (n.domain !== '' && n.domain !== 'ai.onnx') || n.outputs[0] !== pooled) return undefined;
      const order = n.attrs.get('storage_order');
      if (order && (order.kind !== 'int' || order.value !== 0)) return undefined;
      if (n.outputs[1]) return n.outputs[1];
      const output = `${FUSED_PREFIX}${pooled}/indices`;
      if (!nodeOutputs.some((o) => o.node === pooled)) nodeOutputs.push({ node: pooled, output });
      return output;
    },
  };
  const outDims = shapeOf(names[outputId]!);
  if (!outDims) return undefined;
  const classInputName = `${FUSED_PREFIX}class`;
  const flat = same(outDims, [1, size(outDims)]) ? names[outputId]! : g.node('Reshape', [names[outputId]!, g.int64s([1, size(outDims)])]);
  // the first maximum of output + class input: the top class, or the class whose input is CLASS_BIAS
  const index = g.node('ArgMax', [g.node('Add', [flat, classInputName])], [int('axis', 1), int('keepdims', 0)]);
  const perChannel = { value: false };
  const dx = lower(head, env, { oneHot: index }, perChannel);
  if (!dx) return undefined;
  const targetDims = shapeOf(names[0]!)!;
  const flatten = (name: string): string => g.node('Flatten', [name], [int('axis', 1)]);
  const packedName = g.node('Concat', [flat, flatten(names[0]!), flatten(dx)], [int('axis', 1)]);
  const gradientSize = perChannel.value ? targetDims[1]! : size(targetDims);
  return {
    nodes: g.nodes([packedName]),
    initializers: g.inits,
    classInput: encodeValueInfo(classInputName, FLOAT, [1, size(outDims)]),
    classInputName,
    outputs: [encodeValueInfo(packedName, FLOAT, [1, size(outDims) + size(targetDims) + gradientSize])],
    packedName,
    outputSize: size(outDims),
    targetDims,
    perChannel: perChannel.value,
    nodeOutputs,
  };
}
