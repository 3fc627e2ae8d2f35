/**
 * gradcam (and the other CAM variants) from @genome/gradcam for ONNX image classifiers. Parameters:
 * cam_method (gradcam | gradcam_plus_plus | ... as @genome/gradcam's CAM_METHODS, default gradcam),
 * target_layer (tensor name; default the input of the first global pooling / flatten), include_heatmap (bool).
 * Output selection picks the explained classes; without one, each image's top class is explained.
 */
import { CAM_METHODS, camExplanation, computeCams, loadCamModel, type CamModel, type CamMethod } from '@genome/gradcam';
import { SidecarError } from '../errors.js';
import type { LoadedModel } from '../models/types.js';
import { optBool, optString } from './params.js';
import type { ExplainMethod } from './types.js';

const cams = new WeakMap<LoadedModel, Map<string, Promise<CamModel>>>();

function camModel(model: LoadedModel, layer: string | undefined): Promise<CamModel> {
  let per = cams.get(model);
  if (!per) cams.set(model, (per = new Map()));
  const key = layer ?? '';
  let p = per.get(key);
  if (!p) {
    p = loadCamModel(model.extras!.onnxBytes as Uint8Array, layer ? { target: layer } : {});
    per.set(key, p);
    p.catch(() => per!.delete(key));
  }
  return p;
}

/** Channels assumed for a target layer not seen yet (Score-CAM and Ablation-CAM run one pass per channel). */
const ASSUMED_CHANNELS = 2048;
const channelsSeen = new WeakMap<LoadedModel, Map<string, number>>();

function camParams(params: Record<string, unknown>) {
  return {
    method: optString(params, 'cam_method', CAM_METHODS as readonly CamMethod[]) ?? 'gradcam',
    layer: optString(params, 'target_layer'),
    includeHeatmap: optBool(params, 'include_heatmap') ?? true,
  };
}

export const gradcam: ExplainMethod = {
  name: 'gradcam',
  description: 'Grad-CAM family class-activation maps for ONNX image classifiers',
  inputs: ['image'],
  parameters: ['cam_method', 'target_layer', 'include_heatmap'],
  unsupportedReason(model) {
    if (model.description.kind !== 'image') return 'it is not an image model';
    if (!(model.extras?.onnxBytes instanceof Uint8Array)) return 'Grad-CAM needs the ONNX model bytes (serve an .onnx file)';
    return null;
  },
  cost(model, _data, params) {
    const { method, layer } = camParams(params);
    const perChannel = method === 'scorecam' || method === 'ablationcam';
    const channels = channelsSeen.get(model)?.get(layer ?? '') ?? ASSUMED_CHANNELS;
    const pixels = model.description.inputShape.slice(1).reduce((a, b) => a * Math.max(1, b), 1);
    return {
      modelRowsPerRow: perChannel ? channels + 1 : 2,
      rowOps: pixels * 8,
      how: perChannel ? `${method}: one pass per channel of the target layer (${channels}${channelsSeen.get(model)?.has(layer ?? '') ? '' : ', assumed'})` : `${method}: a forward and a backward pass`,
      valuesPerRow: pixels,
    };
  },
  async explain(model, data, params, ctx) {
    if (data.kind !== 'image') throw new Error('unreachable');
    const { method, layer, includeHeatmap } = camParams(params);
    const cm = await camModel(model, layer);
    const n = data.shape[0]!;
    const outputNames = model.description.outputNames;
    const idx = ctx.outputIndices;
    if (idx && idx.length > 1) {
      throw new SidecarError('INVALID_REQUEST', `gradcam explains one class per image; select one output (got ${idx.length})`);
    }
    const run = await computeCams(cm, data.pixels, n, { method, ...(idx ? { targets: idx[0]! } : {}), outputNames, signal: ctx.signal });
    const first = run.results[0];
    if (first?.weights) {
      let per = channelsSeen.get(model);
      if (!per) channelsSeen.set(model, (per = new Map()));
      per.set(layer ?? '', first.weights.length);
    }
    const e = camExplanation(run, { includeHeatmap, outputSpace: model.description.outputSpace, parameters: { cam_method: method } });
    // One explained class per image: the selected one, or each image's top class (listed in details.targets).
    return {
      ...e,
      outputNames: [idx ? outputNames[idx[0]!]! : 'top_class'],
      details: { ...(e.details ?? {}), targets: run.results.map((r) => ({ class: r.target.class, label: r.target.label, score: r.score })) },
    };
  },
};
