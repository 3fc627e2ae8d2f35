/** The one error type of the CLI: a message for the user and the exit code it maps to. Never shown with a stack. */
import { EXIT, type ExitCode } from './exit-codes.js';

export type CliErrorCode =
  /** Bad flags or input, found before any network call. */
  | 'USAGE'
  /** The server answered with a gRPC error status (`grpcStatus` names it). */
  | 'SERVER'
  /** The server could not be reached. */
  | 'UNREACHABLE'
  /** A bug or an unexpected answer (e.g. a malformed response). */
  | 'INTERNAL';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  USAGE: EXIT.USAGE,
  SERVER: EXIT.SERVER,
  UNREACHABLE: EXIT.UNREACHABLE,
  INTERNAL: EXIT.SERVER,
};

export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: CliErrorCode,
    message: string,
    /** For SERVER / UNREACHABLE errors: the gRPC status name, e.g. NOT_FOUND. */
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
