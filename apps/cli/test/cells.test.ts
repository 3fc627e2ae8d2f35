// What goes on the wire: a fake Explainer records the request bytes. Category names go as Row.cells (numbers as
// numbers, empty cells as missing), all-numeric rows as Row.values (NaN = missing); parameters keep their JSON types.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { explain } from '@genome/proto';
import { fixture, readFixtureText } from '../../../tools/fixtures.js';
import { exits, type Doc } from './helpers/assertions.js';
import { startFakeExplainer } from './helpers/fake-explainer.js';
import { genome } from './helpers/genome.js';
import { FEATURES, HOUSING, ROWS, housingSidecar } from './helpers/sidecar.js';

t.test('request bytes', async (t) => {
  const fake = await startFakeExplainer(FEATURES);
  t.teardown(() => fake.close());
  const dir = mkdtempSync(join(tmpdir(), 'genome-cli-cells-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Row 0 names a category in Longitude and leaves Population empty; row 1 is numbers with an empty cell.
  const csv = join(dir, 'categories.csv');
  const row0 = ROWS[0]!.map(String);
  row0[FEATURES.indexOf('Longitude')] = 'NEAR BAY';
  row0[FEATURES.indexOf('Population')] = '';
  const row1 = ROWS[1]!.map(String);
  row1[FEATURES.indexOf('AveRooms')] = '';
  writeFileSync(csv, `${FEATURES.join(',')}\n${row0.map((c) => (c.includes(' ') ? `"${c}"` : c)).join(',')}\n${row1.join(',')}\n`);

  const r = await genome(['--address', `127.0.0.1:${fake.port}`, 'explain', '--model', 'm', '--csv', csv, '--output', 'json',
    '--method', 'kernel_shap', '--param', 'nsamples=128', '--param', 'interactions=true', '--param', 'link=logit', '--param', 'ratio=0.5',
    '--top-k', '2', '--request-id', 'req-7']);
  exits(t, r, 0, 'answered by the fake server');
  t.equal((JSON.parse(r.stdout) as unknown[]).length, 2, 'its canned answer printed per row');
  t.equal(fake.raw.length, 1, 'one Explain call');

  const bytes = fake.raw[0]!;
  t.ok(bytes.includes(Buffer.from('NEAR BAY', 'utf8')), 'the category name is in the request bytes');
  const req = explain.ExplainRequest.decode(bytes);
  const tab = req.tabular!;
  t.same(tab.featureNames, FEATURES, 'the CSV header as feature_names');
  t.equal(tab.rows.length, 2);
  const cells = tab.rows[0]!.cells;
  t.same(tab.rows[0]!.values, [], 'a row with a category name has no values');
  t.equal(cells.length, 8, 'but 8 cells');
  FEATURES.forEach((f, i) => {
    const c = cells[i]!;
    if (f === 'Longitude') t.same(c, { category: 'NEAR BAY' }, 'the category cell');
    else if (f === 'Population') t.same(c, { missing: true }, 'the empty cell is missing');
    else t.same(c, { number: ROWS[0]![i] }, `${f} is a number cell`);
  });
  t.same(tab.rows[1]!.cells, [], 'an all-numeric row goes as values (what servers before cells read)');
  const v = tab.rows[1]!.values;
  t.equal(v.length, 8);
  t.ok(Number.isNaN(v[FEATURES.indexOf('AveRooms')]), 'its empty cell is NaN');
  t.same(v.filter((_, i) => i !== FEATURES.indexOf('AveRooms')), ROWS[1]!.filter((_, i) => i !== FEATURES.indexOf('AveRooms')));
  t.same(req.parameters, { nsamples: 128, interactions: true, link: 'logit', ratio: 0.5 }, 'parameters with JSON types');
  t.equal(req.methodName, 'kernel_shap');
  t.same(req.model, { name: 'm', version: '' });
  t.equal(req.outputs?.topK, 2);
  t.equal(req.requestId, 'req-7');

  // Numbers only: values, no cells, whatever the source.
  const n = await genome(['--address', `127.0.0.1:${fake.port}`, 'explain', '--model', 'm', '--row', ROWS[2]!.join(',')]);
  exits(t, n, 0);
  const plain = explain.ExplainRequest.decode(fake.raw[1]!);
  t.same(plain.tabular!.rows, [{ values: ROWS[2], cells: [] }]);
  t.same(plain.tabular!.featureNames, [], '--row sends no names (model order)');
  t.equal(plain.parameters, undefined, 'no parameters when none are given');
});

t.test('category names end to end: a CSV of raw rows to a sidecar serving an XGBoost model with categories', async (t) => {
  // XGBoost 3.4's BinomialClassificationAudit (jpmml-AGPL fixtures, test data only) carries the names of its
  // categorical features. The CSV holds the rows as the data has them (Deductions, a pandas bool, written 0/1 as
  // pandas hands it to XGBoost); the answers reproduce XGBoost's own probabilities, and the documents keep the names.
  const DIR = ['models', 'xgboost', 'jpmml-AGPL'] as const;
  const s = await housingSidecar({ models: [{ kind: 'file', name: 'audit', path: fixture(...DIR, 'BinomialClassificationAudit.json') }] });
  t.teardown(() => s.close(100));
  const [head, ...lines] = readFixtureText(...DIR, 'Audit.csv').trim().split(/\r?\n/);
  const n = 12;
  const rows = lines.slice(0, n).map((l) => l.split(',').slice(0, -1).map((c) => (c === 'TRUE' ? '1' : c === 'FALSE' ? '0' : c)));
  const features = head!.split(',').slice(0, -1);
  const order = [...features].reverse(); // the CLI matches CSV columns by name
  const dir = mkdtempSync(join(tmpdir(), 'genome-cli-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'audit.csv');
  writeFileSync(file, [order.join(','), ...rows.map((r) => order.map((f) => r[features.indexOf(f)]).join(','))].join('\n'));
  const expected = readFixtureText(...DIR, 'BinomialClassificationAudit.csv').trim().split(/\r?\n/).slice(1, n + 1).map((l) => Number(l.split(',')[2]));

  // 12 rows in chunks of 5: ExplainStream carries the cells too.
  const r = await genome(['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', 'audit', '--csv', file, '--chunk-size', '5', '--output', 'json']);
  exits(t, r, 0);
  const docs = JSON.parse(r.stdout) as Doc[];
  t.equal(docs.length, n);
  docs.forEach((d, i) => {
    const margin = d.baseValues[0]![0]! + d.values[0]!.reduce((a, v) => a + v[0]!, 0);
    const p = 1 / (1 + Math.exp(-margin));
    t.ok(Math.abs(p - expected[i]!) <= 1e-5, `row ${i}: sigmoid(base + sum) = XGBoost's probability (${p} vs ${expected[i]})`);
    t.same(d.data![0], rows[i]!.map((c) => (Number.isNaN(Number(c)) ? c : Number(c))), `row ${i}: data holds the row in model order, category names as sent`);
  });

  // The table shows the names next to the attributions.
  const table = await genome(['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', 'audit', '--row', rows[0]!.join(','), '--output', 'table']);
  exits(t, table, 0);
  t.match(table.stdout, new RegExp(`Employment.*${rows[0]![1]}`), 'the category name is printed as sent');

  // An unknown category: INVALID_ARGUMENT naming the feature, the value and the known categories; exit 1.
  const bad = [...rows[0]!];
  bad[features.indexOf('Employment')] = 'Astronaut';
  const u = await genome(['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', 'audit', '--row', bad.join(',')]);
  exits(t, u, 1);
  t.match(u.stderr, /^error: INVALID_ARGUMENT: .*"Employment".*"Astronaut".*Private/);
});

t.test('a category name for a numeric feature: INVALID_ARGUMENT naming the cell, exit 1', async (t) => {
  const s = await housingSidecar();
  t.teardown(() => s.close(100));
  const row = ROWS[0]!.map(String);
  row[FEATURES.indexOf('Longitude')] = 'NEAR BAY';
  const r = await genome(['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', HOUSING, '--row', row.join(',')]);
  exits(t, r, 1);
  t.match(r.stderr, /^error: INVALID_ARGUMENT: .*\(Longitude\) must be a number or null, got "NEAR BAY"\n$/, 'one error line with the status name, the feature and the value');
});
