/**
 * The run engine: runs a pipeline's step groups in order through an {@link Executor}. A parallel group ends when all
 * its steps end; a step that still fails after its retries (exponential backoff) fails the run and cancels its running
 * siblings; a step's timeout is passed to the executor and enforced here too; a run can be cancelled. Every change is
 * written through a {@link RunState}, so a restarted engine can `resume()` the runs it finds unfinished (steps that
 * succeeded are not run again; an attempt still running is waited for through its persisted handle).
 */
import { randomBytes } from 'node:crypto';
import { SequencerError } from '../errors.js';
import { stepEnvironment, type Executor, type StepOutcome, type StepSpec } from '../executor.js';
import { parsePipeline, stepRetries, stepTimeoutMs } from '../spec/parse.js';
import { stepGroups, type PipelineSpec } from '../spec/pipeline.js';
import { isTerminal, type AttemptRecord, type RunRecord, type StepRecord } from './records.js';
import { MemoryRunState, type RunFilter, type RunPage, type RunState } from './state.js';

export interface BackoffOptions {
  /** Wait before the first retry (default 1000 ms). */
  initialMs?: number;
  /** Multiplier per further retry (default 2). */
  factor?: number;
  /** Longest wait (default 60000 ms). */
  maxMs?: number;
}

export interface EngineOptions {
  executor: Executor;
  /** Where run records go (default: in memory). */
  state?: RunState;
  /** The model store's connection (GENOME_STORE_DIR, GENOME_STORE_METADATA, GENOME_STORE_BLOBS) given to every step. */
  storeEnv?: Record<string, string>;
  backoff?: BackoffOptions;
  /**
   * The engine cancels an attempt this long after the step's timeout when the executor has not ended it itself
   * (default 2000 ms), and records it as DeadlineExceeded.
   */
  timeoutGraceMs?: number;
  /** Called after every change of a run's record (a copy), e.g. to publish events. Errors thrown are ignored. */
  onUpdate?: (run: RunRecord) => void;
  /** Called when writing a record to the state fails; the run goes on (default: console.warn). */
  onStateError?: (error: unknown, run: RunRecord) => void;
}

export interface StartOptions {
  /** A DNS-label id (lowercase letters, digits, '-', at most 63); default: a fresh one. */
  runId?: string;
  trigger?: 'manual' | 'schedule';
  scheduledFor?: Date;
}

interface Active {
  run: RunRecord;
  abort: AbortController;
  done: Promise<RunRecord>;
  saving: Promise<void>;
}

const RUN_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A fresh run id: `run-<time base36>-<8 hex>`, sortable by start time, a valid DNS label. */
export function newRunId(now = Date.now()): string {
  return `run-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}

export class Engine {
  readonly executor: Executor;
  readonly state: RunState;
  private readonly storeEnv: Record<string, string> | undefined;
  private readonly backoff: Required<BackoffOptions>;
  private readonly timeoutGraceMs: number;
  private readonly onUpdate: ((run: RunRecord) => void) | undefined;
  private readonly onStateError: (error: unknown, run: RunRecord) => void;
  private readonly active = new Map<string, Active>();
  private closed = false;

  constructor(options: EngineOptions) {
    this.executor = options.executor;
    this.state = options.state ?? new MemoryRunState();
    this.storeEnv = options.storeEnv;
    this.backoff = { initialMs: 1000, factor: 2, maxMs: 60_000, ...options.backoff };
    this.timeoutGraceMs = options.timeoutGraceMs ?? 2000;
    this.onUpdate = options.onUpdate;
    this.onStateError = options.onStateError ?? ((e, r) => console.warn(`sequencer: could not record run ${r.runId}: ${(e as Error).message}`));
  }

  /**
   * Validates `pipeline` (a parsed spec or the seed's JSON), records a new run and starts it. Resolves to the run's
   * first record once it is written; the run goes on in the background (see {@link wait}).
   */
  async start(pipeline: PipelineSpec | unknown, options: StartOptions = {}): Promise<RunRecord> {
    if (this.closed) throw new SequencerError('FAILED_PRECONDITION', 'the engine is closed; create a new one');
    const spec = parsePipeline(pipeline);
    const runId = options.runId ?? newRunId();
    if (!RUN_ID.test(runId)) {
      throw new SequencerError('INVALID_ARGUMENT', `runId: ${JSON.stringify(runId)} must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`);
    }
    const now = iso();
    const run: RunRecord = {
      runId,
      pipelineName: spec.pipelineName,
      canonicalName: spec.canonicalName,
      application: spec.application,
      executor: this.executor.kind,
      pipeline: spec,
      status: 'pending',
      trigger: options.trigger ?? 'manual',
      createdAt: now,
      updatedAt: now,
      steps: stepGroups(spec).flatMap((g, group) =>
        g.map((s): StepRecord => ({ stepName: s.stepName, stepType: s.stepType, group, status: 'pending', attempts: [] })),
      ),
    };
    if (options.scheduledFor) run.scheduledFor = options.scheduledFor.toISOString();
    await this.state.create(run);
    const first = structuredClone(run);
    this.drive(run);
    return first;
  }

  /** Resolves with the run's final record. */
  async wait(runId: string, signal?: AbortSignal): Promise<RunRecord> {
    const a = this.active.get(runId);
    if (a) {
      const done = a.done.then((r) => structuredClone(r));
      if (!signal) return done;
      return Promise.race([
        done,
        new Promise<never>((_, rej) => {
          const fail = (): void => rej(new SequencerError('CANCELLED', 'stopped waiting for the run: the signal was aborted'));
          if (signal.aborted) fail();
          else signal.addEventListener('abort', fail, { once: true });
        }),
      ]);
    }
    const r = await this.get(runId);
    if (!isTerminal(r.status)) {
      throw new SequencerError('FAILED_PRECONDITION', `run ${runId} is ${r.status} but not driven by this engine; call resume() to take it over`);
    }
    return r;
  }

  /** The run's current record; NOT_FOUND when there is none. */
  async get(runId: string): Promise<RunRecord> {
    const a = this.active.get(runId);
    if (a) return structuredClone(a.run);
    const r = await this.state.get(runId);
    if (!r) throw new SequencerError('NOT_FOUND', `no run ${JSON.stringify(runId)}; list runs to see their ids`);
    return r;
  }

  list(filter?: RunFilter): Promise<RunRecord[]> {
    return this.state.list(filter);
  }

  /** One page of runs, newest first (see {@link RunPage}). */
  page(filter?: RunFilter): Promise<RunPage> {
    return this.state.page(filter);
  }

  /**
   * Cancels a run: its running attempts are cancelled, pending steps are skipped, and the run ends `cancelled`.
   * Resolves with the final record. FAILED_PRECONDITION when the run has already ended.
   */
  async cancel(runId: string, message = 'cancelled on request'): Promise<RunRecord> {
    const a = this.active.get(runId);
    if (a) {
      if (!a.abort.signal.aborted) a.abort.abort(message);
      return structuredClone(await a.done);
    }
    const r = await this.get(runId);
    if (isTerminal(r.status)) {
      throw new SequencerError('FAILED_PRECONDITION', `run ${runId} already ended (${r.status}); only pending or running runs can be cancelled`);
    }
    // A run left unfinished by another engine (e.g. before a restart): cancel what it left running, then record.
    const now = iso();
    for (const s of r.steps) {
      const last = s.attempts[s.attempts.length - 1];
      if (last?.status === 'running') {
        if (last.handle) await this.executor.cancel(last.handle).catch(() => undefined);
        Object.assign(last, { status: 'cancelled', finishedAt: now, reason: 'Cancelled', message });
      }
      if (!['succeeded', 'failed'].includes(s.status)) {
        Object.assign(s, { status: s.status === 'pending' ? 'skipped' : 'cancelled', finishedAt: now });
      }
    }
    Object.assign(r, { status: 'cancelled', reason: 'Cancelled', message, finishedAt: now, updatedAt: now });
    await this.state.put(r);
    return r;
  }

  /** The log of a step's attempt (default: its latest attempt). */
  async logs(runId: string, stepName: string, options: { attempt?: number; tailLines?: number } = {}): Promise<string> {
    const run = await this.get(runId);
    const step = run.steps.find((s) => s.stepName === stepName);
    if (!step) throw new SequencerError('NOT_FOUND', `run ${runId} has no step ${JSON.stringify(stepName)}; its steps are ${run.steps.map((s) => s.stepName).join(', ')}`);
    const attempt = options.attempt === undefined ? step.attempts[step.attempts.length - 1] : step.attempts.find((a) => a.attempt === options.attempt);
    if (!attempt) {
      throw new SequencerError('NOT_FOUND', `step ${stepName} of run ${runId} has ${step.attempts.length === 0 ? 'not started yet' : `no attempt ${options.attempt} (it has ${step.attempts.length})`}`);
    }
    if (!attempt.handle) return attempt.message ? `${attempt.message}\n` : '';
    return this.executor.logs(attempt.handle, options.tailLines === undefined ? {} : { tailLines: options.tailLines });
  }

  /**
   * Takes over the runs the state holds as pending or running that no engine in this process drives (after a
   * restart). Resolves to their ids.
   */
  async resume(): Promise<string[]> {
    const runs = await this.state.list({ status: ['pending', 'running'], limit: 1000 });
    const ids: string[] = [];
    for (const r of runs) {
      if (this.active.has(r.runId)) continue;
      this.drive(r);
      ids.push(r.runId);
    }
    return ids;
  }

  /** Runs this engine is driving now. */
  activeRuns(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Stops driving runs without cancelling them (their records stay `running`, to be resumed), and waits for pending
   * record writes. Close the executor separately.
   */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.active.values()];
    for (const a of all) a.abort.abort(CLOSING);
    await Promise.all(all.map((a) => a.done.catch(() => undefined)));
  }

  // ---------------------------------------------------------------------------------------------------------------

  private drive(run: RunRecord): void {
    const a: Active = { run, abort: new AbortController(), saving: Promise.resolve(), done: undefined as unknown as Promise<RunRecord> };
    this.active.set(run.runId, a);
    a.done = this.runAll(a)
      .catch(async (e: unknown) => {
        // A bug, not a step's failure: record it rather than leave the run running forever.
        Object.assign(run, { status: 'failed', reason: 'Internal', message: `the sequencer failed: ${(e as Error).message}`, finishedAt: iso() });
        this.save(a);
        await a.saving;
        return run;
      })
      .finally(() => {
        this.active.delete(run.runId);
      });
  }

  private save(a: Active): void {
    const r = a.run;
    r.updatedAt = iso();
    const copy = structuredClone(r);
    a.saving = a.saving
      .then(() => this.state.put(copy))
      .then(
        () => {
          // Listeners hear of a change once it is recorded.
          if (this.onUpdate) {
            try {
              this.onUpdate(structuredClone(copy));
            } catch {
              // A listener's failure is not the run's.
            }
          }
        },
        (e: unknown) => this.onStateError(e, copy),
      );
  }

  private async runAll(a: Active): Promise<RunRecord> {
    const run = a.run;
    const groups = stepGroups(run.pipeline);
    run.status = 'running';
    run.startedAt ??= iso();
    this.save(a);
    let failed: StepRecord | undefined;
    for (let g = 0; g < groups.length && !failed && !a.abort.signal.aborted; g++) {
      const group = new AbortController();
      const onRunAbort = (): void => group.abort(a.abort.signal.reason);
      a.abort.signal.addEventListener('abort', onRunAbort, { once: true });
      try {
        await Promise.all(
          groups[g]!.map(async (spec) => {
            const rec = run.steps.find((s) => s.stepName === spec.stepName)!;
            const result = await this.runStep(a, spec, rec, group.signal);
            if (result === 'failed') {
              failed ??= rec;
              if (!group.signal.aborted) group.abort(SIBLING_FAILED);
            }
          }),
        );
      } finally {
        a.abort.signal.removeEventListener('abort', onRunAbort);
      }
    }
    if (a.abort.signal.reason === CLOSING) {
      await a.saving;
      return run;
    }
    const now = iso();
    for (const s of run.steps) {
      if (s.status === 'pending') {
        s.status = 'skipped';
      }
    }
    if (a.abort.signal.aborted) {
      Object.assign(run, { status: 'cancelled', reason: 'Cancelled', message: String(a.abort.signal.reason ?? 'cancelled') });
    } else if (failed) {
      const f: StepRecord = failed;
      const n = f.attempts.length;
      Object.assign(run, {
        status: 'failed',
        reason: 'StepFailed',
        message: `step ${f.stepName} failed after ${n} attempt${n === 1 ? '' : 's'}: ${f.reason}: ${f.message}`,
      });
    } else {
      run.status = 'succeeded';
    }
    run.finishedAt = now;
    this.save(a);
    await a.saving;
    return run;
  }

  private async runStep(a: Active, spec: StepSpec, rec: StepRecord, signal: AbortSignal): Promise<'succeeded' | 'failed' | 'cancelled'> {
    if (rec.status === 'succeeded') return 'succeeded';
    if (rec.status === 'failed') return 'failed';
    const retries = stepRetries(spec);
    const timeoutMs = stepTimeoutMs(spec);
    const run = a.run;
    for (;;) {
      let attempt = rec.attempts[rec.attempts.length - 1];
      let handle: string | undefined;
      let outcome: StepOutcome | undefined;
      const identity = (n: number) => ({
        runId: run.runId,
        pipelineName: run.pipelineName,
        canonicalName: run.canonicalName,
        application: run.application,
        step: spec,
        attempt: n,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      if (attempt?.status === 'running' && !attempt.handle) {
        // Resumed: the sequencer stopped between launching this attempt and recording its handle.
        const found = this.executor.findAttempt ? await this.executor.findAttempt(identity(attempt.attempt)).catch(() => undefined) : undefined;
        if (found) {
          attempt.handle = found;
          this.save(a);
        } else {
          outcome = { status: 'failed', reason: 'Lost', message: 'the sequencer stopped while launching this attempt and the executor has no trace of it' };
        }
      }
      if (outcome) {
        // handled below with the other failures
      } else if (attempt?.status === 'running' && attempt.handle) {
        handle = attempt.handle; // resumed: the attempt was launched before a restart
      } else {
        if (signal.aborted) return this.stepCancelled(a, rec, signal);
        attempt = { attempt: rec.attempts.length + 1, status: 'running', startedAt: iso() };
        rec.attempts.push(attempt);
        rec.status = 'running';
        rec.startedAt ??= attempt.startedAt;
        this.save(a);
        const base = identity(attempt.attempt);
        try {
          handle = await this.executor.launch({ ...base, env: stepEnvironment(base, this.storeEnv) });
          attempt.handle = handle;
          this.save(a);
        } catch (e) {
          outcome = { status: 'failed', reason: 'LaunchError', message: (e as Error).message };
        }
      }
      if (handle !== undefined) outcome = await this.watch(handle, attempt, timeoutMs, signal);
      if (signal.reason === CLOSING) return 'cancelled';
      const o = outcome!;
      attempt = attempt!;
      attempt.finishedAt = iso();
      if (o.exitCode !== undefined) attempt.exitCode = o.exitCode;
      if (o.status === 'succeeded') {
        attempt.status = 'succeeded';
        Object.assign(rec, { status: 'succeeded', finishedAt: attempt.finishedAt });
        delete rec.reason;
        delete rec.message;
        this.save(a);
        return 'succeeded';
      }
      Object.assign(attempt, { reason: o.reason, message: o.message });
      if (signal.aborted) {
        attempt.status = 'cancelled';
        return this.stepCancelled(a, rec, signal);
      }
      attempt.status = 'failed';
      Object.assign(rec, { reason: o.reason, message: o.message });
      if (attempt.attempt <= retries) {
        rec.status = 'retrying';
        this.save(a);
        const wait = Math.min(this.backoff.maxMs, this.backoff.initialMs * this.backoff.factor ** (attempt.attempt - 1));
        await sleep(wait, signal);
        continue;
      }
      Object.assign(rec, { status: 'failed', finishedAt: attempt.finishedAt });
      this.save(a);
      return 'failed';
    }
  }

  private stepCancelled(a: Active, rec: StepRecord, signal: AbortSignal): 'cancelled' {
    if (signal.reason === CLOSING) return 'cancelled';
    const sibling = signal.reason === SIBLING_FAILED;
    Object.assign(rec, {
      status: rec.attempts.length === 0 && rec.status === 'pending' ? 'skipped' : 'cancelled',
      finishedAt: iso(),
      reason: 'Cancelled',
      message: sibling ? 'cancelled because a step of its parallel group failed' : String(signal.reason ?? 'cancelled'),
    });
    this.save(a);
    return 'cancelled';
  }

  /** Waits for an attempt, enforcing its timeout and cancelling it when `signal` aborts. */
  private async watch(handle: string, attempt: AttemptRecord, timeoutMs: number | undefined, signal: AbortSignal): Promise<StepOutcome> {
    const stop = new AbortController();
    const timers: NodeJS.Timeout[] = [];
    const listeners: Array<() => void> = [];
    try {
      return await new Promise<StepOutcome>((resolve) => {
        let settled = false;
        // Once the engine decided how the attempt ends (timeout, cancel), the executor's own report is not used.
        let decided = false;
        const settle = (o: StepOutcome): void => {
          if (!settled) {
            settled = true;
            resolve(o);
          }
        };
        this.executor.wait(handle, stop.signal).then(
          (o) => {
            if (!decided) settle(o);
          },
          (e: unknown) => {
            if (!stop.signal.aborted && !decided) settle({ status: 'failed', reason: 'Lost', message: `cannot watch ${handle}: ${(e as Error).message}` });
          },
        );
        const cancelThen = (o: StepOutcome): void => {
          if (settled || decided) return;
          decided = true;
          this.executor
            .cancel(handle)
            .catch(() => undefined)
            .then(() => settle(o));
        };
        if (timeoutMs !== undefined) {
          const elapsed = Date.now() - Date.parse(attempt.startedAt);
          timers.push(
            setTimeout(
              () =>
                cancelThen({
                  status: 'failed',
                  reason: 'DeadlineExceeded',
                  message: `the step ran longer than its timeout (${timeoutMs} ms); the sequencer cancelled it`,
                }),
              Math.max(0, timeoutMs + this.timeoutGraceMs - elapsed),
            ),
          );
        }
        const onAbort = (): void => {
          if (signal.reason === CLOSING) {
            settle({ status: 'failed', reason: 'Closing', message: 'the engine closed' });
          } else {
            cancelThen({ status: 'failed', reason: 'Cancelled', message: String(signal.reason ?? 'cancelled') });
          }
        };
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener('abort', onAbort, { once: true });
          listeners.push(() => signal.removeEventListener('abort', onAbort));
        }
      });
    } finally {
      stop.abort();
      for (const t of timers) clearTimeout(t);
      for (const l of listeners) l();
    }
  }
}

const CLOSING = 'the engine is closing';
const SIBLING_FAILED = 'a step of the parallel group failed';

function iso(): string {
  return new Date().toISOString();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
