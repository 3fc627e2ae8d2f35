/**
 * LIME for text, following lime's `LimeTextExplainer` (marcotcr/lime `lime/lime_text.py`): each sample
 * removes a uniformly drawn number (1..K) of the K interpretable features (words, word positions or
 * characters), distances are cosine distances of the binary masks times 100, the kernel width is 25, and
 * the surrogate is the kernel-weighted ridge of {@link explainLabel}. Works with any `TextPredictor`,
 * including remote models.
 */
import { EXPLANATION_SCHEMA, rowStream, type Explanation, type TextPredictor } from '@genome/model-format';
import { LimeError } from './errors.js';
import { IndexedText, type SplitExpression } from './indexed-text.js';
import { ModelCounter, checkInt, checkSignal, checkPositive, distancesToFirst, resolveLabels, type DistanceMetric } from './model-calls.js';
import { Rng, checkSeed } from './random.js';
import { FEATURE_SELECTIONS, explainLabel, exponentialKernel, weightedColumnMeans, weightedGram, type FeatureSelection } from './surrogate.js';

export interface LimeTextOptions {
  /** Default 25. */
  readonly kernelWidth?: number;
  /** Default 'auto'. */
  readonly featureSelection?: FeatureSelection;
  /** Separator regex (default: Python's `\W+`) or a tokenizer function. */
  readonly splitExpression?: SplitExpression;
  /** Bag of words (default true) or position-aware masking. */
  readonly bow?: boolean;
  /** Mask for positional masking (default 'UNKWORDZ', '\u0000' at char level). */
  readonly maskString?: string;
  /** Characters are the features. */
  readonly charLevel?: boolean;
  /** Default 0. The samples are drawn from the stream of (seed, the text's UTF-8 bytes): same seed, same text, same explanation. */
  readonly seed?: number;
}

export interface LimeTextExplainOptions {
  readonly labels?: readonly number[];
  readonly topLabels?: number;
  /** Default 10. */
  readonly numFeatures?: number;
  /** Default 5000. */
  readonly numSamples?: number;
  /** Default 'cosine'. */
  readonly distanceMetric?: DistanceMetric;
  /** Texts per model call (default: all samples in one call). */
  readonly batchSize?: number;
  readonly seed?: number;
  /**
   * Stops the explanation when it aborts (a caller's deadline, `AbortSignal.timeout(ms)`, a cancelled request):
   * checked before every model call and between batches, passed to the predictor as its last argument
   * (`{ signal }`); `explain` then rejects with `signal.reason` itself.
   */
  readonly signal?: AbortSignal;
}

export class LimeTextExplainer {
  readonly kernelWidth: number;
  readonly featureSelection: FeatureSelection;
  readonly seed: number;
  private readonly textOptions: LimeTextOptions;

  constructor(options: LimeTextOptions = {}) {
    this.kernelWidth = options.kernelWidth ?? 25;
    checkPositive('kernelWidth', this.kernelWidth);
    this.featureSelection = options.featureSelection ?? 'auto';
    if (!FEATURE_SELECTIONS.includes(this.featureSelection)) {
      throw new LimeError('INVALID_CONFIG', `Unknown featureSelection '${String(this.featureSelection)}'; use one of ${FEATURE_SELECTIONS.join(', ')}.`);
    }
    this.seed = options.seed ?? 0;
    this.textOptions = options;
  }

  /** Splits `text` the way this explainer does (useful to inspect the features). */
  index(text: string): IndexedText {
    return new IndexedText(text, this.textOptions);
  }

  async explain(predictor: TextPredictor, text: string, options: LimeTextExplainOptions = {}): Promise<Explanation> {
    const t0 = performance.now();
    const counter = new ModelCounter(checkSignal(options.signal));
    counter.check();
    if (!predictor || typeof predictor.predict !== 'function') throw new LimeError('INVALID_INPUT', 'predictor must be a Genome TextPredictor with a predict(texts) method.');
    const doc = this.index(text);
    const K = doc.numFeatures;
    if (K === 0) throw new LimeError('INVALID_INPUT', 'The text has no words to explain (empty, or only separators).');
    const numFeatures = options.numFeatures ?? 10;
    const numSamples = options.numSamples ?? 5000;
    const batchSize = options.batchSize ?? numSamples;
    const metric = options.distanceMetric ?? 'cosine';
    checkInt('numFeatures', numFeatures, 1);
    checkInt('numSamples', numSamples, 2);
    checkInt('batchSize', batchSize, 1);
    const nOut = predictor.outputNames.length;
    if (nOut < 1) throw new LimeError('INVALID_INPUT', 'The predictor has no outputNames.');
    const seed = checkSeed(options.seed ?? this.seed);
    const rng = new Rng(rowStream(seed, text));

    // Binary masks: row 0 = the original document.
    const data = new Float64Array(numSamples * K).fill(1);
    const texts: string[] = new Array<string>(numSamples);
    texts[0] = text;
    const chosen = new Int32Array(K);
    const scratch = new Int32Array(K);
    const active = new Uint8Array(K);
    const removed = new Uint8Array(doc.pieces.length);
    for (let i = 1; i < numSamples; i++) {
      // each sample is a new string of the text's length: offer a pause every few samples (it yields once ~10 ms
      // have passed; the draws keep their order)
      if (i % 32 === 0) await counter.pause();
      const size = 1 + rng.nextInt(K);
      rng.sampleWithoutReplacement(K, size, chosen, scratch);
      active.fill(1);
      for (let k = 0; k < size; k++) {
        active[chosen[k]!] = 0;
        data[i * K + chosen[k]!] = 0;
      }
      texts[i] = doc.inverseRemoving(active, removed);
    }
    counter.check();
    const yss = new Float64Array(numSamples * nOut);
    for (let start = 0; start < numSamples; start += batchSize) {
      const m = Math.min(batchSize, numSamples - start);
      const out = await counter.run(m, nOut, 'text', (o) => predictor.predict(texts.slice(start, start + m), o));
      yss.set(out.data.subarray(0, m * nOut), start * nOut);
    }
    // Each pass reads the whole sample matrix: pause between them.
    await counter.pause();
    const dist = distancesToFirst(data, numSamples, K, metric, new Float64Array(numSamples));
    if (metric === 'cosine') for (let i = 0; i < numSamples; i++) dist[i] *= 100;
    const w = exponentialKernel(dist, this.kernelWidth, new Float64Array(numSamples));
    await counter.pause();
    const xMean = weightedColumnMeans(data, numSamples, K, w);
    await counter.pause();
    const gram = await weightedGram(data, numSamples, K, w, xMean, () => counter.pause());
    const yss0 = yss.slice(0, nOut);
    const labels = resolveLabels(yss0, nOut, options.labels, options.topLabels);
    const y = new Float64Array(numSamples);
    const values: number[][] = Array.from({ length: K }, () => new Array<number>(labels.length).fill(0));
    const intercept: number[] = [];
    const score: number[] = [];
    const localPrediction: number[] = [];
    const asList: { feature: number; word: string; weight: number }[][] = [];
    for (const [o, label] of labels.entries()) {
      await counter.pause();
      for (let i = 0; i < numSamples; i++) y[i] = yss[i * nOut + label]!;
      const fit = explainLabel(data, numSamples, K, w, xMean, gram, y, numFeatures, this.featureSelection);
      for (let k = 0; k < fit.features.length; k++) values[fit.features[k]!]![o] = fit.weights[k]!;
      intercept.push(fit.intercept);
      score.push(fit.score);
      localPrediction.push(fit.localPrediction);
      asList.push(Array.from(fit.features, (f, k) => ({ feature: f, word: doc.vocabulary[f]!, weight: fit.weights[k]! })));
    }
    return {
      schema: EXPLANATION_SCHEMA,
      method: 'lime.text',
      values: [values],
      baseValues: [intercept],
      featureNames: [...doc.vocabulary],
      outputNames: labels.map((l) => predictor.outputNames[l]!),
      outputSpace: predictor.outputSpace,
      predictions: [labels.map((l) => yss0[l]!)],
      parameters: {
        labels: options.topLabels !== undefined ? null : labels,
        topLabels: options.topLabels ?? null,
        numFeatures,
        numSamples,
        batchSize,
        distanceMetric: metric,
        kernelWidth: this.kernelWidth,
        kernel: 'exponential',
        featureSelection: this.featureSelection,
        bow: doc.bow,
        charLevel: this.textOptions.charLevel ?? false,
        maskString: doc.maskString,
        splitExpression: describeSplit(this.textOptions.splitExpression),
        ridgeAlpha: 1,
      },
      seed,
      timings: { totalMs: performance.now() - t0, modelMs: counter.ms, modelCalls: counter.calls, samples: counter.samples },
      details: {
        text,
        labels,
        intercept: [intercept],
        score: [score],
        localPrediction: [localPrediction],
        /** Character offsets of each feature's occurrences. */
        positions: doc.vocabulary.map((_, f) => doc.stringPositions(f)),
        explanations: [asList],
      },
    };
  }
}

function describeSplit(s: SplitExpression | undefined): string {
  if (s === undefined) return '\\W+';
  if (typeof s === 'function') return 'function';
  return typeof s === 'string' ? s : s.source;
}
