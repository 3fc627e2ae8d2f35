/**
 * The transport-independent core of one Explain call, in an order that leaks nothing and wastes nothing:
 * 1. resolve the model for the caller: an unknown name answers NOT_FOUND listing only the models the caller may use,
 *    a known one it may not use answers PERMISSION_DENIED, one that is not loaded yet answers UNAVAILABLE;
 * 2. validate method, parameters, outputs and inputs;
 * 3. estimate the work (model rows, synchronous work per row, size of the answer) and refuse a call over the
 *    server's limits before anything runs;
 * 4. run the explainer under the concurrency limits (global and per model) in row chunks, checking the call's abort
 *    signal between chunks and inside the explainers, so deadlines, client cancels and shutdown stop work early;
 * 5. apply the output selection.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { raceAbort, type Explanation } from '@genome/model-format';
import type { Principal, TokenAuth as Auth } from '@genome/server-kit';
import { SidecarError } from '../errors.js';
import type { Limiter } from '../limiter.js';
import type { SidecarMetrics } from '../metrics.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { ExplainData, ExplainMethod, WorkEstimate, WorkLimits } from '../methods/types.js';
import type { ModelEntry, ModelRegistry } from '../models/registry.js';
import type { LoadedModel, ModelDescription } from '../models/types.js';
import { quote } from '@genome/server-kit';
import { checkParameters } from './parameters.js';
import { rowCount, sliceData } from './input.js';
import { mergeExplanations } from './merge.js';
import { applySelection, resolveOutputs, type OutputSelectionSpec } from './outputs.js';

export interface ModelRef {
  name?: string;
  version?: string;
}

export interface ExplainCall {
  /** Method name; '' or undefined = the model's default method. */
  method?: string;
  params?: Record<string, unknown>;
  /** Decodes the request's inputs once the model is known. */
  data: (model: ModelDescription) => ExplainData;
  outputs?: OutputSelectionSpec;
}

export interface PreparedCall {
  readonly model: LoadedModel;
  readonly method: ExplainMethod;
  readonly params: Record<string, unknown>;
  readonly data: ExplainData;
  readonly rows: number;
  readonly outputIdx: number[] | undefined;
  readonly topK: number;
  /** Rows per internal chunk (smaller when one row's synchronous work is large). */
  readonly chunkRows: number;
  /** Model rows each explained row may use (the call's budget shared by its rows). */
  readonly modelRowsPerRow: number;
}

export interface ExplainServiceOptions {
  /** Rows per internal chunk of a unary call (cancellation granularity). */
  chunkRows: number;
  /** Bounds on the work of one call. */
  limits: WorkLimits;
  /** Largest answer, bytes (the gRPC message limit): answers estimated larger are refused up front. */
  maxMessageBytes: number;
}

/** Synchronous work per internal chunk: a chunk's rows share this many operations (about 20 ms). */
const CHUNK_OPS = 2e7;
/** Bytes an attribution value takes in an answer: 8 in the flat array, about 22 in explanation_json. */
const BYTES_PER_VALUE = 30;

const sci = (x: number) => (x < 1e6 ? String(Math.round(x)) : x.toExponential(1));
const over = (msg: string) => new SidecarError('OVER_BUDGET', msg);

export class ExplainService {
  constructor(
    readonly models: ModelRegistry,
    readonly methods: MethodRegistry,
    readonly limiter: Limiter,
    readonly metrics: SidecarMetrics,
    readonly auth: Auth,
    readonly options: ExplainServiceOptions,
  ) {}

  /** Names of the served models `principal` may use. */
  visibleNames(principal: Principal): string[] {
    return this.models
      .entries()
      .map((e) => e.description.name)
      .filter((n) => this.auth.canUse(principal, n));
  }

  /**
   * The served model `principal` asks for (the default model when the name is empty), ready or not: NOT_FOUND that
   * lists only the models the principal may use, PERMISSION_DENIED for a model it may not use, then the version.
   */
  entryFor(principal: Principal, ref: ModelRef | undefined): ModelEntry {
    const name = ref?.name ?? '';
    const e = this.models.entry(name);
    if (!e) {
      const mine = this.visibleNames(principal);
      const what = name ? `no model named ${quote(name)} is served here` : 'no model is served here';
      throw new SidecarError('MODEL_NOT_FOUND', `${what}; ${mine.length ? `available: ${mine.join(', ')}` : 'none is available to this caller'}`);
    }
    this.auth.authorize(principal, e.description.name);
    const version = ref?.version ?? '';
    if (version && version !== e.description.version) {
      throw new SidecarError('MODEL_NOT_FOUND', `model "${e.description.name}" is served at version "${e.description.version}", not ${quote(version)}`);
    }
    return e;
  }

  /** Like {@link entryFor}, and the model must be ready (UNAVAILABLE while its model server is unreachable). */
  resolve(principal: Principal, ref: ModelRef | undefined): LoadedModel {
    const e = this.entryFor(principal, ref);
    if (!e.ready) throw new SidecarError('MODEL_NOT_READY', `model "${e.description.name}" is not ready: ${e.reason}; retry later`);
    return e.model;
  }

  /**
   * Like {@link resolve}, and leases the model for the call: the call uses this one model snapshot from start to end
   * (a stream: every message), even if a new version is swapped in meanwhile, and the old version is closed only after
   * every lease on it is returned. Call `release` once when the call ends.
   */
  lease(principal: Principal, ref: ModelRef | undefined): { model: LoadedModel; release: () => void } {
    const model = this.resolve(principal, ref);
    return { model, release: this.models.acquire(model) };
  }

  /**
   * Validates a call on `model` without running it, and checks its work against the limits. `streamChunk` is the
   * number of rows per ExplainStream message (the budget then applies per message).
   */
  prepare(model: LoadedModel, call: ExplainCall, streamChunk?: number): PreparedCall {
    const d = model.description;
    const name = call.method || this.methods.applicable(model)[0];
    if (!name) throw new SidecarError('METHOD_NOT_APPLICABLE', `no registered method can explain model "${d.name}" (${d.kind}, ${d.format})`);
    const method = this.methods.get(name);
    if (!method.inputs.includes(d.kind)) {
      throw new SidecarError('METHOD_NOT_APPLICABLE', `method "${name}" explains ${method.inputs.join('/')} inputs; model "${d.name}" takes ${d.kind}`);
    }
    const why = method.unsupportedReason(model);
    if (why !== null) throw new SidecarError('METHOD_NOT_APPLICABLE', `method "${name}" cannot explain model "${d.name}": ${why}`);
    const params = call.params ?? {};
    checkParameters(params, method);
    const outputIdx = resolveOutputs(call.outputs, d.outputNames);
    const topK = (call.outputs?.topK as number | null | undefined) ?? 0;
    const data = call.data(d);
    const rows = rowCount(data);
    const perUnit = Math.min(rows, streamChunk ?? rows);
    const est = method.cost?.(model, data, params, this.options.limits);
    const modelRowsPerRow = est ? this.checkBudget(method.name, est, perUnit, streamChunk !== undefined, d, outputIdx, topK) : Infinity;
    const chunkRows = Math.max(1, Math.min(this.options.chunkRows, Math.floor(CHUNK_OPS / Math.max(1, est?.rowOps ?? 0))));
    return { model, method, params, data, rows, outputIdx, topK, chunkRows, modelRowsPerRow };
  }

  /** Refuses a call over the limits; returns the model rows each row may use. */
  private checkBudget(method: string, est: WorkEstimate, rows: number, stream: boolean, d: ModelDescription, outputIdx: number[] | undefined, topK: number): number {
    const { maxModelRows, maxRowOps } = this.options.limits;
    const unit = stream ? 'per ExplainStream message' : 'per call';
    const fewer = stream ? 'use a smaller chunk_size' : 'send fewer rows per call (or use ExplainStream)';
    if (est.rowOps > maxRowOps) {
      throw over(
        `${method} would need about ${sci(est.rowOps)} operations for one row (${est.how}); the limit is ${sci(maxRowOps)} (--max-row-ops): ` +
          'lower the sample count or explain a smaller input, or ask the operator to raise the limit',
      );
    }
    const perRow = Math.floor(maxModelRows / rows);
    if (est.adaptive ? perRow < est.modelRowsPerRow : rows * est.modelRowsPerRow > maxModelRows) {
      throw over(
        `${method} would evaluate the model on about ${sci(rows * est.modelRowsPerRow)} rows (${rows} row${rows === 1 ? '' : 's'} × ${est.how}); ` +
          `the limit is ${sci(maxModelRows)} ${unit} (--max-model-rows): lower the sample count, ${fewer}, or ask the operator to raise the limit`,
      );
    }
    const nOut = d.outputNames.length;
    const kept = Math.min(outputIdx?.length ?? nOut, topK > 0 ? topK : Infinity);
    const values = rows * (est.valuesPerRow ?? 0) * (kept / Math.max(1, nOut));
    if (values * BYTES_PER_VALUE > this.options.maxMessageBytes) {
      throw over(
        `the answer would hold about ${sci(values)} values (~${(values * BYTES_PER_VALUE / 2 ** 20).toFixed(1)} MiB), over the ` +
          `${(this.options.maxMessageBytes / 2 ** 20).toFixed(1)} MiB message limit (--max-message-bytes): ${fewer}, or select fewer outputs`,
      );
    }
    return perRow;
  }

  /** Runs one chunk of rows [from, to) (no limiter). */
  private async runRange(p: PreparedCall, from: number, to: number, signal: AbortSignal): Promise<Explanation> {
    const part = from === 0 && to === p.rows ? p.data : sliceData(p.data, from, to);
    const e = await p.method.explain(p.model, part, p.params, {
      signal,
      limits: this.options.limits,
      modelRowsPerRow: p.modelRowsPerRow,
      ...(p.outputIdx ? { outputIndices: p.outputIdx } : {}),
    });
    // The explained rows as the caller sent them (category names included), as shap's Explanation.data.
    return part.kind === 'tabular' && part.raw ? { ...e, data: part.raw.map((row) => row.map((v) => v ?? null)) } : e;
  }

  private finish(p: PreparedCall, e: Explanation): Explanation {
    return applySelection(e, p.model.description.outputNames, p.outputIdx, p.topK);
  }

  /** Explains all rows of a prepared call under the concurrency limits. */
  run(p: PreparedCall, signal: AbortSignal): Promise<Explanation> {
    // The model stays leased until the work has really stopped (also after a cancel answered the caller early).
    const release = this.models.acquire(p.model);
    return new Promise<Explanation>((resolve, reject) => {
      this.limiter
        .run(
          async () => {
            const work = this.runAll(p, signal);
            // The caller hears about a deadline/cancel at once, even if a chunk is still computing...
            raceAbort(work, signal).then(resolve, reject);
            // ...but the slot stays taken until the work has really stopped, so overload cannot pile up.
            await work.catch(() => {});
          },
          signal,
          p.model.description.name,
        )
        .catch(reject) // queue full, or aborted while queued
        .finally(release);
    });
  }

  private async runAll(p: PreparedCall, signal: AbortSignal): Promise<Explanation> {
    const parts: Explanation[] = [];
    for (let from = 0; from < p.rows; from += p.chunkRows) {
      if (signal.aborted) throw signal.reason;
      parts.push(await this.runRange(p, from, Math.min(p.rows, from + p.chunkRows), signal));
      // Let timers, cancellations and other calls' I/O run between chunks.
      if (from + p.chunkRows < p.rows) await yieldToLoop();
    }
    if (signal.aborted) throw signal.reason;
    this.metrics.rows.inc({ method: p.method.name }, p.rows);
    return this.finish(p, mergeExplanations(parts));
  }

  /**
   * Runs `model`'s default method once on `nRows` rows (background rows, or zeros), outside the concurrency limits
   * and metrics, before the model is served: the runtime's first-call costs are paid and, with `nRows` large enough
   * for the TreeSHAP pool, every worker receives the model. Tabular models only (others are left as loaded); throws
   * what the method throws.
   */
  async warmUp(model: LoadedModel, nRows: number, signal: AbortSignal): Promise<void> {
    const d = model.description;
    if (d.kind !== 'tabular' || d.featureNames.length === 0) return;
    const nF = d.featureNames.length;
    const bg = model.background;
    const rows = new Float64Array(nRows * nF);
    if (bg && bg.rows > 0) for (let r = 0; r < nRows; r++) rows.set(bg.data.subarray((r % bg.rows) * nF, ((r % bg.rows) + 1) * nF), r * nF);
    const data: ExplainData = { kind: 'tabular', rows, nRows, nFeatures: nF };
    let p: PreparedCall;
    try {
      p = this.prepare(model, { data: () => data });
    } catch (err) {
      // Nothing to warm up when no method applies (calls will say so); anything else is a real problem.
      if (err instanceof SidecarError && err.code === 'METHOD_NOT_APPLICABLE') return;
      throw err;
    }
    await this.runRange(p, 0, nRows, signal);
  }

  /**
   * Explains rows chunk by chunk. The first chunk is admitted like a unary call (QUEUE_FULL when the queue is
   * full); later chunks wait for a slot regardless of the queue limit, so a running stream is never cut off.
   * The consumer's pace is the backpressure: the next chunk starts only when the previous one was taken.
   */
  async *stream(p: PreparedCall, chunkSize: number, signal: AbortSignal): AsyncGenerator<{ offset: number; explanation: Explanation }> {
    const step = Math.max(1, chunkSize);
    const key = p.model.description.name;
    for (let from = 0; from < p.rows; from += step) {
      if (signal.aborted) throw signal.reason;
      const to = Math.min(p.rows, from + step);
      const run = async () => {
        const parts: Explanation[] = [];
        for (let a = from; a < to; a += p.chunkRows) {
          if (a > from) await yieldToLoop();
          if (signal.aborted) throw signal.reason;
          parts.push(await this.runRange(p, a, Math.min(to, a + p.chunkRows), signal));
        }
        return mergeExplanations(parts);
      };
      const e = await (from === 0 ? this.limiter.run(run, signal, key) : this.limiter.runUnbounded(run, signal, key));
      this.metrics.rows.inc({ method: p.method.name }, to - from);
      yield { offset: from, explanation: this.finish(p, e) };
    }
  }
}
