/**
 * The single interface every black-box explainer calls: a batch of rows in, a matrix of outputs out.
 */

/** A dense row-major matrix of float64 values. */
export interface Matrix {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * What the numbers a predictor returns mean: `raw` margins (log-odds, per-class scores), `probability`
 * (after logistic/softmax), or `regression` values.
 */
export type OutputSpace = 'raw' | 'probability' | 'regression';

/** A tabular model: `rows` has `nRows * nFeatures` values, row-major; the result is `nRows x outputNames.length`. */
export interface Predictor {
  readonly kind: 'tabular';
  readonly nFeatures: number;
  readonly outputNames: readonly string[];
  readonly outputSpace: OutputSpace;
  predict(rows: Float64Array, nRows: number): Promise<Matrix>;
  /** Releases native sessions or connections. Safe to call twice. */
  close?(): Promise<void>;
}

/** A model over strings (text classifiers, remote NLP models). */
export interface TextPredictor {
  readonly kind: 'text';
  readonly outputNames: readonly string[];
  readonly outputSpace: OutputSpace;
  predict(texts: readonly string[]): Promise<Matrix>;
  close?(): Promise<void>;
}

/** A model over image tensors: `pixels` holds `n` images laid out as `shape` (batch dimension first). */
export interface ImagePredictor {
  readonly kind: 'image';
  readonly inputShape: readonly number[];
  readonly layout: 'NCHW' | 'NHWC';
  readonly outputNames: readonly string[];
  readonly outputSpace: OutputSpace;
  predict(pixels: Float32Array, n: number): Promise<Matrix>;
  close?(): Promise<void>;
}

export type AnyPredictor = Predictor | TextPredictor | ImagePredictor;
