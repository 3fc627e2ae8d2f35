/**
 * What the model-agnostic explainers (kernel, exact, permutation) share: predictor and background checks,
 * options, the base value E[f(background)] and batched evaluation of the explained rows.
 */
import type { Explanation, OutputSpace, Predictor } from '@genome/model-format';
import type { Cancellation } from './abort.js';
import { isBackground, makeBackground, type Background } from './background.js';
import { CoalitionEvaluator, checkMaxBatch } from './coalitions.js';
import { ShapError } from './errors.js';
import { applyLink, checkLink, type Link } from './link.js';
import { buildExplanation, type FlatResult } from './result.js';
import { resolveFeatureNames, toDenseRows, type DenseRows, type RowsInput } from './rows.js';

export interface AgnosticOptions {
  /** Applied to background-averaged outputs before attributing: `identity` (default) or `logit`. */
  link?: Link;
  /** Maximum rows per predict call (default 65536; raised to the background size if smaller). */
  maxBatch?: number;
  /** Names of the model's features (default `f0..f{n-1}`). */
  featureNames?: readonly string[];
  /** Accept NaN (missing) feature values in rows and background; only for models that handle them. */
  allowNaN?: boolean;
  /** Weights of the background rows when `background` is plain rows (default uniform). */
  backgroundWeights?: ArrayLike<number>;
}

/** Per-call options every model-agnostic explainer's `explain` accepts. */
export interface CancellableOptions {
  /**
   * Stops the explanation when it aborts (a caller's deadline, `AbortSignal.timeout(ms)`, a cancelled request):
   * checked before every model call, between explained rows and between batches, and passed to the predictor as
   * `predict(rows, nRows, { signal })`. `explain` then rejects with `signal.reason` itself.
   */
  signal?: AbortSignal;
}

/** What an agnostic explainer computed; {@link AgnosticBase.explanation} adds the rest. */
export type AgnosticResult = Pick<FlatResult, 'method' | 'values' | 'base' | 'predictions' | 'parameters' | 'seed' | 'startMs' | 'details'>;

export function checkPredictor(p: Predictor): void {
  if (!p || typeof p !== 'object' || typeof p.predict !== 'function') {
    throw new ShapError('INVALID_INPUT', 'predictor must be a tabular Predictor with a predict(rows, nRows) method.');
  }
  if (p.kind !== 'tabular') throw new ShapError('INVALID_INPUT', `SHAP explainers here need a tabular predictor, got kind '${String(p.kind)}'.`);
  if (!Number.isInteger(p.nFeatures) || p.nFeatures < 1) throw new ShapError('INVALID_INPUT', `predictor.nFeatures must be a positive integer, got ${p.nFeatures}.`);
  if (!Array.isArray(p.outputNames) || p.outputNames.length < 1) throw new ShapError('INVALID_INPUT', 'predictor.outputNames must name at least one output.');
}

export class AgnosticBase {
  readonly background: Background;
  readonly link: Link;
  readonly maxBatch: number;
  readonly featureNames: string[];
  readonly allowNaN: boolean;
  readonly nFeatures: number;
  readonly nOutputs: number;
  readonly outputSpace: OutputSpace;
  private baseRaw: Float64Array | undefined;

  constructor(
    readonly predictor: Predictor,
    background: RowsInput | Background,
    options: AgnosticOptions,
  ) {
    checkPredictor(predictor);
    this.nFeatures = predictor.nFeatures;
    this.nOutputs = predictor.outputNames.length;
    this.link = checkLink(options.link);
    this.allowNaN = options.allowNaN ?? false;
    this.featureNames = resolveFeatureNames(options.featureNames, this.nFeatures);
    if (background === undefined || background === null) {
      throw new ShapError('INVALID_INPUT', 'A background data set is required: pass rows (or kmeansBackground/sampleBackground of them).');
    }
    this.background = isBackground(background)
      ? makeBackground(background, { nFeatures: this.nFeatures })
      : makeBackground(background, { weights: options.backgroundWeights, allowNaN: this.allowNaN, nFeatures: this.nFeatures });
    if (!this.allowNaN && this.background.data.some(Number.isNaN)) {
      throw new ShapError('INVALID_INPUT', 'Background rows contain NaN; impute them or pass allowNaN: true if the model handles missing values.');
    }
    this.maxBatch = checkMaxBatch(options.maxBatch, this.background.rows);
    this.outputSpace = this.link === 'logit' ? 'raw' : predictor.outputSpace;
  }

  newEvaluator(cancel?: Cancellation): CoalitionEvaluator {
    return new CoalitionEvaluator(this.predictor, this.background, this.maxBatch, cancel);
  }

  /** Explained rows, checked against the model's feature count. */
  rows(X: RowsInput): DenseRows {
    return toDenseRows(X, this.nFeatures, 'rows to explain', this.allowNaN);
  }

  /** E[f(background)] before the link (cached after the first call). */
  async rawBase(ev: CoalitionEvaluator): Promise<Float64Array> {
    if (!this.baseRaw) this.baseRaw = await ev.expectedValue();
    return this.baseRaw;
  }

  /**
   * What every explanation starts from: a fresh evaluator, the linked base value and model outputs of the
   * checked `rows`, and zeroed `values` ([row][feature][output]) and `baseOut` ([row][output]) to fill.
   * `cancel` (the explanation's signal) goes to every model call of the evaluator.
   */
  async start(
    rows: DenseRows,
    cancel?: Cancellation,
  ): Promise<{ ev: CoalitionEvaluator; base: Float64Array; fx: Float64Array; values: Float64Array; baseOut: Float64Array }> {
    const ev = this.newEvaluator(cancel);
    const base = this.linked(await this.rawBase(ev));
    const fx = this.linked(await this.predictRows(ev, rows));
    const values = new Float64Array(rows.rows * this.nFeatures * this.nOutputs);
    const baseOut = new Float64Array(rows.rows * this.nOutputs);
    return { ev, base, fx, values, baseOut };
  }

  /**
   * Model outputs for the explained rows, in batches of at most maxBatch rows, before the link. The evaluator's
   * signal is checked before each batch (in `ev.predict`) and passed to the predictor.
   */
  async predictRows(ev: CoalitionEvaluator, X: DenseRows): Promise<Float64Array> {
    const D = this.nOutputs;
    const F = this.nFeatures;
    const out = new Float64Array(X.rows * D);
    for (let start = 0; start < X.rows; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, X.rows - start);
      const y = await ev.predict(X.data.subarray(start * F, (start + n) * F), n);
      out.set(y, start * D);
    }
    return out;
  }

  /** The Explanation of the explained `rows`: names, output space and the evaluator's counts come from here. */
  explanation(ev: CoalitionEvaluator, rows: DenseRows, r: AgnosticResult): Explanation {
    return buildExplanation({
      ...r,
      nRows: rows.rows,
      nFeatures: this.nFeatures,
      nOutputs: this.nOutputs,
      data: rows.data,
      featureNames: this.featureNames,
      outputNames: this.predictor.outputNames,
      outputSpace: this.outputSpace,
      modelMs: ev.modelMs,
      modelCalls: ev.modelCalls,
      samples: ev.rowsEvaluated,
    });
  }

  linked(v: Float64Array): Float64Array {
    const c = Float64Array.from(v);
    applyLink(this.link, c);
    return c;
  }
}
