/** Machine-readable reason attached to every {@link ModelFormatError}. */
export type ModelFormatErrorCode =
  /** The file or object is not a valid model of the declared format (truncated, malformed, hostile). */
  | 'INVALID_MODEL'
  /** The model is valid but uses a feature this library does not support (e.g. LightGBM linear trees). */
  | 'UNSUPPORTED'
  /** Rows, tensors or options passed by the caller do not fit the model. */
  | 'INVALID_INPUT'
  /** A Genome package manifest failed schema validation. */
  | 'INVALID_PACKAGE'
  /** A remote or native runtime failed (onnxruntime, TF.js, model server). */
  | 'RUNTIME'
  /** A remote model server did not answer in time. */
  | 'TIMEOUT'
  /** An optional dependency needed for this call is not installed. */
  | 'MISSING_DEPENDENCY';

/**
 * The one error type thrown by @genome/model-format. `message` says what was wrong and how to fix it;
 * `code` lets servers map it to a status (INVALID_* -> INVALID_ARGUMENT / HTTP 400).
 */
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
  constructor(
    readonly code: ModelFormatErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
