/** The one error type of the CLI: a message for the user and the exit code it maps to. Never shown with a stack. */
import { EXIT, type ExitCode } from './exit-codes.js';

export type CliErrorCode =
  /** Bad flags or input, found before any network call. */
  | 'USAGE'
  /** The server (or the model store) answered with an error status (`grpcStatus` names it). */
  | 'SERVER'
  /** `genome store`: no such model, version, alias, file or run. */
  | 'NOT_FOUND'
  /** The server could not be reached. */
  | 'UNREACHABLE'
  /** A bug or an unexpected answer (e.g. a malformed response). */
  | 'INTERNAL';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  USAGE: EXIT.USAGE,
  SERVER: EXIT.SERVER,
  UNREACHABLE: EXIT.UNREACHABLE,
  NOT_FOUND: EXIT.NOT_FOUND,
  INTERNAL: EXIT.SERVER,
};

export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: CliErrorCode,
    message: string,
    /** The status name printed before the message: a gRPC status (NOT_FOUND), or a model store error code (CORRUPT). */
    readonly grpcStatus?: string,
  ) {
    super(message);
  }

  get exitCode(): ExitCode {
    return EXIT_OF[this.code];
  }

  /** The line printed on stderr. */
  get userMessage(): string {
    return this.grpcStatus ? `error: ${this.grpcStatus}: ${this.message}` : `error: ${this.message}`;
  }
}

export const usageError = (message: string): CliError => new CliError('USAGE', message);
