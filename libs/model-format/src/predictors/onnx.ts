/**
 * Predictors over onnxruntime-node sessions: tabular models (float tensor `[N, F]` in) and image models
 * (NCHW/NHWC float32 in). onnxruntime-node is an optional peer dependency loaded at the first call.
 *
 * Classifier conventions handled: scikit-learn/onnxmltools `label` + `probabilities` pairs (the float tensor is
 * read), and ZipMap outputs (`seq(map)`, which onnxruntime-node cannot return): the probability tensor feeding
 * the ZipMap is exposed as an extra graph output and read instead, with the ZipMap's class labels as output names.
 */
import { readFile } from 'node:fs/promises';
import { ModelFormatError } from '../errors.js';
import type { ImagePredictor, Matrix, OutputSpace, PredictOptions, Predictor } from '../predictor.js';
import { throwIfAborted } from '../cancellation.js';
import { checkMaxBatch, checkRows, runBatched } from './batching.js';
import { attributeStrings, decodeOnnxModel, type OnnxNode } from '../onnx/model.js';
import { addOnnxGraphOutputs } from '../onnx/surgery.js';
import { loadOnnxRuntime, type OrtModule } from './runtime.js';

export interface OnnxPredictorOptions {
  /** `tabular` (default) or `image`. */
  kind?: 'tabular' | 'image';
  /** Input tensor to feed; default the model's first input. */
  inputName?: string;
  /**
   * Output tensor to read. Default: the float output of a classifier (probabilities), else the first float
   * tensor output. A ZipMap output name is accepted and mapped to the tensor feeding it.
   */
  outputName?: string;
  /** Names for the output columns; default the classifier's class labels, else `<output>` / `<output>_<i>`. */
  outputNames?: readonly string[];
  /** What the outputs mean; default `probability` for classifiers, `raw` for image models, else `regression`. */
  outputSpace?: OutputSpace;
  /** Largest number of rows/images per session run (default 4096 tabular, 32 image). */
  maxBatch?: number;
  /** Number of features when the model's input shape does not fix it. */
  nFeatures?: number;
  /** Image layout; default guessed from the input shape (channel dim of size 1 or 3). */
  layout?: 'NCHW' | 'NHWC';
  /** Per-image shape with batch 1 (e.g. `[1, 3, 224, 224]`) when the model's input shape is symbolic. */
  inputShape?: readonly number[];
  /** onnxruntime threads inside one run (default onnxruntime's choice). */
  intraOpNumThreads?: number;
}

type Session = Awaited<ReturnType<OrtModule['InferenceSession']['create']>>;
type TensorMeta = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

interface Plan {
  ort: OrtModule;
  session: Session;
  inputName: string;
  inputType: 'float32' | 'float64';
  /** Input dims without the batch dim. */
  sampleDims: number[];
  /** Batch size the model insists on (fixed first dim), else undefined. */
  fixedBatch: number | undefined;
  outputName: string;
  outputNames: string[];
  outputSpace: OutputSpace;
  cols: number;
  isClassifier: boolean;
}

function describe(src: string | Uint8Array): string {
  return typeof src === 'string' ? src : `<${src.length} bytes>`;
}

interface NodeInfo {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** `classlabels_strings` / `classlabels_int64s` (ZipMap, *Classifier ops), as strings. */
  readonly classLabels?: readonly string[];
}

/** Node op types, inputs, outputs and class labels, and the graph output names. */
function graphInfo(bytes: Uint8Array): { nodes: NodeInfo[]; outputs: string[] } {
  const { graph } = decodeOnnxModel(bytes);
  return { nodes: graph.nodes.map(nodeInfo), outputs: graph.outputs.map((o) => o.name) };
}

function nodeInfo(n: OnnxNode): NodeInfo {
  let classLabels: string[] | undefined;
  for (const a of n.attributes) {
    if (a.name === 'classlabels_strings') classLabels = attributeStrings(a) ?? [];
    else if (a.name === 'classlabels_int64s') classLabels = Array.from(a.ints ?? [], String);
  }
  const { opType, inputs, outputs } = n;
  return classLabels ? { opType, inputs, outputs, classLabels } : { opType, inputs, outputs };
}

async function plan(src: string | Uint8Array, opts: OnnxPredictorOptions, image: boolean): Promise<Plan> {
  const ort = await loadOnnxRuntime();
  let bytes: Uint8Array;
  try {
    bytes = typeof src === 'string' ? new Uint8Array(await readFile(src)) : src;
  } catch (err) {
    throw new ModelFormatError('INVALID_INPUT', `cannot read ONNX model ${describe(src)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const graph = graphInfo(bytes);
  const zipmaps = graph.nodes.filter((n) => n.opType === 'ZipMap');
  const labelled = graph.nodes.find((n) => n.classLabels !== undefined && n.opType !== 'ZipMap');
  const extra = zipmaps.map((z) => z.inputs[0]!).filter((n) => n && !graph.outputs.includes(n));
  const modelBytes = extra.length > 0 ? addOnnxGraphOutputs(bytes, extra) : bytes;

  let session: Session;
  try {
    const so: Record<string, unknown> = { graphOptimizationLevel: 'all', logSeverityLevel: 3 };
    if (opts.intraOpNumThreads !== undefined) so.intraOpNumThreads = opts.intraOpNumThreads;
    session = await ort.InferenceSession.create(modelBytes, so);
  } catch (err) {
    throw new ModelFormatError(
      'INVALID_MODEL',
      `onnxruntime could not load ${describe(src)}: ${(err as Error).message}`,
      { cause: err },
    );
  }

  const inputs = session.inputMetadata as unknown as TensorMeta[];
  const outputs = session.outputMetadata as unknown as TensorMeta[];
  const input = opts.inputName ? inputs.find((i) => i.name === opts.inputName) : inputs[0];
  if (!input) {
    throw new ModelFormatError(
      'INVALID_INPUT',
      `ONNX model ${describe(src)} has no input "${opts.inputName}"; inputs: ${inputs.map((i) => i.name).join(', ')}`,
    );
  }
  if (input.type !== 'float32' && input.type !== 'float64') {
    throw new ModelFormatError(
      'UNSUPPORTED',
      `ONNX input "${input.name}" has type ${String(input.type)}; only float32/float64 inputs are supported`,
    );
  }
  const shape = input.shape ?? [];

  // Pick the output tensor.
  let outputName = opts.outputName;
  let zipmapLabels: readonly string[] | undefined;
  const zip = (name: string | undefined) => zipmaps.find((z) => z.outputs.includes(name ?? ''));
  if (outputName !== undefined) {
    const z = zip(outputName);
    if (z) {
      zipmapLabels = z.classLabels;
      outputName = z.inputs[0]!;
    } else if (!outputs.some((o) => o.name === outputName)) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `ONNX model ${describe(src)} has no output "${outputName}"; outputs: ${graph.outputs.join(', ')}`,
      );
    }
  } else {
    const originals = outputs.filter((o) => graph.outputs.includes(o.name));
    const floats = originals.filter((o) => o.isTensor && FLOAT_TYPES.has(o.type ?? ''));
    const prob = floats.find((o) => /prob/i.test(o.name));
    const firstZip = zipmaps.find((z) => graph.outputs.some((g) => z.outputs.includes(g)));
    if (prob) outputName = prob.name;
    else if (firstZip && (labelled || floats.length === 0)) {
      zipmapLabels = firstZip.classLabels;
      outputName = firstZip.inputs[0]!;
    } else if (floats[0]) outputName = floats[0].name;
    else {
      throw new ModelFormatError(
        'UNSUPPORTED',
        `ONNX model ${describe(src)} has no float tensor output to read (outputs: ${graph.outputs.join(', ')})`,
      );
    }
  }
  const isClassifier = zipmapLabels !== undefined || labelled !== undefined;

  let sampleDims: number[];
  if (image && opts.inputShape) sampleDims = opts.inputShape.slice(1).map(Number);
  else if (image) {
    if (shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number' || d <= 0)) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `ONNX image input "${input.name}" has shape [${shape.join(', ')}]; pass inputShape, e.g. [1, 3, 224, 224]`,
      );
    }
    sampleDims = shape.slice(1) as number[];
  } else {
    const last = shape.length >= 2 ? shape[shape.length - 1] : undefined;
    const fixed = typeof last === 'number' && last > 0 ? last : undefined;
    if (opts.nFeatures !== undefined && fixed !== undefined && opts.nFeatures !== fixed) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `ONNX input "${input.name}" takes ${fixed} features, not nFeatures=${opts.nFeatures}`,
      );
    }
    const f = opts.nFeatures ?? fixed;
    if (f === undefined || !Number.isInteger(f) || f <= 0) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `ONNX input "${input.name}" has shape [${shape.join(', ')}]: the number of features is not fixed; pass nFeatures`,
      );
    }
    sampleDims = [f];
  }
  const fixedBatch = typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : undefined;

  const p: Plan = {
    ort,
    session,
    inputName: input.name,
    inputType: input.type,
    sampleDims,
    fixedBatch,
    outputName: outputName!,
    outputNames: [],
    outputSpace: opts.outputSpace ?? (isClassifier ? 'probability' : image ? 'raw' : 'regression'),
    cols: 0,
    isClassifier,
  };
  // Learn the output width from one all-zero sample (output shapes are often symbolic).
  const perSample = sampleDims.reduce((a, b) => a * b, 1);
  const probe = await runChunk(p, new Float64Array(perSample), 0, 1, perSample);
  p.cols = probe.cols;
  const labels = zipmapLabels ?? labelled?.classLabels;
  if (opts.outputNames) {
    if (opts.outputNames.length !== p.cols) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `outputNames has ${opts.outputNames.length} names but output "${p.outputName}" has ${p.cols} columns`,
      );
    }
    p.outputNames = [...opts.outputNames];
  } else if (labels && labels.length === p.cols) p.outputNames = [...labels];
  else if (p.cols === 1) p.outputNames = [opts.outputName ?? p.outputName];
  else p.outputNames = Array.from({ length: p.cols }, (_, i) => `${p.outputName}_${i}`);
  return p;
}

/** Runs `count` samples starting at sample `start` of `values` (`perSample` numbers each). */
async function runChunk(
  p: Plan,
  values: ArrayLike<number>,
  start: number,
  count: number,
  perSample: number,
): Promise<{ data: ArrayLike<number>; cols: number }> {
  const batch = p.fixedBatch ?? count;
  if (count > batch) throw new ModelFormatError('RUNTIME', `internal: chunk of ${count} exceeds fixed batch ${batch}`);
  const n = batch * perSample;
  const buf = p.inputType === 'float32' ? new Float32Array(n) : new Float64Array(n);
  const from = start * perSample;
  const len = count * perSample;
  for (let i = 0; i < len; i++) buf[i] = values[from + i]!;
  const tensor = new p.ort.Tensor(p.inputType, buf, [batch, ...p.sampleDims]);
  let result: Record<string, { data: unknown; dims: readonly number[]; type: string }>;
  try {
    result = (await p.session.run({ [p.inputName]: tensor }, [p.outputName])) as unknown as typeof result;
  } catch (err) {
    throw new ModelFormatError('RUNTIME', `onnxruntime failed on output "${p.outputName}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  const out = result[p.outputName]!;
  if (!FLOAT_TYPES.has(out.type) && !/int/.test(out.type)) {
    throw new ModelFormatError('UNSUPPORTED', `ONNX output "${p.outputName}" has type ${out.type}; expected a number tensor`);
  }
  const data = out.data as ArrayLike<number>;
  const total = data.length;
  const cols = out.dims.length === 0 || out.dims[0] === 0 ? 0 : total / out.dims[0]!;
  if (out.dims[0] !== batch || !Number.isInteger(cols)) {
    throw new ModelFormatError(
      'RUNTIME',
      `ONNX output "${p.outputName}" has shape [${out.dims.join(', ')}] for a batch of ${batch}`,
    );
  }
  return { data: batch === count ? data : (data as Float32Array).subarray(0, count * cols), cols };
}

/** A tabular predictor over an ONNX model (scikit-learn, XGBoost/LightGBM converters, any float-input graph). */
export async function onnxPredictor(
  src: string | Uint8Array,
  opts?: OnnxPredictorOptions & { kind?: 'tabular' },
): Promise<Predictor>;
/** An image predictor over an ONNX CNN (float32 NCHW or NHWC input). */
export async function onnxPredictor(src: string | Uint8Array, opts: OnnxPredictorOptions & { kind: 'image' }): Promise<ImagePredictor>;
export async function onnxPredictor(
  src: string | Uint8Array,
  opts: OnnxPredictorOptions = {},
): Promise<Predictor | ImagePredictor> {
  const image = opts.kind === 'image';
  const maxBatch = Math.min(checkMaxBatch(opts.maxBatch, image ? 32 : 4096), Number.MAX_SAFE_INTEGER);
  const p = await plan(src, opts, image);
  const chunk = p.fixedBatch ?? maxBatch;
  const perSample = p.sampleDims.reduce((a, b) => a * b, 1);
  let closed = false;
  /** Runs `n` samples in chunks; `signal` is checked between chunks (a session run that started completes). */
  const run = (values: ArrayLike<number>, n: number, signal: AbortSignal | undefined): Promise<Matrix> => {
    if (closed) return Promise.reject(new ModelFormatError('RUNTIME', 'ONNX predictor was closed'));
    return runBatched(n, chunk, p.cols, (start, count) => runChunk(p, values, start, count, perSample), {
      signal,
      what: `ONNX output "${p.outputName}"`,
    });
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await p.session.release();
  };
  if (image) {
    const layout =
      opts.layout ??
      (p.sampleDims[0] === 1 || p.sampleDims[0] === 3 ? 'NCHW' : p.sampleDims[2] === 1 || p.sampleDims[2] === 3 ? 'NHWC' : undefined);
    if (!layout) {
      throw new ModelFormatError('INVALID_INPUT', `cannot tell the layout of image input [${p.sampleDims.join(', ')}]; pass layout`);
    }
    const predictor: ImagePredictor = {
      kind: 'image',
      inputShape: [1, ...p.sampleDims],
      layout,
      outputNames: p.outputNames,
      outputSpace: p.outputSpace,
      async predict(pixels: Float32Array, n: number, options?: PredictOptions) {
        throwIfAborted(options?.signal);
        checkRows(pixels, n, perSample, 'ONNX image predictor');
        return run(pixels, n, options?.signal);
      },
      close,
    };
    return predictor;
  }
  const predictor: Predictor = {
    kind: 'tabular',
    nFeatures: perSample,
    outputNames: p.outputNames,
    outputSpace: p.outputSpace,
    async predict(rows: Float64Array, n: number, options?: PredictOptions) {
      throwIfAborted(options?.signal);
      checkRows(rows, n, perSample, 'ONNX predictor');
      return run(rows, n, options?.signal);
    },
    close,
  };
  return predictor;
}
