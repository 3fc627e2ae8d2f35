/** gRPC calls as promises, and gRPC errors as CLI errors (server answered = exit 1, not reached = exit 3). */
import { status, type CallOptions, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { CliError } from './errors.js';
import type { Connection } from './connection.js';

/** The name of a gRPC status code, e.g. 5 -> NOT_FOUND. */
export function statusName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? `STATUS_${code}`;
}

/**
 * Details grpc-js itself writes when no transport to the server is usable (a server's own UNAVAILABLE, e.g. "model
 * is not ready", is an answer: exit 1). Anchored, so a server message that quotes such text is not mistaken for it.
 */
const TRANSPORT_FAILURE = /^(No connection established|Connection dropped|Call dropped by load balancing policy|Failed to connect|failed to connect)/;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/** Maps an error of a call on `conn` to a CliError. */
export function callError(err: unknown, conn: Connection): CliError {
  if (err instanceof CliError) return err;
  if (!isServiceError(err)) return new CliError('INTERNAL', err instanceof Error ? err.message : String(err));
  const name = statusName(err.code);
  // One line: grpc-js appends an empty "Resolution note:" to connection errors, and OpenSSL errors span lines.
  const details = (err.details || err.message).replace(/\s*Resolution note:\s*$/, '').replace(/\s+/g, ' ').trim();
  const notReached =
    ((err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) && !conn.reachedServer) ||
    (err.code === status.UNAVAILABLE && TRANSPORT_FAILURE.test(details));
  if (notReached) {
    const why = err.code === status.DEADLINE_EXCEEDED ? `no connection within ${conn.settings.deadlineMs} ms (--deadline-ms)` : details;
    const hint = connectHint(details, conn.settings.tls);
    return new CliError('UNREACHABLE', `could not reach ${conn.settings.address}: ${why}${hint ? ` (${hint})` : ''}`, name);
  }
  if (err.code === status.DEADLINE_EXCEEDED && details.startsWith('Deadline exceeded')) {
    return new CliError('SERVER', `no answer within ${conn.settings.deadlineMs} ms (raise --deadline-ms)`, name);
  }
  return new CliError('SERVER', details, name);
}

/** What to try when a connection failed for a reason the flags can fix. */
function connectHint(details: string, tls: boolean): string | undefined {
  if (/certificate required/i.test(details)) return 'the server requires a client certificate: add --tls-cert FILE --tls-key FILE';
  if (/ALTNAME_INVALID|does not match certificate/i.test(details)) return "the server's certificate is for another name: connect by that name, or add --tls-server-name NAME";
  if (/self[- ]signed certificate|unable to (get local issuer|verify)/i.test(details)) return "the server's certificate is not trusted: add --tls-ca FILE with its CA";
  if (!tls && /Last error: Failed to connect\b/.test(details)) return 'if the server uses TLS, add --tls or --tls-ca FILE';
  return undefined;
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

/** Runs one unary call with the connection's metadata and deadline. */
export function unary<Res>(conn: Connection, invoke: (md: Metadata, options: Partial<CallOptions>, cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    invoke(conn.metadata(), conn.callOptions(), (err, res) => {
      if (err) reject(callError(err, conn));
      else if (res === undefined) reject(new CliError('INTERNAL', 'the server sent an empty answer'));
      else resolve(res);
    });
  });
}
