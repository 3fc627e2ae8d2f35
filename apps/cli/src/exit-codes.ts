/** The exit codes a script can rely on (also printed by `genome --help` and listed in the README). */
export const EXIT = {
  /** Success (for `health`: the service is SERVING). */
  OK: 0,
  /** The server (or the model store) answered with an error (or `health` answered something other than SERVING). */
  SERVER: 1,
  /** Usage error: bad flags, an unreadable or malformed input file; nothing was sent. */
  USAGE: 2,
  /** The server could not be reached: connection refused, TLS handshake refused, no answer before the deadline. */
  UNREACHABLE: 3,
  /** `genome store`: no such model, version, alias, file or pipeline run. */
  NOT_FOUND: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (health: SERVING)
  1  the server answered an error, printed as "error: <GRPC_STATUS>: <details>" (health: not SERVING; store: FAILED_PRECONDITION, CORRUPT, ...)
  2  usage error: bad flags, unreadable or malformed input file, nothing was sent (store: INVALID_ARGUMENT, e.g. a bad reference or filter)
  3  the server could not be reached: connection refused, TLS refused, no connection before the deadline (store: a backend is UNAVAILABLE)
  4  NOT_FOUND: no such model, version, alias or file (store), no such run, step or scheduled pipeline (pipeline)`;
