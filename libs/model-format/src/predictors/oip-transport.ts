/**
 * What a remote predictor needs from an Open Inference Protocol transport (gRPC or REST), and the error type
 * transports throw so the predictor knows when a retry may help.
 */
import { ModelFormatError, type ModelFormatErrorCode } from '../errors.js';
import type { OipInput, OipOutput } from './oip-tensor.js';

export interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface OipModelMetadata {
  name: string;
  platform?: string;
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
}

export interface OipInferCall {
  model: string;
  version?: string;
  inputs: OipInput[];
  /** Requested outputs; all when undefined. */
  outputs?: string[];
  timeoutMs: number;
  /** Send numeric inputs as raw little-endian bytes (gRPC `raw_input_contents`) instead of typed contents. */
  raw?: boolean;
  /**
   * The caller's cancellation: aborting it cancels the request at once (gRPC call cancelled, fetch aborted) and
   * the call rejects with `signal.reason` itself. An already aborted signal rejects without any network I/O.
   */
  signal?: AbortSignal;
}

/**
 * One Open Inference Protocol connection. Failures are {@link OipCallError}s whose messages name the server
 * (`target`), the model and the status; a per-request deadline ends as `TIMEOUT`, and a caller's abort rejects
 * with the signal's reason unchanged.
 */
export interface OipTransport {
  readonly protocol: 'grpc' | 'rest';
  /** host:port or base URL, for error messages. */
  readonly target: string;
  infer(call: OipInferCall): Promise<OipOutput[]>;
  /** Model metadata, or undefined when the server does not offer it. */
  metadata(model: string, version: string | undefined, timeoutMs: number): Promise<OipModelMetadata | undefined>;
  close(): Promise<void>;
}

/** A failed remote call. `unavailable` marks errors worth retrying (gRPC UNAVAILABLE, HTTP 503, refused connection). */
export class OipCallError extends ModelFormatError {
  constructor(
    code: ModelFormatErrorCode,
    message: string,
    readonly unavailable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
