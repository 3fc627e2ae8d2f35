/** `genome pipeline export FILE --format argo`: the pipeline as an Argo Workflow or CronWorkflow (local, no server). */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command, Option } from 'commander';
import { usageError } from '../../errors.js';
import { oneOf } from '../../options.js';
import { json } from '../../pipeline/format.js';
import { loadSequencer, readPipelineFile, sequencerError } from '../../pipeline/spec.js';
import type { CommandContext } from '../command-context.js';
import { LOCAL_FOOTER, withJsonAndHelp } from './common.js';

interface ExportFlags {
  format: 'argo';
  image?: string;
  namespace?: string;
  serviceAccount?: string;
  timezone?: string;
  overlap?: 'forbid' | 'allow';
  output?: string;
  json?: boolean;
}

const EXPORT_HELP = `
No server: the file is validated and rendered here. A pipeline without a schedule becomes an Argo Workflow
(metadata.generateName), one with a schedule a CronWorkflow ("6h" becomes "@every 21600s", a cron expression stays,
concurrencyPolicy Forbid unless --overlap allow). Steps and parallel groups become one steps template; each step a
container template with its image (or --image), command, the step environment (PIPELINE_RUNID = the workflow's name),
timeout and retryStrategy. Argo runs containers: a step without "image" needs --image.
YAML by default; JSON with --json or an -o file ending in .json. Submit it with: argo submit FILE (or kubectl create -f FILE).
`;

export function exportCommand(ctx: CommandContext): Command {
  const cmd = new Command('export')
    .description('render a pipeline as an Argo Workflow (or CronWorkflow, when it has a schedule), locally')
    .argument('<file>', "the pipeline: the seed's JSON")
    .addOption(new Option('--format <format>', 'what to render: argo').argParser(oneOf(['argo'] as const)).default('argo'))
    .option('--image <image>', 'image of the steps that have none')
    .option('--namespace <ns>', 'Kubernetes namespace of the resource')
    .option('--service-account <name>', 'service account the step pods run as')
    .option('--timezone <tz>', 'IANA timezone of a cron schedule (default UTC)')
    .option('--overlap <policy>', 'scheduled runs: forbid (default) or allow overlapping runs', oneOf(['forbid', 'allow'] as const))
    .option('-o, --output <file>', 'write to this file instead of stdout (.json: JSON, else YAML)');
  return withJsonAndHelp(
    cmd,
    EXPORT_HELP,
    [
      'genome pipeline export examples/pipelines/sequential.json --format argo > workflow.yaml',
      'genome pipeline export examples/pipelines/scheduled.json --format argo --namespace ml --service-account genome-steps -o cron.yaml',
      'genome pipeline export pipeline.json --format argo --image ghcr.io/acme/steps:1 --json | jq .spec.templates[0]',
    ],
    LOCAL_FOOTER,
    'print JSON instead of YAML',
  ).action(async (file: string, flags: ExportFlags) => {
    const pf = await readPipelineFile(file);
    const { toArgo } = await loadSequencer();
    let doc: Record<string, unknown>;
    try {
      doc = toArgo(pf.pipeline, {
        ...(flags.image !== undefined ? { defaultImage: flags.image } : {}),
        ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
        ...(flags.serviceAccount !== undefined ? { serviceAccountName: flags.serviceAccount } : {}),
        ...(flags.timezone !== undefined ? { timezone: flags.timezone } : {}),
        ...(flags.overlap !== undefined ? { overlap: flags.overlap } : {}),
      });
    } catch (err) {
      throw sequencerError(err, `cannot export ${file}`);
    }
    const asJson = flags.json === true || (flags.output !== undefined && extname(flags.output).toLowerCase() === '.json');
    const text = asJson ? json(doc) : (await import('yaml')).stringify(doc, { lineWidth: 0 });
    if (flags.output === undefined) {
      ctx.io.stdout.write(text);
      return;
    }
    try {
      await writeFile(flags.output, text);
    } catch (err) {
      throw usageError(`cannot write ${flags.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    ctx.io.stderr.write(`wrote ${String(doc.kind)} ${flags.output}\n`);
  });
}
