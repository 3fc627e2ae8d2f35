/**
 * CAM model over an ONNX file: onnxruntime-node runs the body (the graph, with the target tensor and any other
 * tensors the head reads exposed as extra outputs), and the head (target -> output) is translated into TF.js ops
 * for exact gradients. Forward-only methods run entirely on onnxruntime (the head is cut out as its own
 * ONNX model for Ablation-CAM), so they work on any ONNX model.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Tensor } from '@tensorflow/tfjs';
import { addOnnxGraphOutputs, extendOnnxGraph, extractOnnxSubgraph, OnnxDataType } from '@genome/model-format';
import type { BodyResult, CamModel, ResolvedTarget } from '../cam-model.js';
import { chunkRows } from '../chunk.js';
import { GradCamError } from '../errors.js';
import { targetScores } from '../targets-tf.js';
import { withKernelFallback } from '../tfjs/fallback.js';
import { loadTf, type Tf, type TfBackendName } from '../tfjs/runtime.js';
import { HeadRunner, lastConvLike, planHead, type HeadPlan } from './head.js';
import { feedInputs, readOnnxGraph, type OnnxGraphView } from './graph.js';
import { loadOrt, type Ort } from './runtime.js';
import { SUPPORTED_ONNX_OPS } from './tf-ops.js';
import { ortGraphFactory, ortRunFactory } from './native-backward.js';
import { BACKWARD_OPSET, CLASS_BIAS, type FusedBackward } from './backward-graph.js';
import { timeAlternating } from './tune.js';
import { planTypedHead, TypedHead, type TypedHeadInputs, type TypedHeadPlan, type Values } from './typed-head.js';

export interface OnnxCamOptions {
  /** ONNX tensor whose activations are explained (a node output, e.g. '/layer4/Relu_output_0'). Default: the input of the first pooling/flatten node on the way to the output. */
  targetTensor?: string;
  /** Graph output to explain (default: the first graph output). */
  outputName?: string;
  /** Input layout; default guessed from the input shape (channels of 1, 3 or 4 second -> NCHW). */
  layout?: 'NCHW' | 'NHWC';
  /** TF.js backend for the gradient head (default 'auto'). */
  tfBackend?: TfBackendName;
  /** onnxruntime session options (executionProviders, intraOpNumThreads, ...). */
  sessionOptions?: Record<string, unknown>;
  /**
   * How exact gradients are computed: 'auto' (default) uses the typed-array evaluator when every head op is in
   * `TYPED_HEAD_OPS` and TF.js autodiff otherwise; 'tfjs' always uses TF.js.
   */
  gradientEngine?: 'auto' | 'tfjs';
  /** Typed-array gradients: which backward evaluator runs ('auto' times them on the first images; see LoadCamOptions). */
  backwardEvaluator?: 'auto' | 'steps' | 'graph' | 'fused';
}

interface External {
  data: Float32Array | Int32Array;
  dims: number[];
}
interface OnnxState {
  externals: Map<string, External>;
  /** Head tensors cached for the typed-array backward pass (inputs of Relu / Clip / MaxPool). */
  values: Map<string, External>;
}

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

/** The state of a fused call's body result: the gradient came with it, so nothing is kept for the head. */
const FUSED_STATE: OnnxState = { externals: new Map(), values: new Map() };
const MISSED = { missed: true } as const;

/**
 * At most this many calls (alternating, on the first image) time the fused and split gradient paths: on small models
 * the two are often within 10%, where a few calls each cannot tell them apart; the time budget bounds large ones.
 */
const TUNE_FUSED = 120;

/**
 * Ops whose meaning for float tensors is the same at the backward nodes' opset as at every version from 7: a model
 * of opset 7-12 made only of these (and other domains) can be extended at opset 16. Others changed (Softmax's axis,
 * Clip's bounds, Squeeze's and ReduceSum's axes, Dropout's ratio, Pad, Slice, Upsample, ...).
 */
const OPSET_STABLE = new Set([
  'Abs', 'Add', 'AveragePool', 'BatchNormalization', 'Concat', 'Constant', 'Conv', 'Div', 'Elu', 'Exp', 'Flatten', 'Gather', 'Gemm',
  'GlobalAveragePool', 'GlobalMaxPool', 'Identity', 'LeakyRelu', 'Log', 'LRN', 'MatMul', 'Max', 'MaxPool', 'Min', 'Mul', 'Neg', 'PRelu',
  'Relu', 'Reshape', 'Shape', 'Sigmoid', 'Sqrt', 'Sub', 'Sum', 'Tanh', 'Transpose',
]);

/** Which typed evaluators a model settled on: the step-by-step or one-graph backward pass, and whether the fused path won. */
interface Choice {
  head?: 'steps' | 'graph';
  fused?: boolean;
}

/**
 * Evaluator choices made in this process, per model (SHA-256 of its bytes), target, output and session options: a
 * second CamModel of the same model takes them instead of timing again, so the two return the same gradients bit
 * for bit (timing could pick differently, and the evaluators agree only to float32 rounding). Oldest first, at
 * most {@link MAX_CHOICES}.
 */
const choices = new Map<string, Choice>();
const MAX_CHOICES = 256;

/** The fused model's class input for class `cls` of `n` outputs: {@link CLASS_BIAS} there, 0 elsewhere. */
function classBias(n: number, cls: number): Float32Array {
  const b = new Float32Array(n);
  b[cls] = CLASS_BIAS;
  return b;
}

/** d target / d output row of a class target: one-hot, or the softmax Jacobian row. */
function classSeed(t: Extract<ResolvedTarget, { kind: 'class' }>, row: Float32Array, seed: Float64Array): void {
  seed.fill(0);
  if (!t.softmax) {
    seed[t.index] = 1;
    return;
  }
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i]! > m) m = row[i]!;
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i]! - m);
  const pk = Math.exp(row[t.index]! - m) / z;
  for (let i = 0; i < row.length; i++) seed[i] = -pk * (Math.exp(row[i]! - m) / z);
  seed[t.index]! += pk;
}

export class OnnxCamModel implements CamModel {
  readonly kind = 'onnx' as const;
  readonly gradientError?: GradCamError;
  private tf?: Tf;
  private runner?: HeadRunner;
  private headSession?: Promise<Session>;
  private readonly fallback: { cpu?: boolean } = {};
  private typedHead?: TypedHead;
  /** onnxruntime sessions of the typed head's large gradient products. */
  private readonly nativeSessions: { release(): Promise<void> }[] = [];
  private typedError?: GradCamError;

  private constructor(
    private readonly ort: Ort,
    private readonly onnx: OnnxGraphView,
    private readonly session: Session,
    private readonly inputName: string,
    readonly inputShape: readonly number[],
    readonly layout: 'NCHW' | 'NHWC',
    readonly maxBatch: number,
    readonly plan: HeadPlan,
    private readonly options: OnnxCamOptions,
    private readonly typed: TypedHeadPlan | undefined,
  ) {
    if (plan.unsupported.length) {
      const ops = [...new Set(plan.unsupported.map((n) => n.opType))].join(', ');
      this.gradientError = new GradCamError(
        'UNSUPPORTED',
        `Exact gradients need the ONNX head (from '${plan.target}' to '${plan.output}') in TF.js ops, but it uses ${ops}, which have no translation ` +
          `(supported: ${SUPPORTED_ONNX_OPS.join(', ')}). Use a forward-only method (scorecam, ablationcam, eigencam) or pick a later target tensor.`,
      );
    }
  }

  get target(): string {
    return this.plan.target;
  }

  /** 'typed' when exact gradients run on the typed-array evaluator, 'tfjs' when the head is differentiated by TF.js. */
  get gradientEngine(): 'typed' | 'tfjs' {
    return this.typed && !this.typedError ? 'typed' : 'tfjs';
  }

  static async load(src: string | Uint8Array, options: OnnxCamOptions = {}): Promise<OnnxCamModel> {
    let bytes: Uint8Array;
    if (typeof src === 'string') {
      try {
        bytes = new Uint8Array(await readFile(src));
      } catch (err) {
        throw new GradCamError('INVALID_INPUT', `Cannot read ONNX model '${src}': ${(err as Error).message}`, { cause: err });
      }
    } else bytes = src;
    const onnx = readOnnxGraph(bytes);
    const feeds = feedInputs(onnx);
    if (feeds.length !== 1) throw new GradCamError('UNSUPPORTED', `Image CAMs need a model with exactly one input tensor; this one has ${feeds.length} (${feeds.map((f) => f.name).join(', ')}).`);
    const feed = feeds[0]!;
    if (feed.dims.length !== 4) throw new GradCamError('UNSUPPORTED', `The model input '${feed.name}' has rank ${feed.dims.length}; image CAMs need a 4-D image input (NCHW or NHWC).`);
    const outputName = options.outputName ?? onnx.outputs[0]?.name;
    if (!outputName || !onnx.outputs.some((o) => o.name === outputName)) {
      throw new GradCamError('INVALID_INPUT', `Output '${outputName}' is not a graph output; choose one of ${onnx.outputs.map((o) => o.name).join(', ')}.`);
    }
    const target = options.targetTensor ?? lastConvLike(onnx, outputName);
    if (!target) throw new GradCamError('INVALID_INPUT', 'Could not guess a target tensor: pass targetTensor (the ONNX name of a 4-D activation).');
    const plan = planHead(onnx, target, outputName);
    const layout = options.layout ?? ([1, 3, 4].includes(feed.dims[1]!) || ![1, 3, 4].includes(feed.dims[3]!) ? 'NCHW' : 'NHWC');
    const inputShape = feed.dims.slice(1);
    if (inputShape.some((d) => !(d > 0))) throw new GradCamError('UNSUPPORTED', `The model input '${feed.name}' has symbolic image dimensions [${feed.dims}]; export it with a fixed image size.`);
    const maxBatch = feed.dims[0]! > 0 ? feed.dims[0]! : 64;
    if (maxBatch !== 1 && feed.dims[0]! > 0) throw new GradCamError('UNSUPPORTED', `The model input has a fixed batch of ${feed.dims[0]}; export it with batch 1 or a dynamic batch.`);
    const ort = await loadOrt();
    const typed = options.gradientEngine === 'tfjs' ? undefined : planTypedHead(onnx, plan);
    const extra = [...new Set([plan.target, ...plan.externals.filter((e) => e !== feed.name), ...(typed?.values ?? [])])];
    let session: Session;
    try {
      session = await ort.InferenceSession.create(addOnnxGraphOutputs(bytes, extra.map((name) => ({ name, elemType: onnx.valueInfo.get(name)?.elemType ?? 0 }))), (options.sessionOptions ?? {}) as never);
    } catch (err) {
      throw new GradCamError('RUNTIME', `onnxruntime could not load the model: ${(err as Error).message}`, { cause: err });
    }
    return new OnnxCamModel(ort, onnx, session, feed.name, inputShape, layout, maxBatch, plan, options, typed);
  }

  private feedTensor(input: Float32Array, n: number): InstanceType<Ort['Tensor']> {
    const per = this.inputShape.reduce((p, v) => p * v, 1);
    if (input.length !== per * n) throw new GradCamError('INVALID_INPUT', `Expected ${n} images of shape [${this.inputShape}] (${per * n} values), got ${input.length}.`);
    return new this.ort.Tensor('float32', input, [n, ...this.inputShape]);
  }

  private async run(session: Session, feeds: Record<string, unknown>, fetches: string[]): Promise<Record<string, { data: unknown; dims: readonly number[] }>> {
    try {
      return (await session.run(feeds as never, fetches)) as never;
    } catch (err) {
      throw new GradCamError('RUNTIME', `onnxruntime failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private choiceEntry?: Choice;

  /** This model's entry in the process-wide {@link choices} (looked up, or created, on first use). */
  private choice(): Choice {
    if (this.choiceEntry) return this.choiceEntry;
    const key = [createHash('sha256').update(this.onnx.bytes).digest('hex'), this.plan.target, this.plan.output, JSON.stringify(this.options.sessionOptions ?? {})].join('\u0000');
    let c = choices.get(key);
    if (!c) {
      if (choices.size >= MAX_CHOICES) choices.delete(choices.keys().next().value!);
      choices.set(key, (c = {}));
    }
    return (this.choiceEntry = c);
  }

  /** Names the body pass fetches, built once per gradient engine state. */
  private fetchList?: { typed: boolean; names: string[] };

  async body(input: Float32Array, n: number): Promise<BodyResult> {
    const typed = this.typed !== undefined && !this.typedError;
    const values = typed ? this.typed!.values : [];
    if (this.fetchList?.typed !== typed) {
      this.fetchList = { typed, names: [...new Set([this.plan.output, this.plan.target, ...this.plan.externals.filter((e) => e !== this.inputName), ...values])] };
    }
    const fetch = this.fetchList.names;
    const res = await this.run(this.session, { [this.inputName]: this.feedTensor(input, n) }, fetch);
    const out = res[this.plan.output]!;
    const act = res[this.plan.target]!;
    if (act.dims.length !== 4) throw new GradCamError('INVALID_INPUT', `Target tensor '${this.plan.target}' has shape [${act.dims}]; CAMs need a 4-D [N, C, H, W] activation.`);
    const externals = new Map<string, External>();
    for (const e of this.plan.externals) {
      if (e === this.inputName) externals.set(e, { data: input, dims: [n, ...this.inputShape] });
      else {
        const r = res[e]!;
        const d = r.data;
        const data = d instanceof Float32Array ? d : d instanceof BigInt64Array ? Int32Array.from(d, (v) => Number(v)) : d instanceof Int32Array ? d : Float32Array.from(d as ArrayLike<number>);
        externals.set(e, { data, dims: [...r.dims] });
      }
    }
    const cached = new Map<string, External>();
    for (const v of values) cached.set(v, { data: res[v]!.data as Float32Array, dims: [...res[v]!.dims] });
    const [, C, h, w] = act.dims as number[];
    return {
      n,
      acts: act.data as Float32Array,
      channels: C!,
      height: h!,
      width: w!,
      outputs: out.data as Float32Array,
      nOut: (out.data as Float32Array).length / n,
      state: { externals, values: cached } satisfies OnnxState,
    };
  }

  private async ensureTf(): Promise<{ tf: Tf; runner: HeadRunner }> {
    if (this.gradientError) throw this.gradientError;
    if (!this.tf) this.tf = await loadTf(this.options.tfBackend);
    this.runner ??= new HeadRunner(this.tf, this.onnx, this.plan);
    return { tf: this.tf, runner: this.runner };
  }

  private externalsFor(tf: Tf, body: BodyResult, rows: Int32Array): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    const { externals } = body.state as OnnxState;
    const identity = rows.length === body.n && rows.every((r, i) => r === i);
    for (const [k, e] of externals) {
      const dtype = e.data instanceof Int32Array ? 'int32' : 'float32';
      const t = tf.tensor(e.data, e.dims, dtype);
      // tensors with the batch as first dimension are gathered per job; others (shapes, constants) are shared
      m.set(k, !identity && e.dims[0] === body.n && e.dims.length > 1 ? tf.gather(t, Array.from(rows)) : t);
    }
    return m;
  }

  private gatherActs(body: BodyResult, rows: Int32Array): Float32Array {
    const per = body.channels * body.height * body.width;
    const out = new Float32Array(rows.length * per);
    for (let j = 0; j < rows.length; j++) out.set(body.acts.subarray(rows[j]! * per, (rows[j]! + 1) * per), j * per);
    return out;
  }

  async gradients(body: BodyResult, rows: Int32Array, targets: readonly ResolvedTarget[]): Promise<Float32Array> {
    if (rows.length > this.maxBatch) {
      const per = body.channels * body.height * body.width;
      const out = new Float32Array(rows.length * per);
      for (let i = 0; i < rows.length; i += this.maxBatch) {
        const k = Math.min(this.maxBatch, rows.length - i);
        out.set(await this.gradients(body, rows.subarray(i, i + k), targets.slice(i, i + k)), i * per);
      }
      return out;
    }
    if (this.typed && !this.typedError && (body.state as OnnxState).values.size === this.typed.values.length) {
      const g = await this.typedGradients(body, rows, targets);
      if (g) return g;
    }
    const { tf, runner } = await this.ensureTf();
    const acts = this.gatherActs(body, rows);
    return withKernelFallback(tf, () =>
      tf.tidy(() => {
        const ext = this.externalsFor(tf, body, rows);
        const a = tf.tensor4d(acts, [rows.length, body.channels, body.height, body.width]);
        const g = tf.grad((x: Tensor) => tf.sum(targetScores(tf, runner.run(x, ext), targets)))(a);
        return Float32Array.from(g.dataSync() as Float32Array); // copy: wasm dataSync may view the heap
      }),
      this.fallback,
    );
  }

  /** One image at a time on the typed-array evaluator; undefined (and TF.js from then on) when its shapes are not handled. */
  private async typedGradients(body: BodyResult, rows: Int32Array, targets: readonly ResolvedTarget[]): Promise<Float32Array | undefined> {
    if (this.gradientError) throw this.gradientError;
    const per = body.channels * body.height * body.width;
    const { externals, values } = body.state as OnnxState;
    let row = 0;
    const slice = (e: External): Values => (e.dims[0] === body.n && e.dims.length > 1 ? e.data.subarray((row * e.data.length) / body.n, ((row + 1) * e.data.length) / body.n) : e.data);
    const inputs: TypedHeadInputs = {
      act: body.acts,
      value: (name) => {
        const e = values.get(name) ?? externals.get(name);
        return e ? slice(e) : undefined;
      },
    };
    let head = this.typedHead;
    if (!head || head.outputSize === 0) {
      const pinned = this.options.backwardEvaluator === 'steps' || this.options.backwardEvaluator === 'graph' ? this.options.backwardEvaluator : this.choice().head;
      head = this.typedHead ??= new TypedHead(this.onnx, this.plan, this.typed!, ortRunFactory(this.ort, this.options.sessionOptions, this.nativeSessions), ortGraphFactory(this.ort, this.options.sessionOptions, this.nativeSessions), pinned ?? 'auto');
      try {
        const dims = new Map<string, number[]>();
        for (const [k, e] of externals) dims.set(k, e.dims[0] === body.n && e.dims.length > 1 ? [1, ...e.dims.slice(1)] : e.dims);
        const outSize = head.prepare({ act: body.acts.subarray(0, per), value: inputs.value }, [1, body.channels, body.height, body.width], dims);
        if (outSize !== body.nOut) throw new GradCamError('UNSUPPORTED', `the typed head produces ${outSize} outputs per image, the model ${body.nOut}`);
      } catch (err) {
        if (!(err instanceof GradCamError) || err.code !== 'UNSUPPORTED') throw err;
        this.typedError = err;
        return undefined;
      }
    }
    const out = new Float32Array(rows.length * per);
    for (let j = 0; j < rows.length; j++) {
      row = rows[j]!;
      const seed = new Float64Array(body.nOut); // per image: backward passes of concurrent calls queue up
      const outRow = body.outputs.subarray(row * body.nOut, (row + 1) * body.nOut);
      const t = targets[j]!;
      if (t.kind === 'class') classSeed(t, outRow, seed);
      else await this.fnSeed(t, outRow, seed);
      await head.backward({ act: body.acts.subarray(row * per, (row + 1) * per), value: inputs.value }, seed, out.subarray(j * per, (j + 1) * per));
      if (this.options.backwardEvaluator !== 'steps' && this.options.backwardEvaluator !== 'graph') this.choice().head ??= head.evaluator;
    }
    return out;
  }

  /**
   * The fused path (see `lowerFusedBackward`): the model extended with the head's backward nodes runs the body and
   * the gradient in one onnxruntime call. The first call of a model compiles the typed head (one body pass), builds
   * the extended model and, with backwardEvaluator 'auto', times it against the split path (body pass, then the
   * typed head's own evaluator) in up to {@link TUNE_FUSED} alternating calls on its image (`timeAlternating`); the
   * faster one is kept for every gradient of the model, including that first one (calls arriving meanwhile wait for
   * the choice).
   * 'fused' keeps it without timing; 'steps' and 'graph' never build it.
   */
  private fused?: { readonly session: Session; readonly lowered: FusedBackward; readonly topClass: InstanceType<Ort['Tensor']> } | null;
  private fusedChoice?: Promise<boolean>;

  /**
   * The typed-array evaluator raw class scores are differentiated on: 'fused' (with the body, in one onnxruntime
   * call), 'graph' or 'steps' (after a body call); undefined before the first gradient or with TF.js gradients.
   */
  get evaluator(): 'fused' | 'graph' | 'steps' | undefined {
    if (this.gradientEngine !== 'typed') return undefined;
    return this.fused ? 'fused' : this.typedHead?.evaluator;
  }

  async bodyAndGradients(input: Float32Array, cls: number): Promise<{ body: BodyResult; grads: Float32Array; cls: number } | { missed: true } | undefined> {
    const mode = this.options.backwardEvaluator ?? 'auto';
    if (mode === 'steps' || mode === 'graph' || !this.typed || this.typedError || this.gradientError || this.fused === null) return undefined;
    if (!this.fused) {
      this.fusedChoice ??= this.chooseFused(input, cls, mode === 'fused').catch((err: unknown) => {
        this.fusedChoice = undefined; // a failed body pass (bad input, runtime error) decides nothing
        throw err;
      });
      if (!(await this.fusedChoice)) return undefined;
    }
    // out of range: the split path reports it
    if (cls >= this.typedHead!.outputSize) return undefined;
    return this.runFused(input, cls);
  }

  private async chooseFused(input: Float32Array, cls: number, pinned: boolean): Promise<boolean> {
    // compile the typed head (and let it choose its own evaluator) on this image
    const body = await this.body(input, 1);
    const rows = Int32Array.of(0);
    const index = cls >= 0 && cls < body.nOut ? cls : body.outputs.indexOf(Math.max(...body.outputs));
    const target: ResolvedTarget[] = [{ kind: 'class', index, softmax: false }];
    await this.gradients(body, rows, target);
    const lowered = this.gradientEngine === 'typed' ? this.typedHead?.fusedBackward() : undefined;
    // another CamModel of this model in this process already timed it and kept the split path
    const choice = this.choice();
    if (!lowered || !this.fusedOpsetOk() || (choice.fused === false && !pinned)) {
      this.fused = null;
      return false;
    }
    let session: Session;
    try {
      const bytes = extendOnnxGraph(this.onnx.bytes, {
        nodes: lowered.nodes,
        initializers: lowered.initializers,
        inputs: [lowered.classInput],
        outputs: lowered.outputs,
        nodeOutputs: lowered.nodeOutputs,
        minOpset: BACKWARD_OPSET,
      });
      session = await this.ort.InferenceSession.create(bytes, { logSeverityLevel: 3, ...(this.options.sessionOptions ?? {}) } as never);
    } catch {
      // onnxruntime refuses the extended model (an op the raised opset no longer accepts): keep the split path
      this.fused = null;
      return false;
    }
    // the class input of the top class (zeros), made once
    const candidate = { session, lowered, topClass: new this.ort.Tensor('float32', new Float32Array(lowered.outputSize), [1, lowered.outputSize]) };
    if (!pinned && choice.fused === undefined) {
      const [fused, split] = await timeAlternating(
        () => this.runFused(input, index, candidate),
        async () => this.gradients(await this.body(input, 1), rows, target),
        TUNE_FUSED,
      );
      choice.fused ??= fused < split; // the first CamModel of this model to finish timing decides for all
      if (!choice.fused) {
        this.fused = null;
        await session.release?.();
        return false;
      }
    }
    this.fused = candidate;
    return true;
  }

  /** Whether the model's ops keep their meaning when its default opset is raised to the backward nodes' opset. */
  private fusedOpsetOk(): boolean {
    if (this.onnx.opset >= 13) return true;
    if (this.onnx.opset < 7) return false;
    return this.onnx.nodes.every((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || OPSET_STABLE.has(n.opType));
  }

  /**
   * One fused call; missed when the class the graph explained cannot be told for sure (an output NaN, infinite or
   * above 1e37 in magnitude): the caller takes the split path then.
   */
  private async runFused(input: Float32Array, cls: number, f = this.fused!): Promise<{ body: BodyResult; grads: Float32Array; cls: number } | { missed: true }> {
    const { lowered } = f;
    const nOut = lowered.outputSize;
    const classInput = cls >= 0 ? new this.ort.Tensor('float32', classBias(nOut, cls), [1, nOut]) : f.topClass;
    const bias = classInput.data as Float32Array;
    const res = await this.run(f.session, { [this.inputName]: this.feedTensor(input, 1), [lowered.classInputName]: classInput }, [lowered.packedName]);
    // [outputs | activations | gradient]
    const packed = res[lowered.packedName]!.data as Float32Array;
    const [, C, h, w] = lowered.targetDims as number[];
    const per = C! * h! * w!;
    const outputs = packed.subarray(0, nOut);
    // the graph's arg-max of output + bias (first maximum), as onnxruntime adds in float32
    let best = -1;
    let top = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < nOut; j++) {
      const o = outputs[j]!;
      if (!(Math.abs(o) < 1e37)) return MISSED;
      const v = Math.fround(o + bias[j]!);
      if (best < 0 || v > top) {
        best = j;
        top = v;
      }
    }
    if (cls >= 0 && best !== cls) return MISSED;
    const body: BodyResult = { n: 1, acts: packed.subarray(nOut, nOut + per), channels: C!, height: h!, width: w!, outputs, nOut, state: FUSED_STATE };
    let grads = packed.subarray(nOut + per);
    if (lowered.perChannel) {
      // one value per channel: spread over its map (the values an Expand would copy)
      const S = h! * w!;
      const full = new Float32Array(per);
      for (let c = 0; c < C!; c++) full.fill(grads[c]!, c * S, (c + 1) * S);
      grads = full;
    }
    return { body, grads, cls: best };
  }

  /** d target / d output row of a custom target function, by TF.js autodiff of the function on the row only. */
  private async fnSeed(t: Extract<ResolvedTarget, { kind: 'fn' }>, row: Float32Array, seed: Float64Array): Promise<void> {
    this.tf ??= await loadTf(this.options.tfBackend);
    const tf = this.tf;
    const g = await withKernelFallback(tf, () => tf.tidy(() => Float32Array.from(tf.grad((o: Tensor) => t.fn(o as never, tf))(tf.tensor1d(row)).dataSync() as Float32Array)), this.fallback);
    for (let i = 0; i < seed.length; i++) seed[i] = g[i]!;
  }

  async head(body: BodyResult, rows: Int32Array, acts: Float32Array): Promise<Float32Array> {
    const per = acts.length / rows.length;
    return chunkRows(rows, this.maxBatch, (r, i) => this.headBatch(body, r, acts.subarray(i * per, (i + r.length) * per)));
  }

  private async headBatch(body: BodyResult, rows: Int32Array, acts: Float32Array): Promise<Float32Array> {
    // Forward-only: run the cut-out head model on onnxruntime so it works for any op.
    this.headSession ??= this.ort.InferenceSession.create(
      extractOnnxSubgraph(this.onnx.bytes, this.plan.nodes.map((n) => n.index), [this.plan.target, ...this.plan.externals].map((name) => ({ name, elemType: this.onnx.valueInfo.get(name)?.elemType ?? OnnxDataType.FLOAT }))),
      { logSeverityLevel: 3, ...(this.options.sessionOptions ?? {}) } as never,
    ) as Promise<Session>;
    const session = await this.headSession.catch((err: unknown) => {
      throw new GradCamError('RUNTIME', `onnxruntime could not load the head sub-model: ${(err as Error).message}`, { cause: err });
    });
    const feeds: Record<string, unknown> = {
      [this.plan.target]: new this.ort.Tensor('float32', acts, [rows.length, body.channels, body.height, body.width]),
    };
    const { externals } = body.state as OnnxState;
    for (const [k, e] of externals) {
      if (e.dims[0] === body.n && e.dims.length > 1) {
        const per = e.data.length / body.n;
        const data = e.data instanceof Int32Array ? new Int32Array(rows.length * per) : new Float32Array(rows.length * per);
        for (let j = 0; j < rows.length; j++) data.set(e.data.subarray(rows[j]! * per, (rows[j]! + 1) * per), j * per);
        feeds[k] = new this.ort.Tensor(data instanceof Int32Array ? 'int32' : 'float32', data as never, [rows.length, ...e.dims.slice(1)]);
      } else {
        feeds[k] = e.data instanceof Int32Array ? new this.ort.Tensor('int64', BigInt64Array.from(e.data, (v) => BigInt(v)), e.dims) : new this.ort.Tensor('float32', e.data, e.dims);
      }
    }
    const res = await this.run(session, feeds, [this.plan.output]);
    return res[this.plan.output]!.data as Float32Array;
  }

  async forward(input: Float32Array, n: number): Promise<{ outputs: Float32Array; nOut: number }> {
    const res = await this.run(this.session, { [this.inputName]: this.feedTensor(input, n) }, [this.plan.output]);
    const outputs = res[this.plan.output]!.data as Float32Array;
    return { outputs, nOut: outputs.length / n };
  }

  release(_body: BodyResult): void {}

  async dispose(): Promise<void> {
    await this.fusedChoice?.catch(() => false);
    if (this.fused) await this.fused.session.release?.();
    this.fused = null;
    this.runner?.dispose();
    this.runner = undefined;
    await this.session.release?.();
    if (this.headSession) await (await this.headSession.catch(() => undefined))?.release?.();
    for (const s of this.nativeSessions.splice(0)) await s.release();
  }
}
