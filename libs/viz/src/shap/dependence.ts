/**
 * shap.plots.scatter / shap.dependence_plot: x = a feature's value (numbers on a linear axis, category names on a
 * point axis), y = that feature's attribution, dots coloured by the feature it interacts with most.
 */
import { scalePoint } from 'd3-scale';
import type { Explanation } from '@genome/model-format';
import { axis, linearScale } from '../core/axis.js';
import { invalid, sizeOption, type ChartOptions } from '../core/chart.js';
import { outputIndex, outputSpaceLabel, readExplanation } from '../core/explanation.js';
import { formatNumber } from '../core/format.js';
import { featureValueColor, palette } from '../core/palette.js';
import { el, num, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { checkRowBound, colorBar, colorBarWidth, colorScale, dataColumn, featureIndex, hashUnit, outputSuffix, titleElement, unsupported, type Column } from './common.js';

export interface DependenceOptions extends ChartOptions {
  /**
   * The feature on the x axis: name or index. Required (INVALID_INPUT without it); optional in the type only so
   * that option bags read from requests can be passed as they are.
   */
  feature?: number | string;
  /** Output index or name (default: the last output). */
  output?: number | string;
  /**
   * Colour the dots by this feature (name or index), `'none'`, or `'auto'` (default): the strongest interaction
   * partner, from `explanation.interactions` when present (largest mean |interaction[i][j]|), otherwise shap's
   * `approximate_interactions` heuristic (see {@link approximateInteractions}). The words `auto` and `none` win
   * over features of those names; pass the index for those.
   */
  colorBy?: number | string;
  /** At most this many rows (default 1000, bound 5000); more is INVALID_INPUT. */
  maxRows?: number;
}

/** numpy-style std (population) of a[lo..hi); NaN when any entry is NaN. */
function std(a: Float64Array, lo: number, hi: number): number {
  let s = 0;
  for (let i = lo; i < hi; i++) s += a[i]!;
  const mean = s / (hi - lo);
  let v = 0;
  for (let i = lo; i < hi; i++) v += (a[i]! - mean) ** 2;
  return Math.sqrt(v / (hi - lo));
}

function absCorr(a: Float64Array, b: Float64Array, lo: number, hi: number): number {
  let sa = 0;
  let sb = 0;
  for (let i = lo; i < hi; i++) (sa += a[i]!), (sb += b[i]!);
  const ma = sa / (hi - lo);
  const mb = sb / (hi - lo);
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = lo; i < hi; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return Math.abs(cov / Math.sqrt(va * vb));
}

/** shap's windowed score: sum over windows of `inc` sorted rows of |corr(shap, other)| where both vary. */
function windowScore(shapRef: Float64Array, other: Float64Array, inc: number): number {
  let total = 0;
  for (let k = 0; k < other.length; k++) total += Math.abs(other[k]!);
  if (total < 1e-8) return 0; // NaN total (missing values) goes on, as in numpy
  let v = 0;
  for (let j = 0; j < other.length; j += inc) {
    const hi = Math.min(other.length, j + inc);
    if (std(other, j, hi) > 0 && std(shapRef, j, hi) > 0) v += absCorr(shapRef, other, j, hi);
  }
  return v;
}

/**
 * shap's `approximate_interactions(index, shap_values, X)` (shap/utils/_general.py): rows sorted by the feature's
 * value (NaN last, ties by row), cut into windows of max(min(n/10, 50), 1) rows; for every other feature j, the
 * sum over windows of |Pearson correlation| between the feature's attributions and j's values (and, separately,
 * j's missing indicator) where both vary; the larger of the two is j's score. Category names are coded by their
 * sorted position, as shap's `encode_array_if_needed`. Returns the scores (0 for the feature itself); shap
 * subsamples above 10,000 rows, which the row bound makes unnecessary here.
 */
export function approximateInteractions(shap: Float64Array, columns: readonly Column[], index: number): Float64Array {
  const n = shap.length;
  const m = columns.length;
  const x = columns[index]!.values;
  const srt = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const xa = x[a]!;
    const xb = x[b]!;
    const na = Number.isNaN(xa);
    const nb = Number.isNaN(xb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return xa - xb || a - b;
  });
  const shapRef = Float64Array.from(srt, (i) => shap[i]!);
  const inc = Math.max(Math.min(Math.floor(n / 10), 50), 1);
  const scores = new Float64Array(m);
  const other = new Float64Array(n);
  const missing = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    if (j === index) continue;
    const col = columns[j]!.values;
    for (let k = 0; k < n; k++) {
      other[k] = col[srt[k]!]!;
      missing[k] = Number.isNaN(other[k]!) ? 1 : 0;
    }
    scores[j] = Math.max(windowScore(shapRef, other, inc), windowScore(shapRef, missing, inc));
  }
  return scores;
}

/** Mean |interaction[r][i][j][o]| per j (0 for j = i). */
function interactionStrength(e: Explanation, i: number, o: number): Float64Array {
  const m = e.featureNames.length;
  const out = new Float64Array(m);
  const inter = e.interactions!;
  for (let r = 0; r < inter.length; r++) {
    const row = inter[r]![i]!;
    for (let j = 0; j < m; j++) if (j !== i) out[j] += Math.abs(row[j]![o]!);
  }
  for (let j = 0; j < m; j++) out[j] /= Math.max(1, inter.length);
  return out;
}

/**
 * Draws the dependence (scatter) plot of one feature. Throws VizError INVALID_INPUT for a missing or unknown
 * `feature`/`colorBy`, bad options or too many rows; UNSUPPORTED when the explanation carries no feature values
 * (`data`).
 */
export function dependenceSvg(explanation: unknown, options: DependenceOptions): string {
  const e = readExplanation(explanation);
  if (options === undefined || options === null || typeof options !== 'object') invalid('dependenceSvg needs options with the feature to plot, e.g. { feature: "age" }');
  if (options.feature === undefined) invalid('feature is required: the name or index of the feature to plot on the x axis');
  const o = outputIndex(e, options.output);
  const i = featureIndex(e, options.feature, 'feature');
  const n = e.values.length;
  checkRowBound('dependence', n, options.maxRows);
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 640);
  const height = sizeOption('height', options.height, 440);
  if (!e.data) {
    unsupported('the dependence plot needs the explained feature values (explanation.data); explain with the rows included (e.g. explainTree includeData: true)');
  }
  const m = e.featureNames.length;
  const name = e.featureNames[i]!;
  const y = new Float64Array(n);
  for (let r = 0; r < n; r++) y[r] = e.values[r]![i]![o]!;
  const columns: Column[] = [];
  for (let f = 0; f < m; f++) columns.push(dataColumn(e, f)!);
  const xCol = columns[i]!;

  // Which feature colours the dots.
  const colorBy = options.colorBy ?? 'auto';
  let colourFeature = -1;
  let source: 'interactions' | 'approximate_interactions' | 'option' | 'none' = 'none';
  if (colorBy === 'none') source = 'none';
  else if (colorBy === 'auto') {
    const scores = e.interactions ? interactionStrength(e, i, o) : approximateInteractions(y, columns, i);
    let best = -1;
    for (let j = 0; j < m; j++) if (j !== i && scores[j]! > 0 && (best < 0 || scores[j]! > scores[best]!)) best = j;
    if (best >= 0) {
      colourFeature = best;
      source = e.interactions ? 'interactions' : 'approximate_interactions';
    }
  } else {
    colourFeature = featureIndex(e, colorBy, 'colorBy');
    source = 'option';
  }

  const titleH = fs + 18;
  const plotTop = titleH + 12;
  const plotLeft = 72;
  // Category labels are rotated when they do not fit their slot; the plot leaves room for them.
  let xAnyMissing = false;
  for (let r = 0; r < n; r++) if (Number.isNaN(columns[i]!.values[r]!)) xAnyMissing = true;
  const catDomain = columns[i]!.categories ? [...columns[i]!.categories!, ...(xAnyMissing ? ['missing'] : [])] : [];
  const rotatedW = fs * 5.2;
  const estStep = (width - plotLeft - 16 - colorBarWidth(fs)) / Math.max(1, catDomain.length);
  const rotate = catDomain.some((c) => textWidth(c, fs - 1) > estStep - 4);
  const longest = rotate ? Math.min(rotatedW, Math.max(...catDomain.map((c) => textWidth(c, fs - 1)))) : 0;
  const plotBottom = height - fs * 3.4 - 12 - (rotate ? longest * 0.5 : 0);
  const colourCol = colourFeature >= 0 ? columns[colourFeature]! : undefined;
  const legendW = colourCol ? (colourCol.categories ? Math.min(width * 0.3, Math.max(...colourCol.categories.map((c) => textWidth(c, fs - 1)), textWidth(e.featureNames[colourFeature]!, fs - 1)) + 28) : colorBarWidth(fs)) : 0;
  const plotRight = width - 16 - legendW;

  // y axis
  let ylo = Infinity;
  let yhi = -Infinity;
  for (let r = 0; r < n; r++) (ylo = Math.min(ylo, y[r]!)), (yhi = Math.max(yhi, y[r]!));
  const yScale = linearScale([Math.min(ylo, 0), Math.max(yhi, 0)], [plotBottom, plotTop], { pad: 0.05 });

  // x axis: categories on a point scale, numbers on a linear one (missing values in a slot on the left).
  const xs = new Float64Array(n);
  const parts: string[] = [];
  const title = options.title ?? `SHAP dependence of ${name}${outputSuffix(e, o)}`;
  parts.push(titleElement(8, title, width, fs));
  const anyMissing = xAnyMissing;
  let xRange: [number, number] = [Number.NaN, Number.NaN];
  if (xCol.categories) {
    const domain = catDomain;
    const point = scalePoint<string>().domain(domain).range([plotLeft, plotRight]).padding(0.5);
    const step = point.step();
    for (let r = 0; r < n; r++) {
      const v = xCol.values[r]!;
      const cat = Number.isNaN(v) ? 'missing' : xCol.categories[v]!;
      xs[r] = point(cat)! + (hashUnit(r) - 0.5) * step * 0.5;
    }
    const ticks: string[] = [el('line', { x1: plotLeft, x2: plotRight, y1: plotBottom, y2: plotBottom, stroke: palette.axis })];
    for (const c of domain) {
      const cx = point(c)!;
      ticks.push(el('line', { x1: cx, x2: cx, y1: plotBottom, y2: plotBottom + 4, stroke: palette.axis }));
      const label = truncate(c, rotate ? rotatedW : step - 4, fs - 1);
      ticks.push(
        rotate
          ? text(cx, plotBottom + 6 + (fs - 1) * 0.8, label, { 'text-anchor': 'end', transform: `rotate(-30 ${num(cx)} ${num(plotBottom + 6 + (fs - 1) * 0.8)})`, 'font-size': fs - 1, fill: palette.mutedText, class: 'tick category-tick' })
          : text(cx, plotBottom + 6 + fs - 1, label, { 'text-anchor': 'middle', 'font-size': fs - 1, fill: palette.mutedText, class: 'tick category-tick' }),
      );
    }
    ticks.push(text((plotLeft + plotRight) / 2, plotBottom + fs * 3.2 + 4 + longest * 0.5, name, { 'text-anchor': 'middle', 'font-size': fs, fill: palette.text, class: 'axis-label' }));
    parts.push(el('g', { class: 'axis axis-bottom axis-categorical' }, ...ticks));
  } else {
    let xlo = Infinity;
    let xhi = -Infinity;
    for (let r = 0; r < n; r++) {
      const v = xCol.values[r]!;
      if (Number.isFinite(v)) (xlo = Math.min(xlo, v)), (xhi = Math.max(xhi, v));
    }
    const slot = anyMissing ? Math.min(60, (plotRight - plotLeft) * 0.12) : 0;
    const xScale = linearScale(Number.isFinite(xlo) ? [xlo, xhi] : [0, 1], [plotLeft + slot, plotRight], { pad: 0.03 });
    xRange = xScale.domain() as [number, number];
    for (let r = 0; r < n; r++) {
      const v = xCol.values[r]!;
      xs[r] = Number.isNaN(v) ? plotLeft + slot / 2 + (hashUnit(r) - 0.5) * slot * 0.5 : xScale(v);
    }
    parts.push(axis({ scale: xScale, orient: 'bottom', at: plotBottom, fontSize: fs - 1, gridTo: plotTop, label: name }));
    if (anyMissing) {
      parts.push(
        el(
          'g',
          { class: 'missing-slot' },
          el('rect', { x: plotLeft, y: plotTop, width: slot - 6, height: plotBottom - plotTop, fill: '#f4f4f4' }),
          text(plotLeft + slot / 2 - 3, plotBottom + 6 + fs - 1, 'missing', { 'text-anchor': 'middle', 'font-size': fs - 1, fill: palette.mutedText, class: 'tick' }),
        ),
      );
    }
  }
  parts.push(axis({ scale: yScale, orient: 'left', at: plotLeft, fontSize: fs - 1, label: `SHAP value for ${truncate(name, plotBottom - plotTop - 90, fs)}` }));
  parts.push(el('line', { x1: plotLeft, x2: plotRight, y1: yScale(0), y2: yScale(0), stroke: palette.axis, 'stroke-width': 0.6, 'stroke-dasharray': '3 3', class: 'zero-line' }));

  // Dot colours and legend.
  let colour: (r: number) => string = () => palette.neutral;
  let legend = '';
  if (colourCol) {
    const colourName = e.featureNames[colourFeature]!;
    if (colourCol.categories) {
      const cats = colourCol.categories;
      colour = (r) => {
        const v = colourCol.values[r]!;
        return Number.isNaN(v) ? palette.missing : palette.series[v % palette.series.length]!;
      };
      const lx = width - legendW;
      const items: string[] = [text(lx, plotTop + fs, truncate(colourName, legendW - 4, fs - 1), { 'font-size': fs - 1, fill: palette.text, class: 'legend-title' })];
      const shown = cats.slice(0, Math.max(1, Math.floor((plotBottom - plotTop) / (fs * 1.5)) - 2));
      shown.forEach((c, k) => {
        const ly = plotTop + fs * (2.6 + k * 1.5);
        items.push(el('circle', { cx: lx + 5, cy: ly - fs * 0.35, r: 4, fill: palette.series[k % palette.series.length] }));
        items.push(text(lx + 14, ly, truncate(c, legendW - 18, fs - 1), { 'font-size': fs - 1, fill: palette.mutedText, class: 'legend-item' }));
      });
      legend = el('g', { class: 'legend' }, ...items);
    } else {
      const { t } = colorScale(colourCol.values);
      colour = (r) => featureValueColor(t[r]!);
      legend = colorBar(width - legendW + 4, plotTop + 16, plotBottom - 10, colourName, fs);
    }
  }
  const radius = n > 2000 ? 2 : 3;
  const dots: string[] = new Array(n);
  for (let r = 0; r < n; r++) {
    dots[r] = `<circle class="dot" cx="${num(xs[r]!)}" cy="${num(yScale(y[r]!))}" r="${radius}" fill="${colour(r)}" fill-opacity="0.85"/>`;
  }
  const colourName = colourFeature >= 0 ? e.featureNames[colourFeature]! : 'none';
  parts.push(el('g', { class: 'dots', 'data-feature': name, 'data-color-by': colourName, 'data-color-source': source }, dots.join('')));
  if (legend) parts.push(legend);

  const how =
    source === 'interactions'
      ? `coloured by ${colourName}, its strongest interaction by mean |SHAP interaction value|`
      : source === 'approximate_interactions'
        ? `coloured by ${colourName}, its strongest interaction by shap's approximate_interactions heuristic (no interaction values in the explanation)`
        : source === 'option'
          ? `coloured by ${colourName}`
          : 'not coloured';
  const xText = xCol.categories ? `categories ${xCol.categories.slice(0, 20).join(', ')}` : `values ${formatNumber(xRange[0])} to ${formatNumber(xRange[1])}`;
  const description =
    `Dependence of ${name} for output ${e.outputNames[o]} (${outputSpaceLabel(e)}) over ${n} rows: x = ${xText}${anyMissing ? ' and missing' : ''}; ` +
    `y = SHAP value from ${formatNumber(ylo)} to ${formatNumber(yhi)}; ${how}.`;
  return svgDocument({ kind: 'dependence', title, description, width, height, fontSize: fs }, ...parts);
}
