/**
 * End-to-end image explanation: PNG/JPEG bytes -> preprocessing (Genome package image block) -> CAMs ->
 * Explanation JSON and PNG overlays ready for a UI.
 */
import type { Explanation } from '@genome/model-format';
import type { CamModel } from './cam-model.js';
import { computeCams, type CamOptions, type CamRun } from './cam/compute.js';
import { GradCamError } from './errors.js';
import { camExplanation } from './explanation.js';
import { decodeImage, type RgbaImage } from './image/decode.js';
import { overlayPng } from './image/overlay.js';
import { preprocessImages, resizeWindow, type ImagePreprocessing } from './image/preprocess.js';

export interface ExplainImagesOptions extends CamOptions {
  /** How raw pixels become the model input (same fields as the Genome package `input.image` block). */
  preprocessing: ImagePreprocessing;
  /** Heatmap opacity of the overlays (default 0.5); `false` skips overlays. */
  overlay?: false | { alpha?: number };
  /** Include upsampled heatmaps in the Explanation details (default true). */
  includeHeatmap?: boolean;
}

export interface ImageCamExplanation {
  readonly explanation: Explanation;
  /** Typed-array results (one per image and target). */
  readonly run: CamRun;
  /** PNG overlay per result (heatmap blended over the source image, at the source image size). */
  readonly overlays: Uint8Array[];
  readonly images: RgbaImage[];
}

export async function explainImages(model: CamModel, images: readonly (Uint8Array | RgbaImage)[], options: ExplainImagesOptions): Promise<ImageCamExplanation> {
  const t0 = performance.now();
  const p = options.preprocessing;
  if (!p) throw new GradCamError('INVALID_INPUT', 'explainImages needs `preprocessing` (width, height, channels, layout, ...).');
  if (p.layout !== model.layout) throw new GradCamError('INVALID_INPUT', `preprocessing.layout is ${p.layout} but the model takes ${model.layout}.`);
  const shape = model.layout === 'NCHW' ? [p.channels, p.height, p.width] : [p.height, p.width, p.channels];
  if (shape.some((v, i) => v !== model.inputShape[i])) throw new GradCamError('INVALID_INPUT', `preprocessing gives [${shape}] per image but the model takes [${model.inputShape}].`);
  if (images.length === 0) throw new GradCamError('INVALID_INPUT', 'Pass at least one image.');
  const decoded = images.map((im) => (im instanceof Uint8Array ? decodeImage(im) : im));
  const input = preprocessImages(decoded, p);
  const run = await computeCams(model, input, decoded.length, { ...options, heatmapSize: options.heatmapSize ?? [p.height, p.width] });
  const overlays =
    options.overlay === false
      ? []
      : run.results.map((r) => {
          const img = decoded[r.image]!;
          return overlayPng(img, r.heatmap, r.heatmapHeight, r.heatmapWidth, { alpha: options.overlay === false ? undefined : options.overlay?.alpha, window: resizeWindow(img, p) });
        });
  const explanation = camExplanation(run, {
    includeHeatmap: options.includeHeatmap,
    overlays,
    parameters: { method: options.method ?? 'gradcam', batchSize: options.batchSize, preprocessing: p },
    totalMs: performance.now() - t0,
  });
  return { explanation, run, overlays, images: decoded };
}
