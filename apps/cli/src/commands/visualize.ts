/**
 * `genome visualize`: a picture of an explanation or of a model (Visualize): explain rows and plot them in one call,
 * plot an explanation saved by `genome explain --output json`, or draw a model's internals (coefficients, one tree
 * with a row's path, an ensemble summary). Writes SVG, PNG or HTML to a file or stdout.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { explain } from '@genome/proto';
import { ExplainerClient } from '../clients.js';
import { withConnection } from '../connection.js';
import { usageError } from '../errors.js';
import { tabularInput, toRow, type RowsInput } from '../input/cells.js';
import { parseParams } from '../input/params.js';
import { readText } from '../input/read-file.js';
import { readRows } from '../input/read-rows.js';
import { collect, oneOf } from '../options.js';
import { unary } from '../rpc.js';
import { examples, type CommandContext } from './command-context.js';

const FORMATS = ['svg', 'png', 'html'] as const;
const OUTPUTS = ['picture', 'json'] as const;
const MODEL_CHARTS = ['coefficients', 'tree', 'ensemble'];
const KINDS =
  'waterfall, force, force_stacked, beeswarm, bar, dependence, decision (SHAP); cam_overlay, cam_panels (Grad-CAM); lime_text, lime_bar, anchor_rule (LIME, Anchors); coefficients, tree, ensemble (model internals)';

interface VisualizeFlags {
  model: string;
  kind?: string;
  format: (typeof FORMATS)[number];
  option?: string[];
  method?: string;
  param?: string[];
  row?: string[];
  csv?: string;
  json?: string;
  explanation?: string;
  image?: string;
  out?: string;
  output: (typeof OUTPUTS)[number];
}

/** An explanation file: one genome.explanation/v1 document, or the JSON array `genome explain --output json` prints (rows joined). */
export function explanationFromFile(file: string): string {
  const text = readText(file, '--explanation');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`--explanation ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) return text;
  if (doc.length === 0) throw usageError(`--explanation ${file} holds an empty array`);
  const docs = doc as Record<string, unknown[] | unknown>[];
  const joined: Record<string, unknown> = { ...docs[0] };
  for (const key of ['values', 'baseValues', 'predictions', 'data', 'interactions']) {
    if (Array.isArray(docs[0]![key])) joined[key] = docs.flatMap((d) => (Array.isArray(d[key]) ? (d[key] as unknown[]) : []));
  }
  return JSON.stringify(joined);
}

/** `row` in the model's feature order, from a source whose columns are named. */
function inModelOrder(input: RowsInput, featureNames: readonly string[]): RowsInput {
  const names = input.featureNames;
  if (!names) return input;
  const missing = featureNames.filter((n) => !names.includes(n));
  if (missing.length) throw usageError(`${input.source} has no column for feature(s) ${missing.slice(0, 5).join(', ')} of the model`);
  return { ...input, featureNames: undefined, rows: input.rows.map((r) => featureNames.map((n) => r[names.indexOf(n)] ?? null)) };
}

export function visualizeCommand(ctx: CommandContext): Command {
  return new Command('visualize')
    .description('draw an explanation or a model as SVG, PNG or HTML (Visualize): explain and plot rows, plot a saved explanation, or draw model internals')
    .requiredOption('--model <name>', 'model name, as `genome models` lists it')
    .option('--kind <kind>', `chart: ${KINDS} (default: waterfall for one row, beeswarm for several, the method's own chart otherwise)`)
    .addOption(new Option('--format <format>', 'svg | png | html').argParser(oneOf(FORMATS)).default('svg'))
    .option('--option <key=value>', 'chart option (repeatable), e.g. row=2, max_display=15, feature=MedInc, tree=3, max_depth=4, scale=2', collect)
    .option('--method <method>', 'explain with this method (explain and plot)')
    .option('--param <key=value>', 'method parameter (repeatable), as in genome explain', collect)
    .option('--row <v1,v2,...>', "a row to explain (repeatable), values in the model's feature order; for --kind tree: the row whose path is highlighted", collect)
    .option('--csv <file>', 'CSV file of rows (header of feature names)')
    .option('--json <file>', 'JSON file of rows, as in genome explain')
    .option('--image <file>', 'PNG or JPEG image to explain and plot (image models)')
    .option('--explanation <file>', 'plot this explanation (a genome.explanation/v1 document, or the array `genome explain --output json` prints) instead of explaining')
    .option('--out <file>', 'write the picture here (default: stdout; a PNG is not written to a terminal)')
    .addOption(new Option('--output <kind>', 'picture: the picture itself; json: {kind, contentType, width, height, content, explanation}').argParser(oneOf(OUTPUTS)).default('picture'))
    .addHelpText(
      'after',
      `
Sources: --explanation plots a saved explanation; --row/--csv/--json/--image explain first and plot the result (the
server runs Explain with the same limits); --kind coefficients|tree|ensemble draws the model itself (with --row for
the path one row takes through the tree). Options are checked by the server, which names the ones a chart takes.
${examples([
  'genome visualize --model california-housing-rf --row 8.3252,41,6.9841,1.0238,322,2.5556,37.88,-122.23 --out waterfall.svg',
  'genome visualize --model california-housing-rf --csv houses.csv --kind beeswarm --format png --option scale=2 --out beeswarm.png',
  'genome explain --model m --csv rows.csv --output json > e.json && genome visualize --model m --explanation e.json --kind dependence --option feature=MedInc --out dep.svg',
  'genome visualize --model california-housing-rf --kind tree --option tree=3 --row 8.3252,41,6.9841,1.0238,322,2.5556,37.88,-122.23 --out tree.svg',
  'genome visualize --model cnn --image cat.png --kind cam_overlay --format png --out cam.png',
])}`,
    )
    .action(async (flags: VisualizeFlags, command: Command) => {
      const model = flags.model.trim();
      if (!model) throw usageError('--model is empty: give a model name (see genome models)');
      const kind = (flags.kind ?? '').trim().toLowerCase();
      const options = parseParams(flags.option ?? []);
      const hasRows = Boolean(flags.row?.length || flags.csv !== undefined || flags.json !== undefined);
      const isModelChart = MODEL_CHARTS.includes(kind);
      const sources = [flags.explanation !== undefined, flags.image !== undefined, hasRows && !isModelChart].filter(Boolean).length;
      if (sources > 1) throw usageError('give one of --explanation, --image or rows (--row/--csv/--json)');
      if (!isModelChart && sources === 0) throw usageError(`nothing to draw: give rows (--row, --csv, --json), --image or --explanation, or --kind ${MODEL_CHARTS.join('|')} for the model itself`);
      if (isModelChart && (flags.explanation !== undefined || flags.image !== undefined)) throw usageError(`--kind ${kind} draws the model: drop --explanation/--image (a --row highlights a tree path)`);
      if (flags.format === 'png' && flags.out === undefined && flags.output === 'picture' && ctx.io.stdout.isTTY) {
        throw usageError('a PNG is not written to a terminal: add --out FILE, or redirect stdout');
      }
      const rows = hasRows ? readRows(flags) : undefined;
      const explanationJson = flags.explanation !== undefined ? explanationFromFile(flags.explanation) : '';
      const image = flags.image !== undefined ? readImage(flags.image) : undefined;
      const parameters = parseParams(flags.param ?? []);

      const res = await withConnection(command, async (conn) => {
        const client = conn.client(ExplainerClient);
        let row: explain.Row | undefined;
        if (isModelChart && rows) {
          const d = await unary<explain.DescribeModelResponse>(conn, (md, o, cb) => client.describeModel({ model: { name: model, version: '' } }, md, o, cb));
          const ordered = inModelOrder(rows, d.model?.featureNames ?? []);
          row = toRow(ordered.rows[0]!);
        }
        const explainRequest: explain.ExplainRequest | undefined =
          !isModelChart && !explanationJson
            ? {
                model: { name: model, version: '' },
                method: explain.Method.METHOD_UNSPECIFIED,
                methodName: flags.method?.trim() ?? '',
                parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
                tabular: rows ? tabularInput(rows) : undefined,
                text: undefined,
                image: image ? { encoded: Buffer.from(image), tensor: undefined, layout: '' } : undefined,
                outputs: undefined,
                requestId: '',
              }
            : undefined;
        const request: explain.VisualizeRequest = {
          explanationJson,
          kind,
          format: flags.format,
          options: Object.keys(options).length > 0 ? options : undefined,
          explain: explainRequest,
          // A saved explanation is still checked against the model: the caller must be allowed to use it.
          model: isModelChart || explanationJson ? { name: model, version: '' } : undefined,
          row,
        };
        return unary<explain.VisualizeResponse>(conn, (md, o, cb) => client.visualize(request, md, o, cb));
      });
      const content = Buffer.from(res.content);
      if (flags.output === 'json') {
        const isText = res.contentType !== 'image/png';
        ctx.io.stdout.write(
          `${JSON.stringify({
            kind: res.kind,
            contentType: res.contentType,
            width: res.width,
            height: res.height,
            ...(flags.out !== undefined ? { file: flags.out } : { content: isText ? content.toString('utf8') : content.toString('base64') }),
            ...(res.explanationJson ? { explanation: JSON.parse(res.explanationJson) as unknown } : {}),
          })}\n`,
        );
      }
      if (flags.out !== undefined) {
        try {
          writeFileSync(flags.out, content);
        } catch (err) {
          throw usageError(`cannot write --out ${flags.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        if (flags.output === 'picture') ctx.io.stderr.write(`wrote ${res.kind} (${res.contentType}, ${res.width}x${res.height}) to ${flags.out}\n`);
      } else if (flags.output === 'picture') {
        ctx.io.stdout.write(res.contentType === 'image/png' ? (content as unknown as string) : content.toString('utf8'));
      }
    });
}

function readImage(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw usageError(`cannot read --image ${file}: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`);
  }
}
