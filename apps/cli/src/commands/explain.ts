/** `genome explain`: explains rows given on the command line, in a CSV file or in a KServe V1 JSON file. */
import { Command, Option } from 'commander';
import { explain } from '@genome/proto';
import { withConnection } from '../connection.js';
import { usageError } from '../errors.js';
import { explainRows } from '../explain/call.js';
import { tabularInput } from '../input/cells.js';
import { parseParams } from '../input/params.js';
import { readRows } from '../input/read-rows.js';
import { collect, intAtLeast, oneOf } from '../options.js';
import { explainCsv } from '../output/explain-csv.js';
import { explainJson } from '../output/explain-json.js';
import { explainTable } from '../output/explain-table.js';
import { progressBar } from '../progress.js';
import { examples, type CommandContext } from './command-context.js';

const OUTPUTS = ['table', 'json', 'csv'] as const;
type OutputFormat = (typeof OUTPUTS)[number];

export const DEFAULT_CHUNK_SIZE = 64;

interface ExplainFlags {
  model: string;
  method?: string;
  param?: string[];
  row?: string[];
  csv?: string;
  json?: string;
  output?: OutputFormat;
  topK?: number;
  chunkSize: number;
  quiet?: boolean;
  requestId?: string;
}

export function explainCommand(ctx: CommandContext): Command {
  return new Command('explain')
    .description(
      'explain rows with a model (Explain; ExplainStream with a progress bar when there are more rows than --chunk-size)',
    )
    .requiredOption('--model <name>', 'model name, as `genome models` lists it')
    .option('--method <method>', "method, e.g. tree_shap, kernel_shap, lime (default: the model's first method)")
    .option('--param <key=value>', 'method parameter (repeatable); values parse as JSON when they can, else strings', collect)
    .option('--row <v1,v2,...>', "one row, values in the model's feature order (repeatable); empty = missing", collect)
    .option('--csv <file>', 'CSV file: a header of feature names (any order), one row per line; empty cell = missing')
    .option('--json <file>', 'JSON file: [[...], ...], [{"feature": value, ...}, ...] or {"instances": [...]}')
    .addOption(new Option('--output <format>', 'table | json | csv (default: table on a terminal, else json)').argParser(oneOf(OUTPUTS)))
    .option('--top-k <k>', 'explain only the k highest outputs (classes) of the model', intAtLeast(1))
    .option('--chunk-size <n>', 'rows per call; more rows go through ExplainStream in chunks of this size', intAtLeast(1), DEFAULT_CHUNK_SIZE)
    .option('-q, --quiet', 'no progress bar')
    .option('--request-id <id>', 'request id, echoed in the server logs')
    .addHelpText(
      'after',
      `
Rows: cells that are numbers are sent as numbers, empty cells (and NaN) as missing, any other text as a category
name (then the row goes as Row.cells: the sidecar turns names into the codes of a model that carries its
category names, e.g. XGBoost >= 3.1 with enable_categorical, and says which categories it knows otherwise).

Outputs: table lists, per row, the features by |attribution| with the value sent; base value + the attributions =
the prediction. json prints one genome.explanation/v1 document per row (a JSON array). csv prints
row,output,base_value and one column per feature.
${examples([
  'genome explain --model california-housing-rf --row 8.3252,41,6.9841,1.0238,322,2.5556,37.88,-122.23',
  'genome explain --model california-housing-rf --csv houses.csv --output csv > attributions.csv',
  'genome explain --model california-housing-rf --json instances.json --method kernel_shap --param nsamples=512 --param seed=7',
  'genome explain --model iris --row 5.1,3.5,1.4,0.2 --top-k 1 --output json | jq \'.[0].values\'',
  'GENOME_ADDRESS=explainer:8081 genome explain --model m --csv big.csv --chunk-size 256 --output json > out.json',
])}`,
    )
    .action(async (flags: ExplainFlags, command: Command) => {
      // Everything local is checked before the first network call (usage errors exit 2 with nothing sent).
      const input = readRows(flags);
      const parameters = parseParams(flags.param ?? []);
      const method = flags.method?.trim();
      if (flags.method !== undefined && !method) throw usageError('--method is empty');
      const model = flags.model.trim();
      if (!model) throw usageError('--model is empty: give a model name (see genome models)');
      const output: OutputFormat = flags.output ?? (ctx.io.stdout.isTTY ? 'table' : 'json');
      const request: explain.ExplainRequest = {
        model: { name: model, version: '' },
        method: explain.Method.METHOD_UNSPECIFIED,
        methodName: method ?? '',
        parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
        tabular: tabularInput(input),
        text: undefined,
        image: undefined,
        outputs: flags.topK ? { indices: [], names: [], topK: flags.topK } : undefined,
        requestId: flags.requestId ?? '',
      };
      const progress = progressBar(ctx.io.stderr, !flags.quiet, `explaining ${input.source}`);
      const result = await withConnection(command, (conn) => explainRows(conn, { request, rows: input.rows.length, chunkSize: flags.chunkSize, progress }));
      ctx.io.stdout.write(output === 'json' ? explainJson(result) : output === 'csv' ? explainCsv(result) : explainTable(result, input));
    });
}
