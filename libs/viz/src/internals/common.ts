/** Pieces the model-internals charts share: option checks, a chart header and a horizontal bar chart. */
import { axis, linearScale } from '../core/axis.js';
import { palette } from '../core/palette.js';
import { el, text, textWidth, truncate } from '../core/svg.js';
import { invalid } from '../core/chart.js';

/** Checks a `featureNames` override against the model's feature count. */
export function namesOption(names: readonly string[] | undefined, count: number, fallback: (i: number) => string): string[] {
  if (names === undefined) return Array.from({ length: count }, (_, i) => fallback(i));
  if (!Array.isArray(names) || names.length !== count || names.some((n) => typeof n !== 'string')) {
    invalid(`featureNames must be ${count} strings (one per model feature), got ${Array.isArray(names) ? `${names.length} entries` : typeof names}`);
  }
  return [...names];
}

/** Title and muted subtitle lines at the top left; returns the markup and the height used. */
export function header(title: string, subtitles: readonly string[], width: number, fontSize: number): { svg: string; height: number } {
  const margin = 16;
  const parts: string[] = [];
  let y = margin + fontSize + 3;
  parts.push(text(margin, y, truncate(title, width - 2 * margin, fontSize + 3), { 'font-size': fontSize + 3, 'font-weight': 'bold', fill: palette.text, class: 'title' }));
  for (const s of subtitles) {
    y += fontSize + 6;
    parts.push(text(margin, y, truncate(s, width - 2 * margin, fontSize), { fill: palette.mutedText, class: 'subtitle' }));
  }
  return { svg: el('g', { class: 'header' }, ...parts), height: y + 10 };
}

export interface BarItem {
  label: string;
  value: number;
  color: string;
  /** Text written at the end of the bar. */
  valueLabel: string;
  /** Extra attributes on the bar's rect (data-*). */
  attrs?: Record<string, string | number>;
}

export interface BarsOptions {
  x: number;
  y: number;
  width: number;
  fontSize: number;
  items: readonly BarItem[];
  /** Axis title under the bars. */
  axisLabel: string;
  /** Optional line under the last bar (e.g. "… 12 other features"). */
  note?: string;
  /** Name of the series, written as data-series on every bar. */
  series: string;
}

/**
 * Horizontal bars, one row per item in the order given: names on the left, bars from zero (negative values to the
 * left of the zero line), value labels past the bar end, an axis from d3-scale under them.
 */
export function horizontalBars(o: BarsOptions): { svg: string; height: number } {
  const fs = o.fontSize;
  const rowH = Math.round(fs * 1.9);
  const barH = Math.round(fs * 1.2);
  const nameW = Math.min(o.width * 0.38, Math.max(40, ...o.items.map((i) => textWidth(i.label, fs))) + 10);
  const valueW = Math.max(0, ...o.items.map((i) => textWidth(i.valueLabel, fs - 1))) + 8;
  const values = o.items.map((i) => i.value);
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const x0 = o.x + nameW + (lo < 0 ? valueW : 0);
  const x1 = o.x + o.width - (hi > 0 || values.length === 0 ? valueW : 0);
  const scale = linearScale([lo, hi], [x0, Math.max(x0 + 20, x1)], { nice: false });
  const parts: string[] = [];
  const top = o.y;
  o.items.forEach((item, i) => {
    const cy = top + i * rowH + rowH / 2;
    if (i % 2 === 1) parts.push(el('rect', { x: o.x, y: cy - rowH / 2, width: o.width, height: rowH, fill: '#f7f7f7' }));
    parts.push(text(o.x + nameW - 8, cy + fs * 0.35, truncate(item.label, nameW - 10, fs), { 'text-anchor': 'end', fill: palette.text, class: 'bar-label' }));
    const a = scale(0);
    const b = scale(item.value);
    parts.push(
      el('rect', {
        x: Math.min(a, b),
        y: cy - barH / 2,
        width: Math.max(Math.abs(b - a), item.value === 0 ? 0 : 1),
        height: barH,
        fill: item.color,
        class: 'bar',
        'data-series': o.series,
        ...(item.attrs ?? {}),
      }),
    );
    const neg = item.value < 0;
    parts.push(text(neg ? Math.min(a, b) - 4 : Math.max(a, b) + 4, cy + fs * 0.35, item.valueLabel, { 'text-anchor': neg ? 'end' : 'start', fill: palette.text, 'font-size': fs - 1, class: 'value-label' }));
  });
  let bottom = top + o.items.length * rowH;
  if (lo < 0) parts.push(el('line', { x1: scale(0), x2: scale(0), y1: top, y2: bottom, stroke: palette.axis, 'stroke-width': 1 }));
  if (o.note) {
    bottom += fs + 4;
    parts.push(text(o.x, bottom, truncate(o.note, o.width, fs - 1), { fill: palette.mutedText, 'font-size': fs - 1, class: 'note' }));
    bottom += 6;
  }
  parts.push(axis({ scale, orient: 'bottom', at: bottom + 4, ticks: Math.max(2, Math.floor((x1 - x0) / 80)), label: o.axisLabel, fontSize: fs - 1 }));
  return { svg: el('g', { class: `bars bars-${o.series}` }, ...parts), height: bottom + 4 + 2 * (fs - 1) + 20 - top };
}

/** Human name of a link (output transform). */
export function linkName(link: string): string {
  switch (link) {
    case 'identity':
      return 'identity (raw margin is the prediction)';
    case 'logistic':
      return 'logistic (sigmoid of the margin)';
    case 'softmax':
      return 'softmax over the outputs';
    case 'softmax_zero':
      return 'softmax (zero margins excluded)';
    case 'probit':
      return 'probit';
    case 'exp':
      return 'exp (log link)';
    default:
      return link;
  }
}
