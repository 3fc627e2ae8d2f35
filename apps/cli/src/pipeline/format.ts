/** Human output of `genome pipeline` (run details, tables of runs and scheduled pipelines) and the JSON it prints. */
import { textTable } from '../output/text-table.js';
import { shortTime } from '../store/format.js';
import type { Run, ScheduledPipeline, Step } from './platform.js';

export { json } from '../store/format.js';

/** Statuses after which a run or a step changes no more. */
const TERMINAL_RUN = new Set(['succeeded', 'failed', 'cancelled']);
const TERMINAL_STEP = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

export const runEnded = (run: Run): boolean => TERMINAL_RUN.has(run.status);
export const stepEnded = (step: Step): boolean => TERMINAL_STEP.has(step.status);

/** Drops the fields proto3 sends as "" (absent), recursively through arrays and objects. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== '' && v !== undefined)
      .map(([k, v]) => [k, compact(v)]),
  );
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A run as JSON, shaped as the REST API's run record: no empty fields, `pipeline` as the JSON document. */
export function runJson(run: Run): Record<string, unknown> {
  const { pipelineJson, ...rest } = run;
  return { ...(compact(rest) as Record<string, unknown>), ...(pipelineJson ? { pipeline: parsed(pipelineJson) } : {}) };
}

/** A scheduled pipeline as JSON, shaped as the REST API's record. */
export function scheduledJson(p: ScheduledPipeline): Record<string, unknown> {
  const { pipelineJson, ...rest } = p;
  return { ...(compact(rest) as Record<string, unknown>), ...(pipelineJson ? { pipeline: parsed(pipelineJson) } : {}) };
}

/** Milliseconds as "850ms", "12.3s", "4m05s", "2h03m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** From `start` to `end` (or now, for something still running); "-" when it has not started. */
export function span(start: string, end: string, now = Date.now()): string {
  if (!start) return '-';
  const to = end ? Date.parse(end) : now;
  return formatDuration(to - Date.parse(start));
}

/** The step that failed the run (the first failed one), if any. */
export function failingStep(run: Run): Step | undefined {
  return run.steps.find((s) => s.status === 'failed');
}

const dash = (s: string | number | undefined): string => (s === undefined || s === '' ? '-' : String(s));

/** The exit code of a step's latest attempt, if it has one. */
function lastExitCode(step: Step): string {
  const a = step.attempts[step.attempts.length - 1];
  return a?.exitCode === undefined ? '-' : String(a.exitCode);
}

export function stepsTable(run: Run, indent = 0): string {
  const rows = run.steps.map((s) => [
    s.stepName,
    s.status,
    String(s.attempts.length),
    lastExitCode(s),
    dash(s.reason),
    shortTime(s.startedAt || undefined),
    span(s.startedAt, s.finishedAt),
  ]);
  return textTable(rows, { head: ['STEP', 'STATUS', 'ATTEMPTS', 'EXIT CODE', 'REASON', 'STARTED', 'DURATION'], indent });
}

/** A run's record: what, when, how it ended, and its steps as a table. */
export function runDetails(run: Run): string {
  const lines = [`run ${run.runId}`];
  const field = (k: string, v: string): void => void lines.push(`  ${k.padEnd(10)} ${v}`);
  field('pipeline', run.pipelineName);
  field('status', run.reason ? `${run.status} (${run.reason})` : run.status);
  if (run.message) field('message', run.message);
  field('trigger', run.scheduledFor ? `${run.trigger} (for ${shortTime(run.scheduledFor)})` : run.trigger);
  field('executor', dash(run.executor));
  field('created', shortTime(run.createdAt || undefined));
  if (run.startedAt) field('started', shortTime(run.startedAt));
  if (run.finishedAt) field('finished', shortTime(run.finishedAt));
  field('duration', span(run.startedAt || run.createdAt, run.finishedAt));
  return `${lines.join('\n')}\nsteps:\n${stepsTable(run, 2)}\n`;
}

export function runsTable(runs: readonly Run[]): string {
  if (runs.length === 0) return 'no runs\n';
  const rows = runs.map((r) => [
    r.runId,
    r.pipelineName,
    r.status,
    r.trigger,
    shortTime(r.createdAt || undefined),
    span(r.startedAt || r.createdAt, r.finishedAt),
    failingStep(r)?.stepName ?? '-',
  ]);
  return `${textTable(rows, { head: ['RUN ID', 'PIPELINE', 'STATUS', 'TRIGGER', 'CREATED', 'DURATION', 'FAILING STEP'] })}\n`;
}

export function pipelinesTable(pipelines: readonly ScheduledPipeline[]): string {
  if (pipelines.length === 0) return 'no scheduled pipelines\n';
  const rows = pipelines.map((p) => [
    p.pipelineName,
    p.timezone ? `${p.schedule} (${p.timezone})` : p.schedule,
    shortTime(p.nextRunAt || undefined),
    p.lastRunId ? `${p.lastRunId} (${shortTime(p.lastScheduledAt || undefined)})` : '-',
    String(p.skippedRuns),
  ]);
  return `${textTable(rows, { head: ['NAME', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'SKIPPED'] })}\n`;
}

/** Why a run did not succeed, in one line: the failing step, its reason and message, or the run's own. */
export function failureLine(run: Run): string {
  const step = failingStep(run);
  if (step) {
    const why = [step.reason, step.message].filter(Boolean).join(': ');
    return `run ${run.runId} ${run.status}: step ${step.stepName} failed${why ? ` (${why})` : ''}`;
  }
  const why = [run.reason, run.message].filter(Boolean).join(': ');
  return `run ${run.runId} ${run.status}${why ? ` (${why})` : ''}`;
}
