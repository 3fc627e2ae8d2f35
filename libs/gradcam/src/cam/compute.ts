/**
 * Runs one CAM method over a batch of preprocessed images on a {@link CamModel}. Per-image work is done on
 * typed arrays; model calls are batched (gradients per chunk of jobs, Score-CAM / Ablation-CAM perturbations
 * in batches of `batchSize`).
 */
import type { BodyResult, CamModel, ResolvedTarget } from '../cam-model.js';
import { GradCamError } from '../errors.js';
import { CAM_METHODS, usesGradients, type CamMethod } from '../methods.js';
import { classScore, resolveTargets, scoreOf, targetLabel, type CamTargets } from '../targets.js';
import { firstComponentProjection } from './eigen.js';
import { camMaps, type CamSource } from './maps.js';
import { hirescamMap, layercamMap, softmax, xgradcamWeights } from './reductions.js';
import { resizeBilinear } from './resize.js';

export interface CamOptions {
  /** Default 'gradcam'. */
  method?: CamMethod;
  /** Default: the top-scoring class of each image. */
  targets?: CamTargets;
  /** Perturbed inputs per model call for Score-CAM (default 16) and Ablation-CAM (default 32), as pytorch-grad-cam. */
  batchSize?: number;
  /** Size of the upsampled heatmap, default the model input's [height, width]. */
  heatmapSize?: readonly [number, number];
  /** Grad-CAM++ denominator epsilon (default 1e-6, as pytorch-grad-cam; some implementations use 1e-7). */
  plusPlusEps?: number;
  /** Output names for labels in results. */
  outputNames?: readonly string[];
  /**
   * Stops the run when it aborts (a caller's deadline, a cancelled request): checked before every model call
   * (forward, gradient and each Score-CAM / Ablation-CAM batch); the run then rejects with `signal.reason` itself.
   */
  signal?: AbortSignal;
}

/** One explained (image, target) pair. Maps are row-major `height x width`; `weights`, `raw`, `cam` and `heatmap` are views of one Float64Array of their own. */
export interface CamResult {
  readonly image: number;
  readonly method: CamMethod;
  /** The explained target: class index (when a class) and a label. */
  readonly target: { readonly class?: number; readonly softmax?: boolean; readonly label: string };
  /** The target score on the unmodified image (raw output, or softmax probability for softmax targets). */
  readonly score: number;
  /** Name of the explained layer / tensor. */
  readonly layer: string;
  /** CAM resolution (the target layer's spatial size). */
  readonly height: number;
  readonly width: number;
  /** Channel weights (alpha) for weight-based methods; undefined for HiResCAM, LayerCAM and Eigen-CAM. */
  readonly weights?: Float64Array;
  /** The map before ReLU (`sum_c w_c A_c`, or the element-wise / projection sum). */
  readonly raw: Float64Array;
  /** ReLU of `raw`: the CAM. */
  readonly cam: Float64Array;
  /** `cam` resized bilinearly (half-pixel, align_corners=false) to `heatmapHeight x heatmapWidth` and min-max scaled to [0, 1]. */
  readonly heatmap: Float64Array;
  readonly heatmapHeight: number;
  readonly heatmapWidth: number;
}

export interface CamRun {
  readonly results: CamResult[];
  /** Model outputs `[n, nOut]` for the unmodified images. */
  readonly outputs: Float32Array;
  readonly nOut: number;
  readonly modelCalls: number;
  readonly modelMs: number;
  readonly samples: number;
}

/** Spatial [H, W] of the model input. */
export function inputSpatial(model: CamModel): [number, number] {
  const s = model.inputShape;
  return model.layout === 'NCHW' ? [s[1]!, s[2]!] : [s[0]!, s[1]!];
}

export async function computeCams(model: CamModel, input: Float32Array, n: number, options: CamOptions = {}): Promise<CamRun> {
  const method = options.method ?? 'gradcam';
  if (!CAM_METHODS.includes(method)) throw new GradCamError('INVALID_INPUT', `Unknown CAM method '${method}'; use one of ${CAM_METHODS.join(', ')}.`);
  if (usesGradients(method) && model.gradientError) throw model.gradientError;
  const per = model.inputShape.reduce((p, v) => p * v, 1);
  if (!Number.isInteger(n) || n < 1 || input.length !== per * n) {
    throw new GradCamError('INVALID_INPUT', `Expected ${n} images of shape [${model.inputShape}] (${model.layout}), i.e. ${per * n} values; got ${input.length}.`);
  }
  const [H, W] = inputSpatial(model);
  const [hmH, hmW] = options.heatmapSize ?? [H, W];
  const results: CamResult[] = [];
  let outputsAll: Float32Array | undefined;
  let nOut = 0;
  const stats = { calls: 0, ms: 0, samples: 0 };
  const signal = options.signal;
  const count = (t0: number, samples: number): void => {
    stats.ms += performance.now() - t0;
    stats.calls++;
    stats.samples += samples;
  };
  const timed = async <T>(f: () => Promise<T>, samples: number): Promise<T> => {
    if (signal?.aborted) throw signal.reason;
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      count(t0, samples);
    }
  };
  /** A one-call gradient, counted as a model call when the model took it. */
  const oneCall = async <T>(f: () => Promise<T | undefined>): Promise<T | undefined> => {
    if (signal?.aborted) throw signal.reason;
    const t0 = performance.now();
    const r = await f();
    if (r !== undefined) count(t0, 1);
    return r;
  };
  const chunk = Math.max(1, model.maxBatch);
  const fusedClasses = usesGradients(method) && model.bodyAndGradients ? oneCallClasses(options.targets, n) : undefined;
  for (let start = 0; start < n; ) {
    let m = Math.min(chunk, n - start);
    let body: BodyResult;
    let jobs: Job[];
    let grads: Float32Array | undefined;
    const one = fusedClasses && (await oneCall(() => model.bodyAndGradients!(input.subarray(start * per, (start + 1) * per), fusedClasses[start]!)));
    const fused = one && 'body' in one ? one : undefined;
    if (fused) {
      m = 1;
      body = fused.body;
      jobs = [{ local: 0, target: { kind: 'class', index: fused.cls, softmax: false } }];
      grads = fused.grads;
    } else {
      body = await timed(() => model.body(input.subarray(start * per, (start + m) * per), m), m);
      jobs = [];
    }
    try {
      nOut = body.nOut;
      outputsAll ??= new Float32Array(n * nOut);
      outputsAll.set(body.outputs, start * nOut);
      const C = body.channels;
      const S = body.height * body.width;
      const actPer = C * S;
      if (!fused) {
        jobs = resolveTargetsForChunk(options.targets, body, start, n);
        if (usesGradients(method)) {
          for (let j0 = 0; j0 < jobs.length; j0 += chunk) {
            const sub = jobs.slice(j0, j0 + chunk);
            const rows = Int32Array.from(sub, (j) => j.local);
            const g = await timed(() => model.gradients(body, rows, sub.map((j) => j.target)), sub.length);
            if (j0 === 0 && sub.length === jobs.length) grads = g; // one model call: no copy
            else (grads ??= new Float32Array(jobs.length * actPer)).set(g, j0 * actPer);
          }
        }
      }
      // forward-only methods: weights per job, computed per image group
      const fwdWeights = new Map<number, Float64Array>();
      if (method === 'scorecam' || method === 'ablationcam') {
        const byImage = new Map<number, number[]>();
        jobs.forEach((j, k) => byImage.set(j.local, [...(byImage.get(j.local) ?? []), k]));
        for (const [local, ks] of byImage) {
          const targets = ks.map((k) => jobs[k]!.target);
          const w =
            method === 'scorecam'
              ? await scoreCamWeights(model, input.subarray((start + local) * per, (start + local + 1) * per), body, local, targets, options.batchSize ?? 16, timed)
              : await ablationCamWeights(model, body, local, targets, options.batchSize ?? 32, timed);
          ks.forEach((k, i) => fwdWeights.set(k, w[i]!));
        }
      }
      for (let k = 0; k < jobs.length; k++) {
        const job = jobs[k]!;
        const A = body.acts.subarray(job.local * actPer, (job.local + 1) * actPer);
        const G = grads?.subarray(k * actPer, (k + 1) * actPer);
        const { weights, raw, cam, heatmap } = camMaps(camSource(method, A, G, C, S, options.plusPlusEps ?? 0.000001, fwdWeights.get(k)), C, body.height, body.width, hmH, hmW);
        const row = body.outputs.subarray(job.local * nOut, (job.local + 1) * nOut);
        const t = job.target;
        results.push({
          image: start + job.local,
          method,
          target: t.kind === 'class' ? { class: t.index, softmax: t.softmax, label: targetLabel(t, options.outputNames) } : { label: t.name },
          score: t.kind === 'class' ? classScore(t, row) : await scoreOf(t, row),
          layer: model.target,
          height: body.height,
          width: body.width,
          weights,
          raw,
          cam,
          heatmap,
          heatmapHeight: hmH,
          heatmapWidth: hmW,
        });
      }
    } finally {
      model.release(body);
    }
    start += m;
  }
  return { results, outputs: outputsAll!, nOut, modelCalls: stats.calls, modelMs: stats.ms, samples: stats.samples };
}

/** What one job's map is computed from: Grad-CAM and Grad-CAM++ weights are the kernel's, the others' are computed here. */
function camSource(method: CamMethod, A: Float32Array, G: Float32Array | undefined, C: number, S: number, eps: number, fwd: Float64Array | undefined): CamSource {
  switch (method) {
    case 'gradcam':
    case 'gradcam++':
      return { kind: method, A, G: G!, eps };
    case 'xgradcam': return { kind: 'weights', A, weights: xgradcamWeights(A, G!, C, S) };
    case 'hirescam': return { kind: 'raw', raw: hirescamMap(A, G!, C, S) };
    case 'layercam': return { kind: 'raw', raw: layercamMap(A, G!, C, S) };
    case 'eigencam': return { kind: 'raw', raw: firstComponentProjection(A, C, S) };
    default: return { kind: 'weights', A, weights: fwd! };
  }
}

/**
 * Per image, the class whose raw score a one-call gradient explains (-1: the top class), when every image has one
 * such target (no softmax, custom function or top-k above 1); undefined otherwise.
 */
function oneCallClasses(spec: CamTargets, n: number): Int32Array | undefined {
  const one = (t: unknown): number | undefined =>
    typeof t === 'number' ? (Number.isInteger(t) && t >= 0 ? t : undefined)
    : t && typeof t === 'object' && 'class' in t && !(t as { softmax?: boolean }).softmax && Number.isInteger((t as { class: unknown }).class) && (t as { class: number }).class >= 0 ? (t as { class: number }).class
    : undefined;
  if (spec === undefined) return new Int32Array(n).fill(-1);
  if (Array.isArray(spec)) {
    if (spec.length !== n) return undefined;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = one(spec[i]);
      if (c === undefined) return undefined;
      out[i] = c;
    }
    return out;
  }
  if (typeof spec === 'object' && spec !== null && 'topK' in spec) return spec.topK === 1 ? new Int32Array(n).fill(-1) : undefined;
  const c = one(spec);
  return c === undefined ? undefined : new Int32Array(n).fill(c);
}

interface Job {
  local: number;
  target: ResolvedTarget;
}

function resolveTargetsForChunk(spec: CamTargets, body: BodyResult, start: number, n: number): Job[] {
  // per-image arrays are sliced to the chunk
  let s = spec;
  if (Array.isArray(spec)) {
    if (spec.length !== n) throw new GradCamError('INVALID_INPUT', `Got ${spec.length} targets for ${n} images; pass one per image, a single target, or { topK }.`);
    s = spec.slice(start, start + body.n);
  }
  return resolveTargets(s, body.outputs, body.n, body.nOut).map((j) => ({ local: j.image, target: j.target }));
}

type Timed = <T>(f: () => Promise<T>, samples: number) => Promise<T>;

/**
 * Score-CAM (`score_cam.py`): each channel, upsampled to the input size (bilinear, align_corners=True) and
 * min-max scaled (eps 1e-8), masks the input; the weights are the softmax over channels of the target scores.
 */
async function scoreCamWeights(model: CamModel, image: Float32Array, body: BodyResult, local: number, targets: readonly ResolvedTarget[], batch: number, timed: Timed): Promise<Float64Array[]> {
  const C = body.channels;
  const S = body.height * body.width;
  const [H, W] = inputSpatial(model);
  const HW = H * W;
  const per = image.length;
  const chans = per / HW;
  const A = body.acts.subarray(local * C * S, (local + 1) * C * S);
  const scores = targets.map(() => new Float64Array(C));
  const up = new Float64Array(HW);
  for (let c0 = 0; c0 < C; c0 += batch) {
    const m = Math.min(batch, C - c0);
    const masked = new Float32Array(m * per);
    for (let i = 0; i < m; i++) {
      resizeBilinear(A.subarray((c0 + i) * S, (c0 + i + 1) * S), body.height, body.width, H, W, true, up);
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let p = 0; p < HW; p++) {
        if (up[p]! < lo) lo = up[p]!;
        if (up[p]! > hi) hi = up[p]!;
      }
      const d = hi - lo + 1e-8;
      const o = i * per;
      if (model.layout === 'NCHW') {
        for (let ch = 0; ch < chans; ch++) for (let p = 0; p < HW; p++) masked[o + ch * HW + p] = image[ch * HW + p]! * ((up[p]! - lo) / d);
      } else {
        for (let p = 0; p < HW; p++) {
          const f = (up[p]! - lo) / d;
          for (let ch = 0; ch < chans; ch++) masked[o + p * chans + ch] = image[p * chans + ch]! * f;
        }
      }
    }
    const outs = await forwardChunked(model, masked, m, per, timed);
    for (let i = 0; i < m; i++) {
      const row = outs.outputs.subarray(i * outs.nOut, (i + 1) * outs.nOut);
      for (let t = 0; t < targets.length; t++) scores[t]![c0 + i] = await scoreOf(targets[t]!, row);
    }
  }
  return scores.map((s) => softmax(s));
}

async function forwardChunked(model: CamModel, x: Float32Array, m: number, per: number, timed: Timed): Promise<{ outputs: Float32Array; nOut: number }> {
  if (m <= model.maxBatch) return timed(() => model.forward(x, m), m);
  let outputs: Float32Array | undefined;
  let nOut = 0;
  for (let i = 0; i < m; i += model.maxBatch) {
    const k = Math.min(model.maxBatch, m - i);
    const r = await timed(() => model.forward(x.subarray(i * per, (i + k) * per), k), k);
    nOut = r.nOut;
    outputs ??= new Float32Array(m * nOut);
    outputs.set(r.outputs, i * nOut);
  }
  return { outputs: outputs!, nOut };
}

/**
 * Ablation-CAM (`ablation_cam.py`, `ablation_layer.py`): each channel of the target activations is ablated
 * (set to 0 when the activations' minimum is 0, else to `min - 1e7`) and the head re-run; the weight is
 * `(original score - ablated score) / original score`.
 */
async function ablationCamWeights(model: CamModel, body: BodyResult, local: number, targets: readonly ResolvedTarget[], batch: number, timed: Timed): Promise<Float64Array[]> {
  const C = body.channels;
  const S = body.height * body.width;
  const per = C * S;
  const A = body.acts.subarray(local * per, (local + 1) * per);
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < per; i++) if (A[i]! < min) min = A[i]!;
  const value = min === 0 ? 0 : min - 1e7;
  const row0 = body.outputs.subarray(local * body.nOut, (local + 1) * body.nOut);
  const original = await Promise.all(targets.map((t) => scoreOf(t, row0)));
  const weights = targets.map(() => new Float64Array(C));
  const b = Math.max(1, Math.min(batch, model.maxBatch));
  for (let c0 = 0; c0 < C; c0 += b) {
    const m = Math.min(b, C - c0);
    const acts = new Float32Array(m * per);
    for (let i = 0; i < m; i++) {
      acts.set(A, i * per);
      acts.fill(value, i * per + (c0 + i) * S, i * per + (c0 + i + 1) * S);
    }
    const rows = new Int32Array(m).fill(local);
    const outs = await timed(() => model.head(body, rows, acts), m);
    const nOut = outs.length / m;
    for (let i = 0; i < m; i++) {
      const row = outs.subarray(i * nOut, (i + 1) * nOut);
      for (let t = 0; t < targets.length; t++) {
        const s = await scoreOf(targets[t]!, row);
        weights[t]![c0 + i] = (original[t]! - s) / original[t]!;
      }
    }
  }
  return weights;
}
