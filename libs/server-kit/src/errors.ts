/** Machine-readable reason of a {@link ServerKitError}; {@link toStatus} maps it like every other error code. */
export type ServerKitErrorCode =
  /** Bearer token missing, malformed or unknown. */
  | 'UNAUTHENTICATED'
  /** The token is valid but its grant does not cover the model or the operation. */
  | 'PERMISSION_DENIED'
  /** The request is malformed (a body that is not JSON, nests too deep, …). */
  | 'INVALID_ARGUMENT'
  /** Invalid server configuration: a tokens file, TLS file or .proto file that cannot be read or is malformed, an option value that is not valid, a port that cannot be bound. */
  | 'CONFIG';

/** The one error type thrown by @genome/server-kit. `message` says what was wrong and how to fix it. */
export class ServerKitError extends Error {
  override readonly name = 'ServerKitError';
  constructor(
    readonly code: ServerKitErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
