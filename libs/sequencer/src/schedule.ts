/**
 * Schedules: a duration ("6h": every six hours from the pipeline's creation, the first run one period after it, as
 * the seed says) or a cron expression (croner: 5 fields, or 6 with seconds, and @hourly/@daily/...; the first run is
 * the first match after creation). {@link planRuns} decides which runs a scheduler starts at a tick: never more than
 * `maxMissedRuns` of the times that passed (1 by default, so downtime causes no catch-up storm), and none while a run
 * of the pipeline is still active unless overlap is allowed.
 */
import { Cron } from 'croner';
import { SequencerError } from './errors.js';
import { formatDuration, MAX_DURATION_MS, tryParseDuration } from './duration.js';

export type Schedule =
  | { kind: 'interval'; text: string; periodMs: number }
  | { kind: 'cron'; text: string; timezone?: string };

/** The shortest interval schedule accepted; shorter ones are a typo or a busy loop. */
export const MIN_INTERVAL_MS = 1_000;

/**
 * Reads a schedule: a duration ("30s", "6h", "1d") or a cron expression ("0 3 * * *", "*\/10 * * * * *", "@daily").
 * `timezone` (IANA name) applies to cron expressions; default UTC. Throws INVALID_ARGUMENT naming `field`.
 */
export function parseSchedule(text: string, options: { timezone?: string; field?: string } = {}): Schedule {
  const field = options.field ?? 'schedule';
  if (typeof text !== 'string' || text.trim() === '') {
    throw new SequencerError('INVALID_ARGUMENT', `${field}: must be a duration like "6h" or a cron expression like "0 3 * * *"`);
  }
  const ms = tryParseDuration(text);
  if (ms !== undefined) {
    if (ms < MIN_INTERVAL_MS || ms > MAX_DURATION_MS) {
      throw new SequencerError(
        'INVALID_ARGUMENT',
        `${field}: ${JSON.stringify(text)} must be between 1s and 365d; write e.g. "30s", "6h" or "1d"`,
      );
    }
    return { kind: 'interval', text, periodMs: ms };
  }
  if (/^\d+$/.test(text.trim())) {
    throw new SequencerError('INVALID_ARGUMENT', `${field}: ${JSON.stringify(text)} has no unit; write e.g. "${text.trim()}s" or "${text.trim()}m"`);
  }
  const timezone = options.timezone;
  try {
    const c = cron(text, timezone);
    if (c.nextRun(new Date()) === null) throw new Error('it never matches a future time');
  } catch (e) {
    throw new SequencerError(
      'INVALID_ARGUMENT',
      `${field}: ${JSON.stringify(text)} is neither a duration ("6h") nor a valid cron expression ("0 3 * * *", "@daily"): ${(e as Error).message}`,
      { cause: e },
    );
  }
  return timezone === undefined ? { kind: 'cron', text } : { kind: 'cron', text, timezone };
}

function cron(text: string, timezone: string | undefined): Cron {
  return new Cron(text.trim(), { paused: true, timezone: timezone ?? 'UTC', mode: '5-or-6-parts' });
}

/**
 * The first scheduled time strictly after `after`. Interval schedules count whole periods from `anchor` (the
 * pipeline's creation), so the first run is one period after it. Undefined when a cron expression has no later match.
 */
export function nextRunAfter(schedule: Schedule, after: Date, anchor: Date): Date | undefined {
  if (schedule.kind === 'interval') {
    const since = after.getTime() - anchor.getTime();
    const k = since < 0 ? 1 : Math.floor(since / schedule.periodMs) + 1;
    return new Date(anchor.getTime() + k * schedule.periodMs);
  }
  const from = after.getTime() < anchor.getTime() ? anchor : after;
  return cron(schedule.text, schedule.timezone).nextRun(from) ?? undefined;
}

/** The first run of a pipeline created at `createdAt`: one period later for a duration, the next match for cron. */
export function firstRun(schedule: Schedule, createdAt: Date): Date | undefined {
  return nextRunAfter(schedule, createdAt, createdAt);
}

export interface PlanOptions {
  /** How many of the scheduled times that passed since the last tick may start runs (default 1). */
  maxMissedRuns?: number;
  /** 'forbid' (default): start nothing while a run of this pipeline is active; 'allow': runs may overlap. */
  overlap?: 'forbid' | 'allow';
  /** Whether a run of this pipeline is still active. */
  running?: boolean;
}

export interface RunPlan {
  /** Scheduled times to start a run for now, oldest first. */
  start: Date[];
  /** Scheduled times that passed and will not run (beyond maxMissedRuns, or blocked by an active run), counted up to 100. */
  skipped: number;
  /** The latest scheduled time handled by this plan: persist it as the pipeline's `lastScheduledAt`. */
  lastScheduledAt: Date | undefined;
  /** When to tick next. */
  next: Date | undefined;
}

const MAX_ENUMERATED = 100;

/**
 * Which runs to start at `now` for a pipeline created at `createdAt` whose scheduled times up to `lastScheduledAt`
 * were already handled. Pure: the caller starts the runs and persists `lastScheduledAt`.
 */
export function planRuns(
  schedule: Schedule,
  cursor: { createdAt: Date; lastScheduledAt?: Date | undefined },
  now: Date,
  options: PlanOptions = {},
): RunPlan {
  const maxMissed = options.maxMissedRuns ?? 1;
  if (!Number.isInteger(maxMissed) || maxMissed < 1) {
    throw new SequencerError('INVALID_ARGUMENT', `maxMissedRuns: must be an integer >= 1 (got ${String(maxMissed)})`);
  }
  const overlap = options.overlap ?? 'forbid';
  const anchor = cursor.createdAt;
  const from = cursor.lastScheduledAt ?? anchor;
  const due = dueTimes(schedule, anchor, from, now, maxMissed);
  const next = nextRunAfter(schedule, due.latest ?? from, anchor);
  let start = due.last;
  if (overlap === 'forbid') start = options.running ? [] : start.slice(-1);
  return {
    start,
    skipped: due.count - start.length,
    lastScheduledAt: due.latest ?? cursor.lastScheduledAt,
    next: next && next.getTime() <= now.getTime() ? nextRunAfter(schedule, now, anchor) : next,
  };
}

/** The last `keep` scheduled times in (from, now], their total count (capped), and the latest. */
function dueTimes(
  schedule: Schedule,
  anchor: Date,
  from: Date,
  now: Date,
  keep: number,
): { last: Date[]; count: number; latest: Date | undefined } {
  if (now.getTime() <= from.getTime()) return { last: [], count: 0, latest: undefined };
  if (schedule.kind === 'interval') {
    const p = schedule.periodMs;
    const a = anchor.getTime();
    const firstK = Math.max(1, Math.floor((from.getTime() - a) / p) + 1);
    const lastK = Math.floor((now.getTime() - a) / p);
    if (lastK < firstK) return { last: [], count: 0, latest: undefined };
    const count = Math.min(lastK - firstK + 1, MAX_ENUMERATED);
    const last: Date[] = [];
    for (let k = Math.max(firstK, lastK - keep + 1); k <= lastK; k++) last.push(new Date(a + k * p));
    return { last, count: Math.max(count, last.length), latest: last[last.length - 1] };
  }
  // Cron: enumerate forward from a window that grows backwards from `now` until it holds `keep` times or reaches
  // `from`, so a long downtime with a frequent expression costs a bounded number of steps.
  const c = cron(schedule.text, schedule.timezone);
  const lower = Math.max(from.getTime(), anchor.getTime());
  let span = 60_000;
  for (;;) {
    const start = Math.max(lower, now.getTime() - span);
    const times: Date[] = [];
    let t = c.nextRun(new Date(start));
    while (t && t.getTime() <= now.getTime() && times.length < 100_000) {
      times.push(t);
      t = c.nextRun(t);
    }
    if (times.length >= keep || start === lower || times.length >= MAX_ENUMERATED) {
      const last = times.slice(-keep);
      let count = times.length;
      if (start !== lower) {
        // More times passed before the window: count them, up to MAX_ENUMERATED.
        count = 0;
        for (let u = c.nextRun(new Date(lower)); u && u.getTime() <= now.getTime() && count < MAX_ENUMERATED; u = c.nextRun(u)) count++;
      }
      return { last, count: Math.max(Math.min(count, MAX_ENUMERATED), last.length), latest: last[last.length - 1] };
    }
    span *= 4;
  }
}

/** A human description for logs: "every 6h" or "cron 0 3 * * * (UTC)". */
export function describeSchedule(schedule: Schedule): string {
  return schedule.kind === 'interval'
    ? `every ${formatDuration(schedule.periodMs)}`
    : `cron ${schedule.text} (${schedule.timezone ?? 'UTC'})`;
}
