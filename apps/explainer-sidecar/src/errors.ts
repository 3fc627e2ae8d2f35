/** Machine-readable reason attached to every {@link SidecarError}; mapped to gRPC/HTTP statuses in `status.ts`. */
export type SidecarErrorCode =
  /** The request is malformed (missing input, wrong row width, bad parameter). */
  | 'INVALID_REQUEST'
  /** No model with that name/version is served here. */
  | 'MODEL_NOT_FOUND'
  /** The model is configured but not loaded yet (its model server is unreachable); a background retry runs. */
  | 'MODEL_NOT_READY'
  /** The call asks for more work than the server's limits allow (samples, model rows, answer size). */
  | 'OVER_BUDGET'
  /** The method name is not registered. */
  | 'UNKNOWN_METHOD'
  /** The method exists but cannot explain this model or input kind. */
  | 'METHOD_NOT_APPLICABLE'
  /** The request queue is full. */
  | 'QUEUE_FULL'
  /** The call's deadline passed. */
  | 'DEADLINE'
  /** The client cancelled the call. */
  | 'CANCELLED'
  /** Bearer token missing or unknown. */
  | 'UNAUTHENTICATED'
  /** Token valid, but not for this model. */
  | 'PERMISSION_DENIED'
  /** The server is draining for shutdown. */
  | 'SHUTTING_DOWN'
  /** The feature is reserved (Visualize) or not built in. */
  | 'NOT_IMPLEMENTED'
  /** Invalid server configuration (flags, env, config file). */
  | 'CONFIG';

/** The one error type thrown by the sidecar. `message` says what was wrong and how to fix it. */
export class SidecarError extends Error {
  override readonly name = 'SidecarError';
  constructor(
    readonly code: SidecarErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
