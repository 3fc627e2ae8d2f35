/** Machine-readable reason attached to every {@link GradCamError}. */
export type GradCamErrorCode =
  /** The model file is not a valid ONNX / TF.js model (truncated, malformed, hostile). */
  | 'INVALID_MODEL'
  /** The model is valid but the requested method cannot run on it (e.g. an ONNX op with no gradient translation). */
  | 'UNSUPPORTED'
  /** Images, targets, layer names or options passed by the caller do not fit the model. */
  | 'INVALID_INPUT'
  /** onnxruntime or TF.js failed while running the model. */
  | 'RUNTIME'
  /** An optional dependency needed for this call (onnxruntime-node, @tensorflow/tfjs) is not installed. */
  | 'MISSING_DEPENDENCY';

/**
 * The one error type thrown by @genome/gradcam. `message` says what was wrong and how to fix it; `code` lets
 * servers map it to a status (INVALID_* -> 400, UNSUPPORTED -> 422, RUNTIME -> 500).
 */
export class GradCamError extends Error {
  override readonly name = 'GradCamError';
  constructor(
    readonly code: GradCamErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
