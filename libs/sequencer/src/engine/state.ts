/**
 * Where the engine keeps its run records. {@link MemoryRunState} is for tests and one-off runs;
 * {@link KeyvRunState} (keyv: SQLite by default, PostgreSQL, Redis) survives restarts.
 */
import { SequencerError } from '../errors.js';
import type { RunRecord, RunStatus, ScheduledPipelineRecord } from './records.js';

export interface RunFilter {
  pipelineName?: string;
  status?: RunStatus[];
  /** At most this many, newest first (default 100, at most 1000). */
  limit?: number;
  /** Where a previous page ended ({@link RunPage.nextPageToken}); the same filter must be given again. */
  pageToken?: string;
}

/** One page of runs, newest first. */
export interface RunPage {
  runs: RunRecord[];
  /** Pass as `pageToken` for the next page; absent on the last page. */
  nextPageToken?: string;
}

export interface RunState {
  /** Writes a new run; ALREADY_EXISTS when its id is taken. */
  create(run: RunRecord): Promise<void>;
  /** Replaces a run's record. */
  put(run: RunRecord): Promise<void>;
  get(runId: string): Promise<RunRecord | undefined>;
  /** Runs, newest first: one page (see {@link RunPage}). */
  page(filter?: RunFilter): Promise<RunPage>;
  /** Runs, newest first: the first page's runs (or the page `filter.pageToken` names). */
  list(filter?: RunFilter): Promise<RunRecord[]>;
  close(): Promise<void>;
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? 100;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new SequencerError('INVALID_ARGUMENT', `limit: must be an integer from 1 to 1000 (got ${String(limit)})`);
  }
  return n;
}

/** An opaque page token: base64url of a small JSON cursor. */
export function encodeToken(cursor: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** The cursor in a page token, checked by `valid`; INVALID_ARGUMENT when it is not one this state issued. */
export function decodeToken<T>(token: string, valid: (x: unknown) => x is T): T {
  let cursor: unknown;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    cursor = undefined;
  }
  if (!valid(cursor)) {
    throw new SequencerError('INVALID_ARGUMENT', `pageToken: ${JSON.stringify(token.slice(0, 80))} is not a page token of this server; pass the nextPageToken of the previous page, or none for the first page`);
  }
  return cursor;
}

export function matches(run: RunRecord, filter: RunFilter): boolean {
  if (filter.pipelineName !== undefined && run.pipelineName !== filter.pipelineName) return false;
  if (filter.status !== undefined && !filter.status.includes(run.status)) return false;
  return true;
}

export function newestFirst(a: RunRecord, b: RunRecord): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.runId < b.runId ? 1 : -1;
}

/** Where a scheduler keeps its scheduled pipelines. */
export interface PipelineState {
  /** Writes a new scheduled pipeline; ALREADY_EXISTS when one has that name. */
  createPipeline(p: ScheduledPipelineRecord): Promise<void>;
  putPipeline(p: ScheduledPipelineRecord): Promise<void>;
  getPipeline(name: string): Promise<ScheduledPipelineRecord | undefined>;
  /** All scheduled pipelines, oldest first. */
  listPipelines(): Promise<ScheduledPipelineRecord[]>;
  /** True when it was there. */
  deletePipeline(name: string): Promise<boolean>;
}

/** Run records and scheduled pipelines in this process's memory (copied in and out). */
export class MemoryRunState implements RunState, PipelineState {
  private readonly runs = new Map<string, RunRecord>();
  private readonly pipelines = new Map<string, ScheduledPipelineRecord>();

  async createPipeline(p: ScheduledPipelineRecord): Promise<void> {
    if (this.pipelines.has(p.pipelineName)) throw pipelineExists(p.pipelineName);
    this.pipelines.set(p.pipelineName, structuredClone(p));
  }

  async putPipeline(p: ScheduledPipelineRecord): Promise<void> {
    this.pipelines.set(p.pipelineName, structuredClone(p));
  }

  async getPipeline(name: string): Promise<ScheduledPipelineRecord | undefined> {
    const p = this.pipelines.get(name);
    return p && structuredClone(p);
  }

  async listPipelines(): Promise<ScheduledPipelineRecord[]> {
    return [...this.pipelines.values()].map((p) => structuredClone(p));
  }

  async deletePipeline(name: string): Promise<boolean> {
    return this.pipelines.delete(name);
  }

  async create(run: RunRecord): Promise<void> {
    if (this.runs.has(run.runId)) throw alreadyExists(run.runId);
    this.runs.set(run.runId, structuredClone(run));
  }

  async put(run: RunRecord): Promise<void> {
    this.runs.set(run.runId, structuredClone(run));
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const r = this.runs.get(runId);
    return r && structuredClone(r);
  }

  async page(filter: RunFilter = {}): Promise<RunPage> {
    const limit = checkLimit(filter.limit);
    const after =
      filter.pageToken === undefined
        ? undefined
        : decodeToken(filter.pageToken, (x): x is { c: string; r: string } => typeof (x as { c?: unknown })?.c === 'string' && typeof (x as { r?: unknown }).r === 'string');
    const sorted = [...this.runs.values()]
      .filter((r) => matches(r, filter))
      .sort(newestFirst)
      .filter((r) => after === undefined || newestFirst(r, { createdAt: after.c, runId: after.r } as RunRecord) > 0);
    const runs = sorted.slice(0, limit).map((r) => structuredClone(r));
    const last = runs[runs.length - 1];
    return sorted.length > limit && last ? { runs, nextPageToken: encodeToken({ c: last.createdAt, r: last.runId }) } : { runs };
  }

  async list(filter: RunFilter = {}): Promise<RunRecord[]> {
    return (await this.page(filter)).runs;
  }

  async close(): Promise<void> {}
}

export function alreadyExists(runId: string): SequencerError {
  return new SequencerError('ALREADY_EXISTS', `a run with id ${JSON.stringify(runId)} already exists; pick another id or leave it out to get a fresh one`);
}

export function pipelineExists(name: string): SequencerError {
  return new SequencerError('ALREADY_EXISTS', `a scheduled pipeline named ${JSON.stringify(name)} already exists; delete it first or use another pipelineName`);
}
