/**
 * THE place where errors become statuses: every error code of the Genome servers and of the libraries they compose
 * (@genome/model-format, @genome/shap, @genome/lime, @genome/gradcam, @genome/model-store all throw errors with a
 * string `code`) maps to one gRPC status and one HTTP status. Every server calls {@link toStatus} and nothing else.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export interface MappedStatus {
  /** gRPC status code. */
  grpc: GrpcStatus;
  /** HTTP status for the REST endpoint. */
  http: number;
  /** Message safe to send to the client. */
  message: string;
  /** True when the error is a server bug (logged at error level with its stack). */
  internal: boolean;
}

/** Error code -> gRPC status. Codes starting with INVALID_ not listed here are INVALID_ARGUMENT. */
const CODE_TO_GRPC: Readonly<Record<string, GrpcStatus>> = {
  // sidecar
  INVALID_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  MODEL_NOT_FOUND: GrpcStatus.NOT_FOUND,
  MODEL_NOT_READY: GrpcStatus.UNAVAILABLE,
  OVER_BUDGET: GrpcStatus.INVALID_ARGUMENT,
  UNKNOWN_METHOD: GrpcStatus.INVALID_ARGUMENT,
  METHOD_NOT_APPLICABLE: GrpcStatus.FAILED_PRECONDITION,
  QUEUE_FULL: GrpcStatus.RESOURCE_EXHAUSTED,
  DEADLINE: GrpcStatus.DEADLINE_EXCEEDED,
  CANCELLED: GrpcStatus.CANCELLED,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  SHUTTING_DOWN: GrpcStatus.UNAVAILABLE,
  NOT_IMPLEMENTED: GrpcStatus.UNIMPLEMENTED,
  CONFIG: GrpcStatus.FAILED_PRECONDITION,
  // generic codes (model-store and the platform server use the gRPC names themselves)
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  // a stored blob or record that does not match its checksum
  CORRUPT: GrpcStatus.DATA_LOSS,
  // libraries (model-format, shap, lime, gradcam)
  INVALID_INPUT: GrpcStatus.INVALID_ARGUMENT,
  INVALID_OPTIONS: GrpcStatus.INVALID_ARGUMENT,
  INVALID_PARAMETER: GrpcStatus.INVALID_ARGUMENT,
  INVALID_PARAMETERS: GrpcStatus.INVALID_ARGUMENT,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  // A broken model file/package is the operator's problem, not the caller's.
  INVALID_MODEL: GrpcStatus.FAILED_PRECONDITION,
  INVALID_PACKAGE: GrpcStatus.FAILED_PRECONDITION,
  UNSUPPORTED: GrpcStatus.FAILED_PRECONDITION,
  UNSUPPORTED_MODEL: GrpcStatus.FAILED_PRECONDITION,
  MISSING_DEPENDENCY: GrpcStatus.FAILED_PRECONDITION,
  RUNTIME: GrpcStatus.UNAVAILABLE,
  TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ABORTED: GrpcStatus.CANCELLED,
  TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  // shap: exact SHAP over too many features is a request the caller can change
  TOO_MANY_FEATURES: GrpcStatus.INVALID_ARGUMENT,
  // the model answered with the wrong shape / non-finite values: a deployment mismatch
  MODEL_OUTPUT: GrpcStatus.FAILED_PRECONDITION,
};

/** gRPC status -> HTTP status (the mapping of google.rpc.Code, with 499 for client-cancelled). */
const GRPC_TO_HTTP: Readonly<Partial<Record<GrpcStatus, number>>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.DATA_LOSS]: 500,
};

/** HTTP status for a gRPC status. */
export function httpStatusOf(code: GrpcStatus): number {
  return GRPC_TO_HTTP[code] ?? 500;
}

/** Name of a gRPC status ("INVALID_ARGUMENT"), used as the `status` label of metrics. */
export function grpcStatusName(code: GrpcStatus): string {
  return GrpcStatus[code] ?? String(code);
}

/** Maps any thrown value to a status. Errors without a known `code` are INTERNAL and their message is hidden. */
export function toStatus(err: unknown, errorId?: string): MappedStatus {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  let grpc: GrpcStatus | undefined = code === undefined ? undefined : CODE_TO_GRPC[code];
  if (grpc === undefined && code?.startsWith('INVALID_')) grpc = GrpcStatus.INVALID_ARGUMENT;
  if (grpc === undefined) {
    const suffix = errorId ? ` (error id ${errorId}; see the server log)` : '';
    return { grpc: GrpcStatus.INTERNAL, http: 500, message: `internal error${suffix}`, internal: true };
  }
  return { grpc, http: httpStatusOf(grpc), message, internal: false };
}
