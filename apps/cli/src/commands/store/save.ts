/** `genome store save`: a Genome package (directory or archive) as the next version of a model. */
import { Command } from 'commander';
import type { MetadataField, SaveOptions } from '@genome/model-store';
import { collect } from '../../options.js';
import { progressBar } from '../../progress.js';
import { json, savedLine } from '../../store/format.js';
import { collectMetric, collectTag } from '../../store/parse.js';
import { withStore } from '../../store/session.js';
import type { CommandContext } from '../command-context.js';
import { withJsonAndHelp } from './common.js';

/** The metadata flags (`--pipeline-run-id` → pipelineRunId): the library's metadata fields, and createdBy. */
type TextFlag = MetadataField | 'createdBy';

interface SaveFlags extends Partial<Record<TextFlag, string>> {
  name: string;
  tag?: Record<string, string>;
  metric?: Record<string, number>;
  alias?: string[];
  quiet?: boolean;
  json?: boolean;
}

const SAVE_HELP = `
Files are stored content-addressed: a file the store already holds (e.g. the same model.onnx in an earlier version) is
not stored again. A progress bar on stderr (only on a terminal, not with --quiet) counts the bytes stored.
`;

export function saveCommand(ctx: CommandContext): Command {
  const cmd = new Command('save')
    .description('save a Genome package (a directory, .tar.gz, .tar or .zip) as the next version of a model; prints the version')
    .argument('<package>', 'the package: a directory holding genome.json, or an archive of one')
    .requiredOption('--name <canonicalName>', 'the model (canonical name); each save gets the next version number')
    .option('--application <app>', 'the application the model serves')
    .option('--pipeline-name <name>', 'the pipeline that produced it')
    .option('--pipeline-run-id <id>', 'the pipeline run that produced it (lineage)')
    .option('--pipeline-stage <stage>', 'the pipeline step that produced it (lineage)')
    .option('--framework <framework>', "default: the manifest's framework")
    .option('--input-modality <modality>', "default: the manifest's input.modality")
    .option('--version-name <label>', 'a free label of the version ("2024-06 retrain"), not unique')
    .option('--description <text>', 'what this version is')
    .option('--created-by <who>', 'who saves it (for the record)')
    .option('--tag <key=value>', 'a tag (repeatable)', collectTag)
    .option('--metric <key=number>', 'a numeric metric, searchable by range (repeatable)', collectMetric)
    .option('--alias <alias>', 'point this alias at the new version, in the same atomic step (repeatable)', collect)
    .option('-q, --quiet', 'no progress bar');
  return withJsonAndHelp(cmd, SAVE_HELP, [
    'genome store save ./california-housing-rf --name housing --tag team=pricing --metric rmse=0.52 --alias staging',
    'genome store save model.tar.gz --name fraud --application payments --pipeline-run-id run-42 --json | jq .version',
  ])
    .action(async (source: string, flags: SaveFlags, command: Command) => {
      const version = await withStore(command, async ({ store, lib }) => {
        const textFlags: readonly TextFlag[] = [...lib.METADATA_FIELDS, 'createdBy'];
        const options: SaveOptions = {
          canonicalName: flags.name,
          ...Object.fromEntries(textFlags.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]])),
          ...(flags.tag ? { tags: flags.tag } : {}),
          ...(flags.metric ? { metrics: flags.metric } : {}),
          ...(flags.alias ? { aliases: flags.alias } : {}),
        };
        const { loadGenomePackage } = await import('@genome/model-format');
        const pkg = await loadGenomePackage(source);
        try {
          const bar = progressBar(ctx.io.stderr, !flags.quiet, `saving ${flags.name}`, { unit: 'bytes' });
          try {
            // The bar counts the bytes stored (a file the store holds already counts at once), of the package's bytes.
            return await store.saveModel(pkg, {
              ...options,
              onProgress: (p) => {
                if (p.phase === 'upload') bar.update(p.packageBytes, p.packageTotalBytes);
              },
            });
          } finally {
            bar.stop();
          }
        } finally {
          await pkg.close();
        }
      });
      ctx.io.stdout.write(flags.json ? json(version) : savedLine(version));
    });
}
