/** Machine-readable reason attached to every {@link ModelStoreError}; servers map it to a status in one place. */
export type ModelStoreErrorCode =
  /** A name, reference, metadata field, tag, metric, filter, page token or package the caller sent is malformed (gRPC INVALID_ARGUMENT, HTTP 400). */
  | 'INVALID_ARGUMENT'
  /** No such model, version, alias, run, file or blob (NOT_FOUND, 404). */
  | 'NOT_FOUND'
  /** The version is in the wrong state for the operation, e.g. purging a ready version (FAILED_PRECONDITION, 409). */
  | 'FAILED_PRECONDITION'
  /** A stored blob does not match its SHA-256, or a log record cannot be read (DATA_LOSS, 500). */
  | 'CORRUPT'
  /** The metadata or blob backend cannot be reached or answered with an error (UNAVAILABLE, 503). */
  | 'UNAVAILABLE'
  /** A backend's optional package (@keyv/postgres, @keyv/redis, @aws-sdk/client-s3) is not installed; the message names the npm command (FAILED_PRECONDITION, 500). */
  | 'MISSING_DEPENDENCY'
  /** The operation was cancelled by its signal (CANCELLED, 499). */
  | 'CANCELLED'
  /** The store's own invariant broke: a bug to report (INTERNAL, 500). */
  | 'INTERNAL';

/**
 * The one error type thrown by @genome/model-store. `message` says what was wrong and how to fix it; `code` lets
 * servers map it to a status.
 */
export class ModelStoreError extends Error {
  override readonly name = 'ModelStoreError';
  constructor(
    readonly code: ModelStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
