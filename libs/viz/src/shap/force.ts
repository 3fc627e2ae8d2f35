/**
 * shap.plots.force for one row: the features pushing the output up (red, pointing right) stacked left of f(x) and
 * those pushing it down (blue, pointing left) stacked right of it, largest next to f(x); the base value marked on
 * the axis, labels under the larger contributions.
 */
import { axis, linearScale } from '../core/axis.js';
import { sizeOption, type ChartOptions } from '../core/chart.js';
import { featureLabel, outputIndex, outputSpaceLabel, readExplanation, rowIndex, rowValues } from '../core/explanation.js';
import { formatNumber, formatSigned } from '../core/format.js';
import { palette } from '../core/palette.js';
import { el, num, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { directionLegend, outputSuffix, titleElement, tooltip } from './common.js';

export interface ForceOptions extends ChartOptions {
  /** Row of the explanation to draw (default 0). */
  row?: number;
  /** Output index or name (default: the last output). */
  output?: number | string;
}

/** A chevron from x0 to x1 (x0 < x1) between y0 and y1, notched at its tail and pointed at its head. */
function chevron(x0: number, x1: number, y0: number, y1: number, pointRight: boolean, notch: number): string {
  const mid = (y0 + y1) / 2;
  const a = Math.min(notch, Math.max(0, (x1 - x0) * 0.8));
  const pts: [number, number][] = pointRight
    ? [[x0, y0], [x1, y0], [x1 + a, mid], [x1, y1], [x0, y1], [x0 + a, mid]]
    : [[x1, y0], [x0, y0], [x0 - a, mid], [x0, y1], [x1, y1], [x1 - a, mid]];
  return pts.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
}

/** Draws one row's additive force plot. Throws VizError INVALID_INPUT for a bad row, output or size option. */
export function forceSvg(explanation: unknown, options: ForceOptions = {}): string {
  const e = readExplanation(explanation);
  const o = outputIndex(e, options.output);
  const r = rowIndex(e, options.row);
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 800);
  const values = rowValues(e, r, o);
  const m = values.length;
  const base = e.baseValues[r]![o]!;
  let fx = base;
  let posSum = 0;
  let negSum = 0;
  for (let f = 0; f < m; f++) {
    const v = values[f]!;
    fx += v;
    if (v > 0) posSum += v;
    else negSum -= v;
  }
  const pos: number[] = [];
  const neg: number[] = [];
  for (let f = 0; f < m; f++) (values[f]! > 0 ? pos : values[f]! < 0 ? neg : []).push(f);
  pos.sort((a, b) => values[b]! - values[a]! || a - b);
  neg.sort((a, b) => values[a]! - values[b]! || a - b);

  const titleH = fs + 16;
  const axisY = titleH + fs * 2.6 + 10;
  const bandTop = axisY + fs + 18;
  const bandH = Math.round(fs * 1.9);
  const bandBottom = bandTop + bandH;
  const labelRow0 = bandBottom + 10 + fs;
  const labelRowH = fs * 1.5;
  const height = sizeOption('height', options.height, labelRow0 + labelRowH * 2 + 8);
  const plotLeft = 20;
  const plotRight = width - 20;
  const lo = Math.min(base, fx - posSum);
  const hi = Math.max(base, fx + negSum);
  const scale = linearScale([lo, hi], [plotLeft, plotRight], { pad: 0.04 });
  const x = (v: number) => scale(v);

  const title = options.title ?? `SHAP force plot, row ${r}${outputSuffix(e, o)}`;
  const parts: string[] = [titleElement(8, title, width * 0.7, fs)];
  parts.push(directionLegend(width - 10, 8 + fs + 2, fs));
  parts.push(axis({ scale, orient: 'bottom', at: axisY, fontSize: fs - 1 }));

  // Segments: red from f(x) leftwards, blue from f(x) rightwards, the largest next to f(x).
  interface Segment {
    f: number;
    x0: number;
    x1: number;
    value: number;
  }
  const segments: Segment[] = [];
  let right = fx;
  for (const f of pos) {
    segments.push({ f, x0: x(right - values[f]!), x1: x(right), value: values[f]! });
    right -= values[f]!;
  }
  let left = fx;
  for (const f of neg) {
    segments.push({ f, x0: x(left), x1: x(left - values[f]!), value: values[f]! });
    left -= values[f]!;
  }
  const notch = bandH * 0.3;
  const shapes: string[] = [];
  for (const s of segments) {
    const label = featureLabel(e, r, s.f);
    shapes.push(
      el(
        'polygon',
        {
          points: chevron(s.x0, s.x1, bandTop, bandBottom, s.value > 0, notch),
          fill: s.value > 0 ? palette.positive : palette.negative,
          stroke: '#ffffff',
          'stroke-width': 1,
          class: 'segment',
          'data-feature': e.featureNames[s.f],
          'data-value': String(s.value),
        },
        tooltip(`${label}: ${formatSigned(s.value)}`),
      ),
    );
  }
  parts.push(el('g', { class: 'segments' }, ...shapes));

  // Markers: f(x) in bold above the axis, the base value on it.
  const clampX = (cx: number, label: string, size: number) => {
    const w = textWidth(label, size) / 2;
    return Math.min(width - 4 - w, Math.max(4 + w, cx));
  };
  const fxLabel = `f(x) = ${formatNumber(fx)}`;
  const baseLabel = `base value = ${formatNumber(base)}`;
  parts.push(
    el(
      'g',
      { class: 'output-marker' },
      el('line', { x1: x(fx), x2: x(fx), y1: axisY - 6 - fs * 1.1, y2: bandTop, stroke: palette.text, 'stroke-width': 1 }),
      text(clampX(x(fx), fxLabel, fs + 1), axisY - 10 - fs * 1.1, fxLabel, { 'text-anchor': 'middle', 'font-weight': 'bold', 'font-size': fs + 1, fill: palette.text, class: 'fx-label' }),
    ),
  );
  parts.push(
    el(
      'g',
      { class: 'base-marker' },
      el('line', { x1: x(base), x2: x(base), y1: axisY - 4, y2: bandBottom + 4, stroke: palette.mutedText, 'stroke-dasharray': '3 2' }),
      text(clampX(x(base), baseLabel, fs - 1), axisY - 5, baseLabel, { 'text-anchor': 'middle', 'font-size': fs - 1, fill: palette.mutedText, class: 'base-label' }),
    ),
  );

  // Labels under the larger contributions, greedily by |value| on two rows without overlaps.
  const extent = Math.max(1e-300, hi - lo);
  const placed: [number, number][][] = [[], []];
  const labels: string[] = [];
  const bySize = [...segments].sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.f - b.f);
  for (const s of bySize) {
    if (Math.abs(s.value) < extent * 0.005) continue;
    const content = truncate(featureLabel(e, r, s.f), width * 0.45, fs - 1);
    const w = textWidth(content, fs - 1);
    const cx = Math.min(width - 6 - w / 2, Math.max(6 + w / 2, (s.x0 + s.x1) / 2));
    const span: [number, number] = [cx - w / 2 - 4, cx + w / 2 + 4];
    const row = placed.findIndex((rowSpans) => rowSpans.every(([a, b]) => span[1] <= a || span[0] >= b));
    if (row < 0) continue;
    placed[row]!.push(span);
    const y = labelRow0 + row * labelRowH;
    const colour = s.value > 0 ? palette.positive : palette.negative;
    labels.push(
      el(
        'g',
        { class: 'label', 'data-feature': e.featureNames[s.f] },
        el('line', { x1: (s.x0 + s.x1) / 2, x2: cx, y1: bandBottom + 2, y2: y - fs + 1, stroke: colour, 'stroke-width': 0.7, 'stroke-opacity': 0.7 }),
        text(cx, y, content, { 'text-anchor': 'middle', 'font-size': fs - 1, fill: colour, class: 'feature-label' }),
      ),
    );
  }
  parts.push(...labels);

  const description =
    `Force plot of row ${r} for output ${e.outputNames[o]} (${outputSpaceLabel(e)}): base value ${formatNumber(base)}, ` +
    `f(x) = ${formatNumber(fx)}; ${pos.length} features push it higher (total ${formatSigned(posSum)}), ${neg.length} lower (total ${formatSigned(-negSum)}).`;
  return svgDocument({ kind: 'force', title, description, width, height, fontSize: fs }, ...parts);
}
