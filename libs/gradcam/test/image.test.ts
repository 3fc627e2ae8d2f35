/** Image decoding, preprocessing, overlays and the end-to-end Explanation JSON. */
import t from 'tap';
import { PNG } from 'pngjs';
import { decodeImage, encodePng, explainImages, heatmapPng, jet, loadCamModel, overlayHeatmap, preprocessImages, resizeBilinear } from '../src/index.js';
import { fixture, readFixture } from '../../../tools/fixtures.js';
import { relErr } from './helpers.js';

t.test('decode PNG and JPEG', async (t) => {
  const png = decodeImage(readFixture('data', 'images', 'gradcam', 'both.png'));
  t.same([png.width, png.height, png.data.length], [224, 224, 224 * 224 * 4]);
  const jpg = decodeImage(readFixture('data', 'images', 'gradcam', 'horses.jpg'));
  t.same([jpg.width, jpg.height], [425, 280], 'progressive JPEG');
  const round = decodeImage(encodePng(png));
  t.same(Buffer.from(round.data), Buffer.from(png.data), 'PNG round trip is lossless');
  t.throws(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), { code: 'INVALID_INPUT' });
  t.throws(() => decodeImage(readFixture('data', 'images', 'gradcam', 'both.png').subarray(0, 100)), { code: 'INVALID_INPUT' }, 'truncated PNG');
});

t.test('preprocessing: layouts, channel order, scale/mean/std, resize modes', async (t) => {
  // 2x2 image: red, green / blue, white
  const img = { width: 2, height: 2, data: Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]) };
  const nchw = preprocessImages([img], { width: 2, height: 2, channels: 3, layout: 'NCHW', scale: 1 / 255 });
  t.same(Array.from(nchw), [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1], 'NCHW planes');
  const nhwc = preprocessImages([img], { width: 2, height: 2, channels: 3, layout: 'NHWC', channelOrder: 'BGR' });
  t.same(Array.from(nhwc.subarray(0, 6)), [0, 0, 255, 0, 255, 0], 'NHWC, BGR');
  const norm = preprocessImages([img], { width: 2, height: 2, channels: 3, layout: 'NCHW', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5] });
  t.same(Array.from(norm.subarray(4, 8)), [-2, 2, -2, 2], '(x*scale - mean)/std per channel');
  const gray = preprocessImages([img], { width: 2, height: 2, channels: 1, layout: 'NHWC', channelOrder: 'GRAY' });
  t.ok(Math.abs(gray[0]! - 0.299 * 255) < 1e-3 && Math.abs(gray[3]! - 255) < 1e-3, 'luma');
  const up = preprocessImages([img], { width: 4, height: 4, channels: 3, layout: 'NCHW' });
  t.equal(up[0], 255, 'bilinear upsampling keeps corner values');
  const wide = { width: 8, height: 2, data: new Uint8Array(64).fill(200) };
  const box = preprocessImages([wide], { width: 2, height: 2, channels: 3, layout: 'NCHW', resize: 'letterbox' });
  t.equal(box[0], 0, 'letterbox pads with zeros');
  const crop = preprocessImages([wide], { width: 2, height: 2, channels: 3, layout: 'NCHW', resize: 'center-crop' });
  t.ok(crop.every((v) => v === 200), 'center crop stays inside the image');
  t.throws(() => preprocessImages([img], { width: 2, height: 2, channels: 3, layout: 'NCHW', mean: [1, 2] }), { code: 'INVALID_INPUT' });
});

t.test('bilinear resize matches the half-pixel rule', async (t) => {
  // 1-D ramp 0..3 upsampled x2 with align_corners=false: [0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3]
  t.same(Array.from(resizeBilinear([0, 1, 2, 3], 1, 4, 1, 8)), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
  // align_corners=true hits both ends exactly
  t.same(Array.from(resizeBilinear([0, 3], 1, 2, 1, 4, true)), [0, 1, 2, 3]);
});

t.test('overlays and colormap', async (t) => {
  t.same(Array.from(jet(0)), [0, 0, 128], 'jet(0) dark blue');
  t.same(Array.from(jet(1)), [128, 0, 0], 'jet(1) dark red');
  const img = { width: 4, height: 2, data: new Uint8Array(32).fill(100) };
  const o = overlayHeatmap(img, [0, 1], 1, 2, { alpha: 1 });
  t.same(Array.from(o.data.subarray(0, 3)), [0, 0, 128], 'alpha 1 = colormap');
  const half = overlayHeatmap(img, [0, 1], 1, 2, { alpha: 0.5 });
  t.same(Array.from(half.data.subarray(0, 4)), [50, 50, 114, 255], 'alpha blend');
  const png = PNG.sync.read(Buffer.from(heatmapPng([0, 0.5, 1, 0.25], 2, 2)));
  t.same([png.width, png.height], [2, 2]);
});

t.test('explainImages on mnist-8 with JPEG digits: Explanation JSON and overlays', async (t) => {
  const model = await loadCamModel(fixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'), { target: 'ReLU114_Output_0' });
  t.teardown(() => model.dispose());
  const digits = ['0', '3', '5', '7'];
  const images = digits.map((d) => readFixture('data', 'images', 'mnist', `${d}.jpg`));
  const res = await explainImages(model, images, {
    preprocessing: { width: 28, height: 28, channels: 1, layout: 'NCHW', channelOrder: 'GRAY' },
    method: 'gradcam',
  });
  const predicted = res.run.results.map((r) => r.target.class);
  t.same(predicted, [0, 3, 5, 7], 'mnist-8 reads the digits (pixel values 0..255)');
  const e = res.explanation;
  t.equal(e.schema, 'genome.explanation/v1');
  t.equal(e.method, 'cam.gradcam');
  t.equal(e.values.length, 4);
  t.equal(e.featureNames.length, 14 * 14);
  const back = JSON.parse(JSON.stringify(e));
  t.same(back, e, 'JSON round trip');
  const rows = (e.details as { rows: { cam: number[][]; heatmap: number[][]; overlayPng: string }[] }).rows;
  t.ok(relErr(rows[0]!.cam.flat(), res.run.results[0]!.cam) === 0, 'details carry the CAM');
  t.same([rows[0]!.heatmap.length, rows[0]!.heatmap[0]!.length], [28, 28]);
  const overlay = decodeImage(Buffer.from(rows[3]!.overlayPng, 'base64'));
  t.same([overlay.width, overlay.height], [28, 28], 'overlay PNG in details');
  await t.rejects(explainImages(model, images, { preprocessing: { width: 28, height: 28, channels: 1, layout: 'NHWC' } }), { code: 'INVALID_INPUT' }, 'layout mismatch is reported');
});
