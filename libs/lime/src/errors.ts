/** Machine-readable reason attached to every {@link LimeError}. */
export type LimeErrorCode =
  /** Rows, texts, images or options passed by the caller are malformed or do not fit the model/explainer. */
  | 'INVALID_INPUT'
  /** The explainer was configured inconsistently (e.g. entropy discretizer without labels). */
  | 'INVALID_CONFIG'
  /** The model returned something unusable (wrong shape, NaN, non-finite values). */
  | 'MODEL_OUTPUT'
  /** The model call itself failed. */
  | 'RUNTIME';

/**
 * The one error type thrown by @genome/lime. `message` says what was wrong and how to fix it;
 * `code` lets servers map it to a status (INVALID_* -> INVALID_ARGUMENT / HTTP 400).
 */
export class LimeError extends Error {
  override readonly name = 'LimeError';
  constructor(
    readonly code: LimeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
