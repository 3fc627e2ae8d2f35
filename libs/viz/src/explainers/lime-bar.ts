/** LIME's local surrogate as a horizontal bar chart of signed weights (tabular conditions, words or superpixels). */
import { axis, linearScale } from '../core/axis.js';
import { sizeOption, type ChartOptions } from '../core/chart.js';
import { outputIndex, readExplanation, rowIndex } from '../core/explanation.js';
import { formatNumber, formatSigned } from '../core/format.js';
import { palette, signColor } from '../core/palette.js';
import { el, escapeXml, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { VizError } from '../errors.js';
import { detailNumber, limeWeights, requireMethod } from './lime-common.js';

export interface LimeBarOptions extends ChartOptions {
  /** Row of the explanation (default 0). */
  row?: number;
  /** Explained output: index or name (default the last one, the positive class of a binary classifier). */
  output?: number | string;
  /** Most bars drawn (default 10); the rest are counted in a note. */
  maxDisplay?: number;
}

const LIME_METHODS = ['lime.tabular', 'lime.text', 'lime.image'] as const;

/**
 * LIME weights as horizontal bars sorted by |weight|: the conditions LIME reports (`age <= 30.00`, `sex=Male`),
 * words or superpixels; positive weights to the right in `palette.positive`, negative to the left in
 * `palette.negative`; the surrogate's intercept, local prediction and R² (and the model's output) in the
 * subtitle. Kind `lime_bar`.
 */
export function limeBarSvg(explanation: unknown, options: LimeBarOptions = {}): string {
  const e = readExplanation(explanation);
  requireMethod(e, 'limeBarSvg', LIME_METHODS, e.method.startsWith('anchors.') ? 'use anchorRuleSvg for Anchors' : '');
  const r = rowIndex(e, options.row);
  const o = outputIndex(e, options.output);
  const maxDisplay = Math.floor(sizeOption('maxDisplay', options.maxDisplay, 10, 1000));
  const fontSize = sizeOption('fontSize', options.fontSize, 12, 72);
  const width = sizeOption('width', options.width, 640);
  const all = limeWeights(e, r, o);
  const shown = all.slice(0, maxDisplay);
  const hidden = all.length - shown.length;
  const outName = e.outputNames[o]!;
  const margin = 16;
  const titleY = margin + fontSize + 2;
  const subY = titleY + fontSize + 6;
  const top = subY + 14;
  const barH = Math.round(fontSize * 1.5);
  const step = barH + 6;
  const labelMax = Math.max(60, width * 0.42);
  const labelW = Math.min(labelMax, Math.max(40, ...shown.map((w) => textWidth(w.label, fontSize))));
  const plotL = margin + labelW + 10;
  const plotR = width - margin - 8;
  if (plotR - plotL < 40) throw new VizError('INVALID_INPUT', `width ${width} is too small for this chart; use at least ${Math.ceil(plotL + 48 + margin)}`);
  const ws = shown.map((w) => w.weight);
  let lo = Math.min(0, ...ws);
  let hi = Math.max(0, ...ws);
  // weights that are all (sub)normal-tiny read as zero: d3 cannot tick a span below ~1e-300
  if (hi - lo < 1e-200) [lo, hi] = [-1, 1];
  const scale = linearScale([lo, hi], [plotL, plotR], { pad: 0.18 });
  const plotH = Math.max(1, shown.length) * step;
  const axisY = top + plotH + 4;
  const noteH = hidden > 0 ? fontSize + 6 : 0;
  const legendY = axisY + 2 * fontSize + 30 + noteH;
  const height = options.height ?? Math.ceil(legendY + fontSize + margin);
  const method = e.method === 'lime.tabular' ? 'LIME' : e.method === 'lime.text' ? 'LIME (text)' : 'LIME (image)';
  const title = options.title ?? `${method}: why “${outName}”${e.values.length > 1 ? ` (row ${r})` : ''}`;
  const stats: string[] = [];
  const prediction = e.predictions?.[r]?.[o];
  if (prediction !== undefined && Number.isFinite(prediction)) stats.push(`model ${formatNumber(prediction)}`);
  const local = detailNumber(e, 'localPrediction', r, o);
  if (local !== undefined) stats.push(`local prediction ${formatNumber(local)}`);
  const intercept = detailNumber(e, 'intercept', r, o) ?? e.baseValues[r]?.[o];
  if (intercept !== undefined && Number.isFinite(intercept)) stats.push(`intercept ${formatNumber(intercept)}`);
  const score = detailNumber(e, 'score', r, o);
  if (score !== undefined) stats.push(`R² ${formatNumber(score)}`);
  const body: string[] = [
    text(margin, titleY, truncate(title, width - 2 * margin, fontSize + 2), { 'font-size': fontSize + 2, 'font-weight': 'bold', fill: palette.text, class: 'chart-title' }),
    text(margin, subY, truncate(stats.join(' · '), width - 2 * margin, fontSize - 1), { 'font-size': fontSize - 1, fill: palette.mutedText, class: 'chart-subtitle' }),
    axis({ scale, orient: 'bottom', at: axisY, gridTo: top - 4, ticks: Math.max(3, Math.floor((plotR - plotL) / 70)), label: `LIME weight toward “${outName}”`, fontSize: fontSize - 1 }),
  ];
  const zero = scale(0);
  shown.forEach((w, i) => {
    const y = top + i * step;
    const x = scale(w.weight);
    const x0 = Math.min(x, zero);
    const bw = Math.max(1, Math.abs(x - zero));
    const positive = w.weight >= 0;
    const label = truncate(w.label, labelW, fontSize);
    const valueLabel = formatSigned(w.weight);
    body.push(
      el(
        'g',
        { class: `lime-feature ${positive ? 'positive' : 'negative'}`, 'data-feature': w.feature },
        el('title', {}, escapeXml(`${w.label}: ${valueLabel}`)),
        text(plotL - 10, y + barH / 2 + fontSize * 0.35, label, { 'text-anchor': 'end', fill: palette.text, class: 'feature-label' }),
        el('rect', { class: 'bar', x: x0, y, width: bw, height: barH, fill: signColor(w.weight) }),
        text(positive ? x0 + bw + 4 : x0 - 4, y + barH / 2 + fontSize * 0.35, valueLabel, {
          'text-anchor': positive ? 'start' : 'end',
          'font-size': fontSize - 1,
          fill: palette.mutedText,
          class: 'value-label',
        }),
      ),
    );
  });
  if (shown.length === 0) body.push(text((plotL + plotR) / 2, top + barH, 'no feature was selected for this output', { 'text-anchor': 'middle', fill: palette.mutedText, class: 'empty-note' }));
  body.push(el('line', { class: 'zero-line', x1: zero, x2: zero, y1: top - 4, y2: axisY, stroke: palette.axis }));
  if (hidden > 0) {
    body.push(text(margin, axisY + 2 * fontSize + 26, `+ ${hidden} more feature${hidden === 1 ? '' : 's'} with smaller weights not shown`, { 'font-size': fontSize - 1, fill: palette.mutedText, class: 'more-note' }));
  }
  const sw = fontSize;
  const posText = `raises “${outName}”`;
  const negX = margin + sw + 6 + textWidth(posText, fontSize - 1) + 20;
  body.push(
    el(
      'g',
      { class: 'legend' },
      el('rect', { x: margin, y: legendY - sw + 2, width: sw, height: sw, fill: palette.positive }),
      text(margin + sw + 6, legendY, posText, { 'font-size': fontSize - 1, fill: palette.text }),
      el('rect', { x: negX, y: legendY - sw + 2, width: sw, height: sw, fill: palette.negative }),
      text(negX + sw + 6, legendY, `lowers “${outName}”`, { 'font-size': fontSize - 1, fill: palette.text }),
    ),
  );
  return svgDocument(
    { kind: 'lime_bar', title, description: shown.map((w) => `${w.label}: ${formatSigned(w.weight)}`).join('; '), width, height, fontSize },
    ...body,
  );
}
