// `genome explain` end to end against a real sidecar serving the example California housing package.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { additivityError, exits, STACK, type Doc } from './helpers/assertions.js';
import { genome } from './helpers/genome.js';
import { closedPort } from './helpers/ports.js';
import { FEATURES, HOUSING, ROWS, housingSidecar } from './helpers/sidecar.js';

const rowFlag = (r: readonly (number | string)[]) => ['--row', r.join(',')];
const values = (docs: Doc[]) => docs.map((d) => d.values);

/** 300 rows: the sample rows with deterministic changes. */
function manyRows(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const base = ROWS[i % ROWS.length]!;
    return base.map((v, f) => (f >= 6 ? v + ((i % 7) - 3) * 0.01 : +(v * (1 + ((i * (f + 3)) % 23) / 40)).toFixed(4)));
  });
}

t.test('explain', async (t) => {
  const s = await housingSidecar();
  t.teardown(() => s.close(100));
  const dir = mkdtempSync(join(tmpdir(), 'genome-cli-explain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const cli = (...args: string[]) => genome(['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', HOUSING, ...args]);
  const rpcCount = async (rpc: string) =>
    (await s.metrics.requests.get()).values.filter((v) => v.labels.rpc === rpc && v.labels.status === 'OK').reduce((a, v) => a + v.value, 0);

  // The reference: the first two rows through --row, as JSON.
  const ref = await cli(...rowFlag(ROWS[0]!), ...rowFlag(ROWS[1]!), '--output', 'json');
  exits(t, ref, 0, 'reference call');
  const refDocs = JSON.parse(ref.stdout) as Doc[];

  t.test('--row, json: one genome.explanation/v1 document per row; base + sum = prediction', async (t) => {
    t.equal(refDocs.length, 2);
    for (const [i, d] of refDocs.entries()) {
      t.equal(d.schema, 'genome.explanation/v1');
      t.match(d.method, /^tree_shap/);
      t.same(d.featureNames, FEATURES);
      t.same(d.outputNames, ['MedHouseVal']);
      t.equal(d.values.length, 1, 'values cut to the row');
      t.equal(d.values[0]!.length, 8);
      t.same(d.data, [ROWS[i]], 'the row that was sent');
      t.ok(d.predictions![0]![0]! > 0, 'a prediction');
    }
    t.ok(additivityError(refDocs) < 1e-9, `base + sum(values) = prediction (${additivityError(refDocs)})`);
    t.equal(ref.stderr, '', 'nothing on stderr');
  });

  t.test('json is the default when stdout is not a terminal', async (t) => {
    const r = await cli(...rowFlag(ROWS[0]!));
    exits(t, r, 0);
    t.same(values(JSON.parse(r.stdout) as Doc[]), values(refDocs.slice(0, 1)));
  });

  t.test('--row, table: features by |attribution| with the values sent; base + sum = prediction', async (t) => {
    const r = await cli(...rowFlag(ROWS[0]!), ...rowFlag(ROWS[1]!), '--output', 'table');
    exits(t, r, 0);
    t.match(r.stdout, new RegExp(`^model ${HOUSING} 1\\.0\\.0 · method tree_shap\\S* · output space regression\\n`));
    const blocks = r.stdout.split('\n\n').slice(1);
    t.equal(blocks.length, 2, 'one block per row');
    for (const [i, block] of blocks.entries()) {
      const lines = block.trimEnd().split('\n');
      const head = /^row (\d+): prediction (\S+) = base value (\S+) ([+-]) (\S+)$/.exec(lines[0]!);
      t.ok(head, `block header: ${lines[0]}`);
      t.equal(Number(head![1]), i);
      const [prediction, base, sign, sum] = [Number(head![2]), Number(head![3]), head![4], Number(head![5])];
      t.ok(Math.abs(base + (sign === '-' ? -sum : sum) - prediction) < 1e-4, 'base + sum = prediction (as printed)');
      t.ok(Math.abs(prediction - refDocs[i]!.predictions![0]![0]!) < 1e-4, 'the prediction of the JSON output');
      t.match(lines[1], /^\s+feature\s+value\s+attribution$/);
      const rows = lines.slice(2).map((l) => l.trim().split(/\s+/));
      t.same(rows.map((x) => x[0]).sort(), [...FEATURES].sort(), 'every feature listed once');
      const attrs = rows.map((x) => Number(x[2]));
      t.ok(attrs.every((a, k) => k === 0 || Math.abs(attrs[k - 1]!) >= Math.abs(a)), 'sorted by |attribution|');
      for (const x of rows) {
        const f = FEATURES.indexOf(x[0]!);
        t.equal(Number(x[1]), ROWS[i]![f], `${x[0]}: the value sent`);
        t.ok(Math.abs(Number(x[2]) - refDocs[i]!.values[0]![f]![0]!) < 1e-4 * Math.max(1, Math.abs(Number(x[2]))), `${x[0]}: its attribution`);
      }
    }
  });

  t.test('--csv with columns in another order and an empty cell (missing)', async (t) => {
    const order = [...FEATURES].reverse();
    const withMissing = [...ROWS[1]!];
    const csv = file(
      'reordered.csv',
      `${order.join(',')}\n${order.map((f) => ROWS[0]![FEATURES.indexOf(f)]).join(',')}\n${order.map((f) => (f === 'Population' ? '' : withMissing[FEATURES.indexOf(f)])).join(',')}\n`,
    );
    const r = await cli('--csv', csv, '--output', 'json');
    exits(t, r, 0);
    const docs = JSON.parse(r.stdout) as Doc[];
    t.same(docs[0]!.featureNames, FEATURES, 'answered in the model order');
    t.same(docs[0]!.values, refDocs[0]!.values, 'row 0 as with --row in model order');
    const sent = [...ROWS[1]!] as (number | null)[];
    sent[FEATURES.indexOf('Population')] = null;
    t.same(docs[1]!.data, [sent], 'the empty cell arrived as missing');
    const m = await cli(...rowFlag(sent.map((v) => v ?? '')), '--output', 'json');
    exits(t, m, 0, 'same row through --row with an empty value');
    t.same(docs[1]!.values, (JSON.parse(m.stdout) as Doc[])[0]!.values, 'same attributions as --row with the empty value');
    t.ok(additivityError(docs) < 1e-9);
  });

  t.test('--json with KServe V1 instances: objects (any key order) and arrays', async (t) => {
    const objects = ROWS.slice(0, 2).map((row) => Object.fromEntries([...FEATURES].reverse().map((f) => [f, row[FEATURES.indexOf(f)]])));
    const r = await cli('--json', file('instances.json', JSON.stringify({ instances: objects })), '--output', 'json');
    exits(t, r, 0, 'objects');
    t.same(values(JSON.parse(r.stdout) as Doc[]), values(refDocs));
    const a = await cli('--json', file('arrays.json', JSON.stringify(ROWS.slice(0, 2))), '--output', 'json');
    exits(t, a, 0, 'bare array of arrays');
    t.same(values(JSON.parse(a.stdout) as Doc[]), values(refDocs));
  });

  t.test('--output csv: row, output, base value, one column per feature', async (t) => {
    const r = await cli(...rowFlag(ROWS[0]!), ...rowFlag(ROWS[1]!), '--output', 'csv');
    exits(t, r, 0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => l.split(','));
    t.same(lines[0], ['row', 'output', 'base_value', ...FEATURES]);
    t.equal(lines.length, 3);
    for (const [i, l] of lines.slice(1).entries()) {
      t.equal(l[0], String(i));
      t.equal(l[1], 'MedHouseVal');
      t.equal(Number(l[2]), refDocs[i]!.baseValues[0]![0], 'base value, full precision');
      t.same(l.slice(3).map(Number), refDocs[i]!.values[0]!.map((f) => f[0]), 'attributions, full precision');
    }
  });

  t.test('many rows: ExplainStream in chunks, same values as one unary call, silent when piped', async (t) => {
    const rows = manyRows(300);
    const csv = file('many.csv', `${FEATURES.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`);
    const streams0 = await rpcCount('ExplainStream');
    const streamed = await cli('--csv', csv, '--chunk-size', '64', '--output', 'json');
    exits(t, streamed, 0, 'streamed');
    t.equal(streamed.stderr, '', 'no progress bar when stderr is not a terminal');
    t.equal((await rpcCount('ExplainStream')) - streams0, 1, 'went through ExplainStream');
    const unary0 = await rpcCount('Explain');
    const unary = await cli('--csv', csv, '--chunk-size', '300', '--output', 'json');
    exits(t, unary, 0, 'unary');
    t.equal((await rpcCount('Explain')) - unary0, 1, 'went through one Explain');
    const a = JSON.parse(streamed.stdout) as Doc[];
    const b = JSON.parse(unary.stdout) as Doc[];
    t.equal(a.length, 300, 'one document per row');
    t.same(a.map((d) => d.data), rows.map((r) => [r]), 'documents in row order');
    t.same(values(a), values(b), 'same attributions either way');
    t.same(a.map((d) => d.baseValues), b.map((d) => d.baseValues));
    t.ok(additivityError(a) < 1e-9);
    const quiet = await cli('--csv', csv, '--chunk-size', '100', '--output', 'csv', '--quiet');
    exits(t, quiet, 0, 'csv over a stream');
    t.equal(quiet.stdout.trimEnd().split('\n').length, 301, 'header + 300 lines');
  });

  t.test('method and parameters: --method, --param (JSON values), --top-k', async (t) => {
    const r = await cli(...rowFlag(ROWS[0]!), '--method', 'kernel_shap', '--param', 'nsamples=64', '--param', 'seed=7', '--top-k', '1', '--output', 'json');
    exits(t, r, 0);
    const d = (JSON.parse(r.stdout) as Doc[])[0]!;
    t.equal(d.method, 'kernel_shap');
    t.equal(d.parameters.nsamples, 64, 'number parameter sent as a number');
    t.equal(d.seed, 7, 'the seed the call ran with');
    const bad = await cli(...rowFlag(ROWS[0]!), '--param', 'no_such_parameter=1');
    exits(t, bad, 1, 'an unknown parameter is refused by the server');
    t.match(bad.stderr, /^error: INVALID_ARGUMENT: .*no_such_parameter/);
  });

  t.test('server errors: exit 1 with the status name', async (t) => {
    const r = await genome(['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', 'no-such-model', ...rowFlag(ROWS[0]!)]);
    exits(t, r, 1, 'unknown model');
    t.match(r.stderr, /^error: NOT_FOUND: .*no-such-model/);
    t.notMatch(r.stderr, STACK);
    t.equal(r.stdout, '');
    const short = await cli('--row', '1,2,3');
    exits(t, short, 1, 'too few values');
    t.match(short.stderr, /^error: INVALID_ARGUMENT: /);
  });
});

t.test('usage errors: exit 2 before any network call', async (t) => {
  const port = await closedPort(); // nothing listens: a network call would exit 3
  const dir = mkdtempSync(join(tmpdir(), 'genome-cli-usage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ragged = join(dir, 'ragged.csv');
  writeFileSync(ragged, 'a,b,c\n1,2,3\n4,5\n');
  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{"instances": [[1, 2], {"a": 1}]}');
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '[[1, 2],');
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['explain', '--model', HOUSING, '--row', '1', '--bogus'], /unknown option '--bogus'/],
    ['unknown command', ['explian'], /unknown command 'explian'/],
    ['missing --model', ['explain', '--row', '1,2'], /required option '--model <name>' not specified/],
    ['no rows', ['explain', '--model', HOUSING], /no rows: give --row/],
    ['two sources', ['explain', '--model', HOUSING, '--row', '1', '--csv', ragged], /give one of --row, --csv, --json/],
    ['bad --output', ['explain', '--model', HOUSING, '--row', '1', '--output', 'xml'], /--output <format>' argument 'xml' is invalid. expected one of table, json, csv/],
    ['bad --chunk-size', ['explain', '--model', HOUSING, '--row', '1', '--chunk-size', '0'], /expected an integer >= 1/],
    ['bad --deadline-ms', ['--deadline-ms', 'soon', 'health'], /expected an integer >= 1/],
    ['bad --param', ['explain', '--model', HOUSING, '--row', '1', '--param', 'nsamples'], /--param "nsamples": expected key=value/],
    ['rows of different lengths', ['explain', '--model', HOUSING, '--row', '1,2', '--row', '1,2,3'], /--row #2 has 3 values but --row #1 has 2/],
    ['missing file', ['explain', '--model', HOUSING, '--csv', join(dir, 'nope.csv')], /cannot read --csv .*nope\.csv: no such file/],
    ['ragged CSV', ['explain', '--model', HOUSING, '--csv', ragged], /bad CSV in .*ragged\.csv: .*line 3/i],
    ['mixed JSON instances', ['explain', '--model', HOUSING, '--json', badJson], /instances must be all arrays .* or all objects/],
    ['not JSON', ['explain', '--model', HOUSING, '--json', notJson], /not\.json is not valid JSON/],
    ['--tls-cert without --tls-key', ['--tls-cert', ragged, 'health'], /--tls-cert and --tls-key go together/],
    ['unreadable CA', ['--tls-ca', join(dir, 'nope.pem'), 'health'], /cannot read --tls-ca .*nope\.pem: ENOENT/],
    ['address without port', ['--address', 'localhost', 'health'], /has no port: expected host:port/],
  ];
  for (const [what, args, message] of cases) {
    const r = await genome(['--address', `127.0.0.1:${port}`, ...args]);
    exits(t, r, 2, what);
    t.match(r.stderr, message, `${what}: says what is wrong`);
    t.match(r.stderr, /^error: /, `${what}: one error line first`);
    t.notMatch(r.stderr, STACK, `${what}: no stack trace`);
    t.equal(r.stdout, '', `${what}: nothing on stdout`);
  }
});

t.test('--help and --version', async (t) => {
  const root = await genome(['--help']);
  exits(t, root, 0, '--help');
  t.match(root.stdout, /Usage: genome \[options\] \[command\]/);
  for (const c of ['models', 'explain', 'health']) t.match(root.stdout, new RegExp(`\\n  ${c} `), `lists ${c}`);
  t.match(root.stdout, /Exit codes:\n  0 .*\n  1 .*\n  2 .*usage.*\n  3 .*could not be reached/, 'the exit code table');
  t.match(root.stdout, /GENOME_ADDRESS/);
  t.match(root.stdout, /GENOME_TOKEN/);
  for (const c of ['models', 'explain', 'health']) {
    const h = await genome([c, '--help']);
    exits(t, h, 0, `${c} --help`);
    t.match(h.stdout, new RegExp(`Usage: genome ${c} \\[options\\]`));
    t.match(h.stdout, /\nExamples:\n  genome /, `${c} --help has examples`);
  }
  const v = await genome(['--version']);
  exits(t, v, 0, '--version');
  t.equal(v.stdout, '0.1.0\n');
});
