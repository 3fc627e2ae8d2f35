/** `genome models`: ListModels — name, version, kind, features, outputs, methods and readiness of each model. */
import { Command } from 'commander';
import { explain } from '@genome/proto';
import { ExplainerClient } from '../clients.js';
import { withConnection } from '../connection.js';
import { unary } from '../rpc.js';
import { textTable } from '../output/text-table.js';
import { examples, type CommandContext } from './command-context.js';

/** A model as `genome models --json` prints it: every field present, lowerCamelCase like proto3 JSON. */
export function modelJson(m: explain.ModelInfo): Record<string, unknown> {
  return {
    name: m.name,
    version: m.version,
    kind: m.kind,
    format: m.format,
    featureNames: m.featureNames,
    outputNames: m.outputNames,
    outputSpace: m.outputSpace,
    methods: m.methods,
    ready: m.ready,
    description: m.description,
    source: m.source,
    sha256: m.sha256,
    inputShape: m.inputShape,
  };
}

export function modelsTable(models: explain.ModelInfo[]): string {
  if (models.length === 0) return 'no models\n';
  const rows = models.map((m) => [
    m.name,
    m.version,
    m.kind,
    m.featureNames.length > 0 ? m.featureNames.join(',') : m.inputShape.length > 0 ? `shape [${m.inputShape.join(',')}]` : '-',
    m.outputNames.length > 0 ? m.outputNames.join(',') : '-',
    m.methods.length > 0 ? m.methods.join(',') : '-',
    m.ready ? 'yes' : 'no',
  ]);
  const notes = models.filter((m) => !m.ready).map((m) => `${m.name}: ${m.description || 'not ready'}\n`);
  return `${textTable(rows, { head: ['NAME', 'VERSION', 'KIND', 'FEATURES', 'OUTPUTS', 'METHODS', 'READY'] })}\n${notes.join('')}`;
}

export function modelsCommand(ctx: CommandContext): Command {
  return new Command('models')
    .description('list the models the server explains (ListModels); the first method of each is its default')
    .option('--json', 'print a JSON array instead of a table')
    .addHelpText('after', examples(['genome models', 'genome models --json | jq -r \'.[] | select(.ready) | .name\'', 'genome --address explainer:8081 models']))
    .action(async (opts: { json?: boolean }, command: Command) => {
      const res = await withConnection(command, (conn) => {
        const client = conn.client(ExplainerClient);
        return unary<explain.ListModelsResponse>(conn, (md, o, cb) => client.listModels({}, md, o, cb));
      });
      ctx.io.stdout.write(opts.json ? `${JSON.stringify(res.models.map(modelJson), null, 2)}\n` : modelsTable(res.models));
    });
}
