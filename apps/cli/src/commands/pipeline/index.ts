/**
 * `genome pipeline`: pipelines on the Genome platform server's sequencer (genome.sequencer.v1.Sequencer over gRPC):
 * run now and follow, schedule, list, status, logs, cancel, delete; and, with no server, run one step here or
 * export to Argo. @genome/sequencer (validation, the local executor, the Argo export) is loaded on first use.
 */
import { Command } from 'commander';
import { examples, type CommandContext } from '../command-context.js';
import { exportCommand } from './export.js';
import { runCommand } from './run.js';
import { cancelCommand, listCommand, logsCommand, statusCommand } from './runs.js';
import { createCommand, deleteCommand } from './schedule.js';

const PIPELINE_HELP = `
The platform server (genome-platform) runs the pipelines; these commands talk to its gRPC port:
  --address <host:port>    given on the command line; else GENOME_PLATFORM_ADDR; else 127.0.0.1:7070 (the platform
                           server's default gRPC port). GENOME_ADDRESS names the explainer sidecar and is not used here.
  --token <token>          GENOME_TOKEN: a bearer token with the scope pipelines:read (list, status, logs) or
                           pipelines:write (run, create, cancel, delete)
  --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name, --deadline-ms   as for every command (genome --help)
run --step and export work locally, with no server.

A pipeline file is the seed's JSON: pipelineName, canonicalName, application, optional schedule, and steps (a step,
or an array of steps that run in parallel; a step has stepName, stepType, parameters, datasets, image, timeout,
retry and, for the local executor, command). It is validated before anything is sent.

Exit codes:
  0  success (run --wait, status --watch: the run succeeded; run --step: the step's exit code, 0 when it succeeded)
  1  the run failed or was cancelled (run --wait, status --watch); the server refused: ALREADY_EXISTS (a taken run id
     or pipeline name), FAILED_PRECONDITION (cancelling a run that ended), UNAUTHENTICATED, PERMISSION_DENIED, ...
  2  usage error, or a pipeline file that is not JSON or not a valid pipeline (the field paths at fault are named;
     nothing was sent), or the server's INVALID_ARGUMENT
  3  the server could not be reached, or answered UNAVAILABLE
  4  no such run, step, attempt or scheduled pipeline (NOT_FOUND)
Errors are one line on stderr: "error: <CODE>: <message>".
${examples([
  'genome pipeline run examples/pipelines/sequential.json --wait',
  'genome pipeline run examples/pipelines/sequential.json --step train     # one step, here, no server',
  'genome pipeline list --runs --status failed',
  'genome pipeline status run-mf3k2x-1a2b3c4d',
  'genome pipeline logs run-mf3k2x-1a2b3c4d train --tail 50',
  'genome pipeline cancel run-mf3k2x-1a2b3c4d',
  'genome pipeline create examples/pipelines/scheduled.json && genome pipeline list',
  'genome pipeline export examples/pipelines/sequential.json --format argo -o workflow.yaml',
  'GENOME_PLATFORM_ADDR=platform.internal:7070 GENOME_TOKEN=$TOKEN genome pipeline list --runs',
])}`;

export function pipelineCommand(ctx: CommandContext): Command {
  const pipeline = new Command('pipeline').description(
    'pipelines on the platform server: run (--wait), create (schedule), list, status, logs, cancel, delete; run --step and export (Argo) locally',
  );
  for (const cmd of [
    runCommand(ctx),
    createCommand(ctx),
    listCommand(ctx),
    statusCommand(ctx),
    logsCommand(ctx),
    cancelCommand(ctx),
    deleteCommand(ctx),
    exportCommand(ctx),
  ]) {
    pipeline.addCommand(cmd);
  }
  return pipeline.addHelpText('after', PIPELINE_HELP);
}
