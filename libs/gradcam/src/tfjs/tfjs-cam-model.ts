/**
 * CAM models over TF.js LayersModel and GraphModel: exact gradients by TF.js autodiff at a named layer (Layers)
 * or node (Graph). The body runs the model once with the target activations as an extra output; the gradient
 * pass re-runs only the part of the graph after the target, with the activations fed in.
 */
import type { GraphModel, LayersModel, Tensor } from '@tensorflow/tfjs';
import type { BodyResult, CamModel, ResolvedTarget } from '../cam-model.js';
import { GradCamError } from '../errors.js';
import { targetScores } from '../targets-tf.js';
import { chunkRows } from '../chunk.js';
import { withKernelFallback } from './fallback.js';
import { convNhwc, tfPadding } from './fast-conv.js';
import { readTfjsModel } from './file-io.js';
import { loadTf, type Tf, type TfBackendName } from './runtime.js';

export interface TfjsCamOptions {
  /** LayersModel: name of the target layer; GraphModel: name of the target node. Default: the input of the first global pooling / flatten / mean. */
  targetLayer?: string;
  /** GraphModel only: node whose value is explained (default the model output; pick a pre-softmax node to explain logits). */
  outputNode?: string;
  tfBackend?: TfBackendName;
}

interface TfState {
  x: Tensor;
}

/** Anything with the Layers container internals the head walker needs (not in the public typings). */
interface SymTensor {
  id: number;
}
interface LayerNode {
  outboundLayer: { name: string; apply(x: Tensor | Tensor[], kwargs?: unknown): Tensor | Tensor[]; getClassName(): string };
  inputTensors: SymTensor[];
  outputTensors: SymTensor[];
  callArgs?: unknown;
}
interface ContainerInternals {
  nodesByDepth: Record<string, LayerNode[]>;
  inputs: SymTensor[];
  outputs: SymTensor[];
}

abstract class TfjsCamBase implements CamModel {
  abstract readonly kind: 'tfjs-layers' | 'tfjs-graph';
  readonly layout = 'NHWC' as const;
  private readonly fallback: { cpu?: boolean } = {};
  constructor(
    protected readonly tf: Tf,
    readonly inputShape: readonly number[],
    readonly target: string,
    /** 1 when the model was converted with a fixed batch of 1. */
    readonly maxBatch = 64,
  ) {}

  protected abstract run(x: Tensor): [Tensor, Tensor];
  protected abstract headOf(x: Tensor, act: Tensor): Tensor;

  protected inputTensor(input: Float32Array, n: number): Tensor {
    const per = this.inputShape.reduce((p, v) => p * v, 1);
    if (input.length !== per * n) throw new GradCamError('INVALID_INPUT', `Expected ${n} images of shape [${this.inputShape}] (NHWC), got ${input.length} values.`);
    return this.tf.tensor(input, [n, ...this.inputShape], 'float32');
  }

  async body(input: Float32Array, n: number): Promise<BodyResult> {
    const tf = this.tf;
    const x = this.inputTensor(input, n);
    try {
      const [actsCf, outputs, shape] = tf.tidy(() => {
        const [act, out] = this.run(x);
        if (act.rank !== 4) throw new GradCamError('INVALID_INPUT', `Target '${this.target}' has shape [${act.shape}]; CAMs need a 4-D [N, H, W, C] activation.`);
        const cf = tf.transpose(act, [0, 3, 1, 2]);
        return [Float32Array.from(cf.dataSync() as Float32Array), Float32Array.from(tf.reshape(out, [n, -1]).dataSync() as Float32Array), act.shape as number[]];
      });
      const [, h, w, C] = shape;
      return { n, acts: actsCf, channels: C!, height: h!, width: w!, outputs, nOut: outputs.length / n, state: { x } satisfies TfState };
    } catch (err) {
      x.dispose();
      throw wrap(err);
    }
  }

  private rowsOf(body: BodyResult, rows: Int32Array): Tensor {
    const { x } = body.state as TfState;
    return rows.length === body.n && rows.every((r, i) => r === i) ? x : this.tf.gather(x, Array.from(rows));
  }

  async gradients(body: BodyResult, rows: Int32Array, targets: readonly ResolvedTarget[]): Promise<Float32Array> {
    if (rows.length > this.maxBatch) return chunkRows(rows, this.maxBatch, (r, i) => this.gradients(body, r, targets.slice(i, i + r.length)));
    const tf = this.tf;
    const acts = gather(body, rows);
    try {
      return await withKernelFallback(tf, () =>
        tf.tidy(() => {
          const x = this.rowsOf(body, rows);
          const a = tf.transpose(tf.tensor4d(acts, [rows.length, body.channels, body.height, body.width]), [0, 2, 3, 1]);
          const g = tf.grad((v: Tensor) => tf.sum(targetScores(tf, this.headOf(x, v), targets)))(a);
          return Float32Array.from(tf.transpose(g, [0, 3, 1, 2]).dataSync() as Float32Array);
        }),
        this.fallback,
      );
    } catch (err) {
      throw wrap(err);
    }
  }

  async head(body: BodyResult, rows: Int32Array, acts: Float32Array): Promise<Float32Array> {
    const per = body.channels * body.height * body.width;
    if (rows.length > this.maxBatch) return chunkRows(rows, this.maxBatch, (r, i) => this.head(body, r, acts.subarray(i * per, (i + r.length) * per)));
    const tf = this.tf;
    try {
      return tf.tidy(() => {
        const x = this.rowsOf(body, rows);
        const a = tf.transpose(tf.tensor4d(acts, [rows.length, body.channels, body.height, body.width]), [0, 2, 3, 1]);
        return Float32Array.from(tf.reshape(this.headOf(x, a), [rows.length, -1]).dataSync() as Float32Array);
      });
    } catch (err) {
      throw wrap(err);
    }
  }

  async forward(input: Float32Array, n: number): Promise<{ outputs: Float32Array; nOut: number }> {
    const tf = this.tf;
    const x = this.inputTensor(input, n);
    try {
      const outputs = tf.tidy(() => Float32Array.from(tf.reshape(this.run(x)[1], [n, -1]).dataSync() as Float32Array));
      return { outputs, nOut: outputs.length / n };
    } catch (err) {
      throw wrap(err);
    } finally {
      x.dispose();
    }
  }

  release(body: BodyResult): void {
    (body.state as TfState).x.dispose();
  }

  abstract dispose(): Promise<void>;
}

function gather(body: BodyResult, rows: Int32Array): Float32Array {
  const per = body.channels * body.height * body.width;
  const out = new Float32Array(rows.length * per);
  for (let j = 0; j < rows.length; j++) out.set(body.acts.subarray(rows[j]! * per, (rows[j]! + 1) * per), j * per);
  return out;
}

function wrap(err: unknown): unknown {
  if (err instanceof GradCamError) return err;
  return new GradCamError('RUNTIME', `TF.js failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** LayersModel: the target is a top-level layer; the head is re-executed layer by layer from its output. */
export class LayersCamModel extends TfjsCamBase {
  readonly kind = 'tfjs-layers' as const;
  private readonly bodyModel: LayersModel;
  private readonly headNodes: LayerNode[];
  private readonly targetId: number;
  private readonly inputId: number;
  private readonly outputId: number;

  constructor(tf: Tf, private readonly model: LayersModel, targetLayer: string | undefined, private readonly owned = false) {
    const shape = model.inputs[0]!.shape.slice(1);
    if (model.inputs.length !== 1 || shape.length !== 3 || shape.some((d) => !(Number(d) > 0))) {
      throw new GradCamError('UNSUPPORTED', `Image CAMs need one NHWC image input with a fixed size; this model's inputs are ${model.inputs.map((i) => `[${i.shape}]`).join(', ')}.`);
    }
    const name = targetLayer ?? defaultLayer(model);
    let layer;
    try {
      layer = model.getLayer(name);
    } catch {
      throw new GradCamError('INVALID_INPUT', `Layer '${name}' is not in the model; layers: ${model.layers.map((l) => l.name).join(', ')}.`);
    }
    super(tf, shape as number[], name);
    const out = layer.output;
    if (Array.isArray(out)) throw new GradCamError('UNSUPPORTED', `Layer '${name}' has several outputs; pick a single-output layer.`);
    this.bodyModel = tf.model({ inputs: model.inputs, outputs: [out, model.outputs[0]!] });
    const c = model as unknown as ContainerInternals;
    this.targetId = (out as unknown as SymTensor).id;
    this.inputId = c.inputs[0]!.id;
    this.outputId = c.outputs[0]!.id;
    // nodes needed to go from the target (and, for skip connections, the input) to the output
    const depths = Object.keys(c.nodesByDepth).map(Number).sort((a, b) => a - b);
    const need = new Set<number>([this.outputId]);
    const nodes: LayerNode[] = [];
    for (const d of depths) {
      for (const node of c.nodesByDepth[String(d)]!) {
        if (!node.outputTensors.some((t) => need.has(t.id) && t.id !== this.targetId)) continue;
        if (node.outboundLayer.getClassName() === 'InputLayer') continue;
        nodes.push(node);
        for (const t of node.inputTensors) need.add(t.id);
      }
    }
    if (!need.has(this.targetId)) throw new GradCamError('INVALID_INPUT', `Layer '${name}' does not feed the model output.`);
    this.headNodes = nodes.reverse();
  }

  protected run(x: Tensor): [Tensor, Tensor] {
    const r = this.bodyModel.apply(x, { training: false }) as Tensor[];
    return [r[0]!, r[1]!];
  }

  protected headOf(x: Tensor, act: Tensor): Tensor {
    const env = new Map<number, Tensor>([
      [this.inputId, x],
      [this.targetId, act],
    ]);
    for (const node of this.headNodes) {
      if (node.outputTensors.every((t) => env.has(t.id))) continue;
      const ins = node.inputTensors.map((t) => env.get(t.id));
      if (ins.some((t) => !t)) throw new GradCamError('RUNTIME', `Cannot run layer '${node.outboundLayer.name}': an input is missing.`);
      const out = this.fastConv(node.outboundLayer, ins) ?? node.outboundLayer.apply(ins.length === 1 ? ins[0]! : (ins as Tensor[]), { ...(node.callArgs as object), training: false });
      const outs = Array.isArray(out) ? out : [out];
      node.outputTensors.forEach((t, i) => env.set(t.id, outs[i]!));
    }
    return env.get(this.outputId)!;
  }

  /**
   * Keras Conv2D layers (channels-last, no groups) run as conv + bias + activation with {@link convNhwc}, whose
   * gradient skips the filter gradient that TF.js's fused conv always computes. Same values as `layer.apply`.
   */
  private fastConv(layer: LayerNode['outboundLayer'], ins: (Tensor | undefined)[]): Tensor | undefined {
    if (layer.getClassName() !== 'Conv2D' || ins.length !== 1) return undefined;
    const l = layer as unknown as {
      kernel?: { read(): Tensor };
      bias?: { read(): Tensor };
      useBias: boolean;
      strides: number[];
      dilationRate: number[] | number;
      padding: string;
      dataFormat: string;
      activation?: { apply(x: Tensor): Tensor };
      groups?: number;
    };
    if (l.dataFormat !== 'channelsLast' || (l.groups ?? 1) !== 1 || !l.kernel) return undefined;
    const tf = this.tf;
    const x = ins[0]!;
    const kernel = l.kernel.read();
    const [kh, kw] = kernel.shape as [number, number];
    const s: [number, number] = [l.strides[0] ?? 1, l.strides[1] ?? l.strides[0] ?? 1];
    const d: [number, number] = Array.isArray(l.dilationRate) ? [l.dilationRate[0] ?? 1, l.dilationRate[1] ?? l.dilationRate[0] ?? 1] : [l.dilationRate ?? 1, l.dilationRate ?? 1];
    const pads = tfPadding(l.padding, x.shape[1]!, x.shape[2]!, [kh, kw], s, d);
    const xp = pads[0][0] || pads[0][1] || pads[1][0] || pads[1][1] ? tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]]) : x;
    let y = convNhwc(tf, xp, kernel, s, d);
    if (l.useBias && l.bias) y = tf.add(y, l.bias.read());
    return l.activation ? l.activation.apply(y) : y;
  }

  /** Disposes the TF.js model only when it was loaded from a path here (a model passed in stays the caller's). */
  async dispose(): Promise<void> {
    if (this.owned) this.model.dispose();
  }
}

function defaultLayer(model: LayersModel): string {
  const collapse = /GlobalAveragePooling2D|GlobalMaxPooling2D|Flatten/;
  for (let i = 1; i < model.layers.length; i++) {
    if (collapse.test(model.layers[i]!.getClassName())) return model.layers[i - 1]!.name;
  }
  throw new GradCamError('INVALID_INPUT', 'Could not guess the target layer: pass targetLayer (the name of a 4-D convolutional layer).');
}

/** GraphModel: the target is a node; the gradient pass executes the graph from the fed target node. */
export class GraphCamModel extends TfjsCamBase {
  readonly kind = 'tfjs-graph' as const;
  private readonly inputName: string;
  private readonly outputNode: string;

  constructor(tf: Tf, private readonly model: GraphModel, targetNode: string | undefined, outputNode: string | undefined, private readonly owned = false) {
    const inp = model.inputs[0];
    const shape = (inp?.shape ?? []).slice(1);
    if (model.inputs.length !== 1 || shape.length !== 3 || shape.some((d) => !(Number(d) > 0))) {
      throw new GradCamError('UNSUPPORTED', `Image CAMs need one NHWC image input with a fixed size; this model's inputs are ${model.inputs.map((i) => `${i.name}[${i.shape}]`).join(', ')}.`);
    }
    const nodes = (model as unknown as { executor: { graph: { nodes: Record<string, { op: string; inputs: { name: string; op?: string }[] }> } } }).executor.graph.nodes;
    const out = outputNode ?? model.outputs[0]!.name;
    const target = targetNode ?? defaultNode(nodes, out);
    for (const n of [target, out]) if (!nodes[n.split(':')[0]!]) throw new GradCamError('INVALID_INPUT', `Node '${n}' is not in the graph.`);
    super(tf, shape as number[], target, Number(inp!.shape?.[0]) > 0 ? Number(inp!.shape![0]) : 64);
    this.inputName = inp!.name;
    this.outputNode = out;
  }

  protected run(x: Tensor): [Tensor, Tensor] {
    const r = this.model.execute({ [this.inputName]: x }, [this.target, this.outputNode]) as Tensor[];
    return [r[0]!, r[1]!];
  }

  protected headOf(x: Tensor, act: Tensor): Tensor {
    return this.model.execute({ [this.inputName]: x, [this.target]: act }, this.outputNode) as Tensor;
  }

  /** Disposes the TF.js model only when it was loaded from a path here (a model passed in stays the caller's). */
  async dispose(): Promise<void> {
    if (this.owned) this.model.dispose();
  }
}

function defaultNode(nodes: Record<string, { op: string; inputs: { name: string; op?: string }[] }>, output: string): string {
  // walk back from the output along the first non-constant input; prefer a spatial mean / average pool, else a reshape
  for (const collapse of [new Set(['Mean', 'AvgPool']), new Set(['Reshape', 'Flatten'])]) {
    let cur: { op: string; inputs: { name: string; op?: string }[] } | undefined = nodes[output.split(':')[0]!];
    for (let i = 0; cur && i < 100000; i++) {
      const next: { name: string; op?: string } | undefined = cur.inputs.find((n) => n.op !== 'Const');
      if (collapse.has(cur.op) && next) return next.name;
      cur = next ? nodes[next.name] : undefined;
    }
  }
  throw new GradCamError('INVALID_INPUT', 'Could not guess the target node: pass targetLayer (the name of a 4-D node).');
}

/** Loads a TF.js model (model.json path, or an already loaded LayersModel / GraphModel) as a CAM model. */
export async function loadTfjsCamModel(src: string | LayersModel | GraphModel, options: TfjsCamOptions = {}): Promise<CamModel> {
  const tf = await loadTf(options.tfBackend);
  let model: LayersModel | GraphModel;
  if (typeof src === 'string') {
    const { artifacts, kind } = await readTfjsModel(src);
    const handler = { load: async () => artifacts } as never;
    try {
      model = kind === 'graph' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
    } catch (err) {
      throw new GradCamError('INVALID_MODEL', `TF.js could not load '${src}': ${(err as Error).message}`, { cause: err });
    }
  } else model = src;
  const owned = typeof src === 'string';
  if (model instanceof tf.GraphModel) return new GraphCamModel(tf, model, options.targetLayer, options.outputNode, owned);
  return new LayersCamModel(tf, model as LayersModel, options.targetLayer, owned);
}
