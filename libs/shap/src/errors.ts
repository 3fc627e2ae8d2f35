/** Machine-readable reason attached to every {@link ShapError}. */
export type ShapErrorCode =
  /** Rows, background or options passed by the caller do not fit the model (feature counts, NaN, shapes). */
  | 'INVALID_INPUT'
  /** An option is out of range or malformed (nsamples too small, unknown l1 rule, bad seed). */
  | 'INVALID_OPTION'
  /** The exact explainer was asked for more features than it can enumerate. */
  | 'TOO_MANY_FEATURES'
  /** The model answered, but with a matrix of the wrong shape or non-finite values (a model/deployment problem). */
  | 'MODEL_OUTPUT'
  /**
   * The model call itself failed: the predictor threw or rejected (model server down, connection reset, timed
   * out; the message says so when the predictor reported a TIMEOUT). The predictor's error is the `cause`.
   */
  | 'RUNTIME';

/**
 * The one error type thrown by @genome/shap. `message` says what was wrong and how to fix it;
 * `code` lets servers map it to a status (INVALID_* -> HTTP 400, MODEL_OUTPUT -> a model/deployment error,
 * RUNTIME -> UNAVAILABLE). An explanation cancelled through its `signal` rejects with `signal.reason`, not a ShapError.
 */
export class ShapError extends Error {
  override readonly name = 'ShapError';
  constructor(
    readonly code: ShapErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
