// Tabular inputs as users hold them, over the wire: XGBoost 3.x models that carry their category names take category
// strings in REST `instances` (arrays and objects) and in gRPC `Row.cells`; the explanation's `data` keeps the rows
// as they were sent; the boosting rounds a deployment serves (--iteration-range / a model spec's iterationRange)
// decide the trees every method sees. Checked against XGBoost's own predictions on the raw CSV rows (jpmml-AGPL
// fixtures, test data only).
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { fixture, readFixtureText } from '../../../tools/fixtures.js';
import { loadConfig } from '../src/index.js';
import { client, describeModel, explainCall, grpcError } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';

const DIR = ['models', 'xgboost', 'jpmml-AGPL'] as const;

/** A CSV as rows of cells: numbers where they parse, TRUE/FALSE as 1/0 (as pandas and XGBoost read them), else text. */
function csv(name: string): { header: string[]; rows: (number | string)[][] } {
  const [head, ...lines] = readFixtureText(...DIR, name).trim().split(/\r?\n/);
  const cell = (s: string) => (s === 'TRUE' ? 1 : s === 'FALSE' ? 0 : Number.isNaN(Number(s)) ? s : Number(s));
  return { header: head!.split(','), rows: lines.map((l) => l.split(',').map(cell)) };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const relClose = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

t.test('category names in, category names kept: REST instances and gRPC cells', async (t) => {
  const data = csv('Audit.csv');
  const features = data.header.slice(0, -1);
  const expected = csv('BinomialClassificationAudit.csv').rows.map((r) => r[2] as number); // probability(1)
  const s = await sidecar({ models: [{ kind: 'file', name: 'audit', path: fixture(...DIR, 'BinomialClassificationAudit.json') }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const n = 12;
  const rows = data.rows.slice(0, n).map((r) => r.slice(0, -1));

  // REST: objects keyed by feature name, category strings as they are in the data.
  const objects = rows.map((r) => Object.fromEntries(features.map((f, i) => [f, r[i]])));
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/audit:explain`, { method: 'POST', body: JSON.stringify({ instances: objects }) });
  t.equal(res.status, 200);
  const body = (await res.json()) as { explanations: { values: number[][][]; baseValues: number[][]; data: (number | string | null)[][] }[] };
  body.explanations.forEach((e, r) => {
    const margin = e.baseValues[0]![0]! + e.values[0]!.reduce((a, v) => a + v[0]!, 0);
    t.ok(relClose(sigmoid(margin), expected[r]!), `row ${r}: sigmoid(base + sum) = XGBoost's probability (${sigmoid(margin)} vs ${expected[r]})`);
  });
  t.same(body.explanations[0]!.data[0], rows[0], "the explanation's data is the row as sent, category names included");
  t.type(body.explanations[0]!.data[0]![1], 'string');

  // REST arrays in feature order: same values.
  const arrays = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/audit:explain`, { method: 'POST', body: JSON.stringify({ instances: rows }) });
  const arrayBody = (await arrays.json()) as typeof body;
  t.same(arrayBody.explanations.map((e) => e.values), body.explanations.map((e) => e.values), 'arrays and objects agree');

  // gRPC: Row.cells with category names, the columns sent in another order.
  const order = [...features].reverse();
  const cells = rows.map((r) => ({ cells: order.map((f) => { const v = r[features.indexOf(f)]!; return typeof v === 'string' ? { category: v } : { number: v }; }) }));
  const g = await explainCall(c, { model: { name: 'audit' }, methodName: 'tree_shap', tabular: { featureNames: order, rows: cells } });
  t.same(g.shape, [n, features.length, 1]);
  const restFlat = body.explanations.flatMap((e) => e.values.flat(2));
  t.ok(g.values.every((v, i) => Math.abs(v - restFlat[i]!) < 1e-12), 'gRPC cells give the REST values');
  const gjson = JSON.parse(g.explanationJson) as { data: unknown[][] };
  t.same(gjson.data[0], rows[0], 'gRPC data keeps the category names (in the model order)');

  // A row of numeric values (codes) beside rows of cells: codes stay codes.
  const info = (await describeModel(c, 'audit')).model!;
  t.same(info.featureNames, features);
  const employment = features.indexOf('Employment');
  const mixed = await explainCall(c, {
    model: { name: 'audit' },
    tabular: { rows: [{ cells: features.map((f, i) => (i === employment ? { category: 'Private' } : { number: rows[1]![i] as number })) }, { values: features.map((_, i) => (typeof rows[1]![i] === 'number' ? (rows[1]![i] as number) : 0)) }] },
  });
  t.same(mixed.shape[0], 2, 'cells and values rows in one request');

  // Unknown category: 400 naming the row, the feature and the known categories (XGBoost's re-coder refuses it too).
  const bad = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/audit:explain`, { method: 'POST', body: JSON.stringify({ instances: [{ ...objects[0], Employment: 'Astronaut' }] }) });
  t.equal(bad.status, 400);
  t.match(((await bad.json()) as { error: string }).error, /row 0, feature "Employment": "Astronaut".*Private/);
  const e = await grpcError(explainCall(c, { model: { name: 'audit' }, tabular: { rows: [{ cells: features.map(() => ({ category: 'x' })) }] } }));
  t.equal(e.code, status.INVALID_ARGUMENT);
  t.match(e.details, /Age.*must be a number or null, got "x"/, 'a category name for a numeric feature names the cell');
});

t.test('the boosting rounds a deployment serves: iterationRange best (early stopping) and BEGIN,END', async (t) => {
  const data = csv('Auto.csv');
  const rows = data.rows.slice(0, 10).map((r) => r.slice(0, -1));
  const best = csv('LinearRegressionAuto.csv').rows.map((r) => r[0] as number); // predicted at iteration_range (0, best_iteration + 1)
  const path = fixture(...DIR, 'LinearRegressionAuto.json');
  const s = await sidecar({ models: [{ kind: 'file', name: 'best', path, iterationRange: 'best' }, { kind: 'file', name: 'all', path }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const rowsOf = (name: string) => explainCall(c, { model: { name }, methodName: 'tree_shap', tabular: { rows: rows.map((r) => ({ cells: r.map((v) => (typeof v === 'string' ? { category: v } : { number: v })) })) } });
  const [b, a] = [await rowsOf('best'), await rowsOf('all')];
  const F = rows[0]!.length;
  const sums = (r: typeof b) => rows.map((_, i) => r.baseValues[i]! + r.values.slice(i * F, (i + 1) * F).reduce((x, y) => x + y, 0));
  sums(b).forEach((y, i) => t.ok(relClose(y, best[i]!), `row ${i}: 'best' reproduces XGBRegressor.predict (${y} vs ${best[i]})`));
  t.ok(sums(a).some((y, i) => !relClose(y, best[i]!)), 'every round (Booster.predict) differs from the early-stopped prediction');
  t.match((await describeModel(c, 'best')).model!.description, /25-tree/, 'the served model holds rounds [0, 25)');

  const k = loadConfig(['--model', path, '--iteration-range', 'best'], {});
  t.same(k.models[0], { kind: 'file', path, iterationRange: 'best' }, '--iteration-range applies to the --model files');
  t.same(loadConfig(['--model', path, '--iteration-range', '0,10'], {}).models[0], { kind: 'file', path, iterationRange: [0, 10] });
  t.throws(() => loadConfig(['--model', path, '--iteration-range', 'ten'], {}), /--iteration-range must be "best" or "BEGIN,END"/);
  await t.rejects(sidecar({ models: [{ kind: 'file', path, iterationRange: [0, 99] }] }), /28 boosting rounds/, 'a range past the last round fails at start, naming the rounds');
});
