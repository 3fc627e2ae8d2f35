/**
 * shap.plots.waterfall: one row's attributions as arrows walking from the base value E[f(X)] (bottom) to the
 * row's output f(x) (top), largest |value| on top, the rest grouped into one "N other features" arrow.
 */
import { axis, linearScale } from '../core/axis.js';
import { intOption, sizeOption, type ChartOptions } from '../core/chart.js';
import { featureLabel, orderByMagnitude, outputIndex, outputSpaceLabel, readExplanation, rowIndex, rowValues } from '../core/explanation.js';
import { formatNumber, formatSigned } from '../core/format.js';
import { palette, signColor } from '../core/palette.js';
import { el, num, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { labelWidth, outputSuffix, titleElement, tooltip } from './common.js';

export interface WaterfallOptions extends ChartOptions {
  /** Row of the explanation to draw (default 0). */
  row?: number;
  /** Output index or name (default: the last output, the positive class of a binary classifier). */
  output?: number | string;
  /**
   * Number of arrows (default 10, at most 1000): the `maxDisplay - 1` largest |values| and one "N other features"
   * arrow summing the rest, when there are more features than that.
   */
  maxDisplay?: number;
}

/** An arrow from `from` to `to` (px) centred at `cy` with half-height `h`; the head points along the sign. */
export function arrowPoints(from: number, to: number, cy: number, h: number, head: number): string {
  const len = Math.abs(to - from);
  const a = Math.min(head, len);
  const dir = to >= from ? 1 : -1;
  const neck = to - dir * a;
  return [
    [from, cy - h],
    [neck, cy - h],
    [to, cy],
    [neck, cy + h],
    [from, cy + h],
  ]
    .map(([x, y]) => `${num(x!)},${num(y!)}`)
    .join(' ');
}

/**
 * Draws one row's waterfall. Bars = min(features, maxDisplay). Throws VizError INVALID_INPUT for a bad row, output,
 * maxDisplay or size option.
 */
export function waterfallSvg(explanation: unknown, options: WaterfallOptions = {}): string {
  const e = readExplanation(explanation);
  const o = outputIndex(e, options.output);
  const r = rowIndex(e, options.row);
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 640);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 10, 1, 1000);
  const values = rowValues(e, r, o);
  const m = values.length;
  const base = e.baseValues[r]![o]!;
  let total = base;
  for (let f = 0; f < m; f++) total += values[f]!;

  const order = orderByMagnitude(values);
  const nBars = Math.min(m, maxDisplay);
  const grouped = m > maxDisplay;
  const nIndividual = grouped ? nBars - 1 : nBars;
  const bars: { label: string; value: number; feature: string | null }[] = [];
  for (let i = 0; i < nIndividual; i++) bars.push({ label: featureLabel(e, r, order[i]!), value: values[order[i]!]!, feature: e.featureNames[order[i]!]! });
  if (grouped) {
    let rest = 0;
    for (let i = nIndividual; i < m; i++) rest += values[order[i]!]!;
    bars.push({ label: `${m - nIndividual} other features`, value: rest, feature: null });
  }

  // Cumulative positions: bar i (top to bottom) runs from its tail (toward E[f(X)]) to its tip (toward f(x)).
  const tips: number[] = [];
  const tails: number[] = [];
  let loc = total;
  let lo = Math.min(base, total);
  let hi = Math.max(base, total);
  for (const b of bars) {
    tips.push(loc);
    loc -= b.value;
    tails.push(loc);
    lo = Math.min(lo, loc);
    hi = Math.max(hi, loc);
  }

  const rowH = Math.round(fs * 2.2);
  const titleH = fs + 2 + 14;
  const plotTop = titleH + fs * 2 + 10;
  const plotBottom = plotTop + Math.max(1, bars.length) * rowH;
  const axisY = plotBottom + 4;
  const height = sizeOption('height', options.height, axisY + 6 + fs * 4.6 + 8);
  const labelArea = labelWidth(bars.map((b) => b.label), fs, width * 0.4);
  const plotLeft = labelArea + 20;
  const plotRight = width - 20;
  const scale = linearScale([lo, hi], [plotLeft, plotRight], { pad: 0.06 });
  const x = (v: number) => scale(v);
  const [d0, d1] = scale.domain() as [number, number];

  const title = options.title ?? `SHAP waterfall, row ${r}${outputSuffix(e, o)}`;
  const parts: string[] = [titleElement(8, title, width, fs)];
  parts.push(axis({ scale, orient: 'bottom', at: axisY, gridTo: plotTop - 4, fontSize: fs - 1 }));

  // f(x) on top, E[f(X)] under the axis, with dashed guides to the first and last arrows.
  const fxLabel = `f(x) = ${formatNumber(total)}`;
  const baseLabel = `E[f(X)] = ${formatNumber(base)}`;
  const clampX = (cx: number, label: string, size: number) => {
    const w = textWidth(label, size) / 2;
    return Math.min(width - 4 - w, Math.max(4 + w, cx));
  };
  parts.push(
    el(
      'g',
      { class: 'output-marker' },
      el('line', { x1: x(total), x2: x(total), y1: plotTop - fs - 2, y2: plotTop + rowH / 2, stroke: palette.mutedText, 'stroke-dasharray': '3 3' }),
      text(clampX(x(total), fxLabel, fs), plotTop - fs - 6, fxLabel, { 'text-anchor': 'middle', 'font-weight': 'bold', fill: palette.text, class: 'fx-label' }),
    ),
  );
  const baseY = axisY + 6 + fs * 2.3;
  parts.push(
    el(
      'g',
      { class: 'base-marker' },
      el('line', { x1: x(base), x2: x(base), y1: plotBottom - rowH / 2, y2: baseY - fs + 2, stroke: palette.mutedText, 'stroke-dasharray': '3 3' }),
      text(clampX(x(base), baseLabel, fs), baseY, baseLabel, { 'text-anchor': 'middle', fill: palette.text, class: 'base-label' }),
    ),
  );
  parts.push(
    text((plotLeft + plotRight) / 2, axisY + 6 + fs * 3.9, outputSpaceLabel(e), { 'text-anchor': 'middle', fill: palette.mutedText, 'font-size': fs, class: 'axis-label' }),
  );

  const h = rowH * 0.36;
  const head = Math.max(4, rowH * 0.3);
  bars.forEach((b, i) => {
    const cy = plotTop + (i + 0.5) * rowH;
    const from = x(tails[i]!);
    const to = x(tips[i]!);
    const colour = signColor(b.value);
    const g: string[] = [];
    g.push(
      text(plotLeft - 12, cy + fs * 0.35, truncate(b.label, labelArea, fs), {
        'text-anchor': 'end',
        fill: b.feature === null ? palette.mutedText : palette.text,
        class: 'feature-label',
      }),
    );
    g.push(el('polygon', { points: arrowPoints(from, to, cy, h, head), fill: colour, class: 'bar' }, tooltip(`${b.label}: ${formatSigned(b.value)}`)));
    if (i + 1 < bars.length) {
      g.push(el('line', { x1: from, x2: from, y1: cy + h, y2: cy + rowH - h, stroke: palette.mutedText, 'stroke-width': 0.8, 'stroke-dasharray': '2 2', class: 'connector' }));
    }
    // Value label: inside the arrow when it fits, else beyond its tip, else behind its tail.
    const label = formatSigned(b.value);
    const w = textWidth(label, fs - 1);
    const left = Math.min(from, to);
    const right = Math.max(from, to);
    let lx: number;
    let anchor: 'start' | 'middle' | 'end';
    let fill = colour;
    if (right - left - head >= w + 6) {
      lx = (left + right) / 2 - (to >= from ? head / 2 : -head / 2);
      anchor = 'middle';
      fill = '#ffffff';
    } else if (to >= from ? right + 4 + w <= width - 4 : left - 4 - w >= plotLeft) {
      lx = to >= from ? right + 4 : left - 4;
      anchor = to >= from ? 'start' : 'end';
    } else {
      lx = to >= from ? left - 4 : right + 4;
      anchor = to >= from ? 'end' : 'start';
    }
    g.push(text(lx, cy + (fs - 1) * 0.35, label, { 'text-anchor': anchor, fill, 'font-size': fs - 1, class: 'value-label' }));
    parts.push(el('g', { class: 'row', 'data-feature': b.feature ?? undefined, 'data-value': String(b.value) }, ...g));
  });

  const description =
    `Waterfall of row ${r} for output ${e.outputNames[o]}: from E[f(X)] = ${formatNumber(base)} to f(x) = ${formatNumber(total)} ` +
    `(${e.method}); axis ${formatNumber(d0)} to ${formatNumber(d1)}. ` +
    bars.map((b) => `${b.label}: ${formatSigned(b.value)}`).join('; ');
  return svgDocument({ kind: 'waterfall', title, description, width, height, fontSize: fs }, ...parts);
}
