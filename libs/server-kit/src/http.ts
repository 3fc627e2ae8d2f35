/**
 * HTTP pieces every Genome server shares (node:http/https, no framework).
 *
 * Reading a request body as JSON, defensively: a size limit (413), a content-type check (415), strict UTF-8, a UTF-8
 * byte-order mark accepted and dropped (RFC 8259 §8.1 lets parsers ignore it), and a bound on nesting depth checked
 * on the bytes before parsing, so a body nested 10,000 levels deep is a 400 that says so, not a stack overflow.
 *
 * Listening: what the HTTP parser refuses (a request line or headers over the limit, malformed syntax) is answered
 * with a status line instead of a reset, and deadlines are per call, not per socket.
 */
import { createServer as createHttp, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Duplex } from 'node:stream';
import { ServerKitError } from './errors.js';
import { quote } from './quote.js';
import { httpsServerOptions, type TlsFiles } from './tls.js';

/** An HTTP-level refusal with its own status (413, 415, 408), outside the gRPC-status mapping. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly statusName: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Media types accepted for a JSON body. KServe parses any body as JSON whatever its type, and its documented calls
 * use `curl -d` (application/x-www-form-urlencoded) and fetch sends strings as text/plain, so those pass too; types
 * that announce something else (multipart, octet-stream, XML, CSV, images) are refused with 415.
 */
export function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') return;
  const [type = '', ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  const json = type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
  if (!json && type !== 'text/plain' && type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `content type ${quote(type)} is not JSON: send the body as application/json`);
  }
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `charset ${quote(charset)} is not supported: send the JSON body as UTF-8`);
  }
}

/** What the 413 answer advises after "request body is larger than N bytes; ". */
export const DEFAULT_TOO_LARGE_HINT = 'split the request or raise --max-message-bytes';

/** Reads the body up to `limit` bytes (413 beyond); rejects with the signal's reason when it aborts first. */
export async function readBody(req: IncomingMessage, limit: number, signal: AbortSignal, tooLargeHint = DEFAULT_TOO_LARGE_HINT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const onAbort = () => req.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > limit) throw new HttpError(413, 'RESOURCE_EXHAUSTED', `request body is larger than ${limit} bytes; ${tooLargeHint}`);
      chunks.push(c as Buffer);
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks);
}

/** How a server words and types the 400s of {@link parseJsonBody}. */
export interface JsonBodyOptions {
  /** Deepest nesting of arrays/objects accepted. */
  maxDepth: number;
  /** Builds the error for a body that is not acceptable (default: a ServerKitError INVALID_ARGUMENT). */
  invalid?: (message: string) => Error;
  /** Added to the message of a body nested too deep, e.g. `; send rows as flat lists of numbers`. */
  depthHint?: string;
  /** What an empty body should have been (default `a JSON object`). */
  expected?: string;
}

const invalidArgument = (message: string): Error => new ServerKitError('INVALID_ARGUMENT', message);

/** Throws when the JSON text nests arrays/objects deeper than `max` (strings are skipped, escapes honoured). */
export function checkJsonDepth(bytes: Uint8Array, max: number, invalid: (message: string) => Error = invalidArgument, hint = ''): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) throw invalid(`request body nests lists/objects more than ${max} levels deep (at byte ${i})${hint}`);
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a JSON body after the content-type, encoding and depth checks. */
export function parseJsonBody(body: Buffer, contentType: string | undefined, opts: JsonBodyOptions): unknown {
  const invalid = opts.invalid ?? invalidArgument;
  checkContentType(contentType);
  checkJsonDepth(body, opts.maxDepth, invalid, opts.depthHint);
  let text: string;
  try {
    text = utf8.decode(body); // drops a leading BOM
  } catch {
    throw invalid('request body is not valid UTF-8: send JSON encoded as UTF-8');
  }
  if (text.trim() === '') throw invalid(`request body is empty: send ${opts.expected ?? 'a JSON object'}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

/** The path of a request target (origin-form or absolute-form) and its query, without a fragment; null when it has no path. */
export function splitTarget(target: string): { path: string; query: string } | null {
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(target);
  const rest = abs ? target.slice(abs[0].length) || '/' : target;
  if (!rest.startsWith('/')) return null;
  const hash = rest.indexOf('#');
  const noHash = hash >= 0 ? rest.slice(0, hash) : rest;
  const q = noHash.indexOf('?');
  return q >= 0 ? { path: noHash.slice(0, q), query: noHash.slice(q + 1) } : { path: noHash, query: '' };
}

/**
 * A 'clientError' listener: answers what the HTTP parser refused with a status line instead of a reset: 431 for
 * oversized headers or URL (`oversizedMessage`), 408 for headers that came too late, 400 otherwise. The rest of the
 * request is read and dropped until the client closes, so the answer is not lost to a TCP reset.
 */
export function clientErrorAnswerer(oversizedMessage: string): (err: Error & { code?: string }, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message = status === 431 ? oversizedMessage : status === 408 ? 'the request headers did not arrive in time' : 'the request is not valid HTTP/1.1';
    const body = JSON.stringify({ error: message });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    socket.on('error', () => {});
    socket.resume();
    setTimeout(() => socket.destroy(), 5000).unref();
  };
}

export interface HttpListenOptions {
  host: string;
  port: number;
  tls?: TlsFiles;
  /** The 431 answer's message (a request line or headers over 16 KiB). */
  oversizedMessage: string;
}

/**
 * An HTTP (or, with `tls`, HTTPS) server for `handler`, listening on host:port: headers within 30 s, no per-socket
 * request timeout (deadlines are per call), 5 s keep-alive, parser refusals answered (see
 * {@link clientErrorAnswerer}). Rejects with a CONFIG error that names the address when it cannot listen.
 */
export async function listenHttp(handler: RequestListener, opts: HttpListenOptions): Promise<{ server: Server; port: number }> {
  const server: Server = opts.tls ? createHttps(httpsServerOptions(opts.tls), handler) : createHttp(handler);
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // deadlines are per call, not per socket
  server.keepAliveTimeout = 5_000;
  server.on('clientError', clientErrorAnswerer(opts.oversizedMessage));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ServerKitError('CONFIG', `cannot listen for HTTP on ${opts.host}:${opts.port}: ${err.message}`, { cause: err })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : opts.port };
}

/**
 * Wraps an async request handler so that every request ends in an answer: whatever `route` throws or rejects with
 * goes to `fail` (which answers and logs); a `fail` that throws itself is logged and the socket destroyed.
 */
export function guardedHandler(
  route: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  fail: (req: IncomingMessage, res: ServerResponse, err: unknown) => void,
  logger: { error(obj: object, msg: string): void },
): RequestListener {
  return (req, res) => {
    const guard = (err: unknown) => {
      // Route errors are ordinary answers; anything else is a bug, answered 500 with an error id, never a crash.
      try {
        fail(req, res, err);
      } catch (again) {
        logger.error({ err: again }, 'could not answer a failed request');
        res.destroy();
      }
    };
    try {
      route(req, res).catch(guard);
    } catch (err) {
      guard(err);
    }
  };
}

/** A percent-decoded URL part (`what` names it in the error); a malformed encoding is the caller's error. */
export function decodePathSegment(raw: string, what: string, invalid: (message: string) => Error = invalidArgument): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid(`the ${what} in the URL, ${quote(raw)}, is not valid percent-encoding`);
  }
}
