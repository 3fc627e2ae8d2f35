/** `genome pipeline status | list | logs | cancel`: the runs on the platform server. */
import { Command, InvalidArgumentError } from 'commander';
import { usageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { intAtLeast } from '../../options.js';
import { follow } from '../../pipeline/follow.js';
import { failureLine, json, pipelinesTable, runDetails, runJson, runsTable, scheduledJson } from '../../pipeline/format.js';
import { cancelRun, getRun, getStepLogs, listPipelines, listRuns, withPlatform, type Run } from '../../pipeline/platform.js';
import { moreHint } from '../../store/paging.js';
import type { CommandContext } from '../command-context.js';
import { withJsonAndHelp } from './common.js';

export function statusCommand(ctx: CommandContext): Command {
  const cmd = new Command('status')
    .description("a run's record: its status and a table of its steps (status, attempts, exit code, reason, started, duration)")
    .argument('<run-id>', 'the run (as `genome pipeline run` printed it)')
    .option('--watch', 'follow the run to its end, as run --wait does (exit 0 if it succeeded, 1 if it failed or was cancelled)')
    .option('-q, --quiet', 'with --watch: no progress bar and no step lines on stderr');
  return withJsonAndHelp(
    cmd,
    '\nWithout --watch the exit code is 0 whatever the run\'s status (read it from the output); 4 for an unknown run.\n',
    ['genome pipeline status run-mf3k2x-1a2b3c4d', 'genome pipeline status run-mf3k2x-1a2b3c4d --watch', "genome pipeline status run-mf3k2x-1a2b3c4d --json | jq -r '.steps[] | \"\\(.stepName) \\(.status)\"'"],
    undefined,
    'print the run record as JSON',
  ).action(async (runId: string, flags: { watch?: boolean; quiet?: boolean; json?: boolean }, command: Command) => {
    await withPlatform(command, async (p) => {
      const run = flags.watch ? await follow(p, runId, ctx.io.stderr, { quiet: flags.quiet === true }) : await getRun(p, runId);
      ctx.io.stdout.write(flags.json ? json(runJson(run)) : runDetails(run));
      if (flags.watch && run.status !== 'succeeded') {
        ctx.io.stderr.write(`error: ${failureLine(run)}\n`);
        ctx.exitCode = EXIT.SERVER;
      }
    });
  });
}

const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/** `--status running,failed` (comma-separated, repeatable). */
function collectStatus(value: string, previous: string[] | undefined): string[] {
  const out = [...(previous ?? [])];
  for (const s of value.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) throw new InvalidArgumentError(`"${s}" is not a run status: expected ${RUN_STATUSES.join(', ')}`);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

interface ListFlags {
  runs?: boolean;
  pipeline?: string;
  status?: string[];
  limit?: number;
  pageToken?: string;
  all?: boolean;
  json?: boolean;
}

const LIST_HELP = `
Without --runs: the scheduled pipelines (name, schedule, next run, last run, scheduled times skipped).
With --runs: runs, newest first (id, pipeline, status, trigger, created, duration, failing step), one page of
--limit runs (default 50, at most 1000); "more results: add --page-token ..." on stderr when more follow; --all
follows the pages to the end.
--json prints {"pipelines": [...]} or {"runs": [...]} (with "nextPageToken" when more pages follow).
`;

export function listCommand(ctx: CommandContext): Command {
  const cmd = new Command('list')
    .alias('ls')
    .description('list the scheduled pipelines, or the runs (--runs)')
    .option('--runs', 'list runs instead of scheduled pipelines')
    .option('--pipeline <name>', 'with --runs: only runs of this pipeline')
    .option('--status <statuses>', `with --runs: only runs in these states (comma-separated or repeated: ${RUN_STATUSES.join(', ')})`, collectStatus)
    .option('--limit <n>', 'with --runs: runs per page, 1 to 1000 (default 50)', intAtLeast(1))
    .option('--page-token <token>', 'with --runs: continue after a previous page (the token it printed)')
    .option('--all', 'with --runs: follow the pages to the end');
  return withJsonAndHelp(cmd, LIST_HELP, [
    'genome pipeline list',
    'genome pipeline list --runs',
    'genome pipeline list --runs --pipeline housing-sequential --status running,failed',
    "genome pipeline list --runs --all --json | jq -r '.runs[] | select(.status == \"failed\") | .runId'",
  ]).action(async (flags: ListFlags, command: Command) => {
    if (!flags.runs) {
      const runOnly = (['pipeline', 'status', 'limit', 'pageToken', 'all'] as const).filter((k) => flags[k] !== undefined);
      if (runOnly.length) throw usageError(`--${runOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} filters runs: add --runs`);
    }
    if (flags.limit !== undefined && flags.limit > 1000) throw usageError('--limit: at most 1000 runs per page');
    await withPlatform(command, async (p) => {
      if (!flags.runs) {
        const { pipelines } = await listPipelines(p);
        ctx.io.stdout.write(flags.json ? json({ pipelines: pipelines.map(scheduledJson) }) : pipelinesTable(pipelines));
        return;
      }
      const runs: Run[] = [];
      let token = flags.pageToken ?? '';
      for (;;) {
        const page = await listRuns(p, { pipelineName: flags.pipeline ?? '', status: flags.status ?? [], pageSize: flags.limit ?? 0, pageToken: token });
        runs.push(...page.runs);
        token = page.nextPageToken;
        if (!token || !flags.all) break;
      }
      if (flags.json) {
        ctx.io.stdout.write(json({ runs: runs.map(runJson), ...(token ? { nextPageToken: token } : {}) }));
        return;
      }
      ctx.io.stdout.write(runsTable(runs));
      if (token) ctx.io.stderr.write(moreHint(token));
    });
  });
}

export function logsCommand(ctx: CommandContext): Command {
  const cmd = new Command('logs')
    .description("print the log of a step's attempt (its latest by default)")
    .argument('<run-id>', 'the run')
    .argument('<step>', 'the step name')
    .option('--attempt <n>', 'this attempt (1 = the first; default the latest)', intAtLeast(1))
    .option('--tail <n>', 'only the last n lines', intAtLeast(1));
  return withJsonAndHelp(
    cmd,
    '\n--json prints {"runId", "stepName", "attempt", "text"}. A run, step or attempt that does not exist exits 4.\n',
    ['genome pipeline logs run-mf3k2x-1a2b3c4d train', 'genome pipeline logs run-mf3k2x-1a2b3c4d train --attempt 1 --tail 20'],
  ).action(async (runId: string, step: string, flags: { attempt?: number; tail?: number; json?: boolean }, command: Command) => {
    const logs = await withPlatform(command, (p) => getStepLogs(p, { runId, stepName: step, attempt: flags.attempt ?? 0, tailLines: flags.tail ?? 0 }));
    ctx.io.stdout.write(flags.json ? json({ runId: logs.runId, stepName: logs.stepName, attempt: logs.attempt, text: logs.text }) : logs.text);
  });
}

export function cancelCommand(ctx: CommandContext): Command {
  const cmd = new Command('cancel')
    .description('cancel a run: its running steps are stopped, the pending ones skipped; prints its final status')
    .argument('<run-id>', 'the run')
    .option('--message <text>', 'recorded as the run\'s message (default "cancelled on request")');
  return withJsonAndHelp(
    cmd,
    '\nA run that already ended is refused (exit 1, FAILED_PRECONDITION); an unknown run exits 4.\n',
    ['genome pipeline cancel run-mf3k2x-1a2b3c4d', 'genome pipeline cancel run-mf3k2x-1a2b3c4d --message "wrong data" --json'],
    undefined,
    'print the final run record as JSON',
  ).action(async (runId: string, flags: { message?: string; json?: boolean }, command: Command) => {
    const run = await withPlatform(command, (p) => cancelRun(p, { runId, message: flags.message ?? '' }));
    ctx.io.stdout.write(flags.json ? json(runJson(run)) : `run ${run.runId}: ${run.status}${run.message ? ` (${run.message})` : ''}\n`);
  });
}
