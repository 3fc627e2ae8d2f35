/**
 * LIME for tabular data, following lime's `LimeTabularExplainer` (marcotcr/lime `lime/lime_tabular.py`):
 * training statistics, optional discretization of continuous features (quartile/decile/entropy/explicit
 * bins), categorical features sampled from training frequencies and encoded 1 = "same as the instance",
 * Gaussian sampling around the training mean or the instance, euclidean distances on the scaled data,
 * exponential kernel of width sqrt(M)*0.75 and the kernel-weighted ridge surrogate of {@link explainLabel}.
 */
import { EXPLANATION_SCHEMA, rowStream, type Explanation, type Predictor } from '@genome/model-format';
import { binNames, binOf, binStats, computeBins, fmt2, type BinStats, type DiscretizerKind, undiscretizeValue } from './discretizer.js';
import { LimeError } from './errors.js';
import { ModelCounter, checkInt, checkSignal, checkPositive, distancesToFirst, resolveLabels, type DistanceMetric } from './model-calls.js';
import { Rng, checkSeed } from './random.js';
import { FEATURE_SELECTIONS, explainLabel, exponentialKernel, weightedColumnMeans, weightedGram, type FeatureSelection, type LocalExplanation } from './surrogate.js';

/**
 * Everything the explainer keeps from the training data (lime's `training_data_stats`, extended with the
 * scaler). Plain JSON: compute it once with `explainer.trainingStats` and ship it instead of the data.
 */
export interface TabularTrainingStats {
  readonly featureNames: string[];
  readonly categoricalFeatures: number[];
  /** Column means / population std (0 replaced by 1) of the training data; 0/1 for categorical columns. */
  readonly mean: number[];
  readonly scale: number[];
  /** Per feature: the bin statistics when the feature is a discretized continuous feature, else null. */
  readonly discretized: (BinStats | null)[];
  /** Per feature sampled from frequencies (categorical or discretized): sorted distinct values and their frequencies. */
  readonly featureValues: (number[] | null)[];
  readonly featureFrequencies: (number[] | null)[];
}

export interface LimeTabularOptions {
  /** Training rows (each of length M); required unless `trainingStats` is given. */
  readonly trainingData?: readonly ArrayLike<number>[];
  /** Class labels of the training rows (needed by the entropy discretizer). */
  readonly trainingLabels?: ArrayLike<number>;
  /** Precomputed statistics (from `explainer.trainingStats`) instead of `trainingData`. */
  readonly trainingStats?: TabularTrainingStats;
  readonly featureNames?: readonly string[];
  /** Column indices holding categorical codes. */
  readonly categoricalFeatures?: readonly number[];
  /** Display names of categorical codes: `categoricalNames[column][code]`. */
  readonly categoricalNames?: Readonly<Record<number, readonly string[]>>;
  /** Kernel width; default sqrt(M) * 0.75. */
  readonly kernelWidth?: number;
  /** Default 'auto' (forward_selection if numFeatures <= 6, else highest_weights). */
  readonly featureSelection?: FeatureSelection;
  /** Default true. */
  readonly discretizeContinuous?: boolean;
  /** 'quartile' (default), 'decile', 'entropy', or explicit boundaries per continuous column. */
  readonly discretizer?: DiscretizerKind | { readonly bins: Readonly<Record<number, readonly number[]>> };
  /** Sample continuous features around the instance instead of the training mean (non-discretized mode). */
  readonly sampleAroundInstance?: boolean;
  /** 'classification' (default unless the predictor's outputSpace is 'regression') or 'regression'. */
  readonly mode?: 'classification' | 'regression';
  /**
   * Seed of every explanation (default 0). Each row draws from its own stream of (seed, the row's values), so the
   * same seed and the same row give the same explanation, alone or anywhere in any batch.
   */
  readonly seed?: number;
}

export interface LimeTabularExplainOptions {
  /** Output indices to explain (default [1], or [0] for single-output models). */
  readonly labels?: readonly number[];
  /**
   * Explain the K highest outputs at the instance instead of `labels`. Over several rows the explanation's outputs
   * are the union of the rows' top labels; a row's values, base value and prediction for an output outside its own K
   * are 0 (`details.topLabels` lists each row's labels).
   */
  readonly topLabels?: number;
  /** Default 10. */
  readonly numFeatures?: number;
  /** Default 5000 (including the instance itself). */
  readonly numSamples?: number;
  /** Default 'euclidean'. */
  readonly distanceMetric?: DistanceMetric;
  /** Rows per model call (default: all samples of a row in one call). */
  readonly batchSize?: number;
  /** Overrides the explainer's seed for this call. */
  readonly seed?: number;
  /**
   * Stops the explanation when it aborts (a caller's deadline, `AbortSignal.timeout(ms)`, a cancelled request):
   * checked before every model call between explained rows and between batches, passed to the predictor as its last argument
   * (`{ signal }`); `explain` then rejects with `signal.reason` itself.
   */
  readonly signal?: AbortSignal;
}

/** One row's LIME result for one output. */
export interface LimeFeatureWeight {
  readonly feature: number;
  readonly name: string;
  readonly weight: number;
}

export class LimeTabularExplainer {
  readonly trainingStats: TabularTrainingStats;
  readonly nFeatures: number;
  readonly kernelWidth: number;
  readonly featureSelection: FeatureSelection;
  readonly discretize: boolean;
  readonly sampleAroundInstance: boolean;
  readonly mode: 'classification' | 'regression' | undefined;
  readonly seed: number;
  private readonly categoricalNames: Readonly<Record<number, readonly string[]>>;
  private readonly discretizerName: string;
  private readonly cdfs: (Float64Array | null)[];

  constructor(options: LimeTabularOptions) {
    const o = options ?? {};
    this.featureSelection = o.featureSelection ?? 'auto';
    if (!FEATURE_SELECTIONS.includes(this.featureSelection)) {
      throw new LimeError('INVALID_CONFIG', `Unknown featureSelection '${String(this.featureSelection)}'; use one of ${FEATURE_SELECTIONS.join(', ')}.`);
    }
    this.discretize = o.trainingStats
      ? o.trainingStats.discretized?.some((b) => b !== null) || (o.trainingStats.featureValues?.every((v) => v !== null) ?? false)
      : (o.discretizeContinuous ?? true);
    this.sampleAroundInstance = o.sampleAroundInstance ?? false;
    this.mode = o.mode;
    this.seed = o.seed ?? 0;
    this.categoricalNames = o.categoricalNames ?? {};
    const disc = o.discretizer ?? 'quartile';
    this.discretizerName = typeof disc === 'string' ? disc : 'bins';
    if (o.trainingStats) {
      this.trainingStats = validateStats(o.trainingStats);
    } else if (o.trainingData) {
      this.trainingStats = computeStats(o, this.discretize, disc);
    } else {
      throw new LimeError('INVALID_INPUT', 'LimeTabularExplainer needs trainingData (rows) or trainingStats.');
    }
    this.nFeatures = this.trainingStats.featureNames.length;
    const kw = o.kernelWidth ?? Math.sqrt(this.nFeatures) * 0.75;
    checkPositive('kernelWidth', kw);
    this.kernelWidth = kw;
    this.cdfs = this.trainingStats.featureFrequencies.map((f) => {
      if (!f) return null;
      const c = new Float64Array(f.length);
      let acc = 0;
      for (let i = 0; i < f.length; i++) c[i] = acc += f[i]!;
      return c;
    });
  }

  /** Explains one row (or several rows) of `predictor`; returns the shared Explanation JSON. */
  async explain(predictor: Predictor, rows: ArrayLike<number> | readonly ArrayLike<number>[], options: LimeTabularExplainOptions = {}): Promise<Explanation> {
    const t0 = performance.now();
    const counter = new ModelCounter(checkSignal(options.signal));
    counter.check();
    const d = this.nFeatures;
    if (!predictor || typeof predictor.predict !== 'function') throw new LimeError('INVALID_INPUT', 'predictor must be a Genome Predictor with a predict(rows, nRows) method.');
    if (predictor.nFeatures !== d) {
      throw new LimeError('INVALID_INPUT', `The predictor takes ${predictor.nFeatures} features but the explainer was built on ${d} training columns.`);
    }
    const list = toRowList(rows, d);
    const numFeatures = options.numFeatures ?? 10;
    const numSamples = options.numSamples ?? 5000;
    const batchSize = options.batchSize ?? numSamples;
    const metric = options.distanceMetric ?? 'euclidean';
    checkInt('numFeatures', numFeatures, 1);
    checkInt('numSamples', numSamples, 2);
    checkInt('batchSize', batchSize, 1);
    const seed = checkSeed(options.seed ?? this.seed);
    const nOut = predictor.outputNames.length;
    if (nOut < 1) throw new LimeError('INVALID_INPUT', 'The predictor has no outputNames.');
    const mode = this.mode ?? (predictor.outputSpace === 'regression' ? 'regression' : 'classification');

    const perRow: { yss0: Float64Array; labels: number[]; fits: Map<number, LocalExplanation>; names: string[] }[] = [];
    const data = new Float64Array(numSamples * d);
    const inverse = new Float64Array(numSamples * d);
    const dist = new Float64Array(numSamples);
    const w = new Float64Array(numSamples);
    const y = new Float64Array(numSamples);
    for (const row of list) {
      await counter.pause();
      await this.sample(row, numSamples, new Rng(rowStream(seed, row)), data, inverse, () => counter.pause());
      const yss = new Float64Array(numSamples * nOut);
      for (let start = 0; start < numSamples; start += batchSize) {
        const m = Math.min(batchSize, numSamples - start);
        const out = await counter.run(m, nOut, 'tabular', (o) => predictor.predict(inverse.slice(start * d, (start + m) * d), m, o));
        yss.set(out.data.subarray(0, m * nOut), start * nOut);
      }
      // Each pass reads the whole sample matrix: pause between them.
      await counter.pause();
      distancesToFirst(data, numSamples, d, metric, dist);
      exponentialKernel(dist, this.kernelWidth, w);
      await counter.pause();
      const xMean = weightedColumnMeans(data, numSamples, d, w);
      await counter.pause();
      const gram = await weightedGram(data, numSamples, d, w, xMean, () => counter.pause());
      const yss0 = yss.slice(0, nOut);
      const labels = mode === 'regression' ? resolveLabels(yss0, nOut, options.labels ?? [0], undefined) : resolveLabels(yss0, nOut, options.labels, options.topLabels);
      const fits = new Map<number, LocalExplanation>();
      for (const label of labels) {
        if (fits.has(label)) continue;
        await counter.pause();
        for (let i = 0; i < numSamples; i++) y[i] = yss[i * nOut + label]!;
        fits.set(label, explainLabel(data, numSamples, d, w, xMean, gram, y, numFeatures, this.featureSelection));
      }
      perRow.push({ yss0, labels, fits, names: this.describe(row) });
    }
    // Explained outputs: the labels, or the union of each row's top labels (in order of first appearance). A row
    // explains only its own labels: an output of the union outside them holds zeros for that row, so nothing in a
    // row's entries depends on the other rows.
    const explained: number[] = [];
    for (const r of perRow) for (const l of r.labels) if (!explained.includes(l)) explained.push(l);
    const values: number[][][] = [];
    const baseValues: number[][] = [];
    const predictions: number[][] = [];
    const score: number[][] = [];
    const localPrediction: number[][] = [];
    const asList: LimeFeatureWeight[][][] = [];
    for (const r of perRow) {
      const v: number[][] = Array.from({ length: d }, () => new Array<number>(explained.length).fill(0));
      const bv: number[] = [];
      const sc: number[] = [];
      const lp: number[] = [];
      const al: LimeFeatureWeight[][] = [];
      explained.forEach((label, o) => {
        const fit = r.fits.get(label);
        if (fit) for (let k = 0; k < fit.features.length; k++) v[fit.features[k]!]![o] = fit.weights[k]!;
        bv.push(fit?.intercept ?? 0);
        sc.push(fit?.score ?? 0);
        lp.push(fit?.localPrediction ?? 0);
        al.push(fit ? Array.from(fit.features, (f, k) => ({ feature: f, name: r.names[f]!, weight: fit.weights[k]! })) : []);
      });
      values.push(v);
      baseValues.push(bv);
      predictions.push(explained.map((l) => (r.fits.has(l) ? r.yss0[l]! : 0)));
      score.push(sc);
      localPrediction.push(lp);
      asList.push(al);
    }
    return {
      schema: EXPLANATION_SCHEMA,
      method: 'lime.tabular',
      values,
      baseValues,
      featureNames: [...this.trainingStats.featureNames],
      outputNames: explained.map((l) => predictor.outputNames[l]!),
      outputSpace: predictor.outputSpace,
      predictions,
      data: list.map((r) => Array.from(r)),
      parameters: {
        mode,
        labels: options.topLabels !== undefined ? null : explained,
        topLabels: options.topLabels ?? null,
        numFeatures,
        numSamples,
        batchSize,
        distanceMetric: metric,
        kernelWidth: this.kernelWidth,
        kernel: 'exponential',
        featureSelection: this.featureSelection,
        discretizeContinuous: this.discretize,
        discretizer: this.discretize ? this.discretizerName : null,
        sampleAroundInstance: this.sampleAroundInstance,
        categoricalFeatures: [...this.trainingStats.categoricalFeatures],
        ridgeAlpha: 1,
      },
      seed,
      timings: { totalMs: performance.now() - t0, modelMs: counter.ms, modelCalls: counter.calls, samples: counter.samples },
      details: {
        labels: explained,
        ...(options.topLabels !== undefined ? { topLabels: perRow.map((r) => r.labels) } : {}),
        intercept: baseValues,
        score,
        localPrediction,
        featureDescriptions: perRow.map((r) => r.names),
        explanations: asList,
      },
    };
  }

  /** lime's feature descriptions for one row: bin names, `name=value` for categoricals, plain names otherwise. */
  describe(row: ArrayLike<number>): string[] {
    const s = this.trainingStats;
    const cat = new Set(s.categoricalFeatures);
    return s.featureNames.map((name, f) => {
      const disc = s.discretized[f];
      if (disc) return binNames(name, disc.bins)[binOf(disc.bins, row[f]!)]!;
      if (cat.has(f)) {
        const names = this.categoricalNames[f];
        const v = row[f]!;
        const label = names && Number.isInteger(v) && v >= 0 && v < names.length ? names[v]! : Number.isInteger(v) ? String(v) : fmt2(v);
        return `${name}=${label}`;
      }
      return name;
    });
  }

  /** lime's `__data_inverse`: fills `data` (interpretable, already scaled) and `inverse` (model inputs). */
  /** Fills the samples feature by feature, awaiting `pause` between features (the draws keep their order). */
  private async sample(row: Float64Array, n: number, rng: Rng, data: Float64Array, inverse: Float64Array, pause: () => Promise<void>): Promise<void> {
    const s = this.trainingStats;
    const d = this.nFeatures;
    const isCat = new Uint8Array(d);
    for (const c of s.categoricalFeatures) isCat[c] = 1;
    for (let f = 0; f < d; f++) {
      if (f > 0) await pause();
      const disc = this.discretize ? s.discretized[f] : null;
      const sampledFromFreq = this.discretize || isCat[f] === 1;
      if (sampledFromFreq) {
        const values = s.featureValues[f]!;
        const cdf = this.cdfs[f]!;
        const first = disc ? binOf(disc.bins, row[f]!) : row[f]!;
        data[f] = 1;
        inverse[f] = row[f]!;
        for (let i = 1; i < n; i++) {
          const v = values[rng.categorical(cdf)]!;
          data[i * d + f] = v === first ? 1 : 0;
          inverse[i * d + f] = disc ? undiscretizeValue(disc, v, rng) : v;
        }
      } else {
        const mean = s.mean[f]!;
        const scale = s.scale[f]!;
        const center = this.sampleAroundInstance ? row[f]! : mean;
        data[f] = (row[f]! - mean) / scale;
        inverse[f] = row[f]!;
        for (let i = 1; i < n; i++) {
          const z = rng.nextNormal();
          const x = z * scale + center;
          inverse[i * d + f] = x;
          data[i * d + f] = (x - mean) / scale;
        }
      }
    }
  }
}

function toRowList(rows: ArrayLike<number> | readonly ArrayLike<number>[], d: number): Float64Array[] {
  if (!rows || typeof rows !== 'object' || (rows as ArrayLike<unknown>).length === undefined) {
    throw new LimeError('INVALID_INPUT', 'rows must be one row (array of numbers) or an array of rows.');
  }
  const first = (rows as ArrayLike<unknown>)[0];
  const list: ArrayLike<number>[] = typeof first === 'number' ? [rows as ArrayLike<number>] : Array.from(rows as readonly ArrayLike<number>[]);
  if (list.length === 0) throw new LimeError('INVALID_INPUT', 'rows is empty: pass at least one row to explain.');
  return list.map((r, i) => {
    if (!r || r.length !== d) throw new LimeError('INVALID_INPUT', `Row ${i} has ${r?.length ?? 'no'} values; the explainer expects ${d} features.`);
    const out = Float64Array.from(r as ArrayLike<number>);
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(out[j]!)) throw new LimeError('INVALID_INPUT', `Row ${i} has a non-finite value at feature ${j} (${out[j]}); impute missing values before explaining.`);
    }
    return out;
  });
}

function computeStats(o: LimeTabularOptions, discretize: boolean, disc: NonNullable<LimeTabularOptions['discretizer']>): TabularTrainingStats {
  const rows = o.trainingData!;
  const n = rows.length;
  if (n < 1) throw new LimeError('INVALID_INPUT', 'trainingData is empty.');
  const d = rows[0]!.length;
  if (!(d >= 1)) throw new LimeError('INVALID_INPUT', 'trainingData rows have no columns.');
  const cols: Float64Array[] = Array.from({ length: d }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (!r || r.length !== d) throw new LimeError('INVALID_INPUT', `trainingData row ${i} has ${r?.length} values; expected ${d}.`);
    for (let j = 0; j < d; j++) {
      const v = r[j]!;
      if (!Number.isFinite(v)) throw new LimeError('INVALID_INPUT', `trainingData row ${i} column ${j} is not a finite number (${v}); impute missing values first.`);
      cols[j]![i] = v;
    }
  }
  const featureNames = o.featureNames ? [...o.featureNames] : Array.from({ length: d }, (_, j) => String(j));
  if (featureNames.length !== d) throw new LimeError('INVALID_INPUT', `featureNames has ${featureNames.length} names for ${d} columns.`);
  const categoricalFeatures = [...(o.categoricalFeatures ?? [])].sort((a, b) => a - b);
  for (const c of categoricalFeatures) if (!Number.isInteger(c) || c < 0 || c >= d) throw new LimeError('INVALID_INPUT', `categoricalFeatures contains ${c}, not a column index in 0..${d - 1}.`);
  if (o.trainingLabels && o.trainingLabels.length !== n) throw new LimeError('INVALID_INPUT', `trainingLabels has ${o.trainingLabels.length} entries for ${n} rows.`);
  const isCat = new Set(categoricalFeatures);
  const mean: number[] = [];
  const scale: number[] = [];
  const discretized: (BinStats | null)[] = [];
  const featureValues: (number[] | null)[] = [];
  const featureFrequencies: (number[] | null)[] = [];
  for (let j = 0; j < d; j++) {
    const col = cols[j]!;
    let m = 0;
    for (let i = 0; i < n; i++) m += col[i]!;
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (col[i]! - m) * (col[i]! - m);
    const sd = Math.sqrt(v / n);
    let bs: BinStats | null = null;
    if (discretize && !isCat.has(j)) {
      let qts: number[];
      if (typeof disc === 'string') qts = computeBins(disc, col, o.trainingLabels);
      else {
        const b = disc.bins[j];
        if (!b || b.length === 0) throw new LimeError('INVALID_CONFIG', `discretizer.bins has no boundaries for continuous column ${j} (${featureNames[j]}).`);
        qts = [...new Set(b)].sort((a, c) => a - c);
      }
      bs = binStats(col, qts);
    }
    discretized.push(bs);
    const freqSampled = discretize || isCat.has(j);
    mean.push(freqSampled ? 0 : m);
    scale.push(freqSampled ? 1 : sd === 0 ? 1 : sd);
    if (freqSampled) {
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const key = bs ? binOf(bs.bins, col[i]!) : col[i]!;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const values = [...counts.keys()].sort((a, b) => a - b);
      featureValues.push(values);
      featureFrequencies.push(values.map((k) => counts.get(k)! / n));
    } else {
      featureValues.push(null);
      featureFrequencies.push(null);
    }
  }
  return { featureNames, categoricalFeatures, mean, scale, discretized, featureValues, featureFrequencies };
}

function validateStats(s: TabularTrainingStats): TabularTrainingStats {
  const d = s?.featureNames?.length;
  const ok =
    d > 0 &&
    Array.isArray(s.categoricalFeatures) &&
    s.mean?.length === d &&
    s.scale?.length === d &&
    s.discretized?.length === d &&
    s.featureValues?.length === d &&
    s.featureFrequencies?.length === d;
  if (!ok) {
    throw new LimeError('INVALID_INPUT', 'trainingStats is malformed: featureNames, mean, scale, discretized, featureValues and featureFrequencies must all have one entry per feature.');
  }
  return s;
}
