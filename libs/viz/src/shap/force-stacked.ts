/**
 * shap's stacked force plot (shap.plots.force with many rows): rows along x, model output along y; at each row the
 * positive attributions are stacked as red bands below its output and the negative ones as blue bands above it, so
 * the two stacks meet at f(x). Bands are features (the `maxDisplay - 1` with the largest mean |value| nearest the
 * output line, the rest merged into one lighter band).
 */
import { axis, axisTicks, linearScale } from '../core/axis.js';
import { intOption, invalid, sizeOption, type ChartOptions } from '../core/chart.js';
import { outputIndex, outputSpaceLabel, readExplanation } from '../core/explanation.js';
import { formatNumber } from '../core/format.js';
import { palette } from '../core/palette.js';
import { el, num, svgDocument, text, textWidth } from '../core/svg.js';
import { checkRowBound, directionLegend, meanAbs, orderDesc, outputSuffix, titleElement, tooltip, valueMatrix } from './common.js';

export type StackedOrder = 'similarity' | 'output' | 'original';

export interface ForceStackedOptions extends ChartOptions {
  /** Output index or name (default: the last output). */
  output?: number | string;
  /**
   * Row order along x: `similarity` (default; a greedy nearest-neighbour chain over the rows' attribution vectors,
   * see {@link similarityOrder}), `output` (f(x) descending) or `original` (the explanation's order).
   */
  order?: StackedOrder;
  /** At most this many rows (default 1000, bound 5000); more is INVALID_INPUT. */
  maxRows?: number;
  /** Feature bands drawn on each side (default 10, at most 200): the rest are merged into one band. */
  maxDisplay?: number;
}

/**
 * Deterministic similarity order: a greedy nearest-neighbour chain (not shap's hierarchical clustering). It starts at
 * the row with the smallest f(x) (ties: lowest index) and repeatedly appends the unvisited row nearest (Euclidean
 * distance between attribution vectors; ties: lowest index) to the last one. O(rows² · features): about 0.1 s for
 * 1,000 rows × 50 features.
 */
export function similarityOrder(values: Float64Array, rows: number, features: number, outputs: ArrayLike<number>): number[] {
  if (rows === 0) return [];
  const visited = new Uint8Array(rows);
  const order: number[] = [];
  let cur = 0;
  for (let r = 1; r < rows; r++) if (outputs[r]! < outputs[cur]!) cur = r;
  for (let k = 0; k < rows; k++) {
    visited[cur] = 1;
    order.push(cur);
    if (k === rows - 1) break;
    let best = -1;
    let bestD = Infinity;
    const a = cur * features;
    for (let r = 0; r < rows; r++) {
      if (visited[r]) continue;
      const b = r * features;
      let d = 0;
      for (let f = 0; f < features && d < bestD; f++) {
        const t = values[a + f]! - values[b + f]!;
        d += t * t;
      }
      if (d < bestD || best < 0) {
        bestD = d;
        best = r;
      }
    }
    cur = best;
  }
  return order;
}

/** Draws the stacked force plot of all rows. Throws VizError INVALID_INPUT for bad options or too many rows. */
export function forceStackedSvg(explanation: unknown, options: ForceStackedOptions = {}): string {
  const e = readExplanation(explanation);
  const o = outputIndex(e, options.output);
  const n = e.values.length;
  checkRowBound('stacked force', n, options.maxRows);
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 900);
  const height = sizeOption('height', options.height, 420);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 10, 1, 200);
  const orderName = options.order ?? 'similarity';
  if (orderName !== 'similarity' && orderName !== 'output' && orderName !== 'original') {
    invalid(`order must be 'similarity', 'output' or 'original', got ${JSON.stringify(String(orderName).slice(0, 40))}`);
  }
  const m = e.featureNames.length;
  const values = valueMatrix(e, o);
  const fx = new Float64Array(n);
  const base = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    base[r] = e.baseValues[r]![o]!;
    let s = base[r]!;
    for (let f = 0; f < m; f++) s += values[r * m + f]!;
    fx[r] = s;
  }
  let rows: number[];
  if (orderName === 'original') rows = Array.from({ length: n }, (_, i) => i);
  else if (orderName === 'output') rows = Array.from({ length: n }, (_, i) => i).sort((a, b) => fx[b]! - fx[a]! || a - b);
  else rows = similarityOrder(values, n, m, fx);

  // Bands: features by mean |value|; beyond maxDisplay - 1 they merge into one band.
  const importance = meanAbs(values, n, m);
  const featureOrder = orderDesc(importance);
  const nBands = Math.min(m, maxDisplay);
  const grouped = m > maxDisplay;
  const nIndividual = grouped ? nBands - 1 : nBands;
  const bandOf = new Int32Array(m);
  featureOrder.forEach((f, k) => (bandOf[f] = Math.min(k, nBands - 1)));
  const bandNames = featureOrder.slice(0, nIndividual).map((f) => e.featureNames[f]!);
  if (grouped) bandNames.push(`${m - nIndividual} other features`);

  // Per row (in plotted order) and band: positive and negative parts.
  const posPart = new Float64Array(n * Math.max(1, nBands));
  const negPart = new Float64Array(n * Math.max(1, nBands));
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    let ps = 0;
    let ns = 0;
    for (let f = 0; f < m; f++) {
      const v = values[r * m + f]!;
      if (v > 0) {
        posPart[k * nBands + bandOf[f]!] += v;
        ps += v;
      } else if (v < 0) {
        negPart[k * nBands + bandOf[f]!] -= v;
        ns -= v;
      }
    }
    lo = Math.min(lo, fx[r]! - ps, base[r]!);
    hi = Math.max(hi, fx[r]! + ns, base[r]!);
  }

  const titleH = fs + 18;
  const plotTop = titleH + fs + 14;
  const plotBottom = height - fs * 3.6 - 10;
  const plotLeft = 70;
  const plotRight = width - 20;
  const yScale = linearScale([lo, hi], [plotBottom, plotTop], { pad: 0.04 });
  const single = n === 1;
  const xScale = linearScale(single ? [0, 1] : [0, n - 1], [plotLeft + 4, plotRight - 4], { nice: false });
  const xs: number[] = single ? [xScale(0), xScale(1)] : rows.map((_, k) => xScale(k));
  const rowAt = (i: number) => (single ? 0 : i);

  const title = options.title ?? `SHAP stacked force plot, ${n} rows${outputSuffix(e, o)}`;
  const parts: string[] = [titleElement(8, title, width * 0.72, fs)];
  parts.push(directionLegend(width - 10, 8 + fs + 2, fs));
  parts.push(axis({ scale: yScale, orient: 'left', at: plotLeft, gridTo: plotRight, fontSize: fs - 1, label: outputSpaceLabel(e) }));
  // Row positions 1..n on the x axis: the scale's own ticks, whole numbers only.
  const posScale = linearScale(single ? [0, 2] : [1, n], [xs[0]!, xs[xs.length - 1]!], { nice: false });
  const ticks = single ? [] : axisTicks(posScale, 10).filter((t) => Number.isInteger(t.value));
  const xAxis: string[] = [el('line', { x1: plotLeft, x2: plotRight, y1: plotBottom, y2: plotBottom, stroke: palette.axis })];
  for (const t of ticks) {
    const xx = posScale(t.value);
    xAxis.push(el('line', { x1: xx, x2: xx, y1: plotBottom, y2: plotBottom + 4, stroke: palette.axis }));
    xAxis.push(text(xx, plotBottom + 6 + fs - 1, t.label, { 'text-anchor': 'middle', 'font-size': fs - 1, fill: palette.mutedText, class: 'tick' }));
  }
  const orderLabel = orderName === 'similarity' ? 'rows ordered by similarity' : orderName === 'output' ? 'rows ordered by output value' : 'rows in original order';
  xAxis.push(text((plotLeft + plotRight) / 2, plotBottom + fs * 2.9 + 4, orderLabel, { 'text-anchor': 'middle', 'font-size': fs, fill: palette.text, class: 'axis-label' }));
  parts.push(el('g', { class: 'axis axis-bottom' }, ...xAxis));

  // Stacked bands: positive bands run from f(x) downward (band 0 nearest f(x)), negative from f(x) upward.
  const areas: string[] = [];
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  for (const sign of [1, -1] as const) {
    const edge = new Float64Array(n);
    for (let k = 0; k < n; k++) edge[k] = fx[rows[k]!]!;
    const parts2 = sign > 0 ? posPart : negPart;
    for (let b = 0; b < nBands; b++) {
      let any = false;
      for (let k = 0; k < n; k++) {
        const d = parts2[k * nBands + b]!;
        if (d > 0) any = true;
        upper[k] = edge[k]!;
        edge[k] = sign > 0 ? edge[k]! - d : edge[k]! + d;
        lower[k] = edge[k]!;
      }
      if (!any) continue;
      const pts: string[] = [];
      for (let i = 0; i < xs.length; i++) pts.push(`${num(xs[i]!)},${num(yScale(upper[rowAt(i)]!))}`);
      for (let i = xs.length - 1; i >= 0; i--) pts.push(`${num(xs[i]!)},${num(yScale(lower[rowAt(i)]!))}`);
      const other = grouped && b === nBands - 1;
      areas.push(
        el(
          'polygon',
          {
            points: pts.join(' '),
            fill: sign > 0 ? palette.positive : palette.negative,
            'fill-opacity': other ? 0.45 : 0.9,
            stroke: '#ffffff',
            'stroke-width': n > 200 ? 0.3 : 0.6,
            class: sign > 0 ? 'area area-positive' : 'area area-negative',
            'data-feature': bandNames[b],
          },
          tooltip(`${bandNames[b]} (${sign > 0 ? 'pushes higher' : 'pushes lower'})`),
        ),
      );
    }
  }
  parts.push(el('g', { class: 'areas', 'data-order': orderName }, ...areas));
  const line = (series: (r: number) => number, cls: string, attrs: Record<string, string | number>) => {
    const pts = xs.map((xx, i) => `${num(xx)},${num(yScale(series(rows[rowAt(i)]!)))}`);
    return el('polyline', { points: pts.join(' '), fill: 'none', class: cls, ...attrs });
  };
  parts.push(line((r) => base[r]!, 'base-line', { stroke: palette.mutedText, 'stroke-dasharray': '4 3', 'stroke-width': 1 }));
  parts.push(line((r) => fx[r]!, 'output-line', { stroke: palette.text, 'stroke-width': 1.2 }));
  const baseMean = base.reduce((a, b) => a + b, 0) / n;
  // Legend, right-aligned: [dashed] base value …   [solid] f(x)
  const baseText = `base value ${formatNumber(baseMean)}`;
  const ly = plotTop - 4;
  const lm = ly - fs * 0.35;
  const fxX = plotRight - textWidth('f(x)', fs - 1);
  const baseX = fxX - 25 - 16 - textWidth(baseText, fs - 1);
  parts.push(
    el(
      'g',
      { class: 'line-legend' },
      el('line', { x1: baseX - 25, x2: baseX - 5, y1: lm, y2: lm, stroke: palette.mutedText, 'stroke-dasharray': '4 3' }),
      text(baseX, ly, baseText, { 'font-size': fs - 1, fill: palette.mutedText, class: 'base-label' }),
      el('line', { x1: fxX - 25, x2: fxX - 5, y1: lm, y2: lm, stroke: palette.text, 'stroke-width': 1.2 }),
      text(fxX, ly, 'f(x)', { 'font-size': fs - 1, fill: palette.text }),
    ),
  );


  const predictionNote = e.predictions ? '' : ' (f(x) = base value + sum of attributions)';
  const description =
    `Stacked force plot of ${n} rows for output ${e.outputNames[o]}, ${orderLabel}` +
    (orderName === 'similarity' ? ' (greedy nearest-neighbour chain on the attribution vectors, from the row with the smallest output)' : '') +
    `; f(x) from ${formatNumber(Math.min(...fx))} to ${formatNumber(Math.max(...fx))}${predictionNote}; bands: ${bandNames.join(', ')}.`;
  return svgDocument({ kind: 'force_stacked', title, description, width, height, fontSize: fs }, ...parts);
}
