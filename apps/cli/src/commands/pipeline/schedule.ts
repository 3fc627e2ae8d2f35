/** `genome pipeline create | delete`: scheduled pipelines on the platform server. */
import { Command } from 'commander';
import { usageError } from '../../errors.js';
import { intAtLeast, oneOf } from '../../options.js';
import { json, scheduledJson } from '../../pipeline/format.js';
import { createPipeline, deletePipeline, withPlatform } from '../../pipeline/platform.js';
import { readPipelineFile } from '../../pipeline/spec.js';
import { shortTime } from '../../store/format.js';
import type { CommandContext } from '../command-context.js';
import { withJsonAndHelp } from './common.js';

interface CreateFlags {
  timezone?: string;
  overlap?: 'forbid' | 'allow';
  maxMissedRuns?: number;
  json?: boolean;
}

const CREATE_HELP = `
The pipeline's "schedule" is a duration ("6h", "90m": the first run one period after now) or a cron expression
("0 3 * * *", "@daily"; in --timezone). Prints the next run time; --json the scheduled pipeline's record.
A name that is taken is refused (exit 1, ALREADY_EXISTS): genome pipeline delete NAME first.
`;

export function createCommand(ctx: CommandContext): Command {
  const cmd = new Command('create')
    .description('schedule a pipeline (its "schedule": a duration or a cron expression) on the platform server')
    .argument('<file>', "the pipeline: the seed's JSON, with a schedule")
    .option('--timezone <tz>', 'IANA timezone of a cron schedule, e.g. Europe/Paris (default UTC)')
    .option('--overlap <policy>', 'forbid (default): no run starts while one of this pipeline is active; allow', oneOf(['forbid', 'allow'] as const))
    .option('--max-missed-runs <n>', 'scheduled times missed during downtime that may start runs at once (1 to 100, default 1)', intAtLeast(1));
  return withJsonAndHelp(cmd, CREATE_HELP, [
    'genome pipeline create examples/pipelines/scheduled.json',
    'genome pipeline create nightly.json --timezone Europe/Paris --overlap forbid --max-missed-runs 3',
  ]).action(async (file: string, flags: CreateFlags, command: Command) => {
    if (flags.maxMissedRuns !== undefined && flags.maxMissedRuns > 100) throw usageError('--max-missed-runs: at most 100');
    const pf = await readPipelineFile(file);
    if (pf.pipeline.schedule === undefined) throw usageError(`${file}: schedule: is required to create a scheduled pipeline (a duration like "6h" or a cron expression); to run it once: genome pipeline run ${file}`);
    const p = await withPlatform(command, (pl) =>
      createPipeline(pl, { pipelineJson: pf.text, timezone: flags.timezone ?? '', overlap: flags.overlap ?? '', maxMissedRuns: flags.maxMissedRuns ?? 0 }),
    );
    ctx.io.stdout.write(
      flags.json
        ? json(scheduledJson(p))
        : `created scheduled pipeline ${p.pipelineName} (schedule ${p.schedule}${p.timezone ? ` in ${p.timezone}` : ''}); next run at ${shortTime(p.nextRunAt || undefined)}\n`,
    );
  });
}

export function deleteCommand(ctx: CommandContext): Command {
  const cmd = new Command('delete')
    .alias('rm')
    .description('delete a scheduled pipeline: no more runs start (its runs and their records stay)')
    .argument('<name>', 'the scheduled pipeline (its pipelineName)');
  return withJsonAndHelp(cmd, '\nAn unknown name exits 4.\n', ['genome pipeline delete housing-nightly']).action(
    async (name: string, flags: { json?: boolean }, command: Command) => {
      const p = await withPlatform(command, (pl) => deletePipeline(pl, name));
      ctx.io.stdout.write(flags.json ? json(scheduledJson(p)) : `deleted scheduled pipeline ${p.pipelineName} (its runs stay)\n`);
    },
  );
}
