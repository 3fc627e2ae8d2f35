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

/**
 * Per-call options every `predict` accepts (all optional; callers that pass nothing get the old behaviour).
 *
 * `signal` cancels the call: once it aborts, the promise rejects with `signal.reason` itself (not wrapped, so a
 * caller's own deadline or cancellation error comes back unchanged). A signal that is already aborted rejects
 * before any work or network I/O. Remote predictors cancel the in-flight request (gRPC call cancelled, HTTP
 * fetch aborted), interrupt a retry backoff and start no further batch or retry; local predictors (tree IR,
 * onnxruntime, TF.js) check the signal before running and between batches, but a native session run that has
 * started is not interrupted.
 */
export interface PredictOptions {
  /** Aborting it cancels the call; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** A tabular model: `rows` has `nRows * nFeatures` values, row-major; the result is `nRows x outputNames.length`. */
export interface Predictor {
  readonly kind: 'tabular';
  readonly nFeatures: number;
  readonly outputNames: readonly string[];
  readonly outputSpace: OutputSpace;
  predict(rows: Float64Array, nRows: number, options?: PredictOptions): Promise<Matrix>;
  /** Releases native sessions or connections. Safe to call twice. */
  close?(): Promise<void>;
}

/** A model over strings (text classifiers, remote NLP models). */
export interface TextPredictor {
  readonly kind: 'text';
  readonly outputNames: readonly string[];
  readonly outputSpace: OutputSpace;
  predict(texts: readonly string[], options?: PredictOptions): Promise<Matrix>;
  close?(): Promise<void>;
}

/** A model over image tensors: `pixels` holds `n` images laid out as `shape` (batch dimension first). */
export interface ImagePredictor {
  readonly kind: 'image';
  readonly inputShape: readonly number[];
  readonly layout: 'NCHW' | 'NHWC';
  readonly outputNames: readonly string[];
  readonly outputSpace: OutputSpace;
  predict(pixels: Float32Array, n: number, options?: PredictOptions): Promise<Matrix>;
  close?(): Promise<void>;
}

export type AnyPredictor = Predictor | TextPredictor | ImagePredictor;
