/**
 * shap.plots.decision: one line per row, from its base value at the bottom through the cumulative sum of its
 * attributions feature by feature (most important feature on top) to its output at the top; x = model output.
 */
import { axis, linearScale } from '../core/axis.js';
import { intOption, invalid, sizeOption, type ChartOptions } from '../core/chart.js';
import { featureLabel, outputIndex, outputSpaceLabel, readExplanation } from '../core/explanation.js';
import { formatNumber } from '../core/format.js';
import { palette, signColor } from '../core/palette.js';
import { el, num, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { checkRowBound, labelWidth, orderDesc, outputSuffix, titleElement, tooltip, valueMatrix } from './common.js';

export interface DecisionOptions extends ChartOptions {
  /** Output index or name (default: the last output). */
  output?: number | string;
  /**
   * Feature rows (default 20, at most 1000): the `maxDisplay - 1` most important (sum of |value| over the plotted
   * rows) and one "N other features" step at the bottom when there are more.
   */
  maxDisplay?: number;
  /** Rows to draw (indices into the explanation, default all). */
  rows?: number[];
  /** At most this many lines (default 1000, bound 5000); more is INVALID_INPUT. */
  maxRows?: number;
}

/** Draws the decision plot. Throws VizError INVALID_INPUT for bad rows, output, maxDisplay or too many rows. */
export function decisionSvg(explanation: unknown, options: DecisionOptions = {}): string {
  const e = readExplanation(explanation);
  const o = outputIndex(e, options.output);
  const total = e.values.length;
  let rows: number[];
  if (options.rows === undefined) rows = Array.from({ length: total }, (_, i) => i);
  else {
    if (!Array.isArray(options.rows) || options.rows.length === 0) invalid('rows must be a non-empty array of row indices');
    for (const r of options.rows) {
      if (!Number.isInteger(r) || r < 0 || r >= total) invalid(`rows must hold integers in [0, ${total - 1}], got ${String(r).slice(0, 40)}`);
    }
    rows = [...options.rows];
  }
  checkRowBound('decision', rows.length, options.maxRows);
  if (rows.length === 0) invalid('the explanation has no rows to plot');
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 640);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 20, 1, 1000);
  const m = e.featureNames.length;
  const n = rows.length;
  const all = valueMatrix(e, o);
  const importance = new Float64Array(m);
  for (const r of rows) for (let f = 0; f < m; f++) importance[f] += Math.abs(all[r * m + f]!);
  const order = orderDesc(importance);
  const nRows = Math.min(m, maxDisplay);
  const grouped = m > maxDisplay;
  const nIndividual = grouped ? nRows - 1 : nRows;
  // Steps from the bottom: [other features], then the shown features from least to most important.
  const shown = order.slice(0, nIndividual).reverse();
  const hidden = grouped ? order.slice(nIndividual) : [];
  const single = n === 1;
  const stepLabels: string[] = [];
  if (grouped) stepLabels.push(`${hidden.length} other features`);
  for (const f of shown) stepLabels.push(single ? featureLabel(e, rows[0]!, f) : e.featureNames[f]!);
  const levels = stepLabels.length + 1;

  // Cumulative sums per plotted row: levels[0] = base value, last = f(x).
  const cum = new Float64Array(n * levels);
  let lo = Infinity;
  let hi = -Infinity;
  let baseSum = 0;
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    let s = e.baseValues[r]![o]!;
    baseSum += s;
    let l = 0;
    cum[k * levels + l++] = s;
    if (grouped) {
      for (const f of hidden) s += all[r * m + f]!;
      cum[k * levels + l++] = s;
    }
    for (const f of shown) {
      s += all[r * m + f]!;
      cum[k * levels + l++] = s;
    }
    for (let j = 0; j < levels; j++) (lo = Math.min(lo, cum[k * levels + j]!)), (hi = Math.max(hi, cum[k * levels + j]!));
  }

  const rowH = Math.round(fs * 2);
  const titleH = fs + 18;
  const plotTop = titleH + fs + 14;
  const plotBottom = plotTop + Math.max(1, stepLabels.length) * rowH;
  const axisY = plotBottom;
  const height = sizeOption('height', options.height, axisY + 6 + fs * 3.2 + 12);
  const labelArea = labelWidth(stepLabels, fs, width * 0.4);
  const plotLeft = labelArea + 20;
  const plotRight = width - 20;
  const scale = linearScale([lo, hi], [plotLeft, plotRight], { pad: 0.04 });
  const [d0, d1] = scale.domain() as [number, number];
  const yLevel = (j: number) => plotBottom - j * rowH;

  const title = options.title ?? `SHAP decision plot, ${n} row${n === 1 ? '' : 's'}${outputSuffix(e, o)}`;
  const parts: string[] = [titleElement(8, title, width, fs)];
  parts.push(axis({ scale, orient: 'bottom', at: axisY, fontSize: fs - 1, gridTo: plotTop, label: outputSpaceLabel(e) }));
  const grid: string[] = [];
  for (let j = 1; j < levels; j++) grid.push(el('line', { x1: plotLeft, x2: plotRight, y1: yLevel(j), y2: yLevel(j), stroke: palette.grid, 'stroke-dasharray': '2 3' }));
  parts.push(el('g', { class: 'grid' }, ...grid));
  stepLabels.forEach((label, j) => {
    const cy = yLevel(j) - rowH / 2;
    parts.push(text(plotLeft - 10, cy + fs * 0.35, truncate(label, labelArea, fs), { 'text-anchor': 'end', fill: grouped && j === 0 ? palette.mutedText : palette.text, class: 'feature-label' }));
  });
  const baseMean = baseSum / n;
  parts.push(el('line', { x1: scale(baseMean), x2: scale(baseMean), y1: plotTop - 4, y2: plotBottom, stroke: palette.mutedText, 'stroke-width': 1, class: 'base-line' }));

  const width1 = n > 100 ? 0.8 : n > 10 ? 1.2 : 2;
  const opacity = n > 200 ? 0.45 : n > 20 ? 0.7 : 1;
  const lines: string[] = [];
  for (let k = 0; k < n; k++) {
    const pts: string[] = [];
    for (let j = 0; j < levels; j++) pts.push(`${num(scale(cum[k * levels + j]!))},${num(yLevel(j))}`);
    const base = cum[k * levels]!;
    const fx = cum[k * levels + levels - 1]!;
    lines.push(
      el(
        'polyline',
        { points: pts.join(' '), fill: 'none', stroke: signColor(fx - base), 'stroke-width': width1, 'stroke-opacity': opacity, class: 'line', 'data-row': rows[k] },
        tooltip(`row ${rows[k]}: f(x) = ${formatNumber(fx)}`),
      ),
    );
  }
  parts.push(el('g', { class: 'lines' }, ...lines));
  // The base value under the axis... and f(x) on top for a single row.
  const baseText = `base value ${formatNumber(baseMean)}`;
  const clampX = (cx: number, label: string) => Math.min(width - 4 - textWidth(label, fs - 1) / 2, Math.max(4 + textWidth(label, fs - 1) / 2, cx));
  parts.push(text(clampX(scale(baseMean), baseText), plotTop - 8, baseText, { 'text-anchor': 'middle', 'font-size': fs - 1, fill: palette.mutedText, class: 'base-label' }));
  if (single) {
    const fx = cum[levels - 1]!;
    const fxText = `f(x) = ${formatNumber(fx)}`;
    const xx = scale(fx);
    const w = textWidth(fxText, fs);
    const right = xx + 6 + w <= width - 4;
    parts.push(text(right ? xx + 6 : xx - 6, plotTop + fs * 0.35, fxText, { 'text-anchor': right ? 'start' : 'end', 'font-weight': 'bold', fill: palette.text, class: 'fx-label' }));
  }

  const description =
    `Decision plot of ${n} row${n === 1 ? '' : 's'} for output ${e.outputNames[o]}: lines start at the base value (mean ${formatNumber(baseMean)}) ` +
    `at the bottom and add the attributions of ${stepLabels.join(', ')} (bottom to top) up to f(x) at the top; axis ${formatNumber(d0)} to ${formatNumber(d1)}.`;
  return svgDocument({ kind: 'decision', title, description, width, height, fontSize: fs }, ...parts);
}
