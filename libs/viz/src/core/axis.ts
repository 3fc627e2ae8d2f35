/**
 * Axes from d3-scale: tick positions and their labels come from the scale (`ticks`, `tickFormat`), never from
 * hand-rolled tick maths.
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import { el, text } from './svg.js';
import { palette } from './palette.js';

/** A linear scale over `domain` (widened when empty or degenerate, padded by `pad` of its span) onto `range`. */
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
  options: { pad?: number; nice?: boolean } = {},
): ScaleLinear<number, number> {
  let [lo, hi] = domain;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) {
    // A degenerate span: widen it by 10% of the value, or by 1 when that is too small to move it (0, subnormals).
    const tenth = Math.abs(lo) * 0.1;
    const half = tenth > 1e-300 && lo - tenth !== lo ? tenth : 1;
    lo -= half;
    hi += half;
  }
  const pad = (hi - lo) * (options.pad ?? 0);
  const scale = scaleLinear().domain([lo - pad, hi + pad]).range([range[0], range[1]]);
  return options.nice === false ? scale : scale.nice();
}

export interface AxisOptions {
  scale: ScaleLinear<number, number>;
  /** `bottom`: horizontal axis at `y` (ticks below); `left`: vertical axis at `x` (ticks to the left). */
  orient: 'bottom' | 'left';
  /** Position of the axis line across its direction (y for bottom, x for left). */
  at: number;
  /** Approximate number of ticks (the scale picks round values). */
  ticks?: number;
  /** Axis title. */
  label?: string;
  /** Draw grid lines across the plot up to this coordinate (y for bottom axes, x for left axes). */
  gridTo?: number;
  fontSize?: number;
}

/** Tick values and labels the scale chooses. */
export function axisTicks(scale: ScaleLinear<number, number>, count = 6): { value: number; label: string }[] {
  const fmt = scale.tickFormat(count);
  return scale.ticks(count).map((value) => ({ value, label: fmt(value).replace('-', '−') }));
}

/** An axis line with ticks, labels, optional grid and title, as SVG. */
export function axis(o: AxisOptions): string {
  const size = o.fontSize ?? 11;
  const [r0, r1] = o.scale.range() as [number, number];
  const parts: string[] = [];
  const ticks = axisTicks(o.scale, o.ticks ?? 6);
  if (o.orient === 'bottom') {
    if (o.gridTo !== undefined) {
      for (const t of ticks) {
        const x = o.scale(t.value);
        parts.push(el('line', { x1: x, x2: x, y1: o.gridTo, y2: o.at, stroke: palette.grid }));
      }
    }
    parts.push(el('line', { x1: r0, x2: r1, y1: o.at, y2: o.at, stroke: palette.axis }));
    for (const t of ticks) {
      const x = o.scale(t.value);
      parts.push(el('line', { x1: x, x2: x, y1: o.at, y2: o.at + 4, stroke: palette.axis }));
      parts.push(text(x, o.at + 6 + size, t.label, { 'text-anchor': 'middle', fill: palette.mutedText, 'font-size': size, class: 'tick' }));
    }
    if (o.label) {
      parts.push(text((r0 + r1) / 2, o.at + 2 * size + 14, o.label, { 'text-anchor': 'middle', fill: palette.text, 'font-size': size + 1, class: 'axis-label' }));
    }
  } else {
    if (o.gridTo !== undefined) {
      for (const t of ticks) {
        const y = o.scale(t.value);
        parts.push(el('line', { x1: o.at, x2: o.gridTo, y1: y, y2: y, stroke: palette.grid }));
      }
    }
    parts.push(el('line', { x1: o.at, x2: o.at, y1: r0, y2: r1, stroke: palette.axis }));
    for (const t of ticks) {
      const y = o.scale(t.value);
      parts.push(el('line', { x1: o.at - 4, x2: o.at, y1: y, y2: y, stroke: palette.axis }));
      parts.push(text(o.at - 6, y + size * 0.35, t.label, { 'text-anchor': 'end', fill: palette.mutedText, 'font-size': size, class: 'tick' }));
    }
    if (o.label) {
      const cy = (r0 + r1) / 2;
      const cx = o.at - 48;
      parts.push(text(cx, cy, o.label, { 'text-anchor': 'middle', transform: `rotate(-90 ${cx} ${cy})`, fill: palette.text, 'font-size': size + 1, class: 'axis-label' }));
    }
  }
  return el('g', { class: `axis axis-${o.orient}` }, ...parts);
}
