/**
 * shap.plots.bar: mean |attribution| per feature over the rows, largest on top, the rest summed into one
 * "Sum of N other features" bar. With one row it draws that row's signed attributions (as shap does for a single
 * explanation): red to the right, blue to the left, labelled `name = value`.
 */
import { axis, linearScale } from '../core/axis.js';
import { intOption, invalid, sizeOption, type ChartOptions } from '../core/chart.js';
import { featureLabel, orderByMagnitude, outputIndex, outputSpaceLabel, readExplanation, rowValues } from '../core/explanation.js';
import { formatNumber, formatShort, formatSigned } from '../core/format.js';
import { palette, signColor } from '../core/palette.js';
import { el, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { labelWidth, meanAbs, orderDesc, outputSuffix, titleElement, tooltip, valueMatrix } from './common.js';

export interface BarOptions extends ChartOptions {
  /** Output index or name (default: the last output). */
  output?: number | string;
  /**
   * Bars (default 10, at most 1000): the `maxDisplay - 1` largest and one "Sum of N other features" bar when there
   * are more features.
   */
  maxDisplay?: number;
}

/** Draws the bar chart. Bars = min(features, maxDisplay). Throws VizError INVALID_INPUT for bad options. */
export function barSvg(explanation: unknown, options: BarOptions = {}): string {
  const e = readExplanation(explanation);
  const o = outputIndex(e, options.output);
  const n = e.values.length;
  if (n === 0) invalid('the explanation has no rows to plot');
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 640);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 10, 1, 1000);
  const m = e.featureNames.length;
  const single = n === 1;
  // One row: signed values; many rows: mean |value|.
  const score = single ? rowValues(e, 0, o) : meanAbs(valueMatrix(e, o), n, m);
  const order = single ? orderByMagnitude(score) : orderDesc(score);
  const nBars = Math.min(m, maxDisplay);
  const grouped = m > maxDisplay;
  const nIndividual = grouped ? nBars - 1 : nBars;
  const bars: { label: string; feature: string | null; value: number }[] = [];
  for (let k = 0; k < nIndividual; k++) {
    const f = order[k]!;
    bars.push({ label: single ? featureLabel(e, 0, f) : e.featureNames[f]!, feature: e.featureNames[f]!, value: score[f]! });
  }
  if (grouped) {
    let rest = 0;
    for (let k = nIndividual; k < m; k++) rest += score[order[k]!]!;
    bars.push({ label: `Sum of ${m - nIndividual} other features`, feature: null, value: rest });
  }
  const fmt = single ? formatSigned : formatShort;
  let lo = 0;
  let hi = 0;
  for (const b of bars) (lo = Math.min(lo, b.value)), (hi = Math.max(hi, b.value));

  const rowH = Math.round(fs * 2.1);
  const titleH = fs + 18;
  const plotTop = titleH + 12;
  const plotBottom = plotTop + Math.max(1, bars.length) * rowH;
  const axisY = plotBottom + 4;
  const height = sizeOption('height', options.height, axisY + 6 + fs * 3.2 + 12);
  const labelArea = labelWidth(bars.map((b) => b.label), fs, width * 0.4);
  const valueRoom = Math.max(...bars.map((b) => textWidth(fmt(b.value), fs - 1)), 0) + 8;
  const plotLeft = labelArea + 20 + (lo < 0 ? valueRoom : 0);
  const plotRight = width - 12 - valueRoom;
  const scale = linearScale([lo, hi], [plotLeft, plotRight]);
  const [d0, d1] = scale.domain() as [number, number];
  const x0 = scale(0);

  const title = options.title ?? (single ? `SHAP values, row 0${outputSuffix(e, o)}` : `Mean |SHAP value|, ${n} rows${outputSuffix(e, o)}`);
  const axisLabel = single ? `SHAP value (${outputSpaceLabel(e)})` : `mean(|SHAP value|) (${outputSpaceLabel(e)})`;
  const parts: string[] = [titleElement(8, title, width, fs)];
  parts.push(axis({ scale, orient: 'bottom', at: axisY, fontSize: fs - 1, gridTo: plotTop, label: axisLabel }));
  const bh = rowH * 0.68;
  bars.forEach((b, i) => {
    const cy = plotTop + (i + 0.5) * rowH;
    const xv = scale(b.value);
    const colour = single ? signColor(b.value) : palette.neutral;
    const label = fmt(b.value);
    const neg = b.value < 0;
    parts.push(
      el(
        'g',
        { class: 'row', 'data-feature': b.feature ?? undefined, 'data-value': String(b.value) },
        text(labelArea + 8, cy + fs * 0.35, truncate(b.label, labelArea, fs), { 'text-anchor': 'end', fill: b.feature === null ? palette.mutedText : palette.text, class: 'feature-label' }),
        el('rect', { x: Math.min(x0, xv), y: cy - bh / 2, width: Math.abs(xv - x0), height: bh, fill: colour, 'fill-opacity': b.feature === null ? 0.6 : 1, class: 'bar' }, tooltip(`${b.label}: ${label}`)),
        text(neg ? xv - 4 : xv + 4, cy + (fs - 1) * 0.35, label, { 'text-anchor': neg ? 'end' : 'start', 'font-size': fs - 1, fill: colour, class: 'value-label' }),
      ),
    );
  });
  parts.push(el('line', { x1: x0, x2: x0, y1: plotTop, y2: plotBottom, stroke: palette.axis, class: 'zero-line' }));
  const description =
    (single ? `SHAP values of row 0` : `Mean |SHAP value| over ${n} rows`) +
    ` for output ${e.outputNames[o]}, axis ${formatNumber(d0)} to ${formatNumber(d1)}: ` +
    bars.map((b) => `${b.label}: ${fmt(b.value)}`).join('; ');
  return svgDocument({ kind: 'bar', title, description, width, height, fontSize: fs }, ...parts);
}
