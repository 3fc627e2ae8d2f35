/**
 * @genome/viz: pictures of explanations and model internals as SVG strings (no browser), HTML for text, PNG through
 * resvg. Every chart reads the shared `genome.explanation/v1` JSON or a model-format model.
 */
export { VizError, type VizErrorCode } from './errors.js';
export type { ChartOptions } from './core/chart.js';
export { palette, featureValueColor, heatColor, signColor } from './core/palette.js';
export { formatNumber, formatSigned, formatDatum } from './core/format.js';
export { readExplanation, outputIndex, rowIndex, featureLabel } from './core/explanation.js';
export { svgToPng, pngPixels, type PngOptions, type RasterImage } from './core/png.js';
export * from './shap/index.js';
export * from './explainers/index.js';
export * from './internals/index.js';
export {
  renderChart,
  defaultChartKind,
  chartKind,
  chartMarks,
  isModelChart,
  DEFAULT_MAX_MARKS,
  CHART_KINDS,
  EXPLANATION_CHART_KINDS,
  MODEL_CHART_KINDS,
  type ChartKind,
  type ChartFormat,
  type ChartImage,
  type ChartRequest,
  type RenderedChart,
} from './render.js';
