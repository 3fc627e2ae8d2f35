/**
 * Exact reverse-mode gradients of an ONNX head (target tensor -> explained output) on typed arrays, without
 * TF.js. Used when every head node is in {@link TYPED_HEAD_OPS}; other heads keep the TF.js translation.
 *
 * The forward pass is onnxruntime's own body pass: the head tensors whose values the backward pass needs (inputs
 * of Relu, Clip, HardSwish, HardSigmoid and MaxPool, outputs of Sigmoid and Softmax, the other operand of a Mul or
 * Div) are exposed as extra graph outputs and cached in the body result, so the gradient is that of exactly the
 * forward pass that produced the reported outputs. The other ops are linear in their differentiated input (Conv,
 * Gemm, MatMul with constant weights, pools, reshapes, Add, Sub, Concat, inference BatchNormalization), so their
 * backward needs only shapes. Shapes are inferred once per head ("compile"), with gradient buffers (Float64Array)
 * allocated then and reused across calls; the backward pass runs one image at a time in plain loops
 * (`typed-backward.ts`). Each buffer tracks the index range that may be non-zero, so a one-hot class seed through
 * a pool or a 1x1 conv touches (and clears) one channel, not the whole tensor.
 */
import { GradCamError } from '../errors.js';
import type { OnnxGraphView, OnnxNode } from './graph.js';
import type { HeadPlan } from './head.js';
import { lowerBackward, lowerFusedBackward, type BackwardGraph, type FusedBackward, type HeadLowering, type LowerableStep } from './backward-graph.js';
import { convInputGradModel, matMulModel, type NativeGraphFactory, type NativeGraphRun, type NativeRun, type NativeRunFactory } from './native-backward.js';
import { attrFloat, attrInt, attrInts, spatialPads } from './tf-ops.js';
import { timeAlternating } from './tune.js';
import {
  avgPoolBackward,
  binaryBackward,
  broadcastIndex,
  clipBackward,
  convBackward,
  copyBackward,
  depthwiseConvBackward,
  gemmBackward,
  hardSigmoidBackward,
  hardSwishBackward,
  maxPoolBackward,
  pointwiseConvBackward,
  reduceBackward,
  reluBackward,
  rowBroadcastBackward,
  scaleBackward,
  sigmoidBackward,
  trailingBroadcast,
  softmaxBackward,
  type ConvShape,
  type Values,
} from './typed-backward.js';

export type { Values } from './typed-backward.js';

/**
 * Gemm / MatMul and stride-1 Conv backward steps of at least this many multiply-adds (non-zero output gradients x
 * weights per output) run on onnxruntime when a {@link NativeRunFactory} is given; smaller or sparser ones (one-hot
 * seeds) stay in JavaScript, where they cost less than an onnxruntime run.
 */
export const NATIVE_MIN_MACS = 1 << 16;

/** At most this many backward passes (alternating, on the first image) time the step-by-step and one-graph evaluators. */
const TUNE_CALLS = 64;

/** ONNX op types (default domain) the typed-array evaluator differentiates. */
export const TYPED_HEAD_OPS: readonly string[] = [
  'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Concat', 'Conv', 'Div', 'Dropout', 'Flatten', 'Gemm', 'GlobalAveragePool',
  'HardSigmoid', 'HardSwish', 'Identity', 'MatMul', 'MaxPool', 'Mul', 'ReduceMean', 'ReduceSum', 'Relu', 'Reshape', 'Sigmoid',
  'Softmax', 'Squeeze', 'Sub', 'Unsqueeze',
];
const OPS = new Set(TYPED_HEAD_OPS);
/** Ops whose backward pass reads the value of input 0. */
const NEEDS_INPUT = new Set(['Relu', 'Clip', 'MaxPool', 'HardSwish', 'HardSigmoid']);
/** Ops whose backward pass reads the value of output 0. */
const NEEDS_OUTPUT = new Set(['Sigmoid', 'Softmax']);
/** Ops differentiable in every input (the others only in input 0; their other inputs must not depend on the target). */
const ALL_INPUTS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Concat']);

/** What the typed evaluator needs beyond the plan: the head tensors whose values the body pass must return. */
export interface TypedHeadPlan {
  readonly values: readonly string[];
}

/**
 * Decides statically whether the typed evaluator can differentiate the head: every node in the supported set,
 * weights (Conv W, Gemm/MatMul B, BatchNormalization parameters, shapes, clip bounds) not depending on the target.
 * Returns undefined otherwise (the caller falls back to TF.js).
 */
export function planTypedHead(m: OnnxGraphView, plan: HeadPlan): TypedHeadPlan | undefined {
  const grad = new Set<string>([plan.target]);
  for (const n of plan.nodes) for (const o of n.outputs) if (o) grad.add(o);
  const used = new Set<string>();
  for (const n of plan.nodes) for (const i of n.inputs) if (i) used.add(i);
  used.add(plan.output);
  const fetched = new Set<string>([plan.target, ...plan.externals]);
  const values = new Set<string>();
  const need = (name: string | undefined): void => {
    if (name && !fetched.has(name) && !m.initializers.has(name)) values.add(name);
  };
  for (const n of plan.nodes) {
    if (!(n.domain === '' || n.domain === 'ai.onnx') || !OPS.has(n.opType)) return undefined;
    // extra outputs (Dropout mask, MaxPool indices) must not be used
    if (n.outputs.slice(1).some((o) => o && used.has(o))) return undefined;
    const diffInputs = ALL_INPUTS.has(n.opType) ? n.inputs.length : 1;
    for (let i = diffInputs; i < n.inputs.length; i++) if (n.inputs[i] && grad.has(n.inputs[i]!)) return undefined;
    if (!n.inputs[0]) return undefined;
    if (NEEDS_INPUT.has(n.opType)) need(n.inputs[0]);
    if (NEEDS_OUTPUT.has(n.opType)) need(n.outputs[0]);
    if (n.opType === 'Mul' || n.opType === 'Div') {
      if (n.inputs.length !== 2 || !n.inputs[1]) return undefined;
      if (grad.has(n.inputs[0]) || n.opType === 'Div') need(n.inputs[1]);
      if (grad.has(n.inputs[1])) need(n.inputs[0]);
    }
  }
  if (!grad.has(plan.output) || m.initializers.has(plan.output)) return undefined;
  return { values: [...values] };
}

/** Per-image inputs of one backward pass. */
export interface TypedHeadInputs {
  /** Target activations of the image, `[1, C, H, W]`. */
  readonly act: Float32Array;
  /** Values of externals and cached head tensors for this image (batch-first tensors sliced to one row). */
  value(name: string): Values | undefined;
}

/** Buffer ids (`x`, `y`, `a`, `b`, `xs`) index {@link TypedHead}'s gradient buffers; -1 = not differentiated. */
type Step =
  | Exclude<LowerableStep, { op: 'conv' | 'gemm' | 'add' | 'sub' | 'mul' | 'div' }>
  | (Extract<LowerableStep, { op: 'conv' }> & ConvShape & { pointwise: boolean; live: Int32Array; native?: Native })
  | (Extract<LowerableStep, { op: 'gemm' }> & { bt: Float32Array; btReady: boolean; native?: Native })
  | (Extract<LowerableStep, { op: 'add' | 'sub' | 'mul' | 'div' }> & { ia?: Int32Array; ib?: Int32Array; rowInner: number });

/** A step's native run: float32 staging buffer for the output gradient and the session, created on first use. */
interface Native {
  readonly x: Float32Array;
  run?: Promise<NativeRun | undefined>;
}

function size(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}
function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Compiled head: shapes, backward steps and gradient buffers for one image. */
export class TypedHead {
  private steps?: Step[];
  private bufs: Float64Array[] = [];
  /** Per buffer, the hull [lo, hi) of indices that may be non-zero (lo >= hi: all zero). */
  private lo = new Int32Array(0);
  private hi = new Int32Array(0);
  private targetId = -1;
  private outputId = -1;
  private outSize = 0;
  /** The whole backward pass as one onnxruntime graph, when every step has a lowering and a graph factory is given. */
  private graph?: { readonly g: BackwardGraph; run?: Promise<NativeGraphRun>; readonly seed: Float32Array };
  /** Which evaluator backward() uses: decided by timing both on the first image (see {@link chooseEvaluator}). */
  private mode: 'steps' | 'graph' | undefined;
  private readonly timing = { steps: Number.POSITIVE_INFINITY, graph: Number.POSITIVE_INFINITY };
  /** Tensor of each gradient buffer and per-image shapes of the head's tensors (set by compile; read by the lowerings). */
  private names: string[] = [];
  private shapes = new Map<string, number[]>();

  constructor(
    private readonly model: OnnxGraphView,
    readonly plan: HeadPlan,
    readonly typed: TypedHeadPlan,
    private readonly native?: NativeRunFactory,
    private readonly nativeGraph?: NativeGraphFactory,
    evaluator: 'auto' | 'steps' | 'graph' = 'auto',
  ) {
    this.mode = evaluator === 'auto' ? undefined : evaluator;
  }

  /** Number of values of the explained output per image (available after {@link prepare}). */
  get outputSize(): number {
    return this.outSize;
  }

  private constValue(name: string, inputs: TypedHeadInputs): Values | undefined {
    return this.model.initializers.get(name)?.data ?? inputs.value(name);
  }

  private unsupported(n: OnnxNode, why: string): GradCamError {
    return new GradCamError('UNSUPPORTED', `ONNX node '${n.name || n.outputs[0]}' (${n.opType}): ${why} in the typed-array gradient evaluator.`);
  }

  /** Infers shapes with the first image's inputs and builds the backward steps. Throws UNSUPPORTED on shapes it does not handle. */
  private compile(inputs: TypedHeadInputs, actShape: readonly number[], externalDims: ReadonlyMap<string, readonly number[]>): Step[] {
    const shapes = new Map<string, number[]>();
    shapes.set(this.plan.target, [...actShape]);
    for (const [k, d] of externalDims) shapes.set(k, [...d]);
    for (const [k, t] of this.model.initializers) shapes.set(k, t.dims);
    const ids = new Map<string, number>([[this.plan.target, 0]]);
    for (const n of this.plan.nodes) if (n.outputs[0] && !ids.has(n.outputs[0])) ids.set(n.outputs[0], ids.size);
    const id = (name: string | undefined): number => (name ? (ids.get(name) ?? -1) : -1);
    const shapeOf = (n: OnnxNode, i: number): number[] => {
      const s = shapes.get(n.inputs[i] ?? '');
      if (!s) throw this.unsupported(n, `the shape of input ${i} is not known`);
      return s;
    };
    const ints = (n: OnnxNode, name: string, input: number): number[] | undefined => {
      const a = attrInts(n, name);
      if (a) return a;
      const nm = n.inputs[input];
      if (!nm) return undefined;
      const v = this.constValue(nm, inputs);
      if (!v) throw this.unsupported(n, `the values of '${nm}' are not known`);
      return Array.from(v);
    };
    const steps: Step[] = [];
    for (const n of this.plan.nodes) {
      const xn = n.inputs[0]!;
      const x = id(xn);
      const y = id(n.outputs[0]);
      const xs = shapeOf(n, 0);
      let ys: number[];
      switch (n.opType) {
        case 'Identity':
        case 'Dropout':
          ys = xs;
          steps.push({ op: 'copy', x, y, v: xn });
          break;
        case 'Relu':
        case 'HardSwish':
          ys = xs;
          steps.push({ op: n.opType === 'Relu' ? 'relu' : 'hardswish', x, y, v: xn });
          break;
        case 'Sigmoid':
          ys = xs;
          steps.push({ op: 'sigmoid', x, y, v: n.outputs[0]! });
          break;
        case 'HardSigmoid':
          ys = xs;
          steps.push({ op: 'hardsigmoid', x, y, v: xn, alpha: attrFloat(n, 'alpha', 0.2), beta: attrFloat(n, 'beta', 0.5) });
          break;
        case 'Clip': {
          ys = xs;
          let lo = attrFloat(n, 'min', Number.NEGATIVE_INFINITY);
          let hi = attrFloat(n, 'max', Number.POSITIVE_INFINITY);
          if (n.inputs[1]) lo = this.constValue(n.inputs[1], inputs)?.[0] ?? lo;
          if (n.inputs[2]) hi = this.constValue(n.inputs[2], inputs)?.[0] ?? hi;
          steps.push({ op: 'clip', x, y, v: xn, lo, hi });
          break;
        }
        case 'Softmax': {
          ys = xs;
          const opset13 = this.model.opset >= 13;
          const axis = norm(attrInt(n, 'axis', opset13 ? -1 : 1), xs.length);
          if (axis < 0 || axis >= xs.length) throw this.unsupported(n, `axis out of range for shape [${xs}]`);
          // opset < 13 coerces the input to 2-D at `axis`
          const len = opset13 ? xs[axis]! : size(xs.slice(axis));
          steps.push({ op: 'softmax', x, y, v: n.outputs[0]!, outer: size(xs.slice(0, axis)), len, inner: opset13 ? size(xs.slice(axis + 1)) : 1 });
          break;
        }
        case 'Flatten': {
          const axis = norm(attrInt(n, 'axis', 1), xs.length);
          const rows = size(xs.slice(0, axis));
          ys = [rows, size(xs) / rows];
          steps.push({ op: 'copy', x, y, v: xn });
          break;
        }
        case 'Reshape': {
          const spec = ints(n, 'shape', 1);
          if (!spec) throw this.unsupported(n, 'the target shape is not known');
          const allowZero = attrInt(n, 'allowzero', 0) === 1;
          const out = spec.map((v, i) => (v === 0 && !allowZero ? xs[i]! : v));
          const known = out.reduce((p, v) => (v === -1 ? p : p * v), 1);
          ys = out.map((v) => (v === -1 ? size(xs) / known : v));
          if (size(ys) !== size(xs) || ys.some((v) => !Number.isInteger(v) || v < 0)) throw this.unsupported(n, `cannot reshape [${xs}] to [${spec}] for one image`);
          steps.push({ op: 'copy', x, y, v: xn });
          break;
        }
        case 'Squeeze': {
          const axes = ints(n, 'axes', 1)?.map((a) => norm(a, xs.length));
          ys = xs.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
          steps.push({ op: 'copy', x, y, v: xn });
          break;
        }
        case 'Unsqueeze': {
          const axes = ints(n, 'axes', 1);
          if (!axes) throw this.unsupported(n, 'axes are not known');
          const rank = xs.length + axes.length;
          ys = [...xs];
          for (const a of axes.map((v) => norm(v, rank)).sort((p, q) => p - q)) ys.splice(a, 0, 1);
          steps.push({ op: 'copy', x, y, v: xn });
          break;
        }
        case 'BatchNormalization': {
          if (xs.length < 2) throw this.unsupported(n, 'rank < 2');
          const eps = attrFloat(n, 'epsilon', 1e-5);
          const [scale, , , variance] = [1, 2, 3, 4].map((i) => this.constValue(n.inputs[i] ?? '', inputs));
          if (!scale || !variance) throw this.unsupported(n, 'scale and variance must be known');
          const C = xs[1]!;
          const mul = new Float64Array(C);
          for (let c = 0; c < C; c++) mul[c] = scale[c]! / Math.sqrt(variance[c]! + eps);
          ys = xs;
          steps.push({ op: 'scale', x, y, mul, inner: size(xs.slice(2)) });
          break;
        }
        case 'GlobalAveragePool': {
          ys = xs.map((d, i) => (i < 2 ? d : 1));
          const red = size(xs.slice(2));
          steps.push({ op: 'reduce', x, y, red, inner: 1, f: 1 / red });
          break;
        }
        case 'ReduceMean':
        case 'ReduceSum': {
          let axes = ints(n, 'axes', 1);
          const keep = attrInt(n, 'keepdims', 1) === 1;
          if (!axes || axes.length === 0) {
            if (attrInt(n, 'noop_with_empty_axes', 0) === 1) {
              ys = xs;
              steps.push({ op: 'copy', x, y, v: xn });
              break;
            }
            axes = xs.map((_, i) => i);
          }
          const ax = [...new Set(axes.map((a) => norm(a, xs.length)))].sort((p, q) => p - q);
          if (ax[ax.length - 1]! - ax[0]! !== ax.length - 1) throw this.unsupported(n, 'non-contiguous reduction axes');
          const a0 = ax[0]!, a1 = ax[ax.length - 1]!;
          const red = size(xs.slice(a0, a1 + 1));
          ys = keep ? xs.map((d, i) => (i >= a0 && i <= a1 ? 1 : d)) : xs.filter((_, i) => i < a0 || i > a1);
          steps.push({ op: 'reduce', x, y, red, inner: size(xs.slice(a1 + 1)), f: n.opType === 'ReduceMean' ? 1 / red : 1 });
          break;
        }
        case 'MaxPool':
        case 'AveragePool': {
          if (xs.length !== 4) throw this.unsupported(n, 'only 2-D pooling');
          const k = attrInts(n, 'kernel_shape');
          if (!k || k.length !== 2) throw this.unsupported(n, 'only 2-D kernel_shape');
          const s = attrInts(n, 'strides') ?? [1, 1];
          const d = attrInts(n, 'dilations') ?? [1, 1];
          if (d[0] !== 1 || d[1] !== 1) throw this.unsupported(n, 'dilated pooling');
          const [N, C, H, W] = xs as [number, number, number, number];
          const base = spatialPads(n, H, W, k, s, d, false);
          const pads = spatialPads(n, H, W, k, s, d, attrInt(n, 'ceil_mode', 0) === 1);
          const OH = Math.floor((H + pads[0][0] + pads[0][1] - k[0]!) / s[0]!) + 1;
          const OW = Math.floor((W + pads[1][0] + pads[1][1] - k[1]!) / s[1]!) + 1;
          ys = [N, C, OH, OW];
          steps.push({
            op: n.opType === 'MaxPool' ? 'maxpool' : 'avgpool', x, y, v: xn, planes: N * C, H, W, OH, OW, kh: k[0]!, kw: k[1]!, sh: s[0]!, sw: s[1]!,
            pt: pads[0][0], pl: pads[1][0], hLim: H + base[0][1], wLim: W + base[1][1], includePad: attrInt(n, 'count_include_pad', 0) === 1,
          });
          break;
        }
        case 'Conv': {
          if (xs.length !== 4 || xs[0] !== 1) throw this.unsupported(n, 'only 2-D convolutions of one image');
          const wsh = shapeOf(n, 1);
          const [, C, H, W] = xs as [number, number, number, number];
          const [M, Cg, kh, kw] = wsh as [number, number, number, number];
          const group = attrInt(n, 'group', 1);
          const k = attrInts(n, 'kernel_shape') ?? [kh, kw];
          if (k[0] !== kh || k[1] !== kw || Cg * group !== C || M % group !== 0) throw this.unsupported(n, `inconsistent weight shape [${wsh}] for input [${xs}]`);
          const s = attrInts(n, 'strides') ?? [1, 1];
          const d = attrInts(n, 'dilations') ?? [1, 1];
          const pads = spatialPads(n, H, W, k, s, d, false);
          const OH = Math.floor((H + pads[0][0] + pads[0][1] - ((kh - 1) * d[0]! + 1)) / s[0]!) + 1;
          const OW = Math.floor((W + pads[1][0] + pads[1][1] - ((kw - 1) * d[1]! + 1)) / s[1]!) + 1;
          ys = [1, M, OH, OW];
          const [sh, sw, dh, dw, pt, pl] = [s[0]!, s[1]!, d[0]!, d[1]!, pads[0][0], pads[1][0]];
          const owLo = new Int32Array(kw), owHi = new Int32Array(kw);
          for (let kx = 0; kx < kw; kx++) {
            owLo[kx] = Math.max(0, Math.ceil((pl - kx * dw) / sw));
            owHi[kx] = Math.min(OW, Math.floor((W - 1 + pl - kx * dw) / sw) + 1);
          }
          const pointwise = group === 1 && kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W;
          steps.push({ op: 'conv', x, y, w: n.inputs[1]!, C, H, W, M, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, pb: pads[0][1], pr: pads[1][1], group, owLo, owHi, pointwise, live: new Int32Array(M) });
          break;
        }
        case 'Gemm':
        case 'MatMul': {
          const bs = shapeOf(n, 1);
          if (bs.length !== 2) throw this.unsupported(n, 'only a 2-D second operand');
          let transA = false, transB = false, alpha = 1;
          let rows: number, K: number;
          if (n.opType === 'Gemm') {
            if (xs.length !== 2) throw this.unsupported(n, 'only a 2-D first operand');
            transA = attrInt(n, 'transA', 0) === 1;
            transB = attrInt(n, 'transB', 0) === 1;
            alpha = attrFloat(n, 'alpha', 1);
            rows = transA ? xs[1]! : xs[0]!;
            K = transA ? xs[0]! : xs[1]!;
          } else {
            if (xs.length < 2) throw this.unsupported(n, 'only operands of rank >= 2');
            K = xs[xs.length - 1]!;
            rows = size(xs) / K;
          }
          const cols = transB ? bs[0]! : bs[1]!;
          if ((transB ? bs[1] : bs[0]) !== K) throw this.unsupported(n, `inner dimensions differ ([${xs}] x [${bs}])`);
          ys = n.opType === 'Gemm' ? [rows, cols] : [...xs.slice(0, -1), cols];
          steps.push({ op: 'gemm', x, y, b: n.inputs[1]!, rows, K, cols, transA, transB, alpha, bt: new Float32Array(K * cols), btReady: false });
          break;
        }
        case 'Add':
        case 'Sub':
        case 'Mul':
        case 'Div': {
          const s2 = shapeOf(n, 1);
          const r = Math.max(xs.length, s2.length);
          const pa = [...Array<number>(r - xs.length).fill(1), ...xs];
          const pb = [...Array<number>(r - s2.length).fill(1), ...s2];
          ys = pa.map((v, i) => Math.max(v, pb[i]!));
          if (pa.some((v, i) => v !== ys[i] && v !== 1) || pb.some((v, i) => v !== ys[i] && v !== 1)) throw this.unsupported(n, `shapes [${xs}] and [${s2}] do not broadcast`);
          const op = n.opType.toLowerCase() as 'add' | 'sub' | 'mul' | 'div';
          const aFull = sameShape(pa, ys), bFull = sameShape(pb, ys);
          // a full and b broadcast along trailing axes (squeeze-excitation scales, biases): row loops, no index maps
          const rowInner = aFull && !bFull ? trailingBroadcast(s2, ys) : 0;
          steps.push({
            op, a: x, b: id(n.inputs[1]), y, va: xn, vb: n.inputs[1]!, rowInner,
            ia: aFull ? undefined : broadcastIndex(xs, ys),
            ib: bFull || rowInner > 0 ? undefined : broadcastIndex(s2, ys),
          });
          break;
        }
        case 'Concat': {
          const all = n.inputs.map((_, i) => shapeOf(n, i));
          const axis = norm(attrInt(n, 'axis', 1), xs.length);
          const inner = size(xs.slice(axis + 1));
          const chunks = all.map((s) => s[axis]! * inner);
          ys = [...xs];
          ys[axis] = all.reduce((p, s) => p + s[axis]!, 0);
          steps.push({ op: 'concat', xs: n.inputs.map(id), y, outer: size(xs.slice(0, axis)), chunks, total: chunks.reduce((p, v) => p + v, 0) });
          break;
        }
        default:
          throw this.unsupported(n, 'no typed-array gradient');
      }
      shapes.set(n.outputs[0]!, ys);
    }
    this.bufs = [...ids.keys()].map((name) => new Float64Array(size(shapes.get(name)!)));
    this.lo = new Int32Array(this.bufs.length);
    this.hi = new Int32Array(this.bufs.length);
    this.targetId = 0;
    this.outputId = id(this.plan.output);
    this.outSize = size(shapes.get(this.plan.output)!);
    this.names = [...ids.keys()];
    this.shapes = shapes;
    if (this.nativeGraph) {
      const g = lowerBackward(this.lowering(steps));
      if (g) this.graph = { g, seed: new Float32Array(this.outSize) };
    }
    return steps;
  }

  private lowering(steps: readonly Step[]): HeadLowering {
    return {
      steps,
      names: this.names,
      shapeOf: (name) => this.shapes.get(name),
      initializers: this.model.initializers,
      outputId: this.outputId,
      producer: (tensor) => this.model.nodes.find((n) => n.outputs.includes(tensor)),
    };
  }

  /**
   * The backward pass as nodes to append to the model itself, with a one-hot class seed (see
   * `lowerFusedBackward`); undefined before {@link prepare} or when a step has no lowering.
   */
  fusedBackward(): FusedBackward | undefined {
    if (!this.steps) return undefined;
    return lowerFusedBackward(this.lowering(this.steps));
  }

  /** Compiles the head on first use (shapes from this image's inputs); returns the output size per image. */
  prepare(inputs: TypedHeadInputs, actShape: readonly number[], externalDims: ReadonlyMap<string, readonly number[]>): number {
    this.steps ??= this.compile(inputs, actShape, externalDims);
    return this.outSize;
  }

  /**
   * Gradient of `sum_k seed[k] * output[k]` with respect to the target activations of one image, written into
   * `out` (`[C*H*W]`, zero on entry). `seed` has {@link outputSize} values; call {@link prepare} first.
   */
  backward(inputs: TypedHeadInputs, seed: Float64Array, out: Float32Array): Promise<void> {
    if (!this.steps) throw new GradCamError('RUNTIME', 'TypedHead.backward called before prepare.');
    // one pass at a time: the passes share the gradient buffers and await onnxruntime in between steps
    const run = this.lock.then(() => this.backwardOne(inputs, seed, out));
    this.lock = run.catch(() => undefined);
    return run;
  }

  private lock: Promise<unknown> = Promise.resolve();

  private async backwardOne(inputs: TypedHeadInputs, seed: Float64Array, out: Float32Array): Promise<void> {
    if (this.graph && this.mode === undefined) await this.chooseEvaluator(inputs, seed, out.length);
    if (this.graph && this.mode === 'graph') return this.backwardGraph(inputs, seed, out);
    return this.backwardSteps(inputs, seed, out);
  }

  /**
   * Both evaluators give the same gradient (to float32 rounding); which is faster depends on the head (one
   * onnxruntime call for everything vs sparse JavaScript loops for one-hot seeds). On the first image, before any
   * gradient is returned, they run alternately into scratch buffers (`timeAlternating`: up to TUNE_CALLS / 2 each,
   * median time after two warm-up calls) and the faster is kept: every gradient this model returns comes from the same
   * evaluator.
   */
  private async chooseEvaluator(inputs: TypedHeadInputs, seed: Float64Array, size: number): Promise<void> {
    [this.timing.steps, this.timing.graph] = await timeAlternating(
      () => this.backwardSteps(inputs, seed, new Float32Array(size)),
      () => this.backwardGraph(inputs, seed, new Float32Array(size)),
      TUNE_CALLS,
    );
    this.mode = this.timing.graph < this.timing.steps ? 'graph' : 'steps';
  }

  /** Which evaluator backward() settled on ('steps' / 'graph'), undefined while still timing both. */
  get evaluator(): 'steps' | 'graph' | undefined {
    return this.graph ? this.mode : 'steps';
  }

  private async backwardGraph(inputs: TypedHeadInputs, seed: Float64Array, out: Float32Array): Promise<void> {
    const graph = this.graph!;
    graph.run ??= this.nativeGraph!(graph.g.bytes, [{ name: 'seed', dims: graph.g.seedDims }, ...graph.g.values.map((v) => ({ name: v.input, dims: v.dims }))]);
    graph.seed.set(seed);
    const feeds: Float32Array[] = [graph.seed];
    for (const v of graph.g.values) {
      const x = this.value(v.name, inputs);
      feeds.push(x instanceof Float32Array ? x : Float32Array.from(x));
    }
    out.set(await (await graph.run)(feeds));
  }

  private async backwardSteps(inputs: TypedHeadInputs, seed: Float64Array, out: Float32Array): Promise<void> {
    const steps = this.steps!;
    const o = this.outputId;
    const dy = this.bufs[o]!;
    let first = -1, last = -1;
    for (let i = 0; i < seed.length; i++) {
      if (seed[i] !== 0) {
        if (first < 0) first = i;
        last = i;
      }
      dy[i] = seed[i]!;
    }
    this.lo[o] = first < 0 ? 0 : first;
    this.hi[o] = last + 1;
    try {
      for (let i = steps.length - 1; i >= 0; i--) {
        const pending = this.step(steps[i]!, inputs);
        if (pending) await pending;
      }
      const g = this.bufs[this.targetId]!;
      if (this.lo[this.targetId]! < this.hi[this.targetId]!) out.set(g.subarray(this.lo[this.targetId]!, this.hi[this.targetId]!), this.lo[this.targetId]!);
    } finally {
      // clear what this pass wrote (also after a failure), so the next starts from zeros
      for (let b = 0; b < this.bufs.length; b++) {
        if (this.lo[b]! < this.hi[b]!) this.bufs[b]!.fill(0, this.lo[b]!, this.hi[b]!);
        this.lo[b] = 0;
        this.hi[b] = 0;
      }
    }
  }

  private convJs(s: Extract<Step, { op: 'conv' }>, dx: Float64Array, dy: Float64Array, w: Values, m0: number, m1: number): void {
    if (s.pointwise) pointwiseConvBackward(dx, dy, w, s.C, s.M, s.OH * s.OW, m0, m1, s.live);
    else if (s.group === s.C && s.group === s.M) depthwiseConvBackward(dx, dy, w, s, m0, m1);
    else convBackward(dx, dy, w, s, m0, m1);
  }

  /** Marks [lo, hi) of buffer `b` as possibly non-zero. */
  private mark(b: number, lo: number, hi: number): void {
    if (lo >= hi) return;
    if (this.lo[b]! >= this.hi[b]!) {
      this.lo[b] = lo;
      this.hi[b] = hi;
    } else {
      if (lo < this.lo[b]!) this.lo[b] = lo;
      if (hi > this.hi[b]!) this.hi[b] = hi;
    }
  }

  private value(name: string, inputs: TypedHeadInputs): Values {
    const v = name === this.plan.target ? inputs.act : (this.model.initializers.get(name)?.data ?? inputs.value(name));
    if (!v) throw new GradCamError('RUNTIME', `The typed-array gradient needs the value of '${name}', which the body pass did not return.`);
    return v;
  }

  /** One backward step; a promise when it runs on onnxruntime. */
  private step(s: Step, inputs: TypedHeadInputs): Promise<void> | undefined {
    const lo = this.lo[s.y]!, hi = this.hi[s.y]!;
    if (lo >= hi) return; // no gradient reaches this op
    const dy = this.bufs[s.y]!;
    switch (s.op) {
      case 'copy':
      case 'relu':
      case 'hardswish':
      case 'sigmoid':
      case 'clip':
      case 'hardsigmoid':
      case 'scale': {
        const dx = this.bufs[s.x]!;
        if (s.op === 'copy') copyBackward(dx, dy, lo, hi);
        else if (s.op === 'relu') reluBackward(dx, dy, this.value(s.v, inputs), lo, hi);
        else if (s.op === 'hardswish') hardSwishBackward(dx, dy, this.value(s.v, inputs), lo, hi);
        else if (s.op === 'sigmoid') sigmoidBackward(dx, dy, this.value(s.v, inputs), lo, hi);
        else if (s.op === 'clip') clipBackward(dx, dy, this.value(s.v, inputs), s.lo, s.hi, lo, hi);
        else if (s.op === 'hardsigmoid') hardSigmoidBackward(dx, dy, this.value(s.v, inputs), s.alpha, s.beta, lo, hi);
        else if (s.op === 'scale') scaleBackward(dx, dy, s.mul, s.inner, lo, hi);
        this.mark(s.x, lo, hi);
        return;
      }
      case 'softmax': {
        const dx = this.bufs[s.x]!;
        softmaxBackward(dx, dy, this.value(s.v, inputs), s.outer, s.len, s.inner);
        this.mark(s.x, 0, dx.length);
        return;
      }
      case 'reduce': {
        const o0 = Math.floor(lo / s.inner), o1 = Math.floor((hi - 1) / s.inner) + 1;
        const dx = this.bufs[s.x]!;
        if (s.inner === 1 && this.lo[s.x]! >= this.hi[s.x]!) {
          // global pooling into a clear buffer: each row is one value, written by (native) fill
          for (let o = o0; o < o1; o++) if (dy[o] !== 0) dx.fill(s.f * dy[o]!, o * s.red, (o + 1) * s.red);
        } else reduceBackward(dx, dy, s.red, s.inner, s.f, o0, o1);
        this.mark(s.x, o0 * s.red * s.inner, o1 * s.red * s.inner);
        return;
      }
      case 'maxpool':
      case 'avgpool': {
        const plane = s.OH * s.OW;
        const c0 = Math.floor(lo / plane), c1 = Math.floor((hi - 1) / plane) + 1;
        if (s.op === 'maxpool') maxPoolBackward(this.bufs[s.x]!, dy, this.value(s.v, inputs), s, c0, c1);
        else avgPoolBackward(this.bufs[s.x]!, dy, s, c0, c1);
        this.mark(s.x, c0 * s.H * s.W, c1 * s.H * s.W);
        return;
      }
      case 'conv': {
        const w = this.value(s.w, inputs);
        const dx = this.bufs[s.x]!;
        const plane = s.OH * s.OW;
        const m0 = Math.floor(lo / plane), m1 = Math.floor((hi - 1) / plane) + 1;
        const Mg = s.M / s.group, Cg = s.C / s.group, HW = s.H * s.W;
        this.mark(s.x, Math.floor(m0 / Mg) * Cg * HW, (Math.floor((m1 - 1) / Mg) + 1) * Cg * HW);
        if (s.sh === 1 && s.sw === 1 && this.native && this.model.initializers.has(s.w) && nonZero(dy, lo, hi) * Cg * s.kh * s.kw >= NATIVE_MIN_MACS) {
          // dx = conv(dy, flipped W) on onnxruntime
          this.mark(s.x, 0, dx.length);
          const nat = (s.native ??= { x: new Float32Array(s.M * plane) });
          const native = this.native;
          nat.run ??= (async () => {
            const model = convInputGradModel(w, s.M, s.C, s.kh, s.kw, s.group, [s.dh, s.dw], [s.pt, s.pl, s.pb, s.pr], [s.OH, s.OW], s.H, s.W);
            return model ? native(model, [1, s.M, s.OH, s.OW]) : undefined;
          })();
          return nat.run.then(async (run) => {
            if (!run) return this.convJs(s, dx, dy, w, m0, m1);
            for (let i = 0; i < dy.length; i++) nat.x[i] = dy[i]!;
            addInto(dx, await run(nat.x), 1);
          });
        }
        this.convJs(s, dx, dy, w, m0, m1);
        return;
      }
      case 'gemm': {
        if (!s.btReady) {
          const b = this.value(s.b, inputs);
          // bt[j*K + k] = B'[k, j], B' = transB ? B^T : B
          for (let j = 0; j < s.cols; j++) for (let k = 0; k < s.K; k++) s.bt[j * s.K + k] = s.transB ? b[j * s.K + k]! : b[k * s.cols + j]!;
          s.btReady = this.model.initializers.has(s.b);
        }
        const dx = this.bufs[s.x]!;
        this.mark(s.x, 0, dx.length);
        if (!s.transA && s.btReady && this.native && nonZero(dy, lo, hi) * s.K >= NATIVE_MIN_MACS) {
          // dA[rows, K] += alpha dY[rows, cols] . B'^T[cols, K]
          const nat = (s.native ??= { x: new Float32Array(s.rows * s.cols) });
          nat.run ??= this.native(matMulModel(s.bt, s.cols, s.K, s.rows), [s.rows, s.cols]);
          for (let i = 0; i < dy.length; i++) nat.x[i] = dy[i]!;
          return nat.run.then(async (run) => addInto(dx, await run!(nat.x), s.alpha));
        }
        gemmBackward(dx, dy, s.bt, s.rows, s.K, s.cols, s.alpha, s.transA);
        return;
      }
      case 'add':
      case 'sub':
      case 'mul':
      case 'div': {
        const da = s.a >= 0 ? this.bufs[s.a] : undefined;
        const db = s.b >= 0 ? this.bufs[s.b] : undefined;
        const needA = db !== undefined && (s.op === 'mul' || s.op === 'div');
        const needB = (da !== undefined && (s.op === 'mul' || s.op === 'div')) || (db !== undefined && s.op === 'div');
        const av = needA ? this.value(s.va, inputs) : undefined;
        const bv = needB ? this.value(s.vb, inputs) : undefined;
        if (s.rowInner > 0) rowBroadcastBackward(s.op, dy, da, db, av, bv, s.rowInner);
        else binaryBackward(s.op, dy, da, db, av, bv, s.ia, s.ib);
        if (da) this.mark(s.a, 0, da.length);
        if (db) this.mark(s.b, 0, db.length);
        return;
      }
      case 'concat': {
        let off = 0;
        for (let k = 0; k < s.xs.length; k++) {
          const c = s.chunks[k]!;
          const b = s.xs[k]!;
          if (b >= 0) {
            const dx = this.bufs[b]!;
            for (let o = 0; o < s.outer; o++) for (let j = 0; j < c; j++) dx[o * c + j]! += dy[o * s.total + off + j]!;
            this.mark(b, 0, dx.length);
          }
          off += c;
        }
        return;
      }
    }
  }
}

function nonZero(a: Float64Array, lo: number, hi: number): number {
  let n = 0;
  for (let i = lo; i < hi; i++) if (a[i] !== 0) n++;
  return n;
}

function addInto(dx: Float64Array, r: Float32Array, f: number): void {
  for (let i = 0; i < dx.length; i++) dx[i]! += f * r[i]!;
}
