/**
 * One entry point for servers and the CLI: a chart kind, a format and options by name (snake_case or camelCase, as
 * they arrive over the wire) -> the picture. Unknown kinds, formats and options are INVALID_INPUT errors that list
 * what is accepted.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Explanation, LinearModel, RawRow, TreeEnsemble } from '@genome/model-format';
import { invalid } from './core/chart.js';
import { readExplanation } from './core/explanation.js';
import { svgSize, svgToPng } from './core/png.js';
import { barSvg, beeswarmSvg, decisionSvg, dependenceSvg, forceStackedSvg, forceSvg, waterfallSvg } from './shap/index.js';
import { anchorRuleSvg, camOverlaySvg, camPanelsSvg, limeBarSvg, limeTextDocument, limeTextSvg, type CamImage } from './explainers/index.js';
import { coefficientsSvg, ensembleSvg, treeSvg } from './internals/index.js';

/** Charts drawn from an explanation. */
export const EXPLANATION_CHART_KINDS = [
  'waterfall',
  'force',
  'force_stacked',
  'beeswarm',
  'bar',
  'dependence',
  'decision',
  'cam_overlay',
  'cam_panels',
  'lime_text',
  'lime_bar',
  'anchor_rule',
] as const;
/** Charts drawn from a model. */
export const MODEL_CHART_KINDS = ['coefficients', 'tree', 'ensemble'] as const;
export type ChartKind = (typeof EXPLANATION_CHART_KINDS)[number] | (typeof MODEL_CHART_KINDS)[number];
export const CHART_KINDS: readonly ChartKind[] = [...EXPLANATION_CHART_KINDS, ...MODEL_CHART_KINDS];
/** True for the charts drawn from a model rather than an explanation. */
export function isModelChart(kind: string): boolean {
  return (MODEL_CHART_KINDS as readonly string[]).includes(kind);
}
/** Older names still accepted. */
const ALIASES: Readonly<Record<string, ChartKind>> = { image_overlay: 'cam_overlay', summary: 'beeswarm', scatter: 'dependence', coefficient: 'coefficients' };

export type ChartFormat = 'svg' | 'png' | 'html';
const FORMATS: Readonly<Record<string, ChartFormat>> = {
  '': 'svg',
  svg: 'svg',
  'image/svg+xml': 'svg',
  png: 'png',
  'image/png': 'png',
  html: 'html',
  'text/html': 'html',
};
const MEDIA: Readonly<Record<ChartFormat, string>> = { svg: 'image/svg+xml', png: 'image/png', html: 'text/html' };

/** A picture of an image model's input, for CAM overlays (see {@link CamImage}). */
export type ChartImage = CamImage;

export interface ChartRequest {
  /** Chart kind ('' or undefined: the default for the explanation, see {@link defaultChartKind}). */
  kind?: string;
  /** 'svg' (default), 'png', 'html' or their media types. */
  format?: string;
  /** A genome.explanation/v1 document (object or JSON text), for explanation charts. */
  explanation?: unknown;
  /** More explanations of the same image, drawn side by side by `cam_panels` (several CAM methods). */
  explanations?: readonly unknown[];
  /** The model of a model-internals chart. */
  model?: TreeEnsemble | LinearModel;
  /** For `tree`: the row whose path is highlighted. */
  row?: RawRow;
  /** For CAM charts: the explained images (picked by `details.rows[r].image`). */
  images?: readonly ChartImage[];
  /** Chart options by name (`max_display` or `maxDisplay`); `scale` sets the PNG pixel density. */
  options?: Readonly<Record<string, unknown>>;
  /** Largest PNG in pixels (default 4096 x 4096). */
  maxPixels?: number;
  /**
   * Most marks (dots, lines, stacked areas: rows x features drawn) one chart may draw, checked before drawing
   * (default {@link DEFAULT_MAX_MARKS}). Servers use it to bound the synchronous work of one request.
   */
  maxMarks?: number;
  signal?: AbortSignal;
}

export interface RenderedChart {
  kind: ChartKind;
  /** Media type of `content`. */
  contentType: string;
  content: Uint8Array;
  /** Size in CSS pixels (PNG: pixels); 0 for HTML text. */
  width: number;
  height: number;
}

const COMMON = ['width', 'height', 'title', 'fontSize'];
const OPTIONS: Readonly<Record<ChartKind, readonly string[]>> = {
  waterfall: ['row', 'output', 'maxDisplay'],
  force: ['row', 'output'],
  force_stacked: ['output', 'order', 'maxRows', 'maxDisplay'],
  beeswarm: ['output', 'maxDisplay', 'maxRows'],
  bar: ['output', 'maxDisplay'],
  dependence: ['feature', 'output', 'colorBy', 'maxRows'],
  decision: ['output', 'maxDisplay', 'rows', 'maxRows'],
  cam_overlay: ['row', 'alpha', 'colorbar'],
  cam_panels: ['row', 'rows', 'labels', 'columns', 'alpha', 'panelSize'],
  lime_text: ['row', 'output', 'maxDisplay', 'maxChars'],
  lime_bar: ['row', 'output', 'maxDisplay'],
  anchor_rule: ['row'],
  coefficients: ['output', 'maxDisplay', 'featureNames'],
  tree: ['tree', 'maxDepth'],
  ensemble: ['maxDisplay'],
};

/**
 * Default bound on the marks of one chart (see {@link chartMarks}): 200,000, about 0.4 s of drawing. Servers pass a
 * lower `maxMarks` (the sidecar: 20,000, about 40 ms on the event loop).
 */
export const DEFAULT_MAX_MARKS = 200_000;

function intOption(options: Record<string, unknown>, name: string, fallback: number): number {
  const v = options[name];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

/**
 * The drawing cost of a chart of `explanation`, in marks of about 2 µs each (measured on a 2-core Xeon VM), known
 * before drawing: a beeswarm or decision plot draws rows x features shown; a stacked force plot 4 per row and band
 * (its band outlines are the costliest marks); dependence and bar charts one per row. Charts of one row, trees (at
 * most 2,000 boxes) and ensemble summaries are small by construction and count 0.
 */
export function chartMarks(kind: ChartKind, explanation: unknown, options: Record<string, unknown> = {}): number {
  if (isModelChart(kind)) return 0;
  return marksOf(kind, readExplanation(explanation), options);
}

/** {@link chartMarks} of an explanation already read. */
function marksOf(kind: ChartKind, e: Explanation, options: Record<string, unknown>): number {
  const rows = Array.isArray(options.rows) ? options.rows.length : e.values.length;
  const features = e.featureNames.length;
  switch (kind) {
    case 'beeswarm':
      return rows * Math.min(features, intOption(options, 'maxDisplay', 10) + 1);
    case 'decision':
      return rows * Math.min(features, intOption(options, 'maxDisplay', 20) + 1);
    case 'force_stacked':
      return 4 * rows * Math.min(features, intOption(options, 'maxDisplay', 10));
    case 'dependence':
    case 'bar':
    case 'cam_panels':
      return rows;
    default:
      return 0;
  }
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The chart kind a request names, after aliases; undefined for ''. */
export function chartKind(kind: string | undefined): ChartKind | undefined {
  const k = (kind ?? '').trim().toLowerCase();
  if (k === '') return undefined;
  const found = (CHART_KINDS as readonly string[]).includes(k) ? (k as ChartKind) : ALIASES[k];
  if (!found) invalid(`unknown chart kind ${JSON.stringify(k.slice(0, 60))}; charts: ${CHART_KINDS.join(', ')}`);
  return found;
}

/** The chart drawn when none is named: CAM overlay, LIME text, LIME bars, Anchors rule, SHAP waterfall (one row) or beeswarm. */
export function defaultChartKind(explanation: unknown): ChartKind {
  const e = readExplanation(explanation);
  if (e.method.startsWith('cam') || e.method === 'gradcam') return 'cam_overlay';
  if (e.method === 'lime.text') return 'lime_text';
  if (e.method.startsWith('lime')) return 'lime_bar';
  if (e.method.startsWith('anchors')) return 'anchor_rule';
  return e.values.length > 1 ? 'beeswarm' : 'waterfall';
}

function chartOptions(kind: ChartKind, raw: Readonly<Record<string, unknown>> | undefined): { options: Record<string, unknown>; scale?: number } {
  const allowed = [...OPTIONS[kind], ...COMMON];
  const options: Record<string, unknown> = {};
  let scale: number | undefined;
  for (const [key, value] of Object.entries(raw ?? {})) {
    const name = camel(key);
    if (value === null || value === undefined) continue;
    if (name === 'scale') {
      if (typeof value !== 'number') invalid(`option "scale" must be a number (PNG pixel density), got ${JSON.stringify(value).slice(0, 40)}`);
      scale = value;
      continue;
    }
    if (!allowed.includes(name)) invalid(`chart "${kind}" has no option ${JSON.stringify(key.slice(0, 60))}; its options: ${[...allowed, 'scale'].map((o) => o.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join(', ')}`);
    options[name] = value;
  }
  return scale === undefined ? { options } : { options, scale };
}

function asBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** An SVG chart as a small standalone HTML page (its title is the SVG's, already escaped). */
function svgPage(svg: string): string {
  const title = /<title>([^<]*)<\/title>/.exec(svg)?.[1] ?? 'chart';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body style="margin:0">${svg}</body></html>`;
}

/** Draws one chart (see {@link ChartRequest}). */
export async function renderChart(req: ChartRequest): Promise<RenderedChart> {
  const format = FORMATS[(req.format ?? '').trim().toLowerCase()];
  if (!format) invalid(`unknown format ${JSON.stringify(String(req.format).slice(0, 60))}; formats: svg, png, html (or image/svg+xml, image/png, text/html)`);
  let kind = chartKind(req.kind);
  // Parsed and checked once (JSON text included); the chart reads the checked object.
  const e = req.explanation === undefined ? undefined : readExplanation(req.explanation);
  if (kind === undefined) {
    if (e === undefined) invalid(`name the chart kind: ${MODEL_CHART_KINDS.join(', ')} for a model`);
    kind = defaultChartKind(e);
  }
  const { options, scale } = chartOptions(kind, req.options);
  if (isModelChart(kind)) {
    if (!req.model) invalid(`chart "${kind}" draws a model: pass the model`);
  } else if (e === undefined) {
    invalid(`chart "${kind}" draws an explanation: pass one`);
  }
  if (req.signal?.aborted) throw req.signal.reason;
  if (e !== undefined) {
    const marks = isModelChart(kind) ? 0 : marksOf(kind, e, options);
    const maxMarks = req.maxMarks ?? DEFAULT_MAX_MARKS;
    if (marks > maxMarks) {
      invalid(`this ${kind} chart would draw ${marks} marks (rows x features shown), more than the ${maxMarks} allowed; send fewer rows, lower max_display, or draw a bar chart of the mean |value|`);
    }
    // Reading a large explanation and drawing it are two separate pieces of work for the event loop.
    await yieldToLoop();
    if (req.signal?.aborted) throw req.signal.reason;
  }

  let svg: string;
  let html: string | undefined;
  const image = req.images && req.images.length > 0 ? { image: req.images } : {};
  switch (kind) {
    case 'waterfall':
      svg = waterfallSvg(e, options);
      break;
    case 'force':
      svg = forceSvg(e, options);
      break;
    case 'force_stacked':
      svg = forceStackedSvg(e, options);
      break;
    case 'beeswarm':
      svg = beeswarmSvg(e, options);
      break;
    case 'bar':
      svg = barSvg(e, options);
      break;
    case 'dependence':
      if (options.feature === undefined) invalid('chart "dependence" needs the option "feature" (a feature name or index)');
      svg = dependenceSvg(e, options as Parameters<typeof dependenceSvg>[1]);
      break;
    case 'decision':
      svg = decisionSvg(e, options);
      break;
    case 'cam_overlay':
      svg = camOverlaySvg(e, { ...options, ...image });
      break;
    case 'cam_panels':
      svg = camPanelsSvg(req.explanations && req.explanations.length > 0 ? [e, ...req.explanations] : e, { ...options, ...image });
      break;
    case 'lime_text':
      // HTML: the text reflows and stays selectable; SVG and PNG: the same highlighted words laid out as a picture.
      if (format === 'html') {
        const { maxChars: _unused, ...htmlOptions } = options;
        html = limeTextDocument(e, htmlOptions);
        svg = '';
      } else svg = limeTextSvg(e, options);
      break;
    case 'lime_bar':
      svg = limeBarSvg(e, options);
      break;
    case 'anchor_rule':
      svg = anchorRuleSvg(e, options);
      break;
    case 'coefficients':
      svg = coefficientsSvg(req.model as LinearModel, options);
      break;
    case 'tree':
      svg = treeSvg(req.model as TreeEnsemble, { ...options, ...(req.row ? { row: req.row } : {}) });
      break;
    case 'ensemble':
      svg = ensembleSvg(req.model as TreeEnsemble, options);
      break;
  }
  if (html !== undefined) return { kind, contentType: MEDIA.html, content: asBytes(html), width: 0, height: 0 };
  const size = svgSize(svg);
  if (format === 'svg') return { kind, contentType: MEDIA.svg, content: asBytes(svg), width: size.width, height: size.height };
  if (format === 'html') return { kind, contentType: MEDIA.html, content: asBytes(svgPage(svg)), width: size.width, height: size.height };
  const png = await svgToPng(svg, { ...(scale !== undefined ? { scale } : {}), ...(req.maxPixels ? { maxPixels: req.maxPixels } : {}), ...(req.signal ? { signal: req.signal } : {}) });
  return { kind, contentType: MEDIA.png, content: png.png, width: png.width, height: png.height };
}
