// Visualize over the wire: gRPC Visualize and REST :visualize draw explanations sent by the caller, explain and plot
// in one call (tabular rows, encoded images), and draw model internals (tree with a row's path, ensemble summary,
// linear coefficients); the explorer page and the V2 model metadata it reads.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { loadOnnxLinearModel } from '@genome/model-format';
import { pngPixels } from '@genome/viz';
import { fixture } from '../../../tools/fixtures.js';
import { squaresPackage } from './helpers/squares.js';
import { DEFAULT_MODEL_DIR } from '../src/index.js';
import { client, explainCall, grpcError, visualize } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';

const CSV = readFileSync(join(DEFAULT_MODEL_DIR, 'background.csv'), 'utf8').trim().split('\n');
const FEATURES = CSV[0]!.split(',');
const X = CSV.slice(1, 7).map((l) => l.split(',').map(Number));
const rows = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** Counts of `class="name"` in an SVG. */
const count = (svg: string, cls: string) => (svg.match(new RegExp(`class="${cls}[" ]`, 'g')) ?? []).length;

async function notBlank(t: { same: (a: unknown, b: unknown, m: string) => void; ok: (v: unknown, m: string) => void }, png: Uint8Array, what: string) {
  t.same([...png.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${what}: PNG signature`);
  const { pixels } = await pngPixels(png);
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 200 || pixels[i + 1]! < 200 || pixels[i + 2]! < 200) ink++;
  t.ok(ink > 500, `${what}: ${ink} drawn pixels`);
}

t.test('Visualize over gRPC and REST', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-viz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { png } = squaresPackage(dir);
  const logreg = fixture('models', 'onnx-trees', 'linear_classifier_logreg_iris.onnx');
  const nLin = loadOnnxLinearModel(readFileSync(logreg)).nFeatures;
  const linNames = Array.from({ length: nLin }, (_, i) => `x${i}`);
  const s = await sidecar({
    models: [
      { kind: 'package', path: DEFAULT_MODEL_DIR },
      { kind: 'package', path: dir },
      { kind: 'file', name: 'logreg', path: logreg, featureNames: linNames },
    ],
  });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const base = `http://127.0.0.1:${s.httpPort}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const model = { name: 'california-housing-rf', version: '' };

  t.test('gRPC: explain and plot one row as a waterfall; the explanation comes back and equals Explain', async (t) => {
    const explainReq = { model, tabular: rows(X.slice(0, 1)) };
    const r = await visualize(c, { kind: 'waterfall', explain: explainReq });
    t.equal(r.kind, 'waterfall');
    t.equal(r.contentType, 'image/svg+xml');
    t.ok(r.width > 0 && r.height > 0, `${r.width}x${r.height}`);
    const svg = text(r.content);
    t.match(svg, /^<svg [^>]*data-chart="waterfall"/);
    for (const f of FEATURES) t.ok(svg.includes(f), `label names ${f}`);
    const e = JSON.parse(r.explanationJson) as { values: number[][][]; data: unknown[][] };
    const direct = await explainCall(c, explainReq);
    t.same(e.values.flat(2), direct.values, 'the plotted explanation equals Explain');
    t.same(e.data[0], X[0], 'the row as sent is in the explanation data');
  });

  t.test('gRPC: default kinds, PNG and HTML of an explanation the caller sends', async (t) => {
    const direct = await explainCall(c, { model, tabular: rows(X) });
    const one = await visualize(c, { explain: { model, tabular: rows(X.slice(0, 1)) } });
    t.equal(one.kind, 'waterfall', 'one row: waterfall');
    const many = await visualize(c, { model, explanationJson: direct.explanationJson });
    t.equal(many.kind, 'beeswarm', 'several rows: beeswarm');
    t.equal(count(text(many.content), 'dot'), X.length * FEATURES.length, 'one dot per row and feature');
    const p = await visualize(c, { model, explanationJson: direct.explanationJson, kind: 'bar', format: 'png', options: { scale: 2 } });
    t.equal(p.contentType, 'image/png');
    await notBlank(t, p.content, 'bar PNG');
    const h = await visualize(c, { model, explanationJson: direct.explanationJson, kind: 'decision', format: 'text/html' });
    t.equal(h.contentType, 'text/html');
    t.match(text(h.content), /^<!doctype html>.*<svg /s);
    const dep = await visualize(c, { model, explanationJson: direct.explanationJson, kind: 'dependence', options: { feature: 'MedInc' } });
    t.match(text(dep.content), /data-chart="dependence"/);
  });

  t.test('gRPC: model internals (tree with a row path, ensemble, coefficients)', async (t) => {
    const tree = await visualize(c, { model, kind: 'tree', options: { tree: 3, max_depth: 3 }, row: { values: X[0] } });
    const svg = text(tree.content);
    t.match(svg, /data-chart="tree"/);
    t.ok(count(svg, 'path') > 0, 'the row path is highlighted');
    t.ok(FEATURES.some((f) => svg.includes(f)), 'split rules name features');
    const ens = await visualize(c, { model, kind: 'ensemble' });
    t.match(text(ens.content), /120/, 'the summary counts the 120 trees');
    const coef = await visualize(c, { model: { name: 'logreg', version: '' }, kind: 'coefficients' });
    t.match(text(coef.content), /data-chart="coefficients"/);
    t.ok(linNames.every((n) => text(coef.content).includes(n)), 'coefficient bars are labelled with the served feature names');
  });

  t.test('gRPC: bad requests are INVALID_ARGUMENT / FAILED_PRECONDITION / NOT_FOUND with what to fix', async (t) => {
    const direct = await explainCall(c, { model, tabular: rows(X.slice(0, 2)) });
    const cases: [Parameters<typeof visualize>[1], number, RegExp][] = [
      [{ model, kind: 'nope', explanationJson: direct.explanationJson }, status.INVALID_ARGUMENT, /unknown chart kind "nope"; charts: waterfall/],
      [{ model, kind: 'waterfall', explanationJson: direct.explanationJson, options: { colour: 1 } }, status.INVALID_ARGUMENT, /no option "colour"; its options: row, output, max_display/],
      [{ model, kind: 'waterfall', explanationJson: '{"schema": 1}' }, status.INVALID_ARGUMENT, /explanation.schema must be/],
      [{ model, kind: 'waterfall', explanationJson: direct.explanationJson, options: { row: 9 } }, status.INVALID_ARGUMENT, /row/],
      [{ model, kind: 'waterfall', explanationJson: direct.explanationJson, format: 'gif' }, status.INVALID_ARGUMENT, /unknown format "gif"/],
      [{ model, kind: 'bar', explanationJson: direct.explanationJson, format: 'png', options: { scale: 8, width: 9000 } }, status.INVALID_ARGUMENT, /PNG is larger than|width/],
      [{ kind: 'waterfall' }, status.INVALID_ARGUMENT, /nothing to draw/],
      [{ model: { name: 'logreg', version: '' }, kind: 'tree' }, status.FAILED_PRECONDITION, /tree|ensemble/],
      [{ model: { name: 'squares', version: '' }, kind: 'ensemble' }, status.FAILED_PRECONDITION, /no internals to draw/],
      [{ model: { name: 'zzz', version: '' }, kind: 'ensemble' }, status.NOT_FOUND, /no model named "zzz"/],
      [{ model, kind: 'tree', options: { tree: 500 } }, status.INVALID_ARGUMENT, /tree/],
    ];
    for (const [req, code, msg] of cases) {
      const e = await grpcError(visualize(c, req));
      t.equal(e.code, code, `${JSON.stringify(req).slice(0, 100)} -> ${status[code]}`);
      t.match(e.details, msg);
    }
  });

  t.test('REST: explain and plot, plot an explanation, JSON answers, model internals', async (t) => {
    const res = await post('/v1/models/california-housing-rf:visualize', { kind: 'force', instances: [Object.fromEntries(FEATURES.map((f, i) => [f, X[0]![i]]))] });
    t.equal(res.status, 200);
    t.equal(res.headers.get('content-type'), 'image/svg+xml; charset=utf-8');
    t.equal(res.headers.get('x-genome-chart-kind'), 'force');
    t.match(await res.text(), /data-chart="force"/);

    const ex = (await (await post('/v1/models/california-housing-rf:explain', { instances: X })).json()) as { explanations: unknown[] };
    const one = ex.explanations[2];
    const j = await post('/v1/models/california-housing-rf:visualize', { kind: 'waterfall', explanation: one, format: 'png' }, { accept: 'application/json' });
    t.equal(j.status, 200);
    const body = (await j.json()) as { kind: string; content_type: string; content: string; width: number; height: number; explanation?: unknown };
    t.equal(body.content_type, 'image/png');
    t.notOk(body.explanation, 'no explanation echoed when the caller sent it');
    await notBlank(t, Buffer.from(body.content, 'base64'), 'waterfall PNG (REST JSON)');

    const withE = (await (await post('/v1/models/california-housing-rf:visualize', { instances: X.slice(0, 3) }, { accept: 'application/json' })).json()) as { kind: string; explanation: { values: unknown[] } };
    t.equal(withE.kind, 'beeswarm');
    t.equal(withE.explanation.values.length, 3, 'explain and plot returns the explanation');

    const tree = await post('/v1/models/california-housing-rf:visualize', { kind: 'tree', row: X[1], options: { max_depth: 2 } });
    t.equal(tree.status, 200);
    t.match(await tree.text(), /class="path/);

    const bad = await post('/v1/models/california-housing-rf:visualize', { kind: 'waterfall', explanation: one, instances: X });
    t.equal(bad.status, 400);
    t.match(((await bad.json()) as { error: string }).error, /nothing to explain; drop instances/);
    const unk = await post('/v1/models/california-housing-rf:visualize', { kind: 'waterfall', explanation: one, shape: 1 });
    t.equal(unk.status, 400);
    const forbidden = await post('/v1/models/nope:visualize', { kind: 'waterfall', explanation: one });
    t.equal(forbidden.status, 404);
  });

  t.test('REST: Grad-CAM overlay of an uploaded PNG in one call', async (t) => {
    const res = await post('/v1/models/squares:visualize', { kind: 'cam_overlay', instances: [{ b64: png.toString('base64') }], method: 'gradcam' }, { accept: 'application/json' });
    t.equal(res.status, 200);
    const b = (await res.json()) as { kind: string; content: string; explanation: { method: string } };
    t.equal(b.kind, 'cam_overlay');
    t.match(b.explanation.method, /gradcam/);
    t.match(b.content, /<image [^>]*href="data:image\/png;base64,/, 'the input image is under the heatmap');
    const p = await post('/v1/models/squares:visualize', { instances: [{ b64: png.toString('base64') }], format: 'png' });
    t.equal(p.headers.get('content-type'), 'image/png');
    await notBlank(t, new Uint8Array(await p.arrayBuffer()), 'CAM overlay PNG');
  });

  t.test('REST: the explorer page, its assets and the V2 model metadata', async (t) => {
    const page = await fetch(`${base}/`);
    t.equal(page.status, 200);
    t.match(page.headers.get('content-type'), /text\/html/);
    t.match(page.headers.get('content-security-policy'), /script-src 'self'/);
    t.match(await page.text(), /<script type="module" src="\/ui\/app.js">/);
    t.equal((await fetch(`${base}/ui/app.js`)).status, 200);
    t.equal((await fetch(`${base}/ui/app.css`)).status, 200);
    t.equal((await fetch(`${base}/ui/../../package.json`)).status, 404, 'only the page files are served');
    const meta = (await (await fetch(`${base}/v2/models/california-housing-rf`)).json()) as { name: string; versions: string[]; inputs: { shape: number[] }[]; genome: { feature_names: string[]; methods: string[]; charts: { model: string[] } } };
    t.equal(meta.name, 'california-housing-rf');
    t.same(meta.versions, ['1.0.0']);
    t.same(meta.inputs[0]!.shape, [-1, 8]);
    t.same(meta.genome.feature_names, FEATURES);
    t.ok(meta.genome.methods.includes('tree_shap'));
    t.same(meta.genome.charts.model, ['tree', 'ensemble']);
    const lin = (await (await fetch(`${base}/v2/models/logreg`)).json()) as { genome: { charts: { model: string[] } } };
    t.same(lin.genome.charts.model, ['coefficients']);
    t.equal((await fetch(`${base}/v2/models/zzz`)).status, 404);
  });
});

t.test('Visualize with tokens: the caller must be allowed the model', async (t) => {
  const s = await sidecar({ models: [{ kind: 'package', path: DEFAULT_MODEL_DIR }], authTokens: [{ token: 'other-token-1', models: ['someone-else'] }, { token: 'good-token-1', models: ['*'] }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const req = { model: { name: 'california-housing-rf', version: '' }, kind: 'ensemble' };
  t.equal((await grpcError(visualize(c, req))).code, status.UNAUTHENTICATED);
  t.equal((await grpcError(visualize(c, req, { token: 'other-token-1' }))).code, status.PERMISSION_DENIED);
  t.equal((await visualize(c, req, { token: 'good-token-1' })).kind, 'ensemble');
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/california-housing-rf:visualize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"ensemble"}' });
  t.equal(res.status, 401);
  t.equal((await fetch(`http://127.0.0.1:${s.httpPort}/`)).status, 200, 'the page itself is public; its data is not');
});
