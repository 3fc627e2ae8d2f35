import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { loadTf, ModelFormatError, tfjsPredictor } from '../src/index.js';
import { fixture, readFixtureText } from '../../../tools/fixtures.js';

const dir = (name: string) => fixture('models/tfjs', name);

t.test('loadTf picks a backend (tfjs-node when installed, else wasm, else cpu)', async (t) => {
  const tf = await loadTf();
  t.ok(['tensorflow', 'wasm', 'cpu'].includes(tf.getBackend()), tf.getBackend());
  t.equal(await loadTf(), tf, 'loaded once');
});

/** Independent forward pass of the abalone Dense MLP from model.json + weights.bin (float64 math). */
function abaloneForward(x: number[]): number {
  const json = JSON.parse(readFixtureText('models/tfjs/abalone-mlp-layersmodel/model.json'));
  const layers = json.modelTopology.config.layers as { config: { units: number; activation: string } }[];
  const bin = readFileSync(join(dir('abalone-mlp-layersmodel'), 'weights.bin'));
  const w = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
  let o = 0;
  let a = x;
  for (const l of layers) {
    const n = l.config.units;
    const m = a.length;
    const k = w.subarray(o, o + m * n);
    o += m * n;
    const b = w.subarray(o, o + n);
    o += n;
    const next: number[] = [];
    for (let j = 0; j < n; j++) {
      let s = b[j]!;
      for (let i = 0; i < m; i++) s += a[i]! * k[i * n + j]!;
      next.push(l.config.activation === 'sigmoid' ? 1 / (1 + Math.exp(-s)) : s);
    }
    a = next;
  }
  return a[0]!;
}

t.test('abalone MLP LayersModel (tabular) equals an independent forward pass', async (t) => {
  const p = await tfjsPredictor(dir('abalone-mlp-layersmodel'), { maxBatch: 16 });
  t.equal(p.kind, 'tabular');
  t.equal(p.nFeatures, 8);
  t.equal(p.outputNames.length, 1);
  t.equal(p.outputSpace, 'regression');
  const lines = readFixtureText('models/tfjs/abalone-mlp-layersmodel/abalone.csv').trim().split('\n').slice(1, 41);
  const sex: Record<string, number> = { M: 0, F: 1, I: 2 };
  const rows = lines.map((l) => {
    const c = l.split(',');
    return [sex[c[0]!]!, ...c.slice(1, 8).map(Number)];
  });
  const m = await p.predict(Float64Array.from(rows.flat()), rows.length);
  t.equal(m.rows, 40);
  t.equal(m.cols, 1);
  let worst = 0;
  for (let i = 0; i < rows.length; i++) {
    const want = abaloneForward(rows[i]!);
    worst = Math.max(worst, Math.abs(m.data[i]! - want) / Math.max(1, Math.abs(want)));
  }
  t.ok(worst < 1e-5, `max relative difference ${worst} (float32 model)`);
  await p.close!();
  await t.rejects(p.predict(new Float64Array(8), 1), { code: 'RUNTIME' });
});

t.test('AutoML flowers GraphModel (image, fixed batch 1) calls daisy.jpg a daisy', async (t) => {
  const tf = await loadTf();
  const labels = readFixtureText('models/tfjs/automl-flowers-graphmodel/dict.txt').trim().split('\n');
  const p = await tfjsPredictor(dir('automl-flowers-graphmodel'), { kind: 'image', outputNames: labels, outputSpace: 'probability' });
  t.equal(p.layout, 'NHWC');
  t.same(p.inputShape, [1, 224, 224, 3]);
  // The tfjs-automl preprocessing: centre crop, bilinear resize to 224, then x / 127.5 - 1.
  const img = jpeg.decode(readFileSync(join(dir('automl-flowers-graphmodel'), 'daisy.jpg')), { useTArray: true });
  const rgb = new Float32Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = img.data[i * 4 + c]!;
  const size = Math.min(img.width, img.height);
  const top = (img.height - size) / 2;
  const left = (img.width - size) / 2;
  const pixels = tf.tidy(() =>
    tf.image
      .cropAndResize(
        tf.tensor4d(rgb, [1, img.height, img.width, 3]),
        [[top / img.height, left / img.width, (top + size) / img.height, (left + size) / img.width]],
        [0],
        [224, 224],
      )
      .div(127.5)
      .sub(1)
      .dataSync() as Float32Array,
  );
  const two = new Float32Array(pixels.length * 2);
  two.set(pixels, 0);
  two.set(pixels, pixels.length);
  const m = await p.predict(two, 2);
  t.equal(m.rows, 2);
  t.equal(m.cols, 5);
  const row = Array.from(m.data.subarray(0, 5));
  t.equal(labels[row.indexOf(Math.max(...row))], 'daisy');
  t.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'scores are a softmax');
  t.same(Array.from(m.data.subarray(5, 10)), row, 'both images scored alike');
  await p.close!();
});

t.test('emotion GraphModel (64x64 grayscale, dynamic batch) and darknet LayersModel load and run', async (t) => {
  const e = await tfjsPredictor(join(dir('human-emotion-graphmodel'), 'emotion.json'), { kind: 'image', maxBatch: 2 });
  t.same(e.inputShape, [1, 64, 64, 1]);
  t.equal(e.outputNames.length, 7);
  const m = await e.predict(new Float32Array(64 * 64 * 3).fill(0.5), 3);
  t.equal(m.rows, 3);
  for (let r = 0; r < 3; r++) {
    const s = Array.from(m.data.subarray(r * 7, r * 7 + 7)).reduce((a, b) => a + b, 0);
    t.ok(Math.abs(s - 1) < 1e-4, `row ${r} softmax`);
  }
  await e.close!();
  const d = await tfjsPredictor(dir('darknet-tiny-layersmodel'), { kind: 'image', maxBatch: 1 });
  t.same(d.inputShape, [1, 224, 224, 3]);
  t.equal(d.outputNames.length, 1000);
  const dm = await d.predict(new Float32Array(224 * 224 * 3).fill(0.5), 1);
  t.equal(dm.cols, 1000);
  t.ok(dm.data.every((v) => Number.isFinite(v)));
  await d.close!();
});

t.test('bad TF.js models give typed errors', async (t) => {
  await t.rejects(tfjsPredictor('/nonexistent/model'), { code: 'INVALID_INPUT' });
  const tmp = mkdtempSync(join(tmpdir(), 'genome-tfjs-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  writeFileSync(join(tmp, 'model.json'), '{"nope": 1}');
  await t.rejects(tfjsPredictor(tmp), { code: 'INVALID_MODEL' });
  const json = JSON.parse(readFixtureText('models/tfjs/abalone-mlp-layersmodel/model.json'));
  json.weightsManifest[0].paths = ['../../etc/passwd'];
  writeFileSync(join(tmp, 'model.json'), JSON.stringify(json));
  await t.rejects(tfjsPredictor(tmp), /leaves the model directory/);
  json.weightsManifest[0].paths = ['weights.bin'];
  writeFileSync(join(tmp, 'model.json'), JSON.stringify(json));
  writeFileSync(join(tmp, 'weights.bin'), readFileSync(join(dir('abalone-mlp-layersmodel'), 'weights.bin')).subarray(0, 100));
  const err = await tfjsPredictor(tmp).catch((e: unknown) => e);
  t.ok(err instanceof ModelFormatError);
  t.match((err as Error).message, /hold 100 bytes, the manifest needs 12204/);
  copyFileSync(join(dir('abalone-mlp-layersmodel'), 'weights.bin'), join(tmp, 'weights.bin'));
  await t.rejects(tfjsPredictor(tmp, { kind: 'image' }), { code: 'INVALID_INPUT' });
});
