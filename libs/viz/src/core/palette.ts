/**
 * Colours every chart uses. Positive and negative attributions use the Okabe-Ito vermillion and blue, which stay
 * distinct under the common colour-vision deficiencies; continuous feature values run along ColorBrewer's RdBu
 * (marked colour-blind safe by ColorBrewer), and heatmaps use inferno (perceptually uniform, readable in grey).
 */
import { interpolateInferno, interpolateRdBu } from 'd3-scale-chromatic';

export const palette = {
  /** Pushes the output up (shap's red). */
  positive: '#D55E00',
  /** Pushes the output down (shap's blue). */
  negative: '#0072B2',
  /** Neutral bars (mean |value|, counts). */
  neutral: '#0072B2',
  /** Highlights (a row's path through a tree, an anchor's rule). */
  highlight: '#E69F00',
  /** Categorical series (Okabe-Ito, black left out). */
  series: ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442'] as readonly string[],
  text: '#1a1a1a',
  mutedText: '#595959',
  axis: '#595959',
  grid: '#e5e5e5',
  missing: '#9e9e9e',
} as const;

/** Colour of a feature value scaled to [0, 1] (low = blue, high = red), as shap's beeswarm colours it. */
export function featureValueColor(t: number): string {
  if (!Number.isFinite(t)) return palette.missing;
  return interpolateRdBu(1 - Math.min(1, Math.max(0, t)));
}

/** Heatmap colour of an intensity in [0, 1]. */
export function heatColor(t: number): string {
  return interpolateInferno(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)));
}

/** Heatmap colour as RGB bytes (for raster overlays). */
export function heatRgb(t: number): [number, number, number] {
  const c = heatColor(t);
  const m = /^rgb\((\d+), ?(\d+), ?(\d+)\)$/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c)!;
  return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
}

/** Colour of an attribution's sign. */
export function signColor(value: number): string {
  return value >= 0 ? palette.positive : palette.negative;
}
