/**
 * Following a run to its end (`run --wait`, `status --watch`): WatchRun's records become one line per step status
 * change on stderr and, on a terminal, a progress bar of the steps that ended out of all of them.
 */
import cliProgress from 'cli-progress';
import { CliError } from '../errors.js';
import type { OutStream } from '../io.js';
import { formatDuration, runEnded, span, stepEnded } from './format.js';
import { getRun, watchRun, type Platform, type Run, type Step } from './platform.js';

/** The steps bar: lines printed above it while it is drawn. Silent (lines only) when stderr is not a terminal. */
interface StepsBar {
  update(done: number, total: number): void;
  line(text: string): void;
  stop(): void;
}

function stepsBar(stderr: OutStream, enabled: boolean, label: string): StepsBar {
  if (!enabled || !stderr.isTTY) {
    return { update() {}, line: (text) => void stderr.write(`${text}\n`), stop() {} };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream: stderr as unknown as NodeJS.WritableStream,
      format: `${label} [{bar}] {value}/{total} steps | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      // Redraw on every update too: a step line must show when it happens, not at the next tick.
      forceRedraw: true,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total) {
      if (!bar) bar = multi.create(total, done);
      else {
        bar.setTotal(total);
        bar.update(done);
      }
      // One redraw per record: the lines logged since the last one above the bar, then the bar.
      multi.update();
    },
    line(text) {
      multi.log(`${text}\n`);
    },
    stop() {
      multi.update();
      multi.stop();
    },
  };
}

/** What changed for a step between two records, as a line; undefined when its status did not change. */
function stepLine(step: Step, before: Step | undefined): string | undefined {
  if (before && before.status === step.status && before.attempts.length === step.attempts.length) return undefined;
  if (!before && step.status === 'pending') return undefined;
  const last = step.attempts[step.attempts.length - 1];
  const attempt = step.attempts.length > 1 ? ` attempt ${step.attempts.length}` : '';
  switch (step.status) {
    case 'running':
      return `step ${step.stepName}: running${attempt}`;
    case 'retrying': {
      const why = [last?.reason, last?.message].filter(Boolean).join(': ');
      return `step ${step.stepName}: retrying (attempt ${step.attempts.length} failed${why ? `: ${why}` : ''})`;
    }
    case 'succeeded':
      return `step ${step.stepName}: succeeded (${last?.exitCode !== undefined ? `exit ${last.exitCode}, ` : ''}${span(step.startedAt, step.finishedAt)})`;
    case 'failed':
    case 'cancelled': {
      const why = [step.reason, step.message].filter(Boolean).join(': ');
      return `step ${step.stepName}: ${step.status}${why ? ` (${why})` : ''}`;
    }
    default:
      return `step ${step.stepName}: ${step.status}`;
  }
}

export interface FollowOptions {
  /** No progress bar and no status lines. */
  quiet?: boolean;
}

/**
 * Follows run `runId` until it ends and returns its final record. Status changes go to `stderr`; Ctrl-C stops
 * following (the run goes on) with an error.
 */
export async function follow(p: Platform, runId: string, stderr: OutStream, o: FollowOptions = {}): Promise<Run> {
  const bar = o.quiet ? { update() {}, line() {}, stop() {} } : stepsBar(stderr, true, `run ${runId}`);
  const steps = new Map<string, Step>();
  let runStatus = '';
  const onRun = (run: Run): void => {
    for (const s of run.steps) {
      const line = stepLine(s, steps.get(s.stepName));
      steps.set(s.stepName, s);
      if (line) bar.line(line);
    }
    if (run.status !== runStatus && runEnded(run)) {
      bar.line(`run ${run.runId}: ${run.status} (${formatDuration(Date.parse(run.finishedAt || run.updatedAt) - Date.parse(run.startedAt || run.createdAt))})`);
    }
    runStatus = run.status;
    bar.update(run.steps.filter(stepEnded).length, run.steps.length);
  };
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort();
  process.once('SIGINT', onSigint);
  let last: Run | undefined;
  try {
    last = await watchRun(p, runId, onRun, interrupt.signal);
  } catch (err) {
    if (interrupt.signal.aborted) {
      throw new CliError('SERVER', `stopped following run ${runId}; it goes on (genome pipeline status ${runId} --watch follows it again, genome pipeline cancel ${runId} stops it)`, 'CANCELLED');
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    bar.stop();
  }
  // The stream closed without the run's end (a server draining): its record now says where it is.
  if (!last || !runEnded(last)) {
    last = await getRun(p, runId);
    if (!runEnded(last)) throw new CliError('UNREACHABLE', `the server stopped sending updates of run ${runId} before it ended (it is ${last.status}); follow it again with genome pipeline status ${runId} --watch`, 'UNAVAILABLE');
  }
  return last;
}
