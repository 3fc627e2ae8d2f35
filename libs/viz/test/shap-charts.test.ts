/**
 * SHAP charts on real explanations (TreeSHAP of the California housing forest, the Audit XGBoost classifier with
 * category names, the Iris 3-class XGBoost model): SVG well-formedness, element counts, labels, axis ranges, errors,
 * PNG rasters that are not blank (written to /tmp/viz-shap/<kind>.png for a look), a 1000-row case and a property test.
 */
import t from 'tap';
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Explanation } from '@genome/model-format';
import { VizError } from '../src/errors.js';
import { formatNumber, formatSigned } from '../src/core/format.js';
import { pngPixels, svgToPng } from '../src/core/png.js';
import { approximateInteractions, barSvg, beeswarmSvg, decisionSvg, dependenceSvg, forceStackedSvg, forceSvg, similarityOrder, swarmOffsets, waterfallSvg } from '../src/shap/index.js';
import { dataColumn, valueMatrix } from '../src/shap/common.js';
import { auditExplanation, axisDomain, californiaExplanation, covers, countClass, irisExplanation, syntheticExplanation, texts, tickValues, xmlProblem } from './shap-fixtures.js';

/** The subtest object tap passes to a test callback. */
type TT = Parameters<Parameters<typeof t.test>[0]>[0];

const OUT = '/tmp/viz-shap';
mkdirSync(OUT, { recursive: true });

const cal = await californiaExplanation(300);
const calInter = await californiaExplanation(200, true);
const audit = await auditExplanation(400);
const iris = await irisExplanation();

function wellFormed(tt: TT, svg: string, kind: string): void {
  tt.equal(xmlProblem(svg), null, `${kind}: well-formed XML`);
  tt.match(svg, new RegExp(`^<svg [^>]*data-chart="${kind}"`), `${kind}: data-chart`);
  tt.notMatch(svg, /NaN|undefined|Infinity/, `${kind}: no NaN/undefined in the markup`);
}


/** Rasterises, writes /tmp/viz-shap/<name>.png and checks the picture is not blank. */
async function raster(tt: TT, svg: string, name: string): Promise<void> {
  const png = await svgToPng(svg);
  writeFileSync(`${OUT}/${name}.png`, png.png);
  const { pixels, width, height } = await pngPixels(png.png);
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [pixels[4 * i]!, pixels[4 * i + 1]!, pixels[4 * i + 2]!];
    if (r < 240 || g < 240 || b < 240) ink++;
    if (colours.size < 64) colours.add((r << 16) | (g << 8) | b);
  }
  tt.ok(ink > width * height * 0.01, `${name}: ${ink} non-white pixels of ${width * height}`);
  tt.ok(colours.size >= 2, `${name}: several colours`);
}

function throwsViz(tt: TT, fn: () => unknown, code: 'INVALID_INPUT' | 'UNSUPPORTED', re: RegExp, msg: string): void {
  try {
    fn();
    tt.fail(`${msg}: did not throw`);
  } catch (err) {
    tt.ok(err instanceof VizError, `${msg}: VizError`);
    tt.equal((err as VizError).code, code, `${msg}: code ${code}`);
    tt.match((err as Error).message, re, `${msg}: message`);
  }
}

function rowTotal(e: Explanation, r: number, o: number): number {
  return e.baseValues[r]![o]! + e.values[r]!.reduce((s, c) => s + c[o]!, 0);
}

t.test('waterfall (regression, California housing)', async (tt) => {
  const row = 3;
  const svg = waterfallSvg(cal, { row });
  wellFormed(tt, svg, 'waterfall');
  tt.equal(countClass(svg, 'bar'), 8, 'one arrow per feature (8 <= maxDisplay 10)');
  const labels = texts(svg, 'feature-label');
  tt.equal(labels.length, 8);
  for (const l of labels) tt.match(l, / = /, `label "${l}" is name = value`);
  tt.ok(labels.some((l) => l.startsWith('MedInc = ')), 'MedInc labelled');
  const fx = rowTotal(cal, row, 0);
  tt.ok(svg.includes(`f(x) = ${formatNumber(fx)}`), 'f(x) value shown');
  tt.ok(svg.includes(`E[f(X)] = ${formatNumber(cal.baseValues[row]![0]!)}`), 'E[f(X)] shown');
  const values = cal.values[row]!.map((c) => c[0]!);
  const valueLabels = texts(svg, 'value-label');
  for (const v of values) tt.ok(valueLabels.includes(formatSigned(v)), `value ${formatSigned(v)} labelled`);
  // Largest |value| on top.
  const top = labels[0]!.split(' = ')[0];
  const largest = cal.featureNames[values.map(Math.abs).indexOf(Math.max(...values.map(Math.abs)))];
  tt.equal(top, largest, 'largest |value| on top');
  // Axis covers every cumulative position.
  let loc = cal.baseValues[row]![0]!;
  let lo = loc;
  let hi = loc;
  for (const v of values) (loc += v), (lo = Math.min(lo, loc)), (hi = Math.max(hi, loc));
  tt.ok(tickValues(svg).length >= 3, 'ticks');
  const dom = axisDomain(svg, 'bottom');
  tt.ok(covers(dom, lo, hi), `axis ${dom.join('..')} covers ${lo}..${hi}`);
  await raster(tt, svg, 'waterfall');
});

t.test('waterfall groups other features; category names from data (Audit classifier)', async (tt) => {
  const svg = waterfallSvg(audit, { row: 1, maxDisplay: 5 });
  wellFormed(tt, svg, 'waterfall');
  tt.equal(countClass(svg, 'bar'), 5, 'bars = maxDisplay');
  const labels = texts(svg, 'feature-label');
  tt.equal(labels[4], '5 other features', 'the rest grouped (9 - 4)');
  const row = audit.data![1]!;
  const shown = labels.slice(0, 4);
  tt.ok(shown.some((l) => /= [A-Za-z]/.test(l)), `a category name shown: ${shown.join(' | ')}`);
  for (const l of shown) {
    const [name, value] = l.split(' = ');
    const f = audit.featureNames.indexOf(name!);
    const cell = row[f];
    tt.equal(value, typeof cell === 'string' ? cell : cell === null ? 'missing' : formatNumber(cell!), `${name} value from data`);
  }
  tt.match(svg, /SHAP waterfall, row 1 — logit/, 'title names the output');
  tt.match(svg, /model output \(raw margin\)/);
  await raster(tt, svg, 'waterfall-categorical');
});

t.test('waterfall: multiclass output selection and errors', async (tt) => {
  const last = waterfallSvg(iris, { row: 100 });
  tt.match(last, /— class_2/, 'default output = last');
  const first = waterfallSvg(iris, { row: 100, output: 'class_0' });
  tt.match(first, /— class_0/);
  tt.ok(first.includes(`f(x) = ${formatNumber(rowTotal(iris, 100, 0))}`));
  throwsViz(tt, () => waterfallSvg(iris, { row: 150 }), 'INVALID_INPUT', /row must be an integer in \[0, 149\]/, 'row out of range');
  throwsViz(tt, () => waterfallSvg(iris, { output: 'class_9' }), 'INVALID_INPUT', /output "class_9"/, 'unknown output');
  throwsViz(tt, () => waterfallSvg(iris, { maxDisplay: 0 }), 'INVALID_INPUT', /maxDisplay/, 'maxDisplay 0');
  throwsViz(tt, () => waterfallSvg(iris, { maxDisplay: 2.5 }), 'INVALID_INPUT', /maxDisplay/, 'maxDisplay 2.5');
  throwsViz(tt, () => waterfallSvg({ schema: 'nope' }), 'INVALID_INPUT', /schema/, 'not an explanation');
});

t.test('force (one row)', async (tt) => {
  const svg = forceSvg(audit, { row: 1 });
  wellFormed(tt, svg, 'force');
  const values = audit.values[1]!.map((c) => c[0]!);
  tt.equal(countClass(svg, 'segment'), values.filter((v) => v !== 0).length, 'one segment per non-zero attribution');
  tt.ok(svg.includes(`f(x) = ${formatNumber(rowTotal(audit, 1, 0))}`), 'f(x)');
  tt.ok(svg.includes(`base value = ${formatNumber(audit.baseValues[1]![0]!)}`), 'base value');
  // Red segments point right and lie left of f(x); blue ones to its right.
  const fxMatch = /<g class="output-marker"><line x1="([\d.]+)"/.exec(svg)!;
  const fxX = Number(fxMatch[1]);
  const segs = [...svg.matchAll(/<polygon points="([^"]+)" fill="([^"]+)"[^>]*data-value="([^"]+)"/g)];
  for (const s of segs) {
    const xs = s[1]!.split(' ').map((p) => Number(p.split(',')[0]));
    const v = Number(s[3]);
    if (v > 0) tt.ok(Math.min(...xs) < fxX + 1 && s[2] === '#D55E00', 'positive: red, left of f(x)');
    else tt.ok(Math.max(...xs) > fxX - 1 && s[2] === '#0072B2', 'negative: blue, right of f(x)');
  }
  const labels = texts(svg, 'feature-label');
  const biggest = audit.featureNames[values.map(Math.abs).indexOf(Math.max(...values.map(Math.abs)))]!;
  tt.ok(labels.some((l) => l.startsWith(`${biggest} = `)), `the largest contribution (${biggest}) is labelled`);
  await raster(tt, svg, 'force');
  throwsViz(tt, () => forceSvg(audit, { row: -1 }), 'INVALID_INPUT', /row/, 'negative row');
});

t.test('stacked force', async (tt) => {
  const svg = forceStackedSvg(cal);
  wellFormed(tt, svg, 'force_stacked');
  tt.match(svg, /data-order="similarity"/);
  tt.ok(countClass(svg, 'area-positive') > 0 && countClass(svg, 'area-negative') > 0, 'positive and negative areas');
  tt.ok(countClass(svg, 'area') <= 16, 'at most 8 features on each side');
  tt.equal(countClass(svg, 'output-line'), 1);
  const out = /<polyline points="([^"]+)"[^>]*class="output-line"/.exec(svg)!;
  tt.equal(out[1]!.split(' ').length, 300, 'one output point per row');
  const ordered = forceStackedSvg(cal, { order: 'output', maxDisplay: 3 });
  wellFormed(tt, ordered, 'force_stacked');
  tt.ok(countClass(ordered, 'area') <= 6, 'maxDisplay 3 = 2 features + others per side');
  tt.match(ordered, /3 other features|6 other features/);
  // Output order: f(x) descending, so the output line's y (screen) increases left to right.
  const ys = /<polyline points="([^"]+)"[^>]*class="output-line"/.exec(ordered)![1]!.split(' ').map((p) => Number(p.split(',')[1]));
  tt.ok(ys.every((y, i) => i === 0 || y >= ys[i - 1]! - 0.011), 'output order descending');
  const one = forceStackedSvg({ ...cal, values: [cal.values[0]!], baseValues: [cal.baseValues[0]!], predictions: [cal.predictions![0]!], data: [cal.data![0]!] });
  wellFormed(tt, one, 'force_stacked');
  throwsViz(tt, () => forceStackedSvg(cal, { order: 'random' as 'output' }), 'INVALID_INPUT', /order must be/, 'bad order');
  throwsViz(tt, () => forceStackedSvg(cal, { maxRows: 100 }), 'INVALID_INPUT', /300 rows, more than maxRows \(100\); pass maxRows up to 5000/, 'too many rows');
  throwsViz(tt, () => forceStackedSvg(cal, { maxRows: 6000 }), 'INVALID_INPUT', /maxRows must be an integer in \[1, 5000\]/, 'maxRows bound');
  await raster(tt, svg, 'force_stacked');
});

t.test('similarity order is a deterministic nearest-neighbour chain', async (tt) => {
  // Rows on a line: 0, 10, 1, 11, 2 -> chain from the smallest output: 0, 1, 2, 10, 11.
  const v = Float64Array.from([0, 10, 1, 11, 2]);
  tt.same(similarityOrder(v, 5, 1, v), [0, 2, 4, 1, 3]);
  const m = valueMatrix(cal, 0);
  const fx = Float64Array.from(cal.values, (_, r) => rowTotal(cal, r, 0));
  const a = similarityOrder(m, 300, 8, fx);
  tt.same(a, similarityOrder(m, 300, 8, fx), 'same result twice');
  tt.same([...a].sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i), 'a permutation of the rows');
});

t.test('beeswarm', async (tt) => {
  const svg = beeswarmSvg(cal, { maxDisplay: 6 });
  wellFormed(tt, svg, 'beeswarm');
  tt.equal(countClass(svg, 'feature-row'), 6, 'rows = maxDisplay');
  tt.equal(countClass(svg, 'dot'), 6 * 300, 'one dot per row and feature row');
  const labels = texts(svg, 'feature-label');
  tt.equal(labels[5], 'Sum of 3 other features');
  tt.equal(labels[0], 'MedInc', 'most important first');
  tt.ok(svg.includes('Feature value') && texts(svg, 'colorbar-label').join() === 'High,Low', 'colour bar');
  // Axis covers all plotted values.
  const m = valueMatrix(cal, 0);
  tt.ok(covers(axisDomain(svg, 'bottom'), Math.min(...m), Math.max(...m)), 'axis covers the values');
  // Dots of the high MedInc rows are red-ish, low ones blue-ish.
  const medRow = svg.slice(svg.indexOf('data-feature="MedInc"'), svg.indexOf('</g></g>', svg.indexOf('data-feature="MedInc"')));
  const fills = [...medRow.matchAll(/fill="rgb\((\d+), (\d+), (\d+)\)"/g)].map((x) => [Number(x[1]), Number(x[3])] as const);
  const col = dataColumn(cal, 0)!.values;
  const hiRow = col.indexOf(Math.max(...col));
  const loRow = col.indexOf(Math.min(...col));
  tt.ok(fills[hiRow]![0] > fills[hiRow]![1], 'highest MedInc is red');
  tt.ok(fills[loRow]![0] < fills[loRow]![1], 'lowest MedInc is blue');
  await raster(tt, svg, 'beeswarm');

  const cat = beeswarmSvg(audit);
  wellFormed(tt, cat, 'beeswarm');
  tt.equal(countClass(cat, 'feature-row'), 9);
  tt.match(cat, /Categorical features \(category names\) are drawn grey/);
  const maritalRow = cat.slice(cat.indexOf('data-feature="Marital"'), cat.indexOf('</g></g>', cat.indexOf('data-feature="Marital"')));
  tt.match(maritalRow, /fill="#9e9e9e"/, 'category strings are grey');
  throwsViz(tt, () => beeswarmSvg(cal, { maxRows: 10 }), 'INVALID_INPUT', /maxRows/, 'row bound');
});

t.test('swarm offsets are deterministic and alternate around the centre', async (tt) => {
  const v = Float64Array.from({ length: 50 }, () => 1);
  const a = swarmOffsets(v);
  tt.same(a, swarmOffsets(v));
  tt.ok(a.some((x) => x > 0) && a.some((x) => x < 0) && a.every((x) => Math.abs(x) < 1));
});

t.test('bar: mean |value| and one row', async (tt) => {
  const svg = barSvg(audit, { maxDisplay: 7 });
  wellFormed(tt, svg, 'bar');
  tt.equal(countClass(svg, 'bar'), 7);
  const labels = texts(svg, 'feature-label');
  tt.equal(labels[6], 'Sum of 3 other features');
  const m = valueMatrix(audit, 0);
  const mean = audit.featureNames.map((_, f) => audit.values.reduce((s, _r, r) => s + Math.abs(m[r * 9 + f]!), 0) / 400);
  const top = mean.indexOf(Math.max(...mean));
  tt.equal(labels[0], audit.featureNames[top], 'largest mean |value| first');
  const barDom = axisDomain(svg, 'bottom');
  tt.ok(Math.abs(barDom[0]) < 1e-6, `axis starts at 0 (${barDom[0]})`);
  tt.ok(covers(barDom, 0, Math.max(...mean)), 'axis covers the largest mean');
  await raster(tt, svg, 'bar');

  const oneRow = { ...audit, values: [audit.values[1]!], baseValues: [audit.baseValues[1]!], data: [audit.data![1]!], predictions: [audit.predictions![1]!] };
  const single = barSvg(oneRow);
  wellFormed(tt, single, 'bar');
  const vals = audit.values[1]!.map((c) => c[0]!);
  const vl = texts(single, 'value-label');
  for (const v of vals) tt.ok(vl.includes(formatSigned(v)), `signed ${formatSigned(v)}`);
  tt.ok(texts(single, 'feature-label').some((l) => /^(Employment|Education|Marital|Occupation|Gender) = [A-Za-z]/.test(l)), 'category names in labels');
  tt.ok(covers(axisDomain(single, 'bottom'), Math.min(...vals), Math.max(...vals)), 'axis covers the signed values');
  await raster(tt, single, 'bar-one-row');
  throwsViz(tt, () => barSvg(audit, { width: -3 }), 'INVALID_INPUT', /width/, 'bad width');
});

t.test('dependence: interaction values, approximate interactions, categories', async (tt) => {
  const svg = dependenceSvg(calInter, { feature: 'MedInc' });
  wellFormed(tt, svg, 'dependence');
  tt.equal(countClass(svg, 'dot'), 200);
  // Strongest partner by mean |interaction|.
  const i = 0;
  const strength = calInter.featureNames.map((_, j) => (j === i ? -1 : calInter.interactions!.reduce((s, I) => s + Math.abs(I[i]![j]![0]!), 0)));
  const partner = calInter.featureNames[strength.indexOf(Math.max(...strength))]!;
  tt.match(svg, new RegExp(`data-color-by="${partner}" data-color-source="interactions"`), `coloured by ${partner}`);
  tt.match(svg, /<desc>[^<]*mean \|SHAP interaction value\|/, 'desc says interaction values were used');
  tt.ok(texts(svg, 'colorbar-title').includes(partner));
  const x = dataColumn(calInter, 0)!.values;
  tt.ok(covers(axisDomain(svg, 'bottom'), Math.min(...x), Math.max(...x)), 'x axis covers the feature values');
  const y = calInter.values.map((r) => r[0]![0]!);
  tt.ok(covers(axisDomain(svg, 'left'), Math.min(...y), Math.max(...y)), 'y axis covers the SHAP values');
  await raster(tt, svg, 'dependence');

  const approx = dependenceSvg(cal, { feature: 'Latitude' });
  wellFormed(tt, approx, 'dependence');
  tt.match(approx, /data-color-source="approximate_interactions"/);
  tt.match(approx, /approximate_interactions heuristic/);
  const cols = cal.featureNames.map((_, f) => dataColumn(cal, f)!);
  const scores = approximateInteractions(Float64Array.from(cal.values, (r) => r[6]![0]!), cols, 6);
  const best = cal.featureNames[[...scores].indexOf(Math.max(...scores))]!;
  tt.match(approx, new RegExp(`data-color-by="${best}"`), `approximate partner ${best}`);
  tt.equal(scores[6], 0, 'a feature does not interact with itself');

  const cat = dependenceSvg(audit, { feature: 'Education' });
  wellFormed(tt, cat, 'dependence');
  const categories = new Set(audit.data!.map((r) => r[2]).filter((v): v is string => typeof v === 'string'));
  const tickLabels = texts(cat, 'category-tick');
  tt.equal(tickLabels.length, categories.size, 'one tick per category');
  for (const c of ['Bachelor', 'College', 'HSgrad']) tt.ok(tickLabels.includes(c), `category ${c} on the axis`);
  tt.equal(countClass(cat, 'dot'), 400);
  await raster(tt, cat, 'dependence-categorical');

  const none = dependenceSvg(cal, { feature: 2, colorBy: 'none' });
  tt.match(none, /data-color-by="none" data-color-source="none"/);
  const byName = dependenceSvg(cal, { feature: 'AveRooms', colorBy: 'HouseAge' });
  tt.match(byName, /data-color-by="HouseAge" data-color-source="option"/);
  throwsViz(tt, () => dependenceSvg(cal, { feature: 'nope' }), 'INVALID_INPUT', /feature "nope" is not one of/, 'unknown feature');
  throwsViz(tt, () => dependenceSvg(cal, {} as { feature: string }), 'INVALID_INPUT', /feature is required/, 'missing feature');
  throwsViz(tt, () => dependenceSvg(cal, { feature: 0, colorBy: 99 }), 'INVALID_INPUT', /colorBy/, 'bad colorBy');
  const noData: Record<string, unknown> = { ...cal };
  delete noData.data;
  throwsViz(tt, () => dependenceSvg(noData, { feature: 0 }), 'UNSUPPORTED', /explanation\.data/, 'no data');
});

t.test('decision', async (tt) => {
  const rows = Array.from({ length: 40 }, (_, i) => i);
  const svg = decisionSvg(cal, { rows });
  wellFormed(tt, svg, 'decision');
  tt.equal(countClass(svg, 'line'), 40, 'one line per row');
  const labels = texts(svg, 'feature-label');
  tt.equal(labels.length, 8);
  // Top label (drawn last) is the most important over the rows.
  const imp = cal.featureNames.map((_, f) => rows.reduce((s, r) => s + Math.abs(cal.values[r]![f]![0]!), 0));
  tt.equal(labels[labels.length - 1], cal.featureNames[imp.indexOf(Math.max(...imp))], 'most important on top');
  // Each line ends at its row's f(x) and starts at the base value.
  const lines = [...svg.matchAll(/<polyline points="([^"]+)"[^>]*data-row="(\d+)"/g)];
  const [t0, t1] = axisDomain(svg, 'bottom');
  const axis = /<g class="axis axis-bottom"><line[^>]*\/><line x1="([\d.]+)"[^>]*\/>/.exec(svg);
  tt.ok(axis, 'axis present');
  for (const [, pts, r] of lines.slice(0, 5)) {
    const p = pts!.split(' ').map((s) => s.split(',').map(Number) as [number, number]);
    tt.equal(p.length, 9, 'base + 8 steps');
    tt.ok(p[0]![1] > p[8]![1], 'starts at the bottom, ends at the top');
    const fx = rowTotal(cal, Number(r), 0);
    tt.ok(fx >= t0 && fx <= t1, 'axis covers f(x)');
  }
  await raster(tt, svg, 'decision');
  const grouped = decisionSvg(audit, { maxDisplay: 4, rows: [0, 1, 2] });
  tt.equal(texts(grouped, 'feature-label')[0], '6 other features', 'hidden features step at the bottom');
  const single = decisionSvg(iris, { rows: [120], output: 0 });
  tt.match(single, /f\(x\) = /);
  tt.ok(texts(single, 'feature-label').every((l) => / = /.test(l)), 'one row: name = value labels');
  throwsViz(tt, () => decisionSvg(cal, { rows: [0, 300] }), 'INVALID_INPUT', /rows must hold integers in \[0, 299\]/, 'row out of range');
  throwsViz(tt, () => decisionSvg(cal, { rows: [] }), 'INVALID_INPUT', /non-empty/, 'no rows');
  throwsViz(tt, () => decisionSvg(cal, { maxRows: 50 }), 'INVALID_INPUT', /maxRows/, 'row bound');
});

t.test('1000 rows x 20 features: every dot drawn, every chart well-formed (timings: benchmarks/viz.bench.ts)', async (tt) => {
  const rnd = (i: number) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
  const values = Array.from({ length: 1000 }, (_, r) => Array.from({ length: 20 }, (_, f) => [(rnd(r * 20 + f) - 0.5) * (f + 1)]));
  const data = Array.from({ length: 1000 }, (_, r) => Array.from({ length: 20 }, (_, f) => rnd(r * 31 + f)));
  const e = syntheticExplanation(values, [0.5], data);
  const svg = beeswarmSvg(e, { maxDisplay: 20 });
  tt.equal(countClass(svg, 'dot'), 20000);
  for (const other of [forceStackedSvg(e), decisionSvg(e), dependenceSvg(e, { feature: 3 }), barSvg(e)]) tt.equal(xmlProblem(other), null);
});

t.test('property: random small explanations draw without throwing, well-formed, no NaN', async (tt) => {
  const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
  const arb = fc
    .record({ rows: fc.integer({ min: 1, max: 6 }), features: fc.integer({ min: 1, max: 12 }), outputs: fc.integer({ min: 1, max: 3 }) })
    .chain(({ rows, features, outputs }) =>
      fc.record({
        values: fc.array(fc.array(fc.array(finite, { minLength: outputs, maxLength: outputs }), { minLength: features, maxLength: features }), { minLength: rows, maxLength: rows }),
        base: fc.array(finite, { minLength: outputs, maxLength: outputs }),
        data: fc.option(
          fc.array(fc.array(fc.oneof(finite, fc.constantFrom(null, 'a', 'b<&>"c'), fc.constant(0)), { minLength: features, maxLength: features }), { minLength: rows, maxLength: rows }),
          { nil: undefined },
        ),
        maxDisplay: fc.integer({ min: 1, max: 12 }),
      }),
    );
  let runs = 0;
  fc.assert(
    fc.property(arb, ({ values, base, data, maxDisplay }) => {
      const e = syntheticExplanation(values, base, data);
      for (const [kind, svg] of [
        ['waterfall', waterfallSvg(e, { maxDisplay })],
        ['force', forceSvg(e)],
        ['bar', barSvg(e, { maxDisplay })],
        ['beeswarm', beeswarmSvg(e, { maxDisplay })],
      ] as const) {
        const problem = xmlProblem(svg);
        if (problem) throw new Error(`${kind}: ${problem}`);
        if (/NaN|undefined|Infinity/.test(svg)) throw new Error(`${kind}: NaN in markup`);
        if (!svg.includes(`data-chart="${kind}"`)) throw new Error(`${kind}: kind`);
      }
      runs++;
    }),
    { numRuns: 150, seed: 42 },
  );
  tt.equal(runs, 150);
});
