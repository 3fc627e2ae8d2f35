/**
 * CAM results as the shared `Explanation` JSON (libs/model-format explanation.ts). One row per explained
 * (image, target) pair; the features are the CAM cells `cell[y,x]` at the target layer's resolution and the
 * single output is the CAM value. Maps and per-row metadata go under `details`:
 *
 * - `details.layer`, `details.camHeight`, `details.camWidth`, `details.heatmapHeight`, `details.heatmapWidth`
 * - `details.rows[r]`: `{ image, target: { class?, softmax?, label }, score, weights?, raw, cam, heatmap?, overlayPng? }`
 *   with maps as `number[][]` (row-major), `weights` the channel weights, `overlayPng` base64 PNG.
 */
import { EXPLANATION_SCHEMA, type Explanation, type OutputSpace } from '@genome/model-format';
import type { CamRun } from './cam/compute.js';

export interface CamExplanationOptions {
  /** Output space of the explained scores (default 'raw'; 'probability' for softmax targets / softmax models). */
  outputSpace?: OutputSpace;
  /** Include the upsampled heatmaps in details (default true). */
  includeHeatmap?: boolean;
  /** Overlay PNGs per row, stored base64 under details.rows[r].overlayPng. */
  overlays?: readonly Uint8Array[];
  /** Parameters to record (method options). */
  parameters?: Record<string, unknown>;
  totalMs?: number;
}

/** Drops undefined fields so the object survives JSON.stringify unchanged. */
function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function grid(a: ArrayLike<number>, h: number, w: number): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < h; y++) rows.push(Array.from({ length: w }, (_, x) => a[y * w + x]!));
  return rows;
}

export function camExplanation(run: CamRun, options: CamExplanationOptions = {}): Explanation {
  const first = run.results[0];
  const h = first?.height ?? 0;
  const w = first?.width ?? 0;
  const featureNames: string[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) featureNames.push(`cell[${y},${x}]`);
  const includeHeatmap = options.includeHeatmap ?? true;
  return {
    schema: EXPLANATION_SCHEMA,
    method: first ? `cam.${first.method}` : 'cam',
    values: run.results.map((r) => Array.from(r.cam, (v) => [v])),
    baseValues: run.results.map(() => [0]),
    featureNames,
    outputNames: ['cam'],
    outputSpace: options.outputSpace ?? (run.results.some((r) => r.target.softmax) ? 'probability' : 'raw'),
    predictions: run.results.map((r) => [r.score]),
    parameters: defined({ method: first?.method, layer: first?.layer, ...(options.parameters ?? {}) }),
    timings: { totalMs: options.totalMs ?? run.modelMs, modelMs: run.modelMs, modelCalls: run.modelCalls, samples: run.samples },
    details: {
      ...defined({ layer: first?.layer, heatmapHeight: first?.heatmapHeight, heatmapWidth: first?.heatmapWidth }),
      camHeight: h,
      camWidth: w,
      rows: run.results.map((r, i) => ({
        image: r.image,
        target: defined({ ...r.target }),
        score: r.score,
        ...(r.weights ? { weights: Array.from(r.weights) } : {}),
        raw: grid(r.raw, r.height, r.width),
        cam: grid(r.cam, r.height, r.width),
        ...(includeHeatmap ? { heatmap: grid(r.heatmap, r.heatmapHeight, r.heatmapWidth) } : {}),
        ...(options.overlays?.[i] ? { overlayPng: Buffer.from(options.overlays[i]!).toString('base64') } : {}),
      })),
    },
  };
}
