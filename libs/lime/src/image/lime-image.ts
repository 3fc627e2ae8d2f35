/**
 * LIME for images, following lime's `LimeImageExplainer` (marcotcr/lime `lime/lime_image.py`): superpixels
 * (quickshift by default, SLIC, or your own segmentation) are the features; each sample switches
 * superpixels off at random (Bernoulli 0.5), replacing them with the hide colour (default: each
 * superpixel's mean colour); cosine distances, kernel width 0.25, `topLabels` 5 and batched model calls.
 */
import { EXPLANATION_SCHEMA, rowStream, type Explanation, type ImagePredictor } from '@genome/model-format';
import { LimeError } from '../errors.js';
import { ModelCounter, checkInt, checkSignal, checkPositive, distancesToFirst, resolveLabels } from '../model-calls.js';
import { Rng, checkSeed } from '../random.js';
import { FEATURE_SELECTIONS, explainLabel, exponentialKernel, weightedColumnMeans, weightedGram, type FeatureSelection } from '../surrogate.js';
import { type HwcImage, checkImage } from './image.js';
import { type QuickshiftOptions, quickshift } from './quickshift.js';
import { type SlicOptions, slic } from './slic.js';

export type Segmentation =
  | ({ readonly algorithm: 'quickshift' } & QuickshiftOptions)
  | ({ readonly algorithm: 'slic' } & SlicOptions)
  /** Precomputed labels, one per pixel (row-major). */
  | { readonly algorithm: 'precomputed'; readonly segments: ArrayLike<number> };

export interface LimeImageOptions {
  /** Default 0.25. */
  readonly kernelWidth?: number;
  readonly featureSelection?: FeatureSelection;
  readonly seed?: number;
}

export interface LimeImageExplainOptions {
  readonly labels?: readonly number[];
  /** Default 5 (lime); set `labels` and `topLabels: 0`... or just `labels` to explain given outputs. */
  readonly topLabels?: number;
  /** Default 100000 (all superpixels). */
  readonly numFeatures?: number;
  /** Default 1000. */
  readonly numSamples?: number;
  /** Images per model call (default 10, lime's default). */
  readonly batchSize?: number;
  /** Default quickshift(kernelSize 4, maxDist 200, ratio 0.2). */
  readonly segmentation?: Segmentation;
  /** Fill for hidden superpixels: undefined = per-superpixel mean colour; a number or one value per channel. */
  readonly hideColor?: number | readonly number[];
  readonly seed?: number;
  /**
   * Stops the explanation when it aborts (a caller's deadline, `AbortSignal.timeout(ms)`, a cancelled request):
   * checked before every model call and between batches, passed to the predictor as its last argument
   * (`{ signal }`); `explain` then rejects with `signal.reason` itself.
   */
  readonly signal?: AbortSignal;
}

export class LimeImageExplainer {
  readonly kernelWidth: number;
  readonly featureSelection: FeatureSelection;
  readonly seed: number;

  constructor(options: LimeImageOptions = {}) {
    this.kernelWidth = options.kernelWidth ?? 0.25;
    checkPositive('kernelWidth', this.kernelWidth);
    this.featureSelection = options.featureSelection ?? 'auto';
    if (!FEATURE_SELECTIONS.includes(this.featureSelection)) throw new LimeError('INVALID_CONFIG', `Unknown featureSelection '${String(this.featureSelection)}'.`);
    this.seed = options.seed ?? 0;
  }

  async explain(predictor: ImagePredictor, image: HwcImage, options: LimeImageExplainOptions = {}): Promise<Explanation> {
    const t0 = performance.now();
    const counter = new ModelCounter(checkSignal(options.signal));
    counter.check();
    const { w, h, c } = checkImage(image);
    if (!predictor || typeof predictor.predict !== 'function') throw new LimeError('INVALID_INPUT', 'predictor must be a Genome ImagePredictor.');
    const shape = predictor.inputShape.slice(-3);
    const nchw = predictor.layout === 'NCHW';
    const [mc, mh, mw] = nchw ? [shape[0], shape[1], shape[2]] : [shape[2], shape[0], shape[1]];
    if (mh !== h || mw !== w || mc !== c) {
      throw new LimeError('INVALID_INPUT', `The model takes ${predictor.layout} ${shape.join('x')} images but the image is ${h}x${w}x${c} (HWC); resize/convert it first.`);
    }
    const numSamples = options.numSamples ?? 1000;
    const numFeatures = options.numFeatures ?? 100000;
    const batchSize = options.batchSize ?? 10;
    checkInt('numSamples', numSamples, 2);
    checkInt('numFeatures', numFeatures, 1);
    checkInt('batchSize', batchSize, 1);
    const seed = checkSeed(options.seed ?? this.seed);
    // The image's own stream: (seed, its pixel values as given), so the same image and seed give the same explanation.
    const rng = new Rng(rowStream(seed, image.data));
    const seg = options.segmentation ?? { algorithm: 'quickshift', kernelSize: 4, maxDist: 200, ratio: 0.2 };
    const tSeg = performance.now();
    const { segments, count: K } = segment(image, seg, w, h, rng);
    const segMs = performance.now() - tSeg;
    counter.check();
    const n = w * h;
    const px = Float32Array.from(image.data);
    const fudged = new Float32Array(n * c);
    if (options.hideColor === undefined) {
      const sum = new Float64Array(K * c);
      const cnt = new Float64Array(K);
      for (let p = 0; p < n; p++) {
        const k = segments[p]!;
        cnt[k]++;
        for (let ch = 0; ch < c; ch++) sum[k * c + ch] += px[p * c + ch]!;
      }
      for (let p = 0; p < n; p++) {
        const k = segments[p]!;
        for (let ch = 0; ch < c; ch++) fudged[p * c + ch] = sum[k * c + ch]! / cnt[k]!;
      }
    } else {
      const hc = typeof options.hideColor === 'number' ? new Array<number>(c).fill(options.hideColor) : [...options.hideColor];
      if (hc.length !== c || hc.some((v) => !Number.isFinite(v))) throw new LimeError('INVALID_INPUT', `hideColor must be a number or ${c} finite numbers.`);
      for (let p = 0; p < n; p++) for (let ch = 0; ch < c; ch++) fudged[p * c + ch] = hc[ch]!;
    }
    const data = new Float64Array(numSamples * K);
    for (let i = 0; i < K; i++) data[i] = 1;
    for (let i = K; i < numSamples * K; i++) data[i] = rng.nextInt(2);
    const nOut = predictor.outputNames.length;
    if (nOut < 1) throw new LimeError('INVALID_INPUT', 'The predictor has no outputNames.');
    const yss = new Float64Array(numSamples * nOut);
    const per = n * c;
    const batch = new Float32Array(Math.min(batchSize, numSamples) * per);
    for (let start = 0; start < numSamples; start += batchSize) {
      const m = Math.min(batchSize, numSamples - start);
      for (let b = 0; b < m; b++) {
        const row = (start + b) * K;
        const off = b * per;
        for (let p = 0; p < n; p++) {
          const src = data[row + segments[p]!]! === 1 ? px : fudged;
          for (let ch = 0; ch < c; ch++) {
            const v = src[p * c + ch]!;
            if (nchw) batch[off + ch * n + p] = v;
            else batch[off + p * c + ch] = v;
          }
        }
      }
      const out = await counter.run(m, nOut, 'image', (o) => predictor.predict(batch.slice(0, m * per), m, o));
      yss.set(out.data.subarray(0, m * nOut), start * nOut);
    }
    const dist = distancesToFirst(data, numSamples, K, 'cosine', new Float64Array(numSamples));
    const wts = exponentialKernel(dist, this.kernelWidth, new Float64Array(numSamples));
    const xMean = weightedColumnMeans(data, numSamples, K, wts);
    const gram = await weightedGram(data, numSamples, K, wts, xMean, () => counter.pause());
    const yss0 = yss.slice(0, nOut);
    const labels = resolveLabels(yss0, nOut, options.labels, options.labels ? undefined : (options.topLabels ?? 5));
    const y = new Float64Array(numSamples);
    const values: number[][] = Array.from({ length: K }, () => new Array<number>(labels.length).fill(0));
    const intercept: number[] = [];
    const score: number[] = [];
    const localPrediction: number[] = [];
    const asList: { segment: number; weight: number }[][] = [];
    labels.forEach((label, o) => {
      for (let i = 0; i < numSamples; i++) y[i] = yss[i * nOut + label]!;
      const fit = explainLabel(data, numSamples, K, wts, xMean, gram, y, numFeatures, this.featureSelection);
      for (let k = 0; k < fit.features.length; k++) values[fit.features[k]!]![o] = fit.weights[k]!;
      intercept.push(fit.intercept);
      score.push(fit.score);
      localPrediction.push(fit.localPrediction);
      asList.push(Array.from(fit.features, (f, k) => ({ segment: f, weight: fit.weights[k]! })));
    });
    const { segments: _s, ...segParams } = seg as { segments?: unknown };
    return {
      schema: EXPLANATION_SCHEMA,
      method: 'lime.image',
      values: [values],
      baseValues: [intercept],
      featureNames: Array.from({ length: K }, (_, k) => `segment ${k}`),
      outputNames: labels.map((l) => predictor.outputNames[l]!),
      outputSpace: predictor.outputSpace,
      predictions: [labels.map((l) => yss0[l]!)],
      parameters: {
        labels: options.labels ?? null,
        topLabels: options.labels ? null : (options.topLabels ?? 5),
        numFeatures,
        numSamples,
        batchSize,
        distanceMetric: 'cosine',
        kernelWidth: this.kernelWidth,
        featureSelection: this.featureSelection,
        segmentation: segParams,
        hideColor: options.hideColor ?? null,
        ridgeAlpha: 1,
      },
      seed,
      timings: { totalMs: performance.now() - t0, modelMs: counter.ms, modelCalls: counter.calls, samples: counter.samples },
      details: {
        labels,
        width: w,
        height: h,
        nSegments: K,
        /** Superpixel label of every pixel, row-major. */
        segments: Array.from(segments),
        segmentationMs: segMs,
        intercept: [intercept],
        score: [score],
        localPrediction: [localPrediction],
        explanations: [asList],
      },
    };
  }
}

function segment(image: HwcImage, seg: Segmentation, w: number, h: number, rng: Rng): { segments: Int32Array; count: number } {
  if (seg.algorithm === 'quickshift') return quickshift(image, { ...seg, seed: seg.seed ?? rng.nextInt(1000) });
  if (seg.algorithm === 'slic') return slic(image, seg);
  if (seg.algorithm === 'precomputed') {
    if (!seg.segments || seg.segments.length !== w * h) throw new LimeError('INVALID_INPUT', `precomputed segments must have one label per pixel (${w * h}).`);
    const s = Int32Array.from(seg.segments);
    const map = new Map<number, number>();
    for (let i = 0; i < s.length; i++) {
      if (!Number.isInteger(seg.segments[i]!)) throw new LimeError('INVALID_INPUT', `precomputed segment label at pixel ${i} is not an integer.`);
      let v = map.get(s[i]!);
      if (v === undefined) map.set(s[i]!, (v = map.size));
      s[i] = v;
    }
    return { segments: s, count: map.size };
  }
  throw new LimeError('INVALID_CONFIG', `Unknown segmentation algorithm '${String((seg as { algorithm: unknown }).algorithm)}'; use quickshift, slic or precomputed.`);
}
