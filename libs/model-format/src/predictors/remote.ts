/**
 * Predictors over a remote model server speaking the Open Inference Protocol (KServe V2, Triton, Seldon MLServer)
 * via gRPC (`inference.GRPCInferenceService/ModelInfer`) or REST (`POST /v2/models/{name}/infer`).
 *
 * Every request has a deadline (`timeoutMs`), big batches are split into requests of `maxBatch` rows, and only
 * UNAVAILABLE failures (gRPC UNAVAILABLE, HTTP 502/503, refused or reset connections) are retried, with
 * exponential backoff. Errors are {@link ModelFormatError}s whose messages name the server, the model and the
 * status:
 *  - a request past its deadline: `TIMEOUT` (gRPC DEADLINE_EXCEEDED, fetch timeout, HTTP 408/504), not retried;
 *  - a server that stays down or unavailable (refused connection, gRPC UNAVAILABLE, HTTP 502/503) after the
 *    retries: `RUNTIME`, the message ending `(gave up after N attempts)` (N = retries + 1);
 *  - a request the server rejects (gRPC INVALID_ARGUMENT, HTTP 400/422): `INVALID_INPUT`; anything else `RUNTIME`.
 * `predict(..., { signal })` cancels a call: the in-flight request is cancelled, no retry or further batch
 * starts, a retry backoff is cut short, and the promise rejects with `signal.reason` itself (not wrapped).
 */
import { ModelFormatError } from '../errors.js';
import type { Matrix, OutputSpace, PredictOptions, Predictor, TextPredictor } from '../predictor.js';
import { sleep, throwIfAborted } from '../cancellation.js';
import { checkMaxBatch, checkRows, runBatched } from './batching.js';
import { grpcTransport } from './oip-grpc.js';
import { restTransport } from './oip-rest.js';
import { checkIntegers, isNumericDatatype, type OipInput, type OipNumericDatatype, type OipOutput } from './oip-tensor.js';
import { OipCallError, type OipModelMetadata, type OipTransport } from './oip-transport.js';

export interface RemotePredictorOptions {
  /** `grpc` (ModelInfer) or `rest` (/v2/models/{name}/infer). */
  protocol: 'grpc' | 'rest';
  /** gRPC: `host:port`, `grpc://host:port` or `grpcs://host:port`; REST: base URL such as `http://host:8080`. */
  url: string;
  /** Model name on the server. */
  model: string;
  /** Model version (empty = server's choice). */
  version?: string;
  /** Input tensor name; default from the model metadata, else `input-0`. */
  inputName?: string;
  /** Datatype numeric inputs are sent as; default from the model metadata, else FP32. */
  datatype?: OipNumericDatatype;
  /** Number of features per row; default from the model metadata's input shape. */
  nFeatures?: number;
  /** Output tensor to read; default the only/first output of the response. */
  outputName?: string;
  /** Names of the output columns; default `<output>` or `<output>_<i>`. */
  outputNames?: readonly string[];
  /** What the outputs mean (default `raw`). */
  outputSpace?: OutputSpace;
  /**
   * Deadline of each request in milliseconds (default 30000); a request past it fails with `TIMEOUT`. For a
   * per-call deadline or cancellation, pass `predict(..., { signal })`.
   */
  timeoutMs?: number;
  /** Largest number of rows per request (default 1024). */
  maxBatch?: number;
  /** Retries after an UNAVAILABLE failure (default 2). Other failures are never retried. */
  retries?: number;
  /** First backoff in milliseconds, doubled at each retry (default 50). */
  retryDelayMs?: number;
  /** gRPC: send inputs as `raw_input_contents` (little-endian bytes) instead of typed contents. */
  raw?: boolean;
  /** Extra headers (REST) or metadata (gRPC), e.g. `authorization`. */
  headers?: Record<string, string>;
}

export interface RemoteTextPredictorOptions
  extends Omit<RemotePredictorOptions, 'datatype' | 'nFeatures' | 'raw'> {
  /** Send texts as a `[n, 1]` BYTES tensor instead of `[n]`. */
  column?: boolean;
}

interface Common {
  transport: OipTransport;
  model: string;
  version: string | undefined;
  timeoutMs: number;
  maxBatch: number;
  retries: number;
  retryDelayMs: number;
  outputName: string | undefined;
}

function positive(v: number | undefined, fallback: number, name: string, allowZero = false): number {
  const x = v ?? fallback;
  if (!Number.isFinite(x) || x < 0 || (!allowZero && x === 0)) {
    throw new ModelFormatError('INVALID_INPUT', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`);
  }
  return x;
}

async function openTransport(opts: RemotePredictorOptions | RemoteTextPredictorOptions): Promise<Common> {
  if (opts.protocol !== 'grpc' && opts.protocol !== 'rest') {
    throw new ModelFormatError('INVALID_INPUT', `protocol must be "grpc" or "rest", got ${JSON.stringify(opts.protocol)}`);
  }
  if (typeof opts.model !== 'string' || opts.model.length === 0) {
    throw new ModelFormatError('INVALID_INPUT', 'model (the model name on the server) is required');
  }
  const timeoutMs = positive(opts.timeoutMs, 30000, 'timeoutMs');
  const maxBatch = checkMaxBatch(opts.maxBatch, 1024);
  const retries = Math.floor(positive(opts.retries, 2, 'retries', true));
  const retryDelayMs = positive(opts.retryDelayMs, 50, 'retryDelayMs', true);
  const transport =
    opts.protocol === 'grpc'
      ? await grpcTransport(opts.url, { headers: opts.headers })
      : restTransport(opts.url, { headers: opts.headers });
  return {
    transport,
    model: opts.model,
    version: opts.version || undefined,
    timeoutMs,
    maxBatch,
    retries,
    retryDelayMs,
    outputName: opts.outputName,
  };
}

/** `protocol model "name" at host`, for error messages. */
function describe(c: Common): string {
  return `${c.transport.protocol} model "${c.model}" at ${c.transport.target}`;
}

/**
 * Runs `fn`, retrying UNAVAILABLE failures with exponential backoff. With a `signal`: no attempt starts once it
 * has aborted, the backoff sleep is cut short, and the call rejects with `signal.reason` itself.
 */
/** One ModelInfer call of `input` (with retries), under the caller's signal. */
function inferOne(c: Common, input: OipInput, signal: AbortSignal | undefined, raw?: boolean): Promise<OipOutput[]> {
  return withRetries(
    c,
    () =>
      c.transport.infer({
        model: c.model,
        version: c.version,
        inputs: [input],
        outputs: c.outputName ? [c.outputName] : undefined,
        timeoutMs: c.timeoutMs,
        ...(raw !== undefined ? { raw } : {}),
        signal,
      }),
    signal,
  );
}

async function withRetries<T>(c: Common, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn();
    } catch (err) {
      throwIfAborted(signal);
      if (err instanceof OipCallError && err.unavailable && attempt < c.retries) {
        await sleep(c.retryDelayMs * 2 ** attempt, signal);
        continue;
      }
      if (err instanceof OipCallError && err.unavailable && c.retries > 0) {
        throw new ModelFormatError('RUNTIME', `${err.message} (gave up after ${attempt + 1} attempts)`, { cause: err });
      }
      throw err;
    }
  }
}

/** Picks the output to read and checks it holds `count` rows; returns row-major values and the width. */
function pickOutput(c: Common, outputs: OipOutput[], count: number): { data: Float64Array; cols: number } {
  const where = describe(c);
  const out = c.outputName === undefined ? outputs[0] : outputs.find((o) => o.name === c.outputName);
  if (!out) {
    throw new ModelFormatError(
      'RUNTIME',
      `${where} returned no output${c.outputName ? ` named "${c.outputName}"` : ''} (got: ${outputs.map((o) => o.name).join(', ') || 'none'})`,
    );
  }
  if (out.shape[0] !== count || (count > 0 && out.values.length % count !== 0)) {
    throw new ModelFormatError(
      'RUNTIME',
      `${where}: output "${out.name}" has shape [${out.shape.join(', ')}] for a batch of ${count} rows`,
    );
  }
  return { data: out.values, cols: count === 0 ? 0 : out.values.length / count };
}

async function metadataOf(c: Common): Promise<OipModelMetadata | undefined> {
  try {
    return await withRetries(c, () => c.transport.metadata(c.model, c.version, c.timeoutMs));
  } catch {
    return undefined;
  }
}

/** Throws when `predict` is called after `close()`. */
function checkOpen(c: Common, closed: boolean): void {
  if (closed) {
    throw new ModelFormatError('RUNTIME', `the predictor for ${describe(c)} was closed; open a new one to predict again`);
  }
}

function namesFor(c: Common, opts: { outputNames?: readonly string[] }, outName: string, cols: number): string[] {
  if (opts.outputNames) {
    if (opts.outputNames.length !== cols) {
      throw new ModelFormatError('INVALID_INPUT', `outputNames has ${opts.outputNames.length} names but ${describe(c)} returns ${cols} columns`);
    }
    return [...opts.outputNames];
  }
  return cols === 1 ? [outName] : Array.from({ length: cols }, (_, i) => `${outName}_${i}`);
}

/**
 * A tabular {@link Predictor} over a remote Open Inference Protocol model. Reads the model metadata (when the
 * server offers it) for input name, datatype and feature count, then learns the output width from one call.
 *
 * `predict(rows, n, { signal })` cancels on abort and rejects with `signal.reason`; errors are
 * {@link ModelFormatError}s naming the server and model: `TIMEOUT` when a request passes `timeoutMs`, `RUNTIME`
 * when the server stays down or unavailable after `retries` (message ends `(gave up after N attempts)`),
 * `INVALID_INPUT` when it rejects the request (see the module comment).
 */
export async function remotePredictor(opts: RemotePredictorOptions): Promise<Predictor> {
  const c = await openTransport(opts);
  try {
    const needMeta = opts.inputName === undefined || opts.nFeatures === undefined || opts.datatype === undefined;
    const meta = needMeta ? await metadataOf(c) : undefined;
    const inMeta = meta?.inputs.find((i) => i.name === opts.inputName) ?? meta?.inputs[0];
    const inputName = opts.inputName ?? inMeta?.name ?? 'input-0';
    const datatype: OipNumericDatatype =
      opts.datatype ?? (inMeta && isNumericDatatype(inMeta.datatype) ? inMeta.datatype : 'FP32');
    if (!isNumericDatatype(datatype)) {
      throw new ModelFormatError('INVALID_INPUT', `${describe(c)}: datatype ${String(datatype)} cannot carry tabular rows; use FP32, FP64 or an integer type`);
    }
    const last = inMeta?.shape[inMeta.shape.length - 1];
    const nFeatures = opts.nFeatures ?? (inMeta && inMeta.shape.length >= 2 && last! > 0 ? last : undefined);
    if (nFeatures === undefined || !Number.isInteger(nFeatures) || nFeatures <= 0) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `cannot tell how many features model "${c.model}" at ${c.transport.target} takes (metadata: ${inMeta ? `[${inMeta.shape.join(', ')}]` : 'none'}); pass nFeatures`,
      );
    }
    const runChunk = (rows: ArrayLike<number>, start: number, count: number, signal: AbortSignal | undefined) => {
      const values = rows instanceof Float64Array ? rows.subarray(start * nFeatures, (start + count) * nFeatures) : Array.prototype.slice.call(rows, start * nFeatures, (start + count) * nFeatures);
      const input: OipInput = { name: inputName, datatype, shape: [count, nFeatures], values };
      return inferOne(c, input, signal, opts.raw).then((outs) => pickOutput(c, outs, count));
    };
    // Learn the output width (and the output name) from one all-zero row.
    const probeOuts = await inferOne(c, { name: inputName, datatype, shape: [1, nFeatures], values: new Float64Array(nFeatures) }, undefined, opts.raw);
    const probe = pickOutput(c, probeOuts, 1);
    const outName = c.outputName ?? probeOuts[0]!.name;
    const outputNames = namesFor(c, opts, outName, probe.cols);
    let closed = false;
    return {
      kind: 'tabular',
      nFeatures,
      outputNames,
      outputSpace: opts.outputSpace ?? 'raw',
      async predict(rows: Float64Array, n: number, options?: PredictOptions): Promise<Matrix> {
        const signal = options?.signal;
        throwIfAborted(signal);
        checkOpen(c, closed);
        checkRows(rows, n, nFeatures, describe(c));
        checkIntegers(rows, datatype, describe(c));
        return runBatched(n, c.maxBatch, probe.cols, (start, count) => runChunk(rows, start, count, signal), {
          signal,
          what: describe(c),
        });
      },
      async close() {
        closed = true;
        await c.transport.close();
      },
    };
  } catch (err) {
    await c.transport.close();
    throw err;
  }
}

/**
 * A {@link TextPredictor} over a remote model that takes a BYTES tensor of UTF-8 strings. Cancellation, retries
 * and error codes as for {@link remotePredictor}.
 */
export async function remoteTextPredictor(opts: RemoteTextPredictorOptions): Promise<TextPredictor> {
  const c = await openTransport(opts);
  try {
    const meta = opts.inputName === undefined ? await metadataOf(c) : undefined;
    const inputName = opts.inputName ?? meta?.inputs[0]?.name ?? 'input-0';
    const call = (texts: readonly string[], start: number, count: number, signal?: AbortSignal) => {
      const slice = texts.slice(start, start + count);
      const input: OipInput = { name: inputName, datatype: 'BYTES', shape: opts.column ? [count, 1] : [count], values: slice };
      return inferOne(c, input, signal);
    };
    const probeOuts = await call([''], 0, 1);
    const probe = pickOutput(c, probeOuts, 1);
    const outName = c.outputName ?? probeOuts[0]!.name;
    const outputNames = namesFor(c, opts, outName, probe.cols);
    let closed = false;
    return {
      kind: 'text',
      outputNames,
      outputSpace: opts.outputSpace ?? 'raw',
      async predict(texts: readonly string[], options?: PredictOptions): Promise<Matrix> {
        const signal = options?.signal;
        throwIfAborted(signal);
        checkOpen(c, closed);
        if (!Array.isArray(texts) || texts.some((s) => typeof s !== 'string')) {
          throw new ModelFormatError('INVALID_INPUT', `${describe(c)}: texts must be an array of strings`);
        }
        return runBatched(
          texts.length,
          c.maxBatch,
          probe.cols,
          async (start, count) => pickOutput(c, await call(texts, start, count, signal), count),
          { signal, what: describe(c) },
        );
      },
      async close() {
        closed = true;
        await c.transport.close();
      },
    };
  } catch (err) {
    await c.transport.close();
    throw err;
  }
}
