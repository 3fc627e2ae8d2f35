/**
 * Helpers shared by the SHAP charts (option checks, value matrices, feature-value colours, colour bars, a
 * deterministic hash for jitter and tie order). Internal to `src/shap`.
 */
import type { Explanation } from '@genome/model-format';
import { VizError } from '../errors.js';
import { intOption, invalid } from '../core/chart.js';
import { el, escapeXml, text, textWidth, truncate } from '../core/svg.js';
import { featureValueColor, palette } from '../core/palette.js';

/** Default and hard bound of `maxRows` for charts that draw every row (beeswarm, decision, stacked force, dependence). */
export const DEFAULT_MAX_ROWS = 1000;
export const MAX_ROWS_BOUND = 5000;

export function unsupported(message: string): never {
  throw new VizError('UNSUPPORTED', message);
}

/** Checks `maxRows` and that `rows` rows fit under it; the message says how to fix it. */
export function checkRowBound(chart: string, rows: number, maxRows: number | undefined): number {
  if (rows === 0) invalid('the explanation has no rows to plot');
  const bound = intOption('maxRows', maxRows, DEFAULT_MAX_ROWS, 1, MAX_ROWS_BOUND);
  if (rows > bound) {
    invalid(
      `the ${chart} plot draws every row and the explanation has ${rows} rows, more than maxRows (${bound}); ` +
        `pass maxRows up to ${MAX_ROWS_BOUND}${rows > MAX_ROWS_BOUND ? '' : ` (e.g. maxRows: ${rows})`} or explain a sample of at most ${MAX_ROWS_BOUND} rows`,
    );
  }
  return bound;
}

/** Title suffix naming the explained output: ` — "name"` (always, so a picture says which class it shows). */
export function outputSuffix(e: Explanation, o: number): string {
  return ` — ${e.outputNames[o]}`;
}

/** Attributions of one output as a row-major Float64Array `[row * nFeatures + feature]`. */
export function valueMatrix(e: Explanation, o: number): Float64Array {
  const n = e.values.length;
  const m = e.featureNames.length;
  const out = new Float64Array(n * m);
  for (let r = 0; r < n; r++) {
    const row = e.values[r]!;
    for (let f = 0; f < m; f++) out[r * m + f] = row[f]![o]!;
  }
  return out;
}

/** Mean |value| per feature over rows. */
export function meanAbs(values: Float64Array, rows: number, features: number): Float64Array {
  const out = new Float64Array(features);
  if (rows === 0) return out;
  for (let r = 0; r < rows; r++) for (let f = 0; f < features; f++) out[f] += Math.abs(values[r * features + f]!);
  for (let f = 0; f < features; f++) out[f] /= rows;
  return out;
}

/** Indices ordered by `score` descending (ties by index). */
export function orderDesc(score: ArrayLike<number>): number[] {
  const idx = Array.from({ length: score.length }, (_, i) => i);
  return idx.sort((a, b) => score[b]! - score[a]! || a - b);
}

/** A feature given by index or name. */
export function featureIndex(e: Explanation, feature: number | string | undefined, option: string): number {
  const m = e.featureNames.length;
  if (typeof feature === 'string') {
    const i = e.featureNames.indexOf(feature);
    if (i < 0) {
      invalid(`${option} ${JSON.stringify(feature.slice(0, 100))} is not one of the explanation's features: ${e.featureNames.slice(0, 20).join(', ')}${m > 20 ? ', …' : ''}`);
    }
    return i;
  }
  if (typeof feature !== 'number' || !Number.isInteger(feature) || feature < 0 || feature >= m) {
    invalid(`${option} must be a feature name or an integer in [0, ${m - 1}], got ${String(feature).slice(0, 40)}`);
  }
  return feature;
}

/** One column of `data`: numbers (NaN for missing), or category codes when any cell is a string. */
export interface Column {
  /** Numbers, or the category code of each cell (NaN for missing cells). */
  values: Float64Array;
  /** Category names in code order when the column holds strings (numbers in it become categories too). */
  categories?: string[];
}

/** Category names sorted naturally ("2" before "10", case-insensitive). */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function dataColumn(e: Explanation, f: number): Column | undefined {
  const data = e.data;
  if (!data) return undefined;
  const n = data.length;
  const values = new Float64Array(n);
  let categorical = false;
  for (let r = 0; r < n; r++) {
    if (typeof data[r]![f] === 'string') {
      categorical = true;
      break;
    }
  }
  if (!categorical) {
    for (let r = 0; r < n; r++) {
      const v = data[r]![f];
      values[r] = typeof v === 'number' ? v : Number.NaN;
    }
    return { values };
  }
  const names = new Set<string>();
  for (let r = 0; r < n; r++) {
    const v = data[r]![f];
    if (typeof v === 'string') names.add(v);
    else if (typeof v === 'number' && Number.isFinite(v)) names.add(String(v));
  }
  const categories = [...names].sort((a, b) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
  const code = new Map(categories.map((c, i) => [c, i]));
  for (let r = 0; r < n; r++) {
    const v = data[r]![f];
    const key = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
    values[r] = key === undefined ? Number.NaN : code.get(key)!;
  }
  return { values, categories };
}

/** numpy's linear-interpolation percentile of the finite entries of `sorted` (ascending, finite only). */
function percentileSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * shap's feature-value colour range: the 5th-95th percentile of the finite values (1st-99th, then min-max when
 * that range is empty). Returns t in [0, 1] per value (NaN for missing).
 */
export function colorScale(values: Float64Array): { t: Float64Array; lo: number; hi: number } {
  let k = 0;
  const finite = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) finite[k++] = values[i]!;
  const sorted = finite.subarray(0, k).sort();
  let lo = percentileSorted(sorted, 5);
  let hi = percentileSorted(sorted, 95);
  if (!(hi > lo)) {
    lo = percentileSorted(sorted, 1);
    hi = percentileSorted(sorted, 99);
  }
  if (!(hi > lo) && k > 0) {
    lo = sorted[0]!;
    hi = sorted[k - 1]!;
  }
  const t = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) t[i] = Number.NaN;
    else if (!(hi > lo)) t[i] = 0.5;
    else t[i] = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  }
  return { t, lo, hi };
}

/** A 32-bit integer hash of `i` (deterministic jitter and tie order; no Math.random). */
export function hash32(i: number): number {
  let h = (i + 0x9e3779b9) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** hash32 scaled to [0, 1). */
export function hashUnit(i: number): number {
  return hash32(i) / 4294967296;
}

/**
 * A vertical colour bar (Low at the bottom, High at the top) drawn as stacked rects, with a rotated title: what
 * shap's beeswarm and scatter plots show on their right.
 */
export function colorBar(x: number, y0: number, y1: number, title: string, fontSize: number, low = 'Low', high = 'High'): string {
  const steps = 40;
  const w = 10;
  const h = (y1 - y0) / steps;
  const parts: string[] = [];
  for (let s = 0; s < steps; s++) {
    const t = 1 - (s + 0.5) / steps;
    parts.push(el('rect', { x, y: y0 + s * h, width: w, height: h + 0.5, fill: featureValueColor(t) }));
  }
  parts.push(el('rect', { x, y: y0, width: w, height: y1 - y0, fill: 'none', stroke: palette.grid }));
  const small = fontSize - 1;
  parts.push(text(x + w / 2, y0 - 5, high, { 'text-anchor': 'middle', 'font-size': small, fill: palette.mutedText, class: 'colorbar-label' }));
  parts.push(text(x + w / 2, y1 + small + 3, low, { 'text-anchor': 'middle', 'font-size': small, fill: palette.mutedText, class: 'colorbar-label' }));
  const cx = x + w + 6 + small * 0.8;
  const cy = (y0 + y1) / 2;
  const label = truncate(title, Math.max(40, y1 - y0), small);
  parts.push(text(cx, cy, label, { 'text-anchor': 'middle', transform: `rotate(-90 ${cx} ${cy})`, 'font-size': small, fill: palette.text, class: 'colorbar-title' }));
  return el('g', { class: 'colorbar' }, ...parts);
}

/** Width a colour bar needs (bar, gap, rotated title). */
export function colorBarWidth(fontSize: number): number {
  return 10 + 6 + (fontSize - 1) * 1.6 + 8;
}

/** The chart title, drawn at the top left. */
export function titleElement(x: number, title: string, width: number, fontSize: number): string {
  const size = fontSize + 2;
  return text(x, 8 + size, truncate(title, width - x - 8, size), { 'font-size': size, 'font-weight': 'bold', fill: palette.text, class: 'chart-title' });
}

/** Widest of `labels` at `fontSize`, capped. */
export function labelWidth(labels: readonly string[], fontSize: number, cap: number): number {
  let w = 0;
  for (const l of labels) w = Math.max(w, textWidth(l, fontSize));
  return Math.min(cap, w);
}

/** A `<title>` child (hover text in browsers), escaped. */
export function tooltip(s: string): string {
  return el('title', {}, escapeXml(s));
}

/** The "higher ⇄ lower" legend of force plots, right-aligned at `x`, baseline `y`. */
export function directionLegend(x: number, y: number, fontSize: number): string {
  return el(
    'text',
    { x, y, 'text-anchor': 'end', 'font-size': fontSize, class: 'legend' },
    el('tspan', { fill: palette.positive }, 'higher'),
    el('tspan', { fill: palette.mutedText }, ' ⇄ '),
    el('tspan', { fill: palette.negative }, 'lower'),
  );
}
