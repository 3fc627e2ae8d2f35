/**
 * Predictors over TensorFlow.js models (LayersModel and GraphModel) read from a local directory
 * (model.json + weight shards). TF.js is loaded at the first call through {@link loadTf}.
 */
import { ModelFormatError } from '../errors.js';
import type { ImagePredictor, Matrix, OutputSpace, PredictOptions, Predictor } from '../predictor.js';
import { throwIfAborted } from '../cancellation.js';
import { checkMaxBatch, checkRows, runBatched } from './batching.js';
import { loadTf, type Tf } from './tf-loader.js';
import { readTfjsArtifacts, resolveModelJson } from './tfjs-file-io.js';

export interface TfjsPredictorOptions {
  /** `tabular` (default): input `[N, F]`; `image`: input `[N, H, W, C]` (or NCHW). */
  kind?: 'tabular' | 'image';
  /** Output to read when the model has several: name (GraphModel output node / LayersModel output) or index. */
  output?: string | number;
  /** Names of the output columns; default `output_<i>` (or the single output's name). */
  outputNames?: readonly string[];
  /** What the outputs mean (default `regression` for tabular, `raw` for images). */
  outputSpace?: OutputSpace;
  /** Largest number of rows/images per model call (default 1024 tabular, 16 image). */
  maxBatch?: number;
  /** Image layout when it cannot be guessed from the input shape (TF.js models are usually NHWC). */
  layout?: 'NCHW' | 'NHWC';
}

type AnyModel = {
  inputs: { name: string; shape?: (number | null)[] | number[] }[];
  outputs: { name: string; shape?: (number | null)[] | number[] }[];
  predict(x: unknown): unknown;
  execute?(x: unknown, outputs?: string | string[]): unknown;
  executeAsync?(x: unknown, outputs?: string | string[]): Promise<unknown>;
  dispose(): void;
};

async function loadModel(tf: Tf, src: string): Promise<{ model: AnyModel; kind: 'layers' | 'graph' }> {
  const path = await resolveModelJson(src);
  const { artifacts, kind } = await readTfjsArtifacts(path);
  const handler = { load: async () => artifacts } as unknown as Parameters<Tf['loadLayersModel']>[0];
  try {
    const model = (kind === 'graph' ? await tf.loadGraphModel(handler as never) : await tf.loadLayersModel(handler)) as unknown as AnyModel;
    return { model, kind };
  } catch (err) {
    throw new ModelFormatError('INVALID_MODEL', `TF.js could not load ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function dimsOf(shape: (number | null)[] | number[] | undefined): (number | null)[] {
  return (shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : null));
}

/** A tabular predictor over a TF.js model. */
export async function tfjsPredictor(src: string, opts?: TfjsPredictorOptions & { kind?: 'tabular' }): Promise<Predictor>;
/** An image predictor over a TF.js model. */
export async function tfjsPredictor(src: string, opts: TfjsPredictorOptions & { kind: 'image' }): Promise<ImagePredictor>;
export async function tfjsPredictor(src: string, opts: TfjsPredictorOptions = {}): Promise<Predictor | ImagePredictor> {
  const image = opts.kind === 'image';
  const maxBatch = checkMaxBatch(opts.maxBatch, image ? 16 : 1024);
  const tf = await loadTf();
  const { model, kind } = await loadModel(tf, src);
  try {
    if (model.inputs.length !== 1) {
      throw new ModelFormatError('UNSUPPORTED', `TF.js model ${src} has ${model.inputs.length} inputs; only single-input models are supported`);
    }
    const inDims = dimsOf(model.inputs[0]!.shape);
    const sample = inDims.slice(1);
    if (sample.length === 0 || sample.some((d) => d === null)) {
      throw new ModelFormatError('UNSUPPORTED', `TF.js model ${src} has input shape [${inDims.join(', ')}]; per-sample dims must be fixed`);
    }
    const sampleDims = sample as number[];
    if (image ? sampleDims.length !== 3 : sampleDims.length !== 1) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `TF.js model ${src} input [${inDims.join(', ')}] is not ${image ? 'an image batch [N, H, W, C]' : 'a table [N, F]'}`,
      );
    }
    const perSample = sampleDims.reduce((a, b) => a * b, 1);
    const outs = model.outputs;
    let outIndex = 0;
    if (typeof opts.output === 'number') outIndex = opts.output;
    else if (typeof opts.output === 'string') outIndex = outs.findIndex((o) => o.name === opts.output || o.name.split(':')[0] === opts.output);
    if (outIndex < 0 || outIndex >= outs.length) {
      throw new ModelFormatError('INVALID_INPUT', `TF.js model ${src} has no output ${JSON.stringify(opts.output)} (outputs: ${outs.map((o) => o.name).join(', ')})`);
    }
    const outName = outs[outIndex]!.name;

    // A fixed batch dimension (e.g. [1, 224, 224, 3]) is honoured by running chunks of that size, zero-padded.
    const fixedBatch = inDims[0] ?? undefined;
    const run = async (values: ArrayLike<number>, start: number, count: number) => {
      const batch = fixedBatch ?? count;
      const buf = new Float32Array(batch * perSample);
      const from = start * perSample;
      const len = count * perSample;
      for (let i = 0; i < len; i++) buf[i] = values[from + i]!;
      const x = tf.tensor(buf, [batch, ...sampleDims], 'float32');
      let y: unknown;
      try {
        if (kind === 'graph') {
          try {
            y = model.execute!(x, outName);
          } catch (err) {
            if (!/executeAsync|dynamic/i.test((err as Error).message)) throw err;
            y = await model.executeAsync!(x, outName);
          }
        } else {
          y = model.predict(x);
        }
      } catch (err) {
        throw new ModelFormatError('RUNTIME', `TF.js model ${src} failed: ${(err as Error).message}`, { cause: err });
      } finally {
        x.dispose();
      }
      const list = (Array.isArray(y) ? y : [y]) as InstanceType<Tf['Tensor']>[];
      const t = kind === 'graph' ? list[0]! : list[outIndex]!;
      try {
        const all = (await t.data()) as Float32Array;
        const cols = batch === 0 ? 0 : all.length / batch;
        if (t.shape[0] !== batch || !Number.isInteger(cols)) {
          throw new ModelFormatError('RUNTIME', `TF.js model ${src} output ${outName} has shape [${t.shape.join(', ')}] for ${batch} samples`);
        }
        return { data: batch === count ? all : all.subarray(0, count * cols), cols };
      } finally {
        for (const z of list) z.dispose();
      }
    };
    // Output width: from the output shape when fixed, else from one zero sample.
    const outDims = dimsOf(outs[outIndex]!.shape);
    const last = outDims.length >= 2 ? outDims.slice(1).reduce<number | null>((a, d) => (a === null || d === null ? null : a * d), 1) : null;
    const cols = last ?? (await run(new Float32Array(perSample), 0, 1)).cols;
    let outputNames: string[];
    if (opts.outputNames) {
      if (opts.outputNames.length !== cols) {
        throw new ModelFormatError('INVALID_INPUT', `outputNames has ${opts.outputNames.length} names but the model returns ${cols} columns`);
      }
      outputNames = [...opts.outputNames];
    } else outputNames = cols === 1 ? [outName] : Array.from({ length: cols }, (_, i) => `output_${i}`);

    let closed = false;
    /** Runs `n` samples in chunks; `signal` is checked between chunks (a model call that started completes). */
    const predictAll = (values: ArrayLike<number>, n: number, signal: AbortSignal | undefined): Promise<Matrix> => {
      if (closed) return Promise.reject(new ModelFormatError('RUNTIME', 'TF.js predictor was closed'));
      return runBatched(n, fixedBatch ?? maxBatch, cols, (start, count) => run(values, start, count), {
        signal,
        what: `TF.js model ${src}`,
      });
    };
    const close = async () => {
      if (closed) return;
      closed = true;
      model.dispose();
    };
    if (image) {
      const layout = opts.layout ?? (sampleDims[2] === 1 || sampleDims[2] === 3 || sampleDims[2] === 4 ? 'NHWC' : 'NCHW');
      const p: ImagePredictor = {
        kind: 'image',
        inputShape: [1, ...sampleDims],
        layout,
        outputNames,
        outputSpace: opts.outputSpace ?? 'raw',
        async predict(pixels: Float32Array, n: number, options?: PredictOptions) {
          throwIfAborted(options?.signal);
          checkRows(pixels, n, perSample, 'TF.js image predictor');
          return predictAll(pixels, n, options?.signal);
        },
        close,
      };
      return p;
    }
    const p: Predictor = {
      kind: 'tabular',
      nFeatures: perSample,
      outputNames,
      outputSpace: opts.outputSpace ?? 'regression',
      async predict(rows: Float64Array, n: number, options?: PredictOptions) {
        throwIfAborted(options?.signal);
        checkRows(rows, n, perSample, 'TF.js predictor');
        return predictAll(rows, n, options?.signal);
      },
      close,
    };
    return p;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
