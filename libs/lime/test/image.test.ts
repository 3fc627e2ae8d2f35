import t from 'tap';
import type { ImagePredictor, Matrix } from '@genome/model-format';
import { LimeImageExplainer, Rng, explanationMask, quickshift, renderBoundaries, slic } from '../src/index.js';

const W = 48;
const H = 48;
const B = 12; // 4 x 4 blocks
const TARGET = { bx: 2, by: 1 };

/** Blocks of distinct colours, each striped (every other row darker). */
function makeImage(): Float32Array {
  const rng = new Rng(4);
  const colors = Array.from({ length: 16 }, () => [0.2 + 0.6 * rng.random(), 0.2 + 0.6 * rng.random(), 0.2 + 0.6 * rng.random()]);
  const img = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = colors[Math.floor(y / B) * 4 + Math.floor(x / B)]!;
      const f = y % 2 === 0 ? 1 : 0.6;
      for (let ch = 0; ch < 3; ch++) img[(y * W + x) * 3 + ch] = c[ch]! * f;
    }
  }
  return img;
}

const inTarget = (p: number): boolean => Math.floor(Math.floor(p / W) / B) === TARGET.by && Math.floor((p % W) / B) === TARGET.bx;

/** Fires when the stripes of the target block are visible (std of the red channel inside it). */
function stripeModel(layout: 'NHWC' | 'NCHW'): ImagePredictor & { calls: number } {
  const m = {
    kind: 'image' as const,
    inputShape: layout === 'NHWC' ? [1, H, W, 3] : [1, 3, H, W],
    layout,
    outputNames: ['plain', 'striped'],
    outputSpace: 'probability' as const,
    calls: 0,
    async predict(px: Float32Array, n: number): Promise<Matrix> {
      m.calls++;
      const out = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        let s2 = 0;
        let c = 0;
        for (let y = TARGET.by * B; y < (TARGET.by + 1) * B; y++) {
          for (let x = TARGET.bx * B; x < (TARGET.bx + 1) * B; x++) {
            const v = layout === 'NHWC' ? px[i * W * H * 3 + (y * W + x) * 3]! : px[i * W * H * 3 + y * W + x]!;
            s += v;
            s2 += v * v;
            c++;
          }
        }
        const sd = Math.sqrt(Math.max(0, s2 / c - (s / c) ** 2));
        const p = 1 / (1 + Math.exp(-40 * (sd - 0.05)));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return { data: out, rows: n, cols: 2 };
    },
  };
  return m;
}

const image = { data: makeImage(), width: W, height: H, channels: 3 };

t.test('SLIC follows the blocks', async (t) => {
  const { segments, count } = slic(image, { nSegments: 16, compactness: 30 });
  t.ok(count >= 12 && count <= 24, `${count} segments`);
  // the segment under the target block's centre covers most of the block
  const centre = (TARGET.by * B + B / 2) * W + TARGET.bx * B + B / 2;
  let inside = 0;
  let total = 0;
  for (let p = 0; p < W * H; p++) {
    if (segments[p] !== segments[centre]) continue;
    total++;
    if (inTarget(p)) inside++;
  }
  t.ok(inside / total > 0.8 && inside / (B * B) > 0.6, `segment purity ${(inside / total).toFixed(2)}, recall ${(inside / (B * B)).toFixed(2)}`);
  const again = slic(image, { nSegments: 16, compactness: 30 });
  t.same(again.segments, segments, 'deterministic');
});

t.test('quickshift segments are connected trees and deterministic per seed', async (t) => {
  const a = quickshift(image, { kernelSize: 3, maxDist: 10, ratio: 0.5, seed: 1 });
  const b = quickshift(image, { kernelSize: 3, maxDist: 10, ratio: 0.5, seed: 1 });
  t.same(a.segments, b.segments);
  t.ok(a.count > 4 && a.count < W * H / 4, `${a.count} segments`);
  // no segment straddles two blocks of different colours by much
  const purity: number[] = [];
  for (let k = 0; k < a.count; k++) {
    const counts = new Map<number, number>();
    let tot = 0;
    for (let p = 0; p < W * H; p++) {
      if (a.segments[p] !== k) continue;
      const blk = Math.floor(Math.floor(p / W) / B) * 4 + Math.floor((p % W) / B);
      counts.set(blk, (counts.get(blk) ?? 0) + 1);
      tot++;
    }
    purity.push(Math.max(...counts.values()) / tot);
  }
  t.ok(purity.reduce((s, v) => s + v, 0) / purity.length > 0.9, 'segments stay inside blocks');
});

t.test('image LIME on a synthetic model finds the right superpixel', async (t) => {
  for (const layout of ['NHWC', 'NCHW'] as const) {
    const model = stripeModel(layout);
    const ex = new LimeImageExplainer({ seed: 5 });
    const e = await ex.explain(model, image, { segmentation: { algorithm: 'slic', nSegments: 16, compactness: 30 }, numSamples: 400, labels: [1], batchSize: 25 });
    t.equal(e.method, 'lime.image');
    t.equal(model.calls, 16, `${layout}: 400 samples in batches of 25`);
    t.equal(e.timings.samples, 400);
    const d = e.details as { segments: number[]; explanations: { segment: number; weight: number }[][][] };
    const top = d.explanations[0]![0]![0]!;
    t.ok(top.weight > 0.3, `${layout}: top weight ${top.weight.toFixed(3)}`);
    let inside = 0;
    let total = 0;
    d.segments.forEach((s, p) => {
      if (s !== top.segment) return;
      total++;
      if (inTarget(p)) inside++;
    });
    t.ok(inside / total > 0.8, `${layout}: the top superpixel lies in the target block (${inside}/${total})`);
    const second = d.explanations[0]![0]![1]!;
    t.ok(Math.abs(second.weight) < 0.5 * top.weight || d.segments.some((s, p) => s === second.segment && inTarget(p)), 'others matter less unless they are part of the block');
    const mask = explanationMask(e, { numFeatures: 1 });
    let maskIn = 0;
    mask.forEach((v, p) => (maskIn += v === 1 && inTarget(p) ? 1 : 0));
    t.equal(maskIn, inside, 'mask = top superpixel');
    const rgba = renderBoundaries(image, d.segments, { mask });
    t.equal(rgba.length, W * H * 4);
    // a boundary pixel is yellow
    const bp = d.segments.findIndex((s, p) => p % W < W - 1 && d.segments[p + 1] !== s);
    t.same(Array.from(rgba.slice(bp * 4, bp * 4 + 4)), [255, 255, 0, 255]);
  }
});

t.test('image LIME defaults (quickshift, topLabels), hide colour, reproducibility, errors', async (t) => {
  const model = stripeModel('NHWC');
  const ex = new LimeImageExplainer();
  const a = await ex.explain(model, image, { numSamples: 100, hideColor: 0 });
  const b = await ex.explain(model, image, { numSamples: 100, hideColor: 0 });
  t.same(a.values, b.values, 'seeded');
  t.same(a.outputNames, ['striped', 'plain'], 'topLabels default orders the outputs');
  const u8 = { data: Uint8Array.from(image.data, (v) => Math.round(v * 255)), width: W, height: H, channels: 3 };
  t.ok(slic(u8, { nSegments: 16 }).count > 4, '8-bit input');
  await t.rejects(ex.explain(model, { data: new Float32Array(10), width: W, height: H }), /needs 6912/);
  await t.rejects(ex.explain({ ...model, inputShape: [1, 32, 32, 3] }, image), /resize/);
  await t.rejects(ex.explain(model, image, { segmentation: { algorithm: 'precomputed', segments: [1, 2] } }), /one label per pixel/);
  await t.rejects(ex.explain(model, image, { hideColor: [1, 2] }), /hideColor/);
  await t.rejects(ex.explain(model, { ...image, channels: 4 }), /channels/);
});
