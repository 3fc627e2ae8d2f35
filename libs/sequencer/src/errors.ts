/** Machine-readable reason attached to every {@link SequencerError}; servers map it to a status in one place. */
export type SequencerErrorCode =
  /** A pipeline, step, schedule, duration, run id or option the caller sent is malformed (gRPC INVALID_ARGUMENT, HTTP 400). */
  | 'INVALID_ARGUMENT'
  /** No such pipeline, run, step or attempt (NOT_FOUND, 404). */
  | 'NOT_FOUND'
  /** A record with that id already exists (ALREADY_EXISTS, 409). */
  | 'ALREADY_EXISTS'
  /** The run or pipeline is in the wrong state for the operation, e.g. cancelling a finished run (FAILED_PRECONDITION, 409). */
  | 'FAILED_PRECONDITION'
  /** The state store, the executor's backend (cluster, process spawner) cannot be reached or answered with an error (UNAVAILABLE, 503). */
  | 'UNAVAILABLE'
  /** An optional package the chosen backend needs is not installed; the message names the npm command (FAILED_PRECONDITION, 500). */
  | 'MISSING_DEPENDENCY'
  /** The operation was cancelled by its signal or by a cancel request (CANCELLED, 499). */
  | 'CANCELLED'
  /** The operation ran out of time (DEADLINE_EXCEEDED, 504). */
  | 'DEADLINE_EXCEEDED'
  /** The sequencer's own invariant broke: a bug to report (INTERNAL, 500). */
  | 'INTERNAL';

/**
 * The one error type thrown by @genome/sequencer. `message` says what was wrong and how to fix it; `code` lets
 * servers map it to a status.
 */
export class SequencerError extends Error {
  override readonly name = 'SequencerError';
  /** For a rejected pipeline: every problem found, each naming its field path (`steps[1][0].timeout`). */
  readonly violations?: Violation[];
  constructor(
    readonly code: SequencerErrorCode,
    message: string,
    options?: { cause?: unknown; violations?: Violation[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.violations) this.violations = options.violations;
  }
}

/** One problem in a pipeline document: `path` is like `steps[1][0].timeout` (empty for the document itself). */
export interface Violation {
  path: string;
  message: string;
}

/** True when `e` is a {@link SequencerError}, optionally with the given code. */
export function isSequencerError(e: unknown, code?: SequencerErrorCode): e is SequencerError {
  return e instanceof SequencerError && (code === undefined || e.code === code);
}
