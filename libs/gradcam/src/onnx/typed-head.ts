/**
 * Exact reverse-mode gradients of an ONNX head (target tensor -> explained output) on typed arrays, without
 * TF.js. Used when every head node is in {@link TYPED_HEAD_OPS}; other heads keep the TF.js translation.
 *
 * The forward pass is onnxruntime's own body pass: the few head tensors whose values the backward pass needs
 * (inputs of Relu, Clip and MaxPool) are exposed as extra graph outputs and cached in the body result, so the
 * gradient is that of exactly the forward pass that produced the reported outputs. All other ops are linear in
 * their differentiated input (Conv, Gemm, MatMul with constant weights, pools, reshapes, Add, Concat, inference
 * BatchNormalization), so their backward needs only shapes. Shapes are inferred once per head ("compile"), with
 * gradient buffers (Float64Array) allocated then and reused across calls; the backward pass runs one image at a
 * time in plain loops.
 */
import { GradCamError } from '../errors.js';
import type { OnnxGraphView, OnnxNode } from './graph.js';
import type { HeadPlan } from './head.js';
import { attrFloat, attrInt, attrInts, attrStr, spatialPads } from './tf-ops.js';

/** ONNX op types (default domain) the typed-array evaluator differentiates. */
export const TYPED_HEAD_OPS: readonly string[] = [
  'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Concat', 'Conv', 'Dropout', 'Flatten', 'Gemm', 'GlobalAveragePool',
  'Identity', 'MatMul', 'MaxPool', 'ReduceMean', 'ReduceSum', 'Relu', 'Reshape', 'Squeeze', 'Sub', 'Unsqueeze',
];
const OPS = new Set(TYPED_HEAD_OPS);
/** Ops whose backward pass reads the value of input 0. */
const NEEDS_VALUE = new Set(['Relu', 'Clip', 'MaxPool']);

export type Values = Float32Array | Int32Array | Float64Array;

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
  const values = new Set<string>();
  for (const n of plan.nodes) {
    if (!(n.domain === '' || n.domain === 'ai.onnx') || !OPS.has(n.opType)) return undefined;
    // extra outputs (Dropout mask, MaxPool indices) must not be used
    if (n.outputs.slice(1).some((o) => o && used.has(o))) return undefined;
    const diffInputs = n.opType === 'Add' || n.opType === 'Sub' || n.opType === 'Concat' ? n.inputs.length : 1;
    for (let i = diffInputs; i < n.inputs.length; i++) if (n.inputs[i] && grad.has(n.inputs[i]!)) return undefined;
    if (!n.inputs[0]) return undefined;
    if (NEEDS_VALUE.has(n.opType) && n.inputs[0] !== plan.target) values.add(n.inputs[0]);
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

type Step =
  | { op: 'copy'; x: string; y: string }
  | { op: 'relu'; x: string; y: string }
  | { op: 'clip'; x: string; y: string; lo: number; hi: number }
  | { op: 'scale'; x: string; y: string; mul: Float64Array; inner: number }
  | { op: 'reduce'; x: string; y: string; outer: number; red: number; inner: number; f: number }
  | { op: 'maxpool' | 'avgpool'; x: string; y: string; planes: number; H: number; W: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; hLim: number; wLim: number; includePad: boolean }
  | { op: 'conv'; x: string; y: string; w: string; N: number; C: number; H: number; W: number; M: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; group: number; owLo: Int32Array; owHi: Int32Array; pointwise: boolean }
  | { op: 'gemm'; a: string; y: string; b: string; rows: number; K: number; cols: number; transA: boolean; transB: boolean; alpha: number; bt: Float64Array; btReady: boolean }
  | { op: 'add'; xs: string[]; signs: number[]; y: string; shapes: number[][]; yShape: number[]; counter: Int32Array; strides: Int32Array[] }
  | { op: 'concat'; xs: string[]; y: string; outer: number; chunks: number[]; total: number };

function size(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}
function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Compiled head: shapes, backward steps and gradient buffers for one image. */
export class TypedHead {
  private steps?: Step[];
  private grads = new Map<string, Float64Array>();
  private outSize = 0;

  constructor(
    private readonly model: OnnxGraphView,
    readonly plan: HeadPlan,
    readonly typed: TypedHeadPlan,
  ) {}

  /** Number of values of the explained output per image (available after the first {@link backward}). */
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
      const x = n.inputs[0]!;
      const y = n.outputs[0]!;
      const xs = shapeOf(n, 0);
      let ys: number[];
      switch (n.opType) {
        case 'Identity':
        case 'Dropout':
          ys = xs;
          steps.push({ op: 'copy', x, y });
          break;
        case 'Relu':
          ys = xs;
          steps.push({ op: 'relu', x, y });
          break;
        case 'Clip': {
          ys = xs;
          let lo = attrFloat(n, 'min', Number.NEGATIVE_INFINITY);
          let hi = attrFloat(n, 'max', Number.POSITIVE_INFINITY);
          if (n.inputs[1]) lo = this.constValue(n.inputs[1], inputs)?.[0] ?? lo;
          if (n.inputs[2]) hi = this.constValue(n.inputs[2], inputs)?.[0] ?? hi;
          steps.push({ op: 'clip', x, y, lo, hi });
          break;
        }
        case 'Flatten': {
          const axis = norm(attrInt(n, 'axis', 1), xs.length);
          const rows = size(xs.slice(0, axis));
          ys = [rows, size(xs) / rows];
          steps.push({ op: 'copy', x, y });
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
          steps.push({ op: 'copy', x, y });
          break;
        }
        case 'Squeeze': {
          const axes = ints(n, 'axes', 1)?.map((a) => norm(a, xs.length));
          ys = xs.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
          steps.push({ op: 'copy', x, y });
          break;
        }
        case 'Unsqueeze': {
          const axes = ints(n, 'axes', 1);
          if (!axes) throw this.unsupported(n, 'axes are not known');
          const rank = xs.length + axes.length;
          ys = [...xs];
          for (const a of axes.map((v) => norm(v, rank)).sort((p, q) => p - q)) ys.splice(a, 0, 1);
          steps.push({ op: 'copy', x, y });
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
          steps.push({ op: 'reduce', x, y, outer: xs[0]! * xs[1]!, red, inner: 1, f: 1 / red });
          break;
        }
        case 'ReduceMean':
        case 'ReduceSum': {
          let axes = ints(n, 'axes', 1);
          const keep = attrInt(n, 'keepdims', 1) === 1;
          if (!axes || axes.length === 0) {
            if (attrInt(n, 'noop_with_empty_axes', 0) === 1) {
              ys = xs;
              steps.push({ op: 'copy', x, y });
              break;
            }
            axes = xs.map((_, i) => i);
          }
          const ax = [...new Set(axes.map((a) => norm(a, xs.length)))].sort((p, q) => p - q);
          if (ax[ax.length - 1]! - ax[0]! !== ax.length - 1) throw this.unsupported(n, 'non-contiguous reduction axes');
          const a0 = ax[0]!, a1 = ax[ax.length - 1]!;
          const red = size(xs.slice(a0, a1 + 1));
          ys = keep ? xs.map((d, i) => (i >= a0 && i <= a1 ? 1 : d)) : xs.filter((_, i) => i < a0 || i > a1);
          steps.push({ op: 'reduce', x, y, outer: size(xs.slice(0, a0)), red, inner: size(xs.slice(a1 + 1)), f: n.opType === 'ReduceMean' ? 1 / red : 1 });
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
            op: n.opType === 'MaxPool' ? 'maxpool' : 'avgpool', x, y, planes: N * C, H, W, OH, OW, kh: k[0]!, kw: k[1]!, sh: s[0]!, sw: s[1]!,
            pt: pads[0][0], pl: pads[1][0], hLim: H + base[0][1], wLim: W + base[1][1], includePad: attrInt(n, 'count_include_pad', 0) === 1,
          });
          break;
        }
        case 'Conv': {
          if (xs.length !== 4) throw this.unsupported(n, 'only 2-D convolutions');
          const wsh = shapeOf(n, 1);
          const [N, C, H, W] = xs as [number, number, number, number];
          const [M, Cg, kh, kw] = wsh as [number, number, number, number];
          const group = attrInt(n, 'group', 1);
          const k = attrInts(n, 'kernel_shape') ?? [kh, kw];
          if (k[0] !== kh || k[1] !== kw || Cg * group !== C || M % group !== 0) throw this.unsupported(n, `inconsistent weight shape [${wsh}] for input [${xs}]`);
          const s = attrInts(n, 'strides') ?? [1, 1];
          const d = attrInts(n, 'dilations') ?? [1, 1];
          const pads = spatialPads(n, H, W, k, s, d, false);
          const OH = Math.floor((H + pads[0][0] + pads[0][1] - ((kh - 1) * d[0]! + 1)) / s[0]!) + 1;
          const OW = Math.floor((W + pads[1][0] + pads[1][1] - ((kw - 1) * d[1]! + 1)) / s[1]!) + 1;
          ys = [N, M, OH, OW];
          const [sh, sw, dh, dw, pt, pl] = [s[0]!, s[1]!, d[0]!, d[1]!, pads[0][0], pads[1][0]];
          const owLo = new Int32Array(kw), owHi = new Int32Array(kw);
          for (let kx = 0; kx < kw; kx++) {
            owLo[kx] = Math.max(0, Math.ceil((pl - kx * dw) / sw));
            owHi[kx] = Math.min(OW, Math.floor((W - 1 + pl - kx * dw) / sw) + 1);
          }
          const pointwise = group === 1 && kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W;
          steps.push({ op: 'conv', x, y, w: n.inputs[1]!, N, C, H, W, M, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, group, owLo, owHi, pointwise });
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
          steps.push({ op: 'gemm', a: x, y, b: n.inputs[1]!, rows, K, cols, transA, transB, alpha, bt: new Float64Array(K * cols), btReady: false });
          break;
        }
        case 'Add':
        case 'Sub': {
          const s2 = shapeOf(n, 1);
          const r = Math.max(xs.length, s2.length);
          const pa = [...Array(r - xs.length).fill(1), ...xs] as number[];
          const pb = [...Array(r - s2.length).fill(1), ...s2] as number[];
          ys = pa.map((v, i) => Math.max(v, pb[i]!));
          if (pa.some((v, i) => v !== ys[i] && v !== 1) || pb.some((v, i) => v !== ys[i] && v !== 1)) throw this.unsupported(n, `shapes [${xs}] and [${s2}] do not broadcast`);
          const strides = [pa, pb].map((p) => {
            const st = new Int32Array(r);
            let acc = 1;
            for (let i = r - 1; i >= 0; i--) {
              st[i] = p[i] === 1 ? 0 : acc;
              acc *= p[i]!;
            }
            return st;
          });
          steps.push({ op: 'add', xs: [n.inputs[0]!, n.inputs[1]!], signs: [1, n.opType === 'Sub' ? -1 : 1], y, shapes: [xs, s2], yShape: ys, counter: new Int32Array(r), strides });
          break;
        }
        case 'Concat': {
          const all = n.inputs.map((_, i) => shapeOf(n, i));
          const axis = norm(attrInt(n, 'axis', 1), xs.length);
          const inner = size(xs.slice(axis + 1));
          const chunks = all.map((s) => s[axis]! * inner);
          ys = [...xs];
          ys[axis] = all.reduce((p, s) => p + s[axis]!, 0);
          steps.push({ op: 'concat', xs: [...n.inputs], y, outer: size(xs.slice(0, axis)), chunks, total: chunks.reduce((p, v) => p + v, 0) });
          break;
        }
        default:
          throw this.unsupported(n, 'no typed-array gradient');
      }
      shapes.set(y, ys);
    }
    const grads = new Map<string, Float64Array>();
    grads.set(this.plan.target, new Float64Array(size(actShape)));
    for (const n of this.plan.nodes) for (const o of n.outputs.slice(0, 1)) grads.set(o, new Float64Array(size(shapes.get(o)!)));
    this.grads = grads;
    this.outSize = size(shapes.get(this.plan.output)!);
    return steps;
  }

  /** Compiles the head on first use (shapes from this image's inputs); returns the output size per image. */
  prepare(inputs: TypedHeadInputs, actShape: readonly number[], externalDims: ReadonlyMap<string, readonly number[]>): number {
    this.steps ??= this.compile(inputs, actShape, externalDims);
    return this.outSize;
  }

  /**
   * Gradient of `sum_k seed[k] * output[k]` with respect to the target activations of one image, written into
   * `out` (`[C*H*W]`). `seed` has {@link outputSize} values; call {@link prepare} first.
   */
  backward(inputs: TypedHeadInputs, seed: Float64Array, out: Float32Array): void {
    const steps = this.steps;
    if (!steps) throw new GradCamError('RUNTIME', 'TypedHead.backward called before prepare.');
    for (const g of this.grads.values()) g.fill(0);
    this.grads.get(this.plan.output)!.set(seed);
    for (let i = steps.length - 1; i >= 0; i--) this.step(steps[i]!, inputs);
    const g = this.grads.get(this.plan.target)!;
    for (let i = 0; i < g.length; i++) out[i] = g[i]!;
  }

  private value(name: string, inputs: TypedHeadInputs): Values {
    const v = name === this.plan.target ? inputs.act : inputs.value(name);
    if (!v) throw new GradCamError('RUNTIME', `The typed-array gradient needs the value of '${name}', which the body pass did not return.`);
    return v;
  }

  private step(s: Step, inputs: TypedHeadInputs): void {
    const dy = this.grads.get(s.y)!;
    switch (s.op) {
      case 'copy': {
        const dx = this.grads.get(s.x)!;
        for (let i = 0; i < dy.length; i++) dx[i]! += dy[i]!;
        return;
      }
      case 'relu': {
        const dx = this.grads.get(s.x)!;
        const x = this.value(s.x, inputs);
        for (let i = 0; i < dy.length; i++) if (x[i]! > 0) dx[i]! += dy[i]!;
        return;
      }
      case 'clip': {
        const dx = this.grads.get(s.x)!;
        const x = this.value(s.x, inputs);
        for (let i = 0; i < dy.length; i++) if (x[i]! >= s.lo && x[i]! <= s.hi) dx[i]! += dy[i]!;
        return;
      }
      case 'scale': {
        const dx = this.grads.get(s.x)!;
        const C = s.mul.length;
        for (let o = 0, i = 0; o < dy.length / (C * s.inner); o++) {
          for (let c = 0; c < C; c++) {
            const m = s.mul[c]!;
            for (let j = 0; j < s.inner; j++, i++) dx[i]! += m * dy[i]!;
          }
        }
        return;
      }
      case 'reduce':
        reduceBackward(this.grads.get(s.x)!, dy, s.outer, s.red, s.inner, s.f);
        return;
      case 'maxpool':
        maxPoolBackward(this.grads.get(s.x)!, dy, this.value(s.x, inputs), s);
        return;
      case 'avgpool':
        avgPoolBackward(this.grads.get(s.x)!, dy, s);
        return;
      case 'conv': {
        const w = this.constValue(s.w, inputs);
        if (!w) throw new GradCamError('RUNTIME', `The convolution weight '${s.w}' is not known.`);
        if (s.pointwise) pointwiseConvBackward(this.grads.get(s.x)!, dy, w, s.N, s.C, s.M, s.H * s.W);
        else convBackward(this.grads.get(s.x)!, dy, w, s);
        return;
      }
      case 'gemm': {
        if (!s.btReady) {
          const b = this.constValue(s.b, inputs);
          if (!b) throw new GradCamError('RUNTIME', `The matrix '${s.b}' is not known.`);
          // bt[j*K + k] = B'[k, j], B' = transB ? B^T : B
          for (let j = 0; j < s.cols; j++) for (let k = 0; k < s.K; k++) s.bt[j * s.K + k] = s.transB ? b[j * s.K + k]! : b[k * s.cols + j]!;
          s.btReady = this.model.initializers.has(s.b);
        }
        gemmBackward(this.grads.get(s.a)!, dy, s.bt, s.rows, s.K, s.cols, s.alpha, s.transA);
        return;
      }
      case 'add':
        for (let k = 0; k < 2; k++) {
          const dx = this.grads.get(s.xs[k]!);
          if (dx) broadcastBackward(dx, dy, s.signs[k]!, s.yShape, s.strides[k]!, s.counter);
        }
        return;
      case 'concat': {
        let off = 0;
        for (let k = 0; k < s.xs.length; k++) {
          const dx = this.grads.get(s.xs[k]!);
          const c = s.chunks[k]!;
          if (dx) for (let o = 0; o < s.outer; o++) for (let j = 0; j < c; j++) dx[o * c + j]! += dy[o * s.total + off + j]!;
          off += c;
        }
        return;
      }
    }
  }
}

function reduceBackward(dx: Float64Array, dy: Float64Array, outer: number, red: number, inner: number, f: number): void {
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < red; r++) {
      const xb = (o * red + r) * inner, yb = o * inner;
      for (let i = 0; i < inner; i++) dx[xb + i]! += f * dy[yb + i]!;
    }
  }
}

interface PoolShape {
  planes: number; H: number; W: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; hLim: number; wLim: number; includePad: boolean;
}

/** Gradient to the first maximum of each window (row-major, strict >), as PyTorch and TF.js; padding is -inf. */
function maxPoolBackward(dx: Float64Array, dy: Float64Array, x: Values, p: PoolShape): void {
  const { H, W, OH, OW, planes, sh, sw, pt, pl, kh, kw } = p;
  for (let c = 0; c < planes; c++) {
    const xb = c * H * W, yb = c * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - pt, y0 = Math.max(h0, 0), y1 = Math.min(h0 + kh, H);
      for (let ow = 0; ow < OW; ow++) {
        const g = dy[yb + oh * OW + ow]!;
        if (g === 0) continue;
        const w0 = ow * sw - pl, x0 = Math.max(w0, 0), x1 = Math.min(w0 + kw, W);
        let best = Number.NEGATIVE_INFINITY, at = -1;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const v = x[xb + yy * W + xx]!;
            if (v > best) {
              best = v;
              at = xb + yy * W + xx;
            }
          }
        }
        if (at >= 0) dx[at]! += g;
      }
    }
  }
}

/** Average pool: each output spreads dy / count over its window (count with or without padding cells, never the ceil_mode overhang). */
function avgPoolBackward(dx: Float64Array, dy: Float64Array, p: PoolShape): void {
  const { H, W, OH, OW } = p;
  for (let c = 0; c < p.planes; c++) {
    const xb = c * H * W, yb = c * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * p.sh - p.pt, y0 = Math.max(h0, 0), y1 = Math.min(h0 + p.kh, H);
      const ch = p.includePad ? Math.min(h0 + p.kh, p.hLim) - Math.max(h0, -p.pt) : y1 - y0;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * p.sw - p.pl, x0 = Math.max(w0, 0), x1 = Math.min(w0 + p.kw, W);
        const cw = p.includePad ? Math.min(w0 + p.kw, p.wLim) - Math.max(w0, -p.pl) : x1 - x0;
        const g = dy[yb + oh * OW + ow]! / (ch * cw);
        if (!(ch * cw > 0) || g === 0) continue;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) dx[xb + yy * W + xx]! += g;
      }
    }
  }
}

function planeIsZero(a: Float64Array, start: number, len: number): boolean {
  for (let i = start; i < start + len; i++) if (a[i] !== 0) return false;
  return true;
}

/** 1x1 stride-1 convolution: dx[c, s] += sum_m W[m, c] dy[m, s], skipping output channels with no gradient. */
function pointwiseConvBackward(dx: Float64Array, dy: Float64Array, w: Values, N: number, C: number, M: number, S: number): void {
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const yb = (n * M + m) * S;
      if (planeIsZero(dy, yb, S)) continue;
      for (let c = 0; c < C; c++) {
        const wv = w[m * C + c]!;
        if (wv === 0) continue;
        const xb = (n * C + c) * S;
        for (let s = 0; s < S; s++) dx[xb + s]! += wv * dy[yb + s]!;
      }
    }
  }
}

interface ConvShape {
  N: number; C: number; H: number; W: number; M: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; group: number; owLo: Int32Array; owHi: Int32Array;
}

/** General grouped, strided, dilated, padded convolution: the transpose of the forward scatter, weight by weight. */
function convBackward(dx: Float64Array, dy: Float64Array, w: Values, p: ConvShape): void {
  const { C, H, W, M, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl } = p;
  const Mg = M / p.group, Cg = C / p.group;
  for (let n = 0; n < p.N; n++) {
    for (let m = 0; m < M; m++) {
      const yb = (n * M + m) * OH * OW;
      if (planeIsZero(dy, yb, OH * OW)) continue;
      const g = Math.floor(m / Mg);
      for (let ci = 0; ci < Cg; ci++) {
        const xb = (n * C + g * Cg + ci) * H * W;
        const wb = (m * Cg + ci) * kh * kw;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[wb + ky * kw + kx]!;
            if (wv === 0) continue;
            const lo = p.owLo[kx]!, hi = p.owHi[kx]!;
            if (lo >= hi) continue;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * sh - pt + ky * dh;
              if (ih < 0 || ih >= H) continue;
              const row = xb + ih * W - pl + kx * dw;
              const yr = yb + oh * OW;
              for (let ow = lo; ow < hi; ow++) dx[row + ow * sw]! += wv * dy[yr + ow]!;
            }
          }
        }
      }
    }
  }
}

/** dA = alpha dY B'^T (transposed back when transA), with bt = B'^T laid out [cols, K]. */
function gemmBackward(da: Float64Array, dy: Float64Array, bt: Float64Array, rows: number, K: number, cols: number, alpha: number, transA: boolean): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const g = alpha * dy[i * cols + j]!;
      if (g === 0) continue;
      const b = j * K;
      if (!transA) {
        const a = i * K;
        for (let k = 0; k < K; k++) da[a + k]! += g * bt[b + k]!;
      } else {
        for (let k = 0; k < K; k++) da[k * rows + i]! += g * bt[b + k]!;
      }
    }
  }
}

/** dx += sign * (dy summed over the broadcast dimensions of x); `strides` are x's strides with 0 on broadcast axes. */
function broadcastBackward(dx: Float64Array, dy: Float64Array, sign: number, yShape: readonly number[], strides: Int32Array, counter: Int32Array): void {
  if (dx.length === dy.length) {
    for (let i = 0; i < dy.length; i++) dx[i]! += sign * dy[i]!;
    return;
  }
  const r = yShape.length;
  counter.fill(0);
  let xi = 0;
  for (let o = 0; o < dy.length; o++) {
    dx[xi]! += sign * dy[o]!;
    for (let d = r - 1; d >= 0; d--) {
      counter[d]!++;
      xi += strides[d]!;
      if (counter[d]! < yShape[d]!) break;
      xi -= strides[d]! * counter[d]!;
      counter[d] = 0;
    }
  }
}
