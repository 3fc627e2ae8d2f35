/** Machine-readable reason attached to every {@link VizError}. */
export type VizErrorCode =
  /** The explanation, model, rows or chart options passed by the caller are malformed or do not fit the chart. */
  | 'INVALID_INPUT'
  /** The chart cannot show this kind of explanation or model (e.g. a waterfall of a Grad-CAM map). */
  | 'UNSUPPORTED'
  /** The PNG renderer is not installed (`@resvg/resvg-js`). */
  | 'MISSING_DEPENDENCY'
  /** The PNG renderer failed. */
  | 'RUNTIME';

/**
 * The one error type thrown by @genome/viz. `message` says what was wrong and how to fix it; `code` lets servers map
 * it to a status (INVALID_INPUT -> INVALID_ARGUMENT / HTTP 400, UNSUPPORTED -> FAILED_PRECONDITION / HTTP 400).
 */
export class VizError extends Error {
  override readonly name = 'VizError';
  constructor(
    readonly code: VizErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
