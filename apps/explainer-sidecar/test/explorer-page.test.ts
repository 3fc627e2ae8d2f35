// The explorer page in a real browser: Debian's Chromium driven by playwright-core, against a sidecar serving the
// embedded California forest and an image CNN. The page must load, explain pasted CSV rows, draw the waterfall,
// force and beeswarm charts with the features' names and values, show the same numbers as the REST API, draw the
// model's internals, and draw a CAM overlay of an uploaded image; with no errors in the browser console.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { chromium, type Browser } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../src/index.js';
import { sidecar } from './helpers/sidecar.js';
import { squaresPackage } from './helpers/squares.js';

const CHROMIUM = process.env.GENOME_CHROMIUM ?? '/usr/bin/chromium';
// The flags this machine needs (the env notes): no sandbox as root, and no background networking on a closed network.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const CSV = readFileSync(join(DEFAULT_MODEL_DIR, 'background.csv'), 'utf8').trim().split('\n');
const HEADER = CSV[0]!;
const FEATURES = HEADER.split(',');
const LINES = CSV.slice(1, 4);

/**
 * Polls `check` from Node until it holds (page.waitForFunction would evaluate a string inside the page, which the
 * page's Content-Security-Policy forbids, as it should).
 */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('explorer page in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set GENOME_CHROMIUM)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-page-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { png } = squaresPackage(dir);
  const pngFile = join(dir, 'input.png');
  writeFileSync(pngFile, png);
  const s = await sidecar({ models: [{ kind: 'package', path: DEFAULT_MODEL_DIR }, { kind: 'package', path: dir }] });
  t.teardown(() => s.close(100));
  const base = `http://127.0.0.1:${s.httpPort}`;

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });

  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  t.equal(await page.locator('#model').inputValue(), 'california-housing-rf', 'the first model is selected');
  const methods = await page.locator('#method option').allTextContents();
  t.ok(methods.includes('tree_shap'), `methods offered: ${methods.join(', ')}`);

  t.test('explain pasted CSV rows: charts and numbers', async (t) => {
    await page.fill('#rows', [HEADER, ...LINES].join('\n'));
    await page.click('#run');
    await page.waitForSelector('#chart-main svg[data-chart="waterfall"]', { timeout: 30_000 });
    await page.waitForSelector('#chart-force svg[data-chart="force"]');
    await page.waitForSelector('#chart-all svg[data-chart="beeswarm"]');
    t.notMatch(await page.locator('#status').getAttribute('class'), /error/, (await page.locator('#status').textContent()) ?? '');

    // The numbers on the page are the API's numbers.
    const api = (await (
      await fetch(`${base}/v1/models/california-housing-rf:explain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: LINES.map((l) => Object.fromEntries(l.split(',').map((v, i) => [FEATURES[i], Number(v)]))), method: await page.locator('#method').inputValue() }),
      })
    ).json()) as { explanations: { values: number[][][]; predictions: number[][] }[] };
    const cells = await page.locator('#values td.attribution').allTextContents();
    t.same(cells.map(Number), api.explanations[0]!.values[0]!.map((v) => v[0]), 'table attributions of row 0 equal the API');
    t.equal(Number(await page.locator('#prediction').getAttribute('data-prediction')), api.explanations[0]!.predictions[0]![0], 'prediction equals the API');

    // The charts carry the features' names and values, and really occupy space on the page.
    const waterfall = (await page.locator('#chart-main svg').textContent()) ?? '';
    t.ok(FEATURES.every((f) => waterfall.includes(f)), 'waterfall labels name every feature');
    t.match(waterfall, /MedInc = 8\.325/, 'labels show the row values');
    const box = await page.locator('#chart-main svg').boundingBox();
    t.ok(box && box.width > 200 && box.height > 100, `waterfall is drawn (${box?.width}x${box?.height})`);
    const dots = await page.locator('#chart-all svg .dot').count();
    t.equal(dots, LINES.length * FEATURES.length, 'beeswarm: one dot per row and feature');

    // Another row: the table and the waterfall follow.
    await page.selectOption('#row', '2');
    const want = String(api.explanations[2]!.values[0]![0]![0]);
    await until(async () => (await page.locator('#values td.attribution').first().textContent()) === want, 'the table shows row 2');
    t.pass('row 2 selected: the table shows row 2');
    await page.screenshot({ path: join(dir, 'explain.png'), fullPage: true });
    if (process.env.GENOME_KEEP_SCREENSHOTS) writeFileSync(join(process.env.GENOME_KEEP_SCREENSHOTS, 'explorer-explain.png'), readFileSync(join(dir, 'explain.png')));
  });

  t.test('bad rows: the error from the server is shown', async (t) => {
    await page.fill('#rows', '1,2,3');
    await page.click('#run');
    await page.waitForSelector('#status.error');
    t.match(await page.locator('#status').textContent(), /expects 8/);
  });

  t.test('model internals: ensemble summary and a tree with the row path', async (t) => {
    await page.fill('#rows', [HEADER, LINES[0]].join('\n'));
    await page.click('#tab-internals');
    await page.waitForSelector('#chart-summary svg[data-chart="ensemble"]', { timeout: 30_000 });
    await page.waitForSelector('#chart-tree svg[data-chart="tree"]');
    t.ok((await page.locator('#chart-tree svg .path').count()) > 0, 'the first CSV row is highlighted in the tree');
    await page.fill('#tree-index', '7');
    await page.click('#draw-internals');
    await until(async () => /\b7\b/.test((await page.locator('#chart-tree svg title').first().textContent()) ?? ''), 'tree 7 is drawn');
    t.pass('another tree is drawn');
    if (process.env.GENOME_KEEP_SCREENSHOTS) await page.screenshot({ path: join(process.env.GENOME_KEEP_SCREENSHOTS, 'explorer-internals.png'), fullPage: true });
    await page.click('#tab-explain');
  });

  t.test('an image model: upload a PNG, see the CAM overlay', async (t) => {
    await page.selectOption('#model', 'squares');
    await page.waitForSelector('#image-input:not([hidden])');
    await page.setInputFiles('#image-file', pngFile);
    await page.click('#run');
    await page.waitForSelector('#chart-main svg[data-chart="cam_overlay"] image', { timeout: 30_000 });
    t.match(await page.locator('#status').textContent(), /gradcam/);
    if (process.env.GENOME_KEEP_SCREENSHOTS) await page.screenshot({ path: join(process.env.GENOME_KEEP_SCREENSHOTS, 'explorer-cam.png'), fullPage: true });
  });

  t.test('the browser saw no errors', async (t) => {
    // The bad-rows case logs the 400 of its fetch; nothing else may appear.
    t.same(problems.filter((p) => !/status of 400/.test(p)), [], problems.join('\n'));
  });
});
