/**
 * One job's maps: the channel weights (weight-based methods), the map before ReLU, the CAM and its heatmap. The
 * WebAssembly kernel (cam-wasm.ts) computes them where the engine runs it, the TypeScript functions of
 * reductions.ts and resize.ts elsewhere; both give the same bits.
 */
import { camMapsWasm } from './cam-wasm.js';
import { gradcamPlusPlusWeights, gradcamWeights, relu, weightedSum } from './reductions.js';
import { upsampleNormalized } from './resize.js';

/** What a job's map comes from: the weights (from A and G, or given) times A, or the map itself. */
export type CamSource =
  | { readonly kind: 'gradcam' | 'gradcam++'; readonly A: Float32Array; readonly G: Float32Array; readonly eps: number }
  | { readonly kind: 'weights'; readonly A: Float32Array; readonly weights: Float64Array }
  | { readonly kind: 'raw'; readonly raw: Float64Array };

export interface CamMaps {
  readonly weights?: Float64Array;
  readonly raw: Float64Array;
  readonly cam: Float64Array;
  readonly heatmap: Float64Array;
}

/**
 * The maps of a job with C channels of h x w (A and G channel-first), the heatmap resized to outH x outW. `engine`
 * 'ts' skips the kernel (tests compare the two).
 */
export function camMaps(src: CamSource, C: number, h: number, w: number, outH: number, outW: number, engine: 'auto' | 'ts' = 'auto'): CamMaps {
  const fast = engine === 'auto' ? camMapsWasm(src, C, h, w, outH, outW) : undefined;
  if (fast) return fast;
  // the same layout as the kernel's: weights | raw | cam | heatmap in one Float64Array
  const S = h * w;
  const nW = src.kind === 'raw' ? 0 : C;
  const all = new Float64Array(nW + 2 * S + outH * outW);
  const weights = nW ? all.subarray(0, nW) : undefined;
  const raw = all.subarray(nW, nW + S);
  const cam = all.subarray(nW + S, nW + 2 * S);
  if (src.kind === 'gradcam') gradcamWeights(src.G, C, S, weights);
  else if (src.kind === 'gradcam++') gradcamPlusPlusWeights(src.A, src.G, C, S, src.eps, weights);
  else if (src.kind === 'weights') weights!.set(src.weights);
  if (src.kind === 'raw') raw.set(src.raw);
  else weightedSum(src.A, weights!, C, S, raw);
  cam.set(raw);
  relu(cam);
  return { weights, raw, cam, heatmap: upsampleNormalized(cam, h, w, outH, outW, all.subarray(nW + 2 * S)) };
}
