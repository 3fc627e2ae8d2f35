// @genome/shap and @genome/model-format in a browser: esbuild bundles TreeSHAP on an XGBoost JSON model (the public
// entries, resolved with the `browser` condition) and headless Chromium (Debian's, driven by playwright-core) runs
// the bundle; the values equal Node's. The bundle holds only the two libraries' sources: no `node:` module, no
// package, no worker pool. And the browser entry exports everything of the Node entry but the pool.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import t from 'tap';
import { chromium, type Browser } from 'playwright-core';
import { readFixture, readFixtureText, repoRoot } from '../../../tools/fixtures.js';
import * as browserEntry from '../src/browser.js';
import * as nodeEntry from '../src/index.js';
import { runTreeShap, type TreeRunResult } from './helpers/browser-tree-run.js';

const CHROMIUM = process.env.GENOME_CHROMIUM ?? '/usr/bin/chromium';
// As apps/explainer-sidecar/test/explorer-page.test.ts: no sandbox as root, no background networking.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Node-only exports of src/index.ts (worker_threads). */
const NODE_ONLY = ['TreeShapPool', 'createTreeShapPool'];

// ankane-regression (Apache-2.0): XGBoost 3.1 JSON, reg:squarederror, 10 trees, 4 features; rows 0-299 trained it.
const model = readFixture('models', 'xgboost', 'ankane-regression', 'model.json');
const data = readFixtureText('models', 'xgboost', 'ankane-regression', 'data.csv')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').slice(0, 4).map(Number));
const rows = data.slice(300, 325); // held out
const background = data.slice(0, 100);

t.test('the browser entry exports everything of the Node entry but the worker pool', async (t) => {
  t.same(Object.keys(browserEntry).sort(), Object.keys(nodeEntry).filter((k) => !NODE_ONLY.includes(k)).sort());
  for (const k of Object.keys(browserEntry)) t.equal((browserEntry as Record<string, unknown>)[k], (nodeEntry as Record<string, unknown>)[k], `${k} is the same object`);
});

t.test('TreeSHAP on an XGBoost JSON model in headless Chromium equals Node', async (t) => {
  const entry = fileURLToPath(new URL('./helpers/browser-tree-run.ts', import.meta.url));
  const bundle = await build({
    entryPoints: [entry],
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'browser', // the `browser` export condition: src/browser.ts of both libraries
    conditions: ['@genome/source'],
    format: 'iife',
    globalName: 'genomeTree',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(bundle.metafile.inputs).sort();
  t.ok(inputs.includes('libs/shap/src/browser.ts') && inputs.includes('libs/model-format/src/browser.ts'), 'both libraries enter through their browser entry');
  t.same(inputs.filter((f) => !/^libs\/(shap|model-format)\/src\//.test(f) && f !== 'libs/shap/test/helpers/browser-tree-run.ts'), [], 'the bundle holds only the two libraries\' sources');
  t.same(inputs.filter((f) => /workers\/|module-worker|index\.ts$/.test(f)), [], 'and neither the worker pool nor a Node entry');
  const imports = Object.values(bundle.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  t.same(imports.filter((p) => p.startsWith('node:') || !p.startsWith('libs/')), [], 'no node: module, no package, static or dynamic');
  const code = bundle.outputFiles[0]!.text;
  t.comment(`bundle: ${(code.length / 1024).toFixed(0)} KiB, ${inputs.length} modules`);

  const inNode = await runTreeShap(new Uint8Array(model), rows, background);
  t.equal(inNode.format, 'xgboost-json');
  t.equal(inNode.nTrees, 10);

  if (!existsSync(CHROMIUM)) {
    t.fail(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set GENOME_CHROMIUM)`);
    return;
  }
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.setContent('<!doctype html><title>TreeSHAP</title>');
  await page.addScriptTag({ content: code });
  const inBrowser = await page.evaluate(
    async ([b64, r, bg]) => {
      const g = (globalThis as unknown as { genomeTree: { runTreeShap: typeof runTreeShap } }).genomeTree;
      const nodeLike = typeof (globalThis as { process?: unknown }).process !== 'undefined' || typeof (globalThis as { Buffer?: unknown }).Buffer !== 'undefined';
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return { result: await g.runTreeShap(bytes, r, bg), nodeLike };
    },
    [model.toString('base64'), rows, background] as const,
  );
  t.equal(inBrowser.nodeLike, false, 'the page has no process or Buffer: a real browser context');
  const result: TreeRunResult = inBrowser.result;
  t.same(problems, [], 'no page errors');
  t.equal(result.format, 'xgboost-json');
  t.same(result.margins, inNode.margins, 'raw margins equal');
  // The TypeScript kernels give bit-identical values in both engines.
  for (const kernel of ['path-dependent quadrature-js', 'path-dependent classic', 'interventional recursion', 'interactions classic']) {
    t.same(result.kernels[kernel], inNode.kernels[kernel], `${kernel}: values equal Node's, bit for bit`);
  }
  // `auto` runs the WebAssembly kernels in the page too (their bytes decode with atob): the same bits as in Node.
  for (const kernel of ['path-dependent auto', 'interventional auto', 'interactions auto']) {
    t.same(result.kernels[kernel], inNode.kernels[kernel], `${kernel} (WebAssembly): values equal Node's, bit for bit`);
  }
  t.same(result.pathDependentJs, inNode.pathDependentJs, 'explainTree path-dependent (quadrature-js): the same Explanation');
  t.same(result.pathDependent, inNode.pathDependent, 'explainTree path-dependent with interactions (auto): the same Explanation');
  t.same(result.interventional, inNode.interventional, 'explainTree interventional (auto): the same Explanation');
  // Efficiency, so the equality above is about real values: base + sum(values) = margin.
  const pd = result.pathDependent;
  for (let r = 0; r < rows.length; r++) {
    const sum = pd.baseValues[r]![0]! + pd.values[r]!.reduce((s, v) => s + v[0]!, 0);
    t.ok(Math.abs(sum - result.margins[r]!) < 1e-9, `row ${r}: base + sum of values = margin`);
  }
});
