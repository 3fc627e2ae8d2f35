/**
 * shap.plots.beeswarm: one row of dots per feature (by mean |value|, largest on top), x = the attribution, dots
 * spread vertically by shap's binning swarm, coloured by the feature's value within its own 5th-95th percentile.
 */
import { axis, linearScale } from '../core/axis.js';
import { intOption, sizeOption, type ChartOptions } from '../core/chart.js';
import { outputIndex, outputSpaceLabel, readExplanation } from '../core/explanation.js';
import { formatNumber, formatShort } from '../core/format.js';
import { featureValueColor, palette } from '../core/palette.js';
import { el, num, svgDocument, text, truncate } from '../core/svg.js';
import { checkRowBound, colorBar, colorBarWidth, colorScale, dataColumn, hash32, labelWidth, meanAbs, orderDesc, outputSuffix, titleElement, valueMatrix } from './common.js';

export interface BeeswarmOptions extends ChartOptions {
  /** Output index or name (default: the last output). */
  output?: number | string;
  /**
   * Feature rows (default 10, at most 200): the `maxDisplay - 1` features with the largest mean |value| and one
   * "Sum of N other features" row when there are more.
   */
  maxDisplay?: number;
  /** At most this many rows (default 1000, bound 5000); more is INVALID_INPUT. */
  maxRows?: number;
}

/**
 * shap's swarm offsets: values binned into 100 bins over their range; within a bin, points alternate above and
 * below the centre line (0, +1, -1, +2, ...). shap breaks ties inside a bin with random noise; here a fixed hash of
 * the row index does, so pictures are reproducible. Returns offsets in units of the largest |offset| + 1.
 */
export function swarmOffsets(values: Float64Array): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  const nbins = 100;
  const quant = new Float64Array(n);
  for (let i = 0; i < n; i++) quant[i] = Math.round((nbins * (values[i]! - lo)) / (hi - lo + 1e-8));
  const tie = new Uint32Array(n);
  for (let i = 0; i < n; i++) tie[i] = hash32(i);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => quant[a]! - quant[b]! || tie[a]! - tie[b]! || a - b);
  let layer = 0;
  let last = -1;
  let max = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    if (quant[i] !== last) layer = 0;
    out[i] = Math.ceil(layer / 2) * ((layer % 2) * 2 - 1);
    max = Math.max(max, Math.abs(out[i]!));
    layer++;
    last = quant[i]!;
  }
  for (let i = 0; i < n; i++) out[i] = out[i]! / (max + 1);
  return out;
}

/** Draws the beeswarm of all rows. Throws VizError INVALID_INPUT for bad options or too many rows. */
export function beeswarmSvg(explanation: unknown, options: BeeswarmOptions = {}): string {
  const e = readExplanation(explanation);
  const o = outputIndex(e, options.output);
  const n = e.values.length;
  checkRowBound('beeswarm', n, options.maxRows);
  const fs = sizeOption('fontSize', options.fontSize, 12, 64);
  const width = sizeOption('width', options.width, 720);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 10, 1, 200);
  const m = e.featureNames.length;
  const values = valueMatrix(e, o);
  const importance = meanAbs(values, n, m);
  const order = orderDesc(importance);
  const nRows = Math.min(m, maxDisplay);
  const grouped = m > maxDisplay;
  const nIndividual = grouped ? nRows - 1 : nRows;

  interface Row {
    label: string;
    feature: string | null;
    x: Float64Array;
    /** Colour per dot. */
    colour: (r: number) => string;
    categorical: boolean;
  }
  const rows: Row[] = [];
  const hasData = e.data !== undefined;
  for (let k = 0; k < nIndividual; k++) {
    const f = order[k]!;
    const x = new Float64Array(n);
    for (let r = 0; r < n; r++) x[r] = values[r * m + f]!;
    const col = dataColumn(e, f);
    let colour: (r: number) => string = () => palette.neutral;
    let categorical = false;
    if (col?.categories) {
      categorical = true;
      colour = () => palette.missing;
    } else if (col) {
      const { t } = colorScale(col.values);
      colour = (r) => featureValueColor(t[r]!);
    }
    rows.push({ label: e.featureNames[f]!, feature: e.featureNames[f]!, x, colour, categorical });
  }
  if (grouped) {
    const x = new Float64Array(n);
    for (let k = nIndividual; k < m; k++) {
      const f = order[k]!;
      for (let r = 0; r < n; r++) x[r] += values[r * m + f]!;
    }
    rows.push({ label: `Sum of ${m - nIndividual} other features`, feature: null, x, colour: () => palette.missing, categorical: false });
  }
  let lo = 0;
  let hi = 0;
  for (const row of rows) for (let r = 0; r < n; r++) (lo = Math.min(lo, row.x[r]!)), (hi = Math.max(hi, row.x[r]!));

  const rowH = Math.round(fs * 2.5);
  const titleH = fs + 18;
  const plotTop = titleH + 14;
  const plotBottom = plotTop + Math.max(1, rows.length) * rowH;
  const axisY = plotBottom + 4;
  const height = sizeOption('height', options.height, axisY + 6 + fs * 3.2 + 12);
  const labelArea = labelWidth(rows.map((r) => r.label), fs, width * 0.35);
  const plotLeft = labelArea + 20;
  const cbw = hasData ? colorBarWidth(fs) : 0;
  const plotRight = width - 16 - cbw;
  const scale = linearScale([lo, hi], [plotLeft, plotRight], { pad: 0.04 });
  const [d0, d1] = scale.domain() as [number, number];

  const title = options.title ?? `SHAP beeswarm, ${n} rows${outputSuffix(e, o)}`;
  const parts: string[] = [titleElement(8, title, width, fs)];
  parts.push(axis({ scale, orient: 'bottom', at: axisY, fontSize: fs - 1, label: `SHAP value (impact on ${outputSpaceLabel(e)})` }));
  parts.push(el('line', { x1: scale(0), x2: scale(0), y1: plotTop, y2: plotBottom, stroke: palette.axis, 'stroke-width': 0.8, class: 'zero-line' }));

  const radius = n > 2000 ? 1.6 : n > 500 ? 2.2 : 3;
  const spread = rowH * 0.4;
  rows.forEach((row, i) => {
    const cy = plotTop + (i + 0.5) * rowH;
    const g: string[] = [];
    g.push(el('line', { x1: plotLeft, x2: plotRight, y1: cy, y2: cy, stroke: palette.grid, 'stroke-dasharray': '2 3' }));
    g.push(
      text(plotLeft - 12, cy + fs * 0.35, truncate(row.label, labelArea, fs), {
        'text-anchor': 'end',
        fill: row.feature === null ? palette.mutedText : palette.text,
        class: 'feature-label',
      }),
    );
    const offsets = swarmOffsets(row.x);
    const dots: string[] = new Array(n);
    for (let r = 0; r < n; r++) {
      dots[r] = `<circle class="dot" cx="${num(scale(row.x[r]!))}" cy="${num(cy + offsets[r]! * spread)}" r="${radius}" fill="${row.colour(r)}"/>`;
    }
    g.push(el('g', { class: 'dots', stroke: '#000000', 'stroke-opacity': 0.25, 'stroke-width': 0.4 }, dots.join('')));
    parts.push(el('g', { class: 'feature-row', 'data-feature': row.feature ?? undefined, 'data-mean-abs': formatShort(meanOf(row.x)) }, ...g));
  });
  if (hasData) parts.push(colorBar(width - cbw + 2, plotTop + rowH * 0.25, plotBottom - rowH * 0.25, 'Feature value', fs));

  const catNote = rows.some((r) => r.categorical) ? ' Categorical features (category names) are drawn grey.' : '';
  const description =
    `Beeswarm of ${n} rows for output ${e.outputNames[o]}: x = SHAP value from ${formatNumber(d0)} to ${formatNumber(d1)}; ` +
    `rows: ${rows.map((r) => r.label).join(', ')}. Colour = feature value from low (blue) to high (red) within its 5th-95th percentile; missing values grey.${catNote}`;
  return svgDocument({ kind: 'beeswarm', title, description, width, height, fontSize: fs }, ...parts);
}

function meanOf(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]!);
  return x.length ? s / x.length : 0;
}
