/**
 * The "head" of an ONNX graph: the nodes between the CAM target tensor and the explained output. It is run as
 * TF.js ops (exact autodiff) from the target activations plus any other tensors the head reads from the body
 * (skip connections, shape tensors), which onnxruntime returns as extra outputs.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { GradCamError } from '../errors.js';
import type { Tf } from '../tfjs/runtime.js';
import type { OnnxGraphView, OnnxNode } from './graph.js';
import { isSupported, runOp, tensorFromOnnx, type OpContext } from './tf-ops.js';

export interface HeadPlan {
  readonly target: string;
  readonly output: string;
  /** Head nodes in graph (topological) order. */
  readonly nodes: readonly OnnxNode[];
  /** Tensors produced by the body (or graph inputs) that head nodes read, besides the target. */
  readonly externals: readonly string[];
  /** Head nodes with no TF.js translation. */
  readonly unsupported: readonly OnnxNode[];
}

/** Finds the head sub-graph from `target` to `output`. Throws INVALID_INPUT when `target` does not feed `output`. */
export function planHead(m: OnnxGraphView, target: string, output: string): HeadPlan {
  const producers = new Map<string, OnnxNode>();
  for (const n of m.nodes) for (const o of n.outputs) producers.set(o, n);
  const known = producers.has(target) || m.inputs.some((i) => i.name === target);
  if (!known) {
    throw new GradCamError('INVALID_INPUT', `ONNX tensor '${target}' is not produced by any node. Pick one of the node outputs, e.g. '${lastConvLike(m) ?? m.nodes[0]!.outputs[0]}'.`);
  }
  // descendants of target
  const reach = new Set<string>([target]);
  const desc = new Set<number>();
  for (const n of m.nodes) {
    if (n.inputs.some((i) => reach.has(i))) {
      desc.add(n.index);
      for (const o of n.outputs) reach.add(o);
    }
  }
  if (!reach.has(output)) throw new GradCamError('INVALID_INPUT', `ONNX tensor '${target}' does not feed the output '${output}'; choose a tensor before it.`);
  // ancestors of output, restricted to descendants of target
  const need = new Set<string>([output]);
  const head: OnnxNode[] = [];
  for (let i = m.nodes.length - 1; i >= 0; i--) {
    const n = m.nodes[i]!;
    if (!desc.has(n.index) || !n.outputs.some((o) => need.has(o))) continue;
    head.push(n);
    for (const inp of n.inputs) if (inp) need.add(inp);
  }
  head.reverse();
  const produced = new Set<string>();
  for (const n of head) for (const o of n.outputs) produced.add(o);
  const externals = new Set<string>();
  for (const n of head) for (const i of n.inputs) if (i && i !== target && !produced.has(i) && !m.initializers.has(i)) externals.add(i);
  return { target, output, nodes: head, externals: [...externals], unsupported: head.filter((n) => !isSupported(n)) };
}

/** The output of the last node before spatial pooling/flattening on the way to the output (a sensible default target). */
export function lastConvLike(m: OnnxGraphView, output?: string): string | undefined {
  const collapse = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax', 'Flatten', 'Reshape', 'Gemm', 'MatMul']);
  const out = output ?? m.outputs[0]?.name;
  const need = new Set<string>(out ? [out] : []);
  const onPath = new Set<number>();
  for (let i = m.nodes.length - 1; i >= 0; i--) {
    const n = m.nodes[i]!;
    if (!n.outputs.some((o) => need.has(o))) continue;
    onPath.add(i);
    for (const inp of n.inputs) if (inp && !m.initializers.has(inp)) need.add(inp);
  }
  for (const n of m.nodes) if (onPath.has(n.index) && collapse.has(n.opType)) return n.inputs[0];
  return undefined;
}

/** Runs head nodes as TF.js ops. Initializer tensors (and transformed copies) are cached across calls. */
export class HeadRunner {
  private readonly cache = new Map<string, Tensor>();
  constructor(
    private readonly tf: Tf,
    private readonly model: OnnxGraphView,
    readonly plan: HeadPlan,
  ) {}

  private initializer(name: string): Tensor | undefined {
    const init = this.model.initializers.get(name);
    if (!init) return undefined;
    let t = this.cache.get(name);
    if (!t) {
      t = this.tf.keep(tensorFromOnnx(this.tf, init));
      this.cache.set(name, t);
    }
    return t;
  }

  /** Output tensor of the head for activations `act` (NCHW) and the external tensors. Call inside tf.tidy/grad. */
  run(act: Tensor, externals: ReadonlyMap<string, Tensor>): Tensor {
    const env = new Map<string, Tensor>();
    env.set(this.plan.target, act);
    for (const [k, v] of externals) env.set(k, v);
    const ctx: OpContext = {
      tf: this.tf,
      opset: this.model.opset,
      get: (name) => (name ? (env.get(name) ?? this.initializer(name)) : undefined),
      values: (name) => {
        const init = this.model.initializers.get(name);
        if (init) return Array.from(init.data);
        const t = env.get(name);
        return t ? Array.from(t.dataSync()) : undefined;
      },
      cached: (name, key, make) => {
        const base = this.initializer(name);
        if (!base) return undefined;
        const k = `${name}\u0000${key}`;
        let t = this.cache.get(k);
        if (!t) {
          t = this.tf.keep(this.tf.tidy(() => make(base)));
          this.cache.set(k, t);
        }
        return t;
      },
    };
    for (const n of this.plan.nodes) {
      const outs = runOp(n, ctx);
      n.outputs.forEach((o, i) => {
        if (o && outs[i]) env.set(o, outs[i]!);
      });
    }
    const y = env.get(this.plan.output);
    if (!y) throw new GradCamError('RUNTIME', `The translated head did not produce '${this.plan.output}'.`);
    return y;
  }

  dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}
