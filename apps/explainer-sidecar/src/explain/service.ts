/**
 * The transport-independent core of one Explain call: resolve model and method, validate parameters and inputs,
 * run the explainer under the concurrency limit in row chunks (checking the call's abort signal between chunks, so
 * deadlines, client cancels and shutdown stop work early), then apply the output selection.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Explanation } from '@genome/model-format';
import { SidecarError } from '../errors.js';
import type { Limiter } from '../limiter.js';
import type { SidecarMetrics } from '../metrics.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { ExplainData, ExplainMethod } from '../methods/types.js';
import type { ModelRegistry } from '../models/registry.js';
import type { LoadedModel, ModelDescription } from '../models/types.js';
import { rowCount, sliceData } from './input.js';
import { mergeExplanations } from './merge.js';
import { applySelection, resolveOutputs, type OutputSelectionSpec } from './outputs.js';

export interface ExplainCall {
  model?: { name?: string; version?: string };
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
}

export interface ExplainServiceOptions {
  /** Rows per internal chunk of a unary call (cancellation granularity). */
  chunkRows: number;
}

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export class ExplainService {
  constructor(
    readonly models: ModelRegistry,
    readonly methods: MethodRegistry,
    readonly limiter: Limiter,
    readonly metrics: SidecarMetrics,
    readonly options: ExplainServiceOptions,
  ) {}

  /** Validates a call without running it. Throws SidecarError / lib errors (mapped by status.ts). */
  prepare(call: ExplainCall): PreparedCall {
    const model = this.models.get(call.model?.name ?? '', call.model?.version ?? '');
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
    if (method.parameters) {
      const unknown = Object.keys(params).filter((k) => !method.parameters!.includes(k));
      if (unknown.length > 0) {
        throw new SidecarError(
          'INVALID_REQUEST',
          `unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} for method "${name}"; it accepts: ${method.parameters.join(', ') || '(none)'}`,
        );
      }
    }
    const outputIdx = resolveOutputs(call.outputs, d.outputNames);
    const data = call.data(d);
    return { model, method, params, data, rows: rowCount(data), outputIdx, topK: call.outputs?.topK ?? 0 };
  }

  /** Runs one chunk of rows [from, to) (no limiter). */
  private async runRange(p: PreparedCall, from: number, to: number, signal: AbortSignal): Promise<Explanation> {
    const part = from === 0 && to === p.rows ? p.data : sliceData(p.data, from, to);
    return p.method.explain(p.model, part, p.params, { signal, ...(p.outputIdx ? { outputIndices: p.outputIdx } : {}) });
  }

  private finish(p: PreparedCall, e: Explanation): Explanation {
    return applySelection(e, p.model.description.outputNames, p.outputIdx, p.topK);
  }

  /** Explains all rows of a prepared call under the concurrency limit. */
  run(p: PreparedCall, signal: AbortSignal): Promise<Explanation> {
    return new Promise<Explanation>((resolve, reject) => {
      this.limiter
        .run(async () => {
          const work = this.runAll(p, signal);
          // The caller hears about a deadline/cancel at once, even if a chunk is still computing...
          raceAbort(work, signal).then(resolve, reject);
          // ...but the slot stays taken until the work has really stopped, so overload cannot pile up.
          await work.catch(() => {});
        }, signal)
        .catch(reject); // queue full, or aborted while queued
    });
  }

  private async runAll(p: PreparedCall, signal: AbortSignal): Promise<Explanation> {
    const parts: Explanation[] = [];
    const step = Math.max(1, this.options.chunkRows);
    for (let from = 0; from < p.rows; from += step) {
      if (signal.aborted) throw signal.reason;
      parts.push(await this.runRange(p, from, Math.min(p.rows, from + step), signal));
      // Let timers, cancellations and other calls' I/O run between chunks.
      if (from + step < p.rows) await yieldToLoop();
    }
    if (signal.aborted) throw signal.reason;
    this.metrics.rows.inc({ method: p.method.name }, p.rows);
    return this.finish(p, mergeExplanations(parts));
  }

  /**
   * Explains rows chunk by chunk. The first chunk is admitted like a unary call (QUEUE_FULL when the queue is
   * full); later chunks wait for a slot regardless of the queue limit, so a running stream is never cut off.
   * The consumer's pace is the backpressure: the next chunk starts only when the previous one was taken.
   */
  async *stream(p: PreparedCall, chunkSize: number, signal: AbortSignal): AsyncGenerator<{ offset: number; explanation: Explanation }> {
    const step = Math.max(1, chunkSize);
    for (let from = 0; from < p.rows; from += step) {
      if (signal.aborted) throw signal.reason;
      const to = Math.min(p.rows, from + step);
      const run = () => this.runRange(p, from, to, signal);
      const e = await (from === 0 ? this.limiter.run(run, signal) : this.limiter.runUnbounded(run, signal));
      this.metrics.rows.inc({ method: p.method.name }, to - from);
      yield { offset: from, explanation: this.finish(p, e) };
    }
  }
}
