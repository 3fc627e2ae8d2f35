/**
 * The scheduler: keeps pipelines created with a `schedule` (the seed's `POST /v1.0/genome/compute/sequence`) and
 * starts their runs through an {@link Engine} when they are due. The first run comes one period after creation; no
 * run starts while one of the same pipeline is active (unless overlap is allowed); after downtime at most
 * `maxMissedRuns` of the times that passed start runs (1 by default).
 *
 * Several schedulers (replicas) may share one state: a scheduled run's id is derived from the pipeline and the
 * scheduled time, and run ids are claimed with an atomic put-if-absent, so the same scheduled run never starts twice.
 */
import { createHash } from 'node:crypto';
import { SequencerError } from './errors.js';
import { parsePipeline } from './spec/parse.js';
import type { PipelineSpec } from './spec/pipeline.js';
import { firstRun, parseSchedule, planRuns, type Schedule } from './schedule.js';
import type { Engine } from './engine/engine.js';
import type { RunRecord, ScheduledPipelineRecord } from './engine/records.js';
import type { PipelineState } from './engine/state.js';

export interface SchedulerOptions {
  engine: Engine;
  /** Where scheduled pipelines are kept (a MemoryRunState or KvRunState, often the engine's own state). */
  pipelines: PipelineState;
  /** Longest sleep between ticks, so pipelines created by other replicas are seen (default 30000 ms). */
  tickMs?: number;
  /** Defaults of new pipelines. */
  overlap?: 'forbid' | 'allow';
  maxMissedRuns?: number;
  /** Called when a tick fails (default: console.warn); the loop goes on. */
  onError?: (error: unknown) => void;
}

export interface CreateScheduledOptions {
  overlap?: 'forbid' | 'allow';
  maxMissedRuns?: number;
  /** IANA timezone of a cron schedule (default UTC). */
  timezone?: string;
  /** The creation time (default now); the first run is one period later. */
  now?: Date;
}

/** The id of the run of `pipelineName` scheduled for `at`: the same on every replica. */
export function scheduledRunId(pipelineName: string, at: Date): string {
  const h = createHash('sha256').update(pipelineName).digest('hex').slice(0, 12);
  return `sched-${h}-${at.getTime().toString(36)}`;
}

export class Scheduler {
  private readonly engine: Engine;
  private readonly pipelines: PipelineState;
  private readonly tickMs: number;
  private readonly overlap: 'forbid' | 'allow';
  private readonly maxMissedRuns: number;
  private readonly onError: (error: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> = Promise.resolve();
  private running = false;

  constructor(options: SchedulerOptions) {
    this.engine = options.engine;
    this.pipelines = options.pipelines;
    this.tickMs = options.tickMs ?? 30_000;
    this.overlap = options.overlap ?? 'forbid';
    this.maxMissedRuns = options.maxMissedRuns ?? 1;
    this.onError = options.onError ?? ((e) => console.warn(`sequencer scheduler: ${(e as Error).message}`));
  }

  /**
   * Creates a scheduled pipeline from the seed's JSON; it must have a `schedule`. Its first run comes one period
   * later (for cron: at the first match after now). ALREADY_EXISTS when the name is taken.
   */
  async create(doc: PipelineSpec | unknown, options: CreateScheduledOptions = {}): Promise<ScheduledPipelineRecord> {
    const pipeline = parsePipeline(doc);
    if (pipeline.schedule === undefined) {
      throw new SequencerError('INVALID_ARGUMENT', 'schedule: is required to create a scheduled pipeline; add e.g. "schedule": "6h", or start a run now instead');
    }
    const maxMissedRuns = options.maxMissedRuns ?? this.maxMissedRuns;
    if (!Number.isInteger(maxMissedRuns) || maxMissedRuns < 1 || maxMissedRuns > 100) {
      throw new SequencerError('INVALID_ARGUMENT', `maxMissedRuns: must be an integer from 1 to 100 (got ${String(maxMissedRuns)})`);
    }
    const schedule = parseSchedule(pipeline.schedule, options.timezone === undefined ? {} : { timezone: options.timezone });
    const now = options.now ?? new Date();
    const next = firstRun(schedule, now);
    const record: ScheduledPipelineRecord = {
      pipelineName: pipeline.pipelineName,
      pipeline,
      schedule: pipeline.schedule,
      overlap: options.overlap ?? this.overlap,
      maxMissedRuns,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      skippedRuns: 0,
    };
    if (options.timezone !== undefined) record.timezone = options.timezone;
    if (next) record.nextRunAt = next.toISOString();
    await this.pipelines.createPipeline(record);
    this.wake();
    return record;
  }

  async get(name: string): Promise<ScheduledPipelineRecord> {
    const p = await this.pipelines.getPipeline(name);
    if (!p) throw new SequencerError('NOT_FOUND', `no scheduled pipeline ${JSON.stringify(name)}; list pipelines to see their names`);
    return p;
  }

  list(): Promise<ScheduledPipelineRecord[]> {
    return this.pipelines.listPipelines();
  }

  /** Deletes a scheduled pipeline (its runs stay). NOT_FOUND when there is none. */
  async delete(name: string): Promise<void> {
    if (!(await this.pipelines.deletePipeline(name))) {
      throw new SequencerError('NOT_FOUND', `no scheduled pipeline ${JSON.stringify(name)}; list pipelines to see their names`);
    }
  }

  /** Starts the runs due at `now` for every scheduled pipeline; resolves to the runs this call started. */
  async tick(now = new Date()): Promise<RunRecord[]> {
    const started: RunRecord[] = [];
    for (const p of await this.pipelines.listPipelines()) {
      try {
        started.push(...(await this.tickOne(p, now)));
      } catch (e) {
        this.onError(e);
      }
    }
    return started;
  }

  private async tickOne(p: ScheduledPipelineRecord, now: Date): Promise<RunRecord[]> {
    const schedule: Schedule = parseSchedule(p.schedule, p.timezone === undefined ? {} : { timezone: p.timezone });
    if (p.nextRunAt !== undefined && Date.parse(p.nextRunAt) > now.getTime()) return [];
    const active = p.overlap === 'forbid' ? (await this.engine.list({ pipelineName: p.pipelineName, status: ['pending', 'running'], limit: 1 })).length > 0 : false;
    const plan = planRuns(
      schedule,
      { createdAt: new Date(p.createdAt), lastScheduledAt: p.lastScheduledAt === undefined ? undefined : new Date(p.lastScheduledAt) },
      now,
      { maxMissedRuns: p.maxMissedRuns, overlap: p.overlap, running: active },
    );
    const started: RunRecord[] = [];
    for (const at of plan.start) {
      try {
        const run = await this.engine.start(p.pipeline, { runId: scheduledRunId(p.pipelineName, at), trigger: 'schedule', scheduledFor: at });
        started.push(run);
        p.lastRunId = run.runId;
      } catch (e) {
        // Another replica started it first.
        if (!(e instanceof SequencerError && e.code === 'ALREADY_EXISTS')) throw e;
      }
    }
    // Re-read before writing: the pipeline may have been deleted meanwhile.
    if (!(await this.pipelines.getPipeline(p.pipelineName))) return started;
    if (plan.lastScheduledAt) p.lastScheduledAt = plan.lastScheduledAt.toISOString();
    if (plan.next) p.nextRunAt = plan.next.toISOString();
    else delete p.nextRunAt;
    p.skippedRuns += plan.skipped;
    p.updatedAt = new Date().toISOString();
    await this.pipelines.putPipeline(p);
    return started;
  }

  /** Runs ticks in the background until {@link stop}: at each pipeline's next run time, at least every `tickMs`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  /** Stops the loop and waits for a tick in progress. Runs already started go on. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking.catch(() => undefined);
  }

  private wake(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.loop();
  }

  private loop(): void {
    this.ticking = this.ticking
      .then(async () => {
        if (!this.running) return;
        await this.tick();
        const pipelines = await this.pipelines.listPipelines();
        const nextAt = Math.min(...pipelines.map((p) => (p.nextRunAt ? Date.parse(p.nextRunAt) : Infinity)));
        return Math.max(100, Math.min(this.tickMs, nextAt - Date.now()));
      })
      .catch((e: unknown) => {
        this.onError(e);
        return this.tickMs;
      })
      .then((delay) => {
        if (!this.running || delay === undefined) return;
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.loop();
        }, delay);
      });
  }
}
