/** `genome pipeline run FILE`: a run on the platform server (optionally followed to its end), or one step run here. */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { usageError } from '../../errors.js';
import { EXIT, type ExitCode } from '../../exit-codes.js';
import { collect } from '../../options.js';
import { parseParams } from '../../input/params.js';
import { follow } from '../../pipeline/follow.js';
import { failureLine, json, runDetails, runJson } from '../../pipeline/format.js';
import { localOutcomeLine, runLocalStep } from '../../pipeline/local.js';
import { runPipeline, withPlatform } from '../../pipeline/platform.js';
import { readPipelineFile } from '../../pipeline/spec.js';
import type { CommandContext } from '../command-context.js';
import { withJsonAndHelp } from './common.js';

interface RunFlags {
  wait?: boolean;
  runId?: string;
  step?: string;
  param?: string[];
  storeDir?: string;
  storeMetadata?: string;
  storeBlobs?: string;
  quiet?: boolean;
  json?: boolean;
}

const RUN_HELP = `
Without --wait: prints the run id (--json: the run's first record) and returns; the run goes on on the server.
With --wait: follows the run (WatchRun): each step's status change on stderr, a progress bar of the steps on a
terminal, then the run's record on stdout (--json: as JSON). Exit 0 if the run succeeded, 1 if it failed or was
cancelled (the failing step, its reason and message on stderr).

With --step NAME: no server. The step runs here, as the sequencer's local executor runs it: its "command" (an argv,
no shell) in the current directory, with APPLICATION, PIPELINE_RUNID (local-... or --run-id), PIPELINE_NAME,
CANONICAL_NAME, STEP_NAME, STEP_TYPE, STEP_ATTEMPT=1, TRANSFORM_PARAMETERS (the step's parameters, --param overrides
merged over them) and GENOME_STORE_* when --store-* or those variables are set; PATH, HOME, LANG, TMPDIR, TZ, USER
from this shell, nothing else. One attempt (no retries), its timeout enforced. Its output streams to stdout; genome
exits with the step's exit code.

The file is validated before anything runs or is sent: a file that is not JSON, or not a valid pipeline, exits 2
naming each field path at fault (e.g. steps[1][0].timeout).
`;

export function runCommand(ctx: CommandContext): Command {
  const cmd = new Command('run')
    .description('run a pipeline now on the platform server (--wait: follow it to its end), or one of its steps here (--step)')
    .argument('<file>', "the pipeline: the seed's JSON (pipelineName, canonicalName, application, steps)")
    .option('--wait', 'follow the run to its end; exit 0 if it succeeded, 1 if it failed or was cancelled')
    .option('--run-id <id>', "the run's id (1-63 lowercase letters, digits, '-'); default: a fresh one. A taken id is refused (ALREADY_EXISTS), so a retried command never runs twice")
    .option('--step <name>', 'run only this step, here, with no server (exit code: the step\'s)')
    .option('--param <key=value>', 'with --step: override a parameter of the step (JSON value, else a string; repeatable)', collect)
    .addOption(new Option('--store-dir <dir>', 'with --step: the model store directory given to the step (GENOME_STORE_DIR)').env('GENOME_STORE_DIR'))
    .addOption(new Option('--store-metadata <url>', 'with --step: the model store metadata URL given to the step').env('GENOME_STORE_METADATA'))
    .addOption(new Option('--store-blobs <spec>', 'with --step: the model store blobs given to the step').env('GENOME_STORE_BLOBS'))
    .option('-q, --quiet', 'with --wait: no progress bar and no step lines on stderr');
  return withJsonAndHelp(cmd, RUN_HELP, [
    'genome pipeline run examples/pipelines/sequential.json',
    'genome pipeline run examples/pipelines/sequential.json --wait',
    'RUN=$(genome pipeline run pipeline.json) && genome pipeline status "$RUN" --watch',
    'genome pipeline run pipeline.json --wait --json | jq -r .status',
    'genome pipeline run pipeline.json --run-id nightly-2026-12-06 --address platform.internal:7070 --token "$TOKEN"',
    'genome pipeline run examples/pipelines/sequential.json --step train --param lambda=0.5',
  ], undefined, 'print the run record as JSON (the first one; with --wait the final one)')
    .action(async (file: string, flags: RunFlags, command: Command) => {
      if (flags.step !== undefined) {
        if (flags.wait) throw usageError('--wait follows a run on the server; --step runs one step here and waits for it anyway');
        if (flags.json) throw usageError('--json prints a run record; --step prints the step\'s own output');
        const pf = await readPipelineFile(file);
        const storeEnv: Record<string, string> = {};
        if (flags.storeDir?.trim()) storeEnv.GENOME_STORE_DIR = resolve(flags.storeDir.trim());
        if (flags.storeMetadata?.trim()) storeEnv.GENOME_STORE_METADATA = flags.storeMetadata.trim();
        if (flags.storeBlobs?.trim()) storeEnv.GENOME_STORE_BLOBS = flags.storeBlobs.trim();
        const r = await runLocalStep(
          pf.pipeline,
          { step: flags.step, ...(flags.runId !== undefined ? { runId: flags.runId } : {}), params: parseParams(flags.param ?? []), storeEnv },
          ctx.io,
        );
        ctx.io.stderr.write(localOutcomeLine(flags.step, r.runId, r));
        const code = r.outcome.status === 'succeeded' ? 0 : (r.outcome.exitCode ?? EXIT.SERVER);
        // The step's own exit code, whatever it is (it may be any of 1-255, not only the CLI's).
        ctx.exitCode = (code === 0 ? EXIT.OK : code) as ExitCode;
        return;
      }
      if (flags.param?.length) throw usageError('--param overrides a step\'s parameters for a local run: give it with --step NAME');
      // The server gives steps its own store; GENOME_STORE_* in this shell are for --step and are ignored here.
      const storeFlag = (['storeDir', 'storeMetadata', 'storeBlobs'] as const).find((k) => command.getOptionValueSource(k) === 'cli');
      if (storeFlag) throw usageError(`--${storeFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} gives a model store to a step run here: give it with --step NAME (the server gives steps its own store)`);
      const pf = await readPipelineFile(file);
      await withPlatform(command, async (p) => {
        const first = await runPipeline(p, { pipelineJson: pf.text, runId: flags.runId ?? '' });
        if (!flags.wait) {
          if (flags.json) ctx.io.stdout.write(json(runJson(first)));
          else {
            ctx.io.stdout.write(`${first.runId}\n`);
            ctx.io.stderr.write(`started run ${first.runId} of ${first.pipelineName}; follow it: genome pipeline status ${first.runId} --watch\n`);
          }
          return;
        }
        const last = await follow(p, first.runId, ctx.io.stderr, { quiet: flags.quiet === true });
        ctx.io.stdout.write(flags.json ? json(runJson(last)) : runDetails(last));
        if (last.status !== 'succeeded') {
          ctx.io.stderr.write(`error: ${failureLine(last)}\n`);
          ctx.exitCode = EXIT.SERVER;
        }
      });
    });
}
