/**
 * Machine-readable reason attached to every {@link PlatformError}. The names are the gRPC status names (or codes
 * @genome/server-kit's `toStatus` already maps), so the server-kit mapping is the one place that turns them into
 * gRPC and HTTP statuses.
 */
export type PlatformErrorCode =
  /** The request is malformed: a field, parameter, query or body the caller must fix (INVALID_ARGUMENT, 400). */
  | 'INVALID_ARGUMENT'
  /** No such route, model, version, blob or file (NOT_FOUND, 404). */
  | 'NOT_FOUND'
  /** A message, body or blob is over the server's limits (RESOURCE_EXHAUSTED, 429). */
  | 'RESOURCE_EXHAUSTED'
  /** The call took longer than its deadline (DEADLINE_EXCEEDED, 504). */
  | 'DEADLINE_EXCEEDED'
  /** The client went away or cancelled the call (CANCELLED, 499). */
  | 'CANCELLED'
  /** The server is draining for shutdown (UNAVAILABLE, 503). */
  | 'SHUTTING_DOWN'
  /** Invalid server configuration: flags, environment, tokens or TLS files (the process does not start). */
  | 'CONFIG';

/** The one error type thrown by the platform server itself. `message` says what was wrong and how to fix it. */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  constructor(
    readonly code: PlatformErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
