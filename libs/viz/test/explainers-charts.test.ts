/** Grad-CAM overlays and panels, LIME text and bars, Anchors rules: drawn from real explanations of the shared fixtures. */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import type { Explanation } from '@genome/model-format';
import { anchorRuleSvg, camOverlaySvg, camPanelsSvg, limeBarSvg, limeTextDocument, limeTextHtml, limeTextSvg } from '../src/explainers/index.js';
import { pngPixels, svgToPng } from '../src/core/png.js';
import { VizError } from '../src/errors.js';
import { encodePng, jpegSize, pngSize } from '../src/explainers/png-encode.js';
import {
  anchorTabularExplanation,
  anchorTextExplanation,
  checkMarkup,
  countClass,
  imageHrefs,
  limeTabularExplanation,
  limeTextExplanation,
  mnistCams,
  mnistJpegs,
  pixelStats,
  pngHeaderSize,
  savePicture,
  squeezenetCat,
} from './explainers-fixtures.js';

const saved = new Set<string>();

/** Well-formed, rasterises, not blank; saves the first picture of each name. */
async function checkPicture(t: Test, svg: string, name: string, opts: { minColours?: number } = {}): Promise<Uint8Array> {
  const { problems } = checkMarkup(svg);
  t.same(problems, [], `${name}: well-formed SVG`);
  const raster = await svgToPng(svg);
  const { pixels, width, height } = await pngPixels(raster.png);
  const stats = pixelStats(pixels);
  t.ok(stats.nonWhite > 0.02 * width * height, `${name}: ${stats.nonWhite} of ${stats.total} pixels are not white`);
  t.ok(stats.colours >= (opts.minColours ?? 4), `${name}: ${stats.colours} distinct colours`);
  if (!saved.has(name)) {
    saved.add(name);
    savePicture(name, raster.png);
  }
  return pixels;
}


function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof VizError ? e.code : `not a VizError: ${(e as Error).message}`;
  }
  return undefined;
}

t.test('png-encode: header, size readers', async (t) => {
  const png = encodePng(3, 2, Uint8Array.from({ length: 24 }, (_, i) => (i % 4 === 3 ? 255 : 200)), 4);
  t.same(pngSize(png), { width: 3, height: 2 });
  const { pixels } = await pngPixels(png);
  t.same(Array.from(pixels.subarray(0, 4)), [200, 200, 200, 255], 'resvg decodes our PNG');
  const rgb = encodePng(2, 2, Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]), 3);
  const back = await pngPixels(rgb);
  t.same(Array.from(back.pixels), [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255], 'RGB round-trips');
  t.same(jpegSize(mnistJpegs()[3]!), { width: 28, height: 28 });
  t.equal(jpegSize(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), undefined);
});


t.test('Grad-CAM', async (t) => {
  const mnist = await mnistCams(['gradcam', 'gradcam++', 'scorecam']);
  const [gradcam, plusplus, scorecam] = mnist.explanations as [Explanation, Explanation, Explanation];
  t.equal(gradcam.method, 'cam.gradcam');

  t.test('camOverlaySvg over raw pixels: image and heatmap layers, title, colour bar', async (t) => {
    const img = mnist.images[3]!;
    const svg = camOverlaySvg(gradcam, { row: 3, image: img });
    t.match(svg, /data-chart="cam_overlay"/);
    t.match(svg, /<title>Grad-CAM: digit 7<\/title>/, 'title names the target class');
    const base = imageHrefs(svg, 'cam-image');
    t.equal(base.length, 1, 'one input image');
    t.equal(base[0]!.mime, 'image/png');
    t.same(pngHeaderSize(base[0]!.bytes), { width: img.width, height: img.height }, 'embedded PNG has the image size');
    const heat = imageHrefs(svg, 'cam-heatmap');
    t.equal(heat.length, 1, 'one heatmap layer');
    t.same(pngHeaderSize(heat[0]!.bytes), { width: 28, height: 28 }, 'heatmap PNG has the heatmap size');
    t.match(svg, /class="cam-heatmap"[^>]*opacity="0.5"/, 'heatmap at alpha 0.5');
    t.equal(countClass(svg, 'colorbar'), 1);
    t.ok(countClass(svg, 'tick') >= 2, 'colour bar ticks');
    // d3 ticks lie within the CAM's range
    const cam = (gradcam.details as { rows: { cam: number[][] }[] }).rows[3]!.cam.flat();
    const max = Math.max(...cam);
    const ticks = [...svg.matchAll(/class="tick"[^>]*>([^<]+)</g)].map((m) => Number(m[1]!.replace('−', '-')));
    t.ok(ticks.every((v) => v >= -1e-9 && v <= max + 1e-9), `ticks ${ticks} within [0, ${max}]`);
    const pixels = await checkPicture(t, svg, 'cam_overlay', { minColours: 20 });
    t.ok(pixels.length > 0);
  });

  t.test('camOverlaySvg from JPEG bytes, per-image lists, no image, no colour bar', async (t) => {
    const svg = camOverlaySvg(gradcam, { row: 1, image: mnist.jpegs[1]!, alpha: 0.7 });
    const base = imageHrefs(svg, 'cam-image');
    t.equal(base[0]!.mime, 'image/jpeg', 'encoded JPEG passed through');
    t.same(Buffer.compare(base[0]!.bytes, Buffer.from(mnist.jpegs[1]!)), 0);
    t.match(svg, /opacity="0.7"/);
    const listed = camOverlaySvg(gradcam, { row: 2, image: mnist.images });
    t.same(pngHeaderSize(imageHrefs(listed, 'cam-image')[0]!.bytes), { width: 28, height: 28 }, 'image picked by details.rows[r].image');
    t.match(listed, /digit 5/);
    const bare = camOverlaySvg(gradcam, { row: 0, colorbar: false });
    t.equal(imageHrefs(bare, 'cam-image').length, 0, 'no input image');
    t.equal(imageHrefs(bare, 'cam-heatmap').length, 1);
    t.equal(countClass(bare, 'colorbar'), 0);
    t.match(bare, /heatmap only/);
    await checkPicture(t, bare, 'cam_overlay-heatmap-only', { minColours: 10 });
    // without the upsampled heatmap the CAM itself is drawn
    const noHeat = JSON.parse(JSON.stringify(gradcam)) as Explanation;
    for (const r of (noHeat.details as { rows: Record<string, unknown>[] }).rows) delete r.heatmap;
    const camOnly = camOverlaySvg(noHeat, { row: 0 });
    t.same(pngHeaderSize(imageHrefs(camOnly, 'cam-heatmap')[0]!.bytes), { width: 14, height: 14 }, 'CAM resolution');
    // and from values alone (details.rows gone)
    const valuesOnly = { ...noHeat, details: { camHeight: 14, camWidth: 14 } };
    t.equal(imageHrefs(camOverlaySvg(valuesOnly, { row: 0 }), 'cam-heatmap').length, 1);
  });

  t.test('camOverlaySvg on a colour photo (SqueezeNet, center-crop): heatmap over the cropped window', async (t) => {
    const cat = await squeezenetCat();
    const svg = camOverlaySvg(cat.explanation, { image: cat.jpeg });
    t.match(svg, /<title>Grad-CAM: class \d+<\/title>/);
    t.same(pngHeaderSize(imageHrefs(svg, 'cam-heatmap')[0]!.bytes), { width: 128, height: 128 });
    const raw = camOverlaySvg(cat.explanation, { image: cat.image, width: 500 });
    t.match(raw, /width="500"/);
    await checkPicture(t, svg, 'cam_overlay-squeezenet-cat', { minColours: 50 });
  });

  t.test('camPanelsSvg: several methods of one image, several classes of one explanation', async (t) => {
    const svg = camPanelsSvg([gradcam, plusplus, scorecam], { row: 3, image: mnist.images });
    t.match(svg, /data-chart="cam_panels"/);
    t.equal(countClass(svg, 'cam-picture'), 3);
    t.equal(countClass(svg, 'panel-title'), 3);
    for (const m of ['Grad-CAM · digit 7', 'Grad-CAM++ · digit 7', 'Score-CAM · digit 7']) t.ok(svg.includes(m), `panel "${m}"`);
    t.equal(countClass(svg, 'panel-score'), 3);
    t.equal(imageHrefs(svg, 'cam-image').length, 3);
    await checkPicture(t, svg, 'cam_panels', { minColours: 20 });

    const top = await mnistCams(['gradcam'], { digits: [1], topK: 3 });
    const byClass = camPanelsSvg(top.explanations[0], { image: top.images, labels: ['first', 'second', 'third'], columns: 2 });
    t.equal(countClass(byClass, 'cam-picture'), 3, 'one panel per row (class)');
    t.ok(byClass.includes('>first<') && byClass.includes('>third<'), 'labels');
    t.ok(byClass.includes('Grad-CAM by target'));
    await checkPicture(t, byClass, 'cam_panels-by-class', { minColours: 20 });
    const picked = camPanelsSvg(top.explanations[0], { rows: [2] });
    t.equal(countClass(picked, 'cam-picture'), 1);
  });

  t.test('CAM errors', async (t) => {
    t.equal(code(() => camOverlaySvg(gradcam, { alpha: 2 })), 'INVALID_INPUT', 'alpha out of range');
    t.equal(code(() => camOverlaySvg(gradcam, { row: 9 })), 'INVALID_INPUT', 'row out of range');
    t.equal(code(() => camOverlaySvg(gradcam, { image: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) })), 'INVALID_INPUT', 'not an image');
    t.equal(code(() => camOverlaySvg(gradcam, { image: { width: 2, height: 2, data: [1, 2, 3] } })), 'INVALID_INPUT', 'pixel count mismatch');
    t.equal(code(() => camOverlaySvg(gradcam, { image: { width: 5000, height: 10, data: new Uint8Array(5000 * 10 * 3) } })), 'INVALID_INPUT', 'too large');
    t.match(code(() => camOverlaySvg(gradcam, { image: { width: 5000, height: 10, data: new Uint8Array(5000 * 10 * 3) } })) ?? '', 'INVALID_INPUT');
    t.throws(() => camOverlaySvg(gradcam, { image: { width: 5000, height: 10, data: new Uint8Array(5000 * 10 * 3) } }), /4096x4096/);
    t.equal(code(() => camOverlaySvg(gradcam, { row: 3, image: [mnist.images[0]!] })), 'INVALID_INPUT', 'list too short for the row');
    t.equal(code(() => camOverlaySvg(gradcam, { colorbar: 'no' as unknown as boolean })), 'INVALID_INPUT', 'colorbar must be boolean');
    t.equal(code(() => camOverlaySvg({ ...gradcam, schema: 'x' })), 'INVALID_INPUT', 'not an explanation');
    t.equal(code(() => camPanelsSvg([])), 'INVALID_INPUT');
    t.equal(code(() => camPanelsSvg(gradcam, { labels: ['one'] })), 'INVALID_INPUT', 'labels count');
    const lime = await limeTabularExplanation();
    t.equal(code(() => camOverlaySvg(lime)), 'UNSUPPORTED');
    t.throws(() => camOverlaySvg(lime), /lime\.tabular/, 'names the method');
    t.equal(code(() => camPanelsSvg([gradcam, lime])), 'UNSUPPORTED');
  });
});

t.test('LIME text', async (t) => {
  const e = await limeTextExplanation();
  t.equal(e.method, 'lime.text');
  const html = limeTextHtml(e);
  t.match(html, /^<div class="genome-lime-text"/);
  t.same(checkMarkup(html, { html: true }).problems, [], 'well-formed HTML');
  const words = (e.details!.explanations as { word: string; weight: number }[][][])[0]![0]!;
  const nonzero = words.filter((w) => w.weight !== 0);
  t.ok(nonzero.length >= 5, 'several explained words');
  const highlighted = [...html.matchAll(/<span class="lime-word lime-(positive|negative)"[^>]*title="([^"]*)"[^>]*>([^<]*)<\/span>/g)];
  t.ok(highlighted.length >= nonzero.length, `${highlighted.length} highlighted occurrences`);
  for (const w of nonzero) t.ok(highlighted.some((h) => h[3] === w.word), `word ${w.word} highlighted`);
  const top = nonzero[0]!;
  const h = highlighted.find((x) => x[3] === top.word)!;
  t.equal(h[1], top.weight >= 0 ? 'positive' : 'negative', 'sign class');
  t.match(h[2]!, top.word, 'tooltip names the word');
  t.match(html, /rgba\(213, 94, 0, 0\.85\)|rgba\(0, 114, 178, 0\.85\)/, 'the largest weight is at full strength');
  t.match(html, /explained class <b[^>]*>spam<\/b>/);
  t.match(html, /probability [\d.]+/);
  t.equal(countClass(html, 'lime-weight-row'), Math.min(10, nonzero.length));
  // the text survives intact once the markup is removed
  const body = /<div class="lime-body"[^>]*>(.*?)<\/div>/s.exec(html)![1]!;
  const plain = body.replace(/<[^>]+>/g, '').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
  t.equal(plain, e.details!.text, 'original text, unchanged');

  const doc = limeTextDocument(e);
  t.match(doc, /^<!doctype html>\n<html lang="en"><head><meta charset="utf-8">/);
  t.same(checkMarkup(doc, { html: true }).problems, []);
  t.match(doc, /<title>LIME text explanation: spam<\/title>/);

  const svg = limeTextSvg(e);
  t.match(svg, /data-chart="lime_text"/);
  t.equal(countClass(svg, 'lime-word'), highlighted.length, 'same words highlighted in SVG');
  await checkPicture(t, svg, 'lime_text');

  t.test('escaping: a <script> in the text and in the words', async (t) => {
    const evil = await limeTextExplanation('<script>alert("FREE")</script> WIN a prize & call now <b>txt</b>');
    for (const out of [limeTextHtml(evil), limeTextDocument(evil), limeTextSvg(evil), limeBarSvg(evil)]) {
      t.notMatch(out, /<script/i, 'no script tag');
      t.notMatch(out, /<b>txt/, 'no injected tag');
      const { problems, tags } = checkMarkup(out, { html: out.startsWith('<!doctype') || out.startsWith('<div') });
      t.same(problems, []);
      t.notOk(tags.has('script'));
    }
    t.match(limeTextHtml(evil), /&lt;script&gt;/);
  });

  t.test('lime.text errors', async (t) => {
    t.equal(code(() => limeTextHtml(e, { output: 'nope' })), 'INVALID_INPUT');
    t.equal(code(() => limeTextHtml(e, { row: 1 })), 'INVALID_INPUT');
    const noText = { ...e, details: { ...e.details, text: undefined } };
    t.equal(code(() => limeTextHtml(noText)), 'INVALID_INPUT');
    const long = { ...e, details: { ...e.details, text: 'x'.repeat(100_001) } };
    t.throws(() => limeTextHtml(long), /100000/);
    const tab = await limeTabularExplanation();
    t.equal(code(() => limeTextHtml(tab)), 'UNSUPPORTED');
    t.throws(() => limeTextHtml(tab), /lime\.tabular/);
    // without positions the words are found by splitting
    const noPos = { ...e, details: { ...e.details, positions: undefined } };
    t.equal(countClass(limeTextHtml(noPos), 'lime-word'), countClass(html, 'lime-word'));
  });
});

t.test('LIME bars', async (t) => {
  const e = await limeTabularExplanation([
    [55, 1, 38],
    [25, 0, 5],
  ]);
  const svg = limeBarSvg(e);
  t.match(svg, /data-chart="lime_bar"/);
  const list = (e.details!.explanations as { name: string; weight: number }[][][])[0]![0]!;
  t.equal(countClass(svg, 'lime-feature'), list.length, 'one bar per selected feature');
  for (const f of list) t.ok(svg.includes(`>${f.name.replace(/</g, '&lt;').replace(/>/g, '&gt;')}<`), `condition ${f.name}`);
  t.ok(svg.includes('status=married'), 'categorical condition');
  t.match(svg, /age (&lt;=|&gt;)/, 'discretized condition');
  t.equal(countClass(svg, 'positive') + countClass(svg, 'negative'), list.length);
  const pos = list.filter((f) => f.weight >= 0).length;
  t.equal(countClass(svg, 'positive'), pos);
  t.match(svg, /fill="#D55E00"/, 'positive colour');
  t.match(svg, /intercept [\d.]+/);
  t.match(svg, /R² [\d.−-]+/);
  t.match(svg, /local prediction [\d.]+/);
  // bars sorted by |weight|
  const order = [...svg.matchAll(/class="lime-feature[^"]*" data-feature="(\d+)"/g)].map((m) => Number(m[1]));
  t.same(order, list.map((f) => (f as unknown as { feature: number }).feature), 'sorted by |weight| like LIME');
  // positive bars start at zero and go right, negative ones end at zero
  await checkPicture(t, svg, 'lime_bar');
  const row1 = limeBarSvg(e, { row: 1, maxDisplay: 2 });
  t.equal(countClass(row1, 'lime-feature'), 2);
  t.match(row1, /1 more feature/);
  t.match(row1, /\(row 1\)/);
  const text = await limeTextExplanation();
  const tsvg = limeBarSvg(text, { maxDisplay: 5 });
  t.equal(countClass(tsvg, 'lime-feature'), 5);
  await checkPicture(t, tsvg, 'lime_bar-text');
  t.equal(code(() => limeBarSvg(e, { maxDisplay: 0 })), 'INVALID_INPUT');
  t.equal(code(() => limeBarSvg(e, { width: -1 })), 'INVALID_INPUT');
  t.equal(code(() => limeBarSvg(e, { output: 5 })), 'INVALID_INPUT');
  const a = await anchorTabularExplanation();
  t.equal(code(() => limeBarSvg(a)), 'UNSUPPORTED');
  t.throws(() => limeBarSvg(a), /anchors\.tabular.*anchorRuleSvg/);
});

t.test('Anchors rule cards', async (t) => {
  const a = await anchorTabularExplanation();
  const anchor = a.details!.anchor as string[];
  t.ok(anchor.length >= 1, `anchor ${anchor}`);
  const svg = anchorRuleSvg(a);
  t.match(svg, /data-chart="anchor_rule"/);
  t.equal(countClass(svg, 'anchor-condition'), anchor.length);
  for (const c of anchor) t.ok(svg.includes(c.replace(/</g, '&lt;').replace(/>/g, '&gt;')), `condition ${c}`);
  t.match(svg, />IF</);
  t.match(svg, />THEN</);
  t.match(svg, /predict “yes”/);
  t.equal(countClass(svg, 'anchor-share'), 2);
  t.match(svg, new RegExp(`>${Math.round((a.details!.precision as number) * 100)}%<`), 'precision as a percentage');
  t.match(svg, new RegExp(`>${Math.round((a.details!.coverage as number) * 100)}%<`), 'coverage as a percentage');
  t.equal(countClass(svg, 'threshold'), 1, 'threshold marked');
  t.ok(countClass(svg, 'anchor-instance-value') >= 1, 'instance values');
  t.match(svg, /status = married|age = 55/);
  t.equal(countClass(svg, 'anchor-flag'), 1 + (a.details!.budgetExhausted ? 1 : 0));
  t.match(svg, a.details!.success ? /search succeeded/ : /no anchor reached/);
  await checkPicture(t, svg, 'anchor_rule');

  const at = await anchorTextExplanation();
  const tsvg = anchorRuleSvg(at);
  const words = at.details!.anchor as string[];
  t.equal(countClass(tsvg, 'anchor-condition'), words.length);
  for (const w of words) t.ok(tsvg.includes(`the text contains “${w}”`));
  t.match(tsvg, /predict “spam”/);
  t.ok(countClass(tsvg, 'anchor-instance-value') >= 1, 'the text');
  await checkPicture(t, tsvg, 'anchor_rule-text');

  // flags and an empty anchor
  const failed = { ...a, details: { ...a.details, anchor: [], success: false, budgetExhausted: true } };
  const fsvg = anchorRuleSvg(failed);
  t.match(fsvg, /any input/);
  t.match(fsvg, /budget exhausted/);
  t.equal(countClass(fsvg, 'failure'), 1);
  t.equal(code(() => anchorRuleSvg({ ...a, details: { ...a.details, precision: 2 } })), 'INVALID_INPUT');
  t.equal(code(() => anchorRuleSvg({ ...a, details: { ...a.details, anchor: 'x' } })), 'INVALID_INPUT');
  const lime = await limeTextExplanation();
  t.equal(code(() => anchorRuleSvg(lime)), 'UNSUPPORTED');
  t.throws(() => anchorRuleSvg(lime), /lime\.text/);
});

t.test('property: random LIME-like explanations never throw and never leak markup', async (t) => {
  const word = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom('<script>', '</div>', '"&', "a'b", '<b>x</b>', '&amp;'));
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(word, fc.double({ min: -5, max: 5, noNaN: true })), { minLength: 1, maxLength: 12 }),
      fc.array(fc.constantFrom(' ', ', ', '\n', ' <i> ', ' & '), { minLength: 12, maxLength: 12 }),
      fc.string({ maxLength: 12 }),
      async (features, seps, className) => {
        // lime.text: the words joined, each feature at its offset
        let text = '';
        const positions: number[][] = [];
        features.forEach(([w], i) => {
          positions.push([text.length]);
          text += w + seps[i]!;
        });
        const base = {
          schema: 'genome.explanation/v1' as const,
          values: [features.map(([, v]) => [v])],
          baseValues: [[0.1]],
          featureNames: features.map(([w]) => w),
          outputNames: [className],
          outputSpace: 'probability' as const,
          predictions: [[0.7]],
          parameters: {},
          timings: { totalMs: 1 },
        };
        const lt = { ...base, method: 'lime.text', details: { text, positions, intercept: [[0.1]], score: [[0.5]] } };
        const tab = { ...base, method: 'lime.tabular', details: { featureDescriptions: [features.map(([w]) => `${w} <= 1.00`)] } };
        const outputs = [limeTextHtml(lt), limeTextDocument(lt), limeTextSvg(lt), limeBarSvg(lt), limeBarSvg(tab)];
        for (const out of outputs) {
          const html = out.startsWith('<div') || out.startsWith('<!doctype');
          const { problems, tags } = checkMarkup(out, { html });
          if (problems.length > 0) throw new Error(`${problems.join('; ')} in ${out.slice(0, 300)}`);
          for (const tag of tags.keys()) {
            if (!['svg', 'title', 'desc', 'rect', 'text', 'g', 'line', 'div', 'span', 'b', 'table', 'tr', 'td', 'html', 'head', 'meta', 'body'].includes(tag)) throw new Error(`unexpected <${tag}>`);
          }
        }
      },
    ),
    { numRuns: 150, seed: 20240611 },
  );
  t.pass('150 random explanations');
});
