/**
 * The transport-independent core of one Visualize call (gRPC Visualize, REST `:visualize`): what to draw comes from
 * an explanation the caller sends, from an Explain run in the same call (explain and plot), or from a served model
 * (its internals). The chart is drawn by @genome/viz on the chart worker thread, under the server's bounds on marks
 * and PNG pixels.
 */
import type { Explanation, LinearModel, RawCell, TreeEnsemble } from '@genome/model-format';
import type { Principal } from '@genome/server-kit';
import { quote } from '@genome/server-kit';
import { isModelChart, MODEL_CHART_KINDS, type ChartImage, type ChartRequest, type RenderedChart } from '@genome/viz';
import type { SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import type { ExplainCall, ModelRef } from '../explain/service.js';
import type { ImageData } from '../methods/types.js';

export interface VisualizeCall {
  /** Chart kind ('' = the default for the explanation). */
  kind: string;
  /** 'svg' | 'png' | 'html' or their media types ('' = svg). */
  format: string;
  options: Record<string, unknown>;
  /** An explanation document (parsed, or its JSON text) to draw. */
  explanation?: unknown;
  /** Explain and plot: the model and the Explain call to run first. */
  explain?: { model: ModelRef; call: ExplainCall };
  /** A model-internals chart of this model. */
  model?: ModelRef;
  /** For the tree chart: the row whose path is highlighted. */
  row?: readonly RawCell[] | Readonly<Record<string, RawCell>>;
}

export interface VisualizeResult {
  chart: RenderedChart;
  /** The explanation drawn, when this call explained it. */
  explanation?: Explanation;
  /** Model served (explain and internals charts). */
  model?: string;
  version?: string;
  method?: string;
  rows?: number;
}


const bad = (message: string) => new SidecarError('INVALID_REQUEST', message);

/** An image model's input tensor as a picture: each channel min-max scaled to 0..255 (display only). */
export function imageFromTensor(data: ImageData, index: number): ChartImage | undefined {
  const [, a, b, c] = data.shape as [number, number, number, number];
  const nchw = data.layout === 'NCHW';
  const channels = nchw ? a : c;
  const height = nchw ? b : a;
  const width = nchw ? c : b;
  if (channels !== 1 && channels !== 3 && channels !== 4) return undefined;
  const per = channels * height * width;
  const px = data.pixels.subarray(index * per, (index + 1) * per);
  const rgba = new Uint8Array(width * height * 4);
  for (let ch = 0; ch < Math.min(channels, 3); ch++) {
    let lo = Infinity;
    let hi = -Infinity;
    const at = (i: number) => (nchw ? px[ch * height * width + i]! : px[i * channels + ch]!);
    for (let i = 0; i < width * height; i++) {
      const v = at(i);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < width * height; i++) {
      const v = Math.round((at(i) - lo) * span);
      if (channels === 1) rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = v;
      else rgba[i * 4 + ch] = v;
    }
  }
  for (let i = 0; i < width * height; i++) rgba[i * 4 + 3] = 255;
  return { width, height, data: rgba };
}

export async function visualize(ctx: SidecarContext, principal: Principal, v: VisualizeCall, signal: AbortSignal): Promise<VisualizeResult> {
  const modelChart = isModelChart(v.kind);
  // Drawn on the chart worker, within the server's bounds on marks and pixels.
  const common = { kind: v.kind, format: v.format, options: v.options, maxPixels: ctx.limits.maxPngPixels, maxMarks: ctx.limits.maxChartMarks };
  const draw = (req: Omit<ChartRequest, 'signal'>) => ctx.charts.render(req, signal);
  if (v.explain !== undefined && (v.explanation !== undefined || v.model !== undefined)) {
    throw bad('explain and plot takes its model from the ExplainRequest: drop explanation_json and model');
  }

  if (v.explanation !== undefined) {
    if (modelChart) throw bad(`chart "${v.kind}" draws a model's internals, not an explanation: drop the explanation and name the model`);
    // A named model must be one the caller may use (the REST route always names one).
    if (v.model !== undefined) ctx.service.entryFor(principal, v.model);
    return { chart: await draw({ ...common, explanation: v.explanation }) };
  }

  if (v.explain === undefined) {
    if (v.model === undefined) throw bad('nothing to draw: send an explanation, rows to explain (explain and plot), or a model for a model-internals chart');
    if (!modelChart) throw bad(`a model alone is drawn as ${MODEL_CHART_KINDS.join(', ')}; chart ${quote(v.kind || '(none)')} needs an explanation or rows to explain`);
    const lease = ctx.service.lease(principal, v.model);
    try {
      const m = lease.model;
      const linear = m.extras?.linear as LinearModel | undefined;
      const internals: TreeEnsemble | LinearModel | undefined = v.kind === 'coefficients' ? linear : m.ensemble;
      if (!internals) {
        const has = m.ensemble ? 'tree, ensemble' : linear ? 'coefficients' : '';
        throw new SidecarError(
          'METHOD_NOT_APPLICABLE',
          has
            ? `model "${m.description.name}" cannot be drawn as "${v.kind}"; its internals charts: ${has}`
            : `model "${m.description.name}" has no internals to draw: it is not a tree ensemble or a linear model (${m.description.format})`,
        );
      }
      // The served feature names label the bars of a linear model (its ONNX file has none).
      const options = internals === linear && !('feature_names' in v.options || 'featureNames' in v.options) ? { ...v.options, featureNames: m.description.featureNames } : v.options;
      const chart = await draw({ ...common, options, model: internals, ...(v.row ? { row: v.row } : {}) });
      return { chart, model: m.description.name, version: m.description.version };
    } finally {
      lease.release();
    }
  }

  if (modelChart) throw bad(`chart "${v.kind}" draws a model's internals: name the model (and, for "tree", a row) instead of rows to explain`);
  const lease = ctx.service.lease(principal, v.explain.model);
  try {
    const m = lease.model;
    const p = ctx.service.prepare(m, v.explain.call);
    const e = await ctx.service.run(p, signal);
    const images = p.data.kind === 'image' ? Array.from({ length: p.rows }, (_, i) => imageFromTensor(p.data as ImageData, i)) : [];
    const chart = await draw({ ...common, explanation: e, ...(images.length > 0 && images.every((x) => x !== undefined) ? { images: images as ChartImage[] } : {}) });
    return { chart, explanation: e, model: m.description.name, version: m.description.version, method: p.method.name, rows: p.rows };
  } finally {
    lease.release();
  }
}
