/**
 * The sequencer's operations as both transports call them (gRPC in grpc.ts, REST in rest.ts): inputs checked and
 * bounded, per-model grants applied (a token limited to some models runs, sees and cancels only the pipelines whose
 * canonicalName it covers), errors typed so the shell maps them to statuses.
 */
import { parseJsonBody, quote, type Principal, type TokenAuth } from '@genome/server-kit';
import { isTerminal, LIMITS, type RunPage, type RunRecord, type RunStatus, type ScheduledPipelineRecord } from '@genome/sequencer';
import type { CallScope, HostContext } from '../context.js';
import { PlatformError } from '../errors.js';
import { MAX_JSON_DEPTH } from '../rest/server.js';
import type { SequencerRuntime } from './runtime.js';

export const READ = 'pipelines:read';
export const WRITE = 'pipelines:write';

const RUN_STATUSES: readonly RunStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
/** Longest step log line count a caller may ask for. */
export const MAX_TAIL_LINES = 100_000;

const invalid = (message: string) => new PlatformError('INVALID_ARGUMENT', message);

export interface ListRunsInput {
  pipelineName?: string;
  status?: string[];
  pageSize?: number;
  pageToken?: string;
}

export interface CreateInput {
  timezone?: string;
  overlap?: string;
  maxMissedRuns?: number;
}

export interface LogsInput {
  attempt?: number;
  tailLines?: number;
}

export interface StepLogText {
  runId: string;
  stepName: string;
  attempt: number;
  text: string;
  /** True when the log was longer than a message may be: `text` is its end. */
  truncated: boolean;
}

export class PipelineOps {
  private readonly auth: TokenAuth;

  constructor(
    private readonly ctx: HostContext,
    readonly runtime: SequencerRuntime,
  ) {
    this.auth = ctx.auth;
  }

  /** The seed's JSON from gRPC's `pipeline_json` text, with the same bounds as a REST body. */
  pipelineFromText(text: string, field = 'pipeline_json'): unknown {
    if (text.trim() === '') throw invalid(`${field} is required: the seed's pipeline JSON ({"pipelineName", "canonicalName", "application", "steps": [...]})`);
    return parseJsonBody(Buffer.from(text, 'utf8'), 'application/json', { maxDepth: MAX_JSON_DEPTH, invalid: (m) => invalid(`${field}: ${m.replace(/^request body/, 'the text')}`) });
  }

  /** PERMISSION_DENIED unless the caller's grant covers the pipeline's canonicalName (when the document has one). */
  private grant(p: Principal, doc: unknown): void {
    const name = (doc as { canonicalName?: unknown } | null)?.canonicalName;
    if (typeof name === 'string') this.auth.authorize(p, name);
  }

  private async visibleRun(p: Principal, runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const run = await this.runtime.engine.get(runId);
    if (!this.auth.canUse(p, run.canonicalName)) throw noRun(runId);
    return run;
  }

  async run(p: Principal, doc: unknown, runId?: string): Promise<RunRecord> {
    this.grant(p, doc);
    return this.runtime.engine.start(doc, { ...(runId ? { runId } : {}), trigger: 'manual' });
  }

  async create(p: Principal, doc: unknown, input: CreateInput): Promise<ScheduledPipelineRecord> {
    this.grant(p, doc);
    if (input.overlap !== undefined && input.overlap !== 'forbid' && input.overlap !== 'allow') {
      throw invalid(`overlap: must be "forbid" (no run starts while one is active; the default) or "allow", got ${quote(input.overlap)}`);
    }
    if (input.timezone !== undefined && !validTimezone(input.timezone)) {
      throw invalid(`timezone: ${quote(input.timezone)} is not an IANA timezone (e.g. "UTC", "Europe/Paris")`);
    }
    return this.runtime.scheduler.create(doc, {
      ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
      ...(input.overlap !== undefined ? { overlap: input.overlap } : {}),
      ...(input.maxMissedRuns !== undefined ? { maxMissedRuns: input.maxMissedRuns } : {}),
    });
  }

  async getPipeline(p: Principal, name: string): Promise<ScheduledPipelineRecord> {
    checkName(name);
    const rec = await this.runtime.scheduler.get(name);
    if (!this.auth.canUse(p, rec.pipeline.canonicalName)) throw noPipeline(name);
    return rec;
  }

  async listPipelines(p: Principal): Promise<ScheduledPipelineRecord[]> {
    return (await this.runtime.scheduler.list()).filter((rec) => this.auth.canUse(p, rec.pipeline.canonicalName));
  }

  async deletePipeline(p: Principal, name: string): Promise<ScheduledPipelineRecord> {
    const rec = await this.getPipeline(p, name);
    await this.runtime.scheduler.delete(name);
    return rec;
  }

  getRun(p: Principal, runId: string): Promise<RunRecord> {
    return this.visibleRun(p, runId);
  }

  async listRuns(p: Principal, input: ListRunsInput): Promise<RunPage> {
    const status = (input.status ?? []).filter((s) => s !== '');
    for (const s of status) {
      if (!RUN_STATUSES.includes(s as RunStatus)) throw invalid(`status: ${quote(s)} is not a run status; use ${RUN_STATUSES.join(', ')}`);
    }
    const size = input.pageSize === undefined || input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw invalid(`pageSize: must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${input.pageSize})`);
    if (input.pipelineName) checkName(input.pipelineName, 'pipelineName');
    const page = await this.runtime.engine.page({
      ...(input.pipelineName ? { pipelineName: input.pipelineName } : {}),
      ...(status.length > 0 ? { status: status as RunStatus[] } : {}),
      limit: size,
      ...(input.pageToken ? { pageToken: input.pageToken } : {}),
    });
    return { ...page, runs: page.runs.filter((r) => this.auth.canUse(p, r.canonicalName)) };
  }

  async cancel(p: Principal, runId: string, message?: string): Promise<RunRecord> {
    await this.visibleRun(p, runId);
    if (message !== undefined && message.length > 1000) throw invalid(`message: at most 1000 characters (got ${message.length})`);
    return this.runtime.engine.cancel(runId, message || 'cancelled on request');
  }

  async logs(p: Principal, runId: string, stepName: string, input: LogsInput): Promise<StepLogText> {
    const run = await this.visibleRun(p, runId);
    if (input.attempt !== undefined && (!Number.isInteger(input.attempt) || input.attempt < 1)) throw invalid(`attempt: must be a positive integer (got ${input.attempt})`);
    if (input.tailLines !== undefined && (!Number.isInteger(input.tailLines) || input.tailLines < 1 || input.tailLines > MAX_TAIL_LINES)) {
      throw invalid(`tailLines: must be an integer from 1 to ${MAX_TAIL_LINES} (got ${input.tailLines})`);
    }
    const step = run.steps.find((s) => s.stepName === stepName);
    const attempt = input.attempt ?? step?.attempts[step.attempts.length - 1]?.attempt ?? 0;
    let text = await this.runtime.engine.logs(runId, stepName, {
      ...(input.attempt !== undefined ? { attempt: input.attempt } : {}),
      ...(input.tailLines !== undefined ? { tailLines: input.tailLines } : {}),
    });
    // The answer must fit in one message: keep the end of a longer log.
    const max = this.ctx.limits.maxMessageBytes - 4096;
    let truncated = false;
    if (Buffer.byteLength(text) > max) {
      const bytes = Buffer.from(text);
      text = bytes.subarray(bytes.length - max).toString('utf8').replace(/^\uFFFD+/, '');
      truncated = true;
    }
    return { runId, stepName, attempt, text, truncated };
  }

  /**
   * The run's record now and at every change until it ends: each new record goes to `send`. Runs driven by this
   * process wake the watch at once; others (another replica) are polled every `watchPollMs`.
   */
  async watch(p: Principal, runId: string, scope: CallScope, send: (run: RunRecord) => Promise<void>): Promise<void> {
    let run = await this.visibleRun(p, runId);
    let last = '';
    for (;;) {
      scope.check();
      if (run.updatedAt !== last || isTerminal(run.status)) {
        last = run.updatedAt;
        await send(run);
      }
      if (isTerminal(run.status)) return;
      if (this.ctx.isDraining()) {
        throw new PlatformError('SHUTTING_DOWN', `the server is shutting down; watch run ${runId} again on another replica (GetRun shows where it is)`);
      }
      await this.runtime.updates.next(runId, this.ctx.limits.watchPollMs, anySignal(scope.signal, this.ctx.drainSignal));
      run = await this.runtime.engine.get(runId);
    }
  }
}

function anySignal(...signals: AbortSignal[]): AbortSignal {
  return AbortSignal.any(signals);
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const RUN_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkName(name: string, field = 'pipelineName'): void {
  if (name === '' || name.length > LIMITS.maxNameLength || CONTROL.test(name)) {
    throw invalid(`${field}: ${quote(name)} is not a pipeline name (1 to ${LIMITS.maxNameLength} characters, no control characters)`);
  }
}

function checkRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw invalid(`runId: ${quote(runId)} is not a run id (1-63 lowercase letters, digits or '-', as the run's record says)`);
}

function noRun(runId: string): PlatformError {
  return new PlatformError('NOT_FOUND', `no run ${quote(runId)}; list runs to see their ids`);
}

function noPipeline(name: string): PlatformError {
  return new PlatformError('NOT_FOUND', `no scheduled pipeline ${quote(name)}; list pipelines to see their names`);
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
