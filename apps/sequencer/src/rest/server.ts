/**
 * REST on its own port (node:http/https, no framework), routing to the hosted services' routes:
 *   - every hosted route (see each service's table, e.g. src/store/rest.ts under /v1.0/genome/modelstore/);
 *   - GET /v2/health/live (200 while the process runs), GET /v2/health/ready (200 when serving, 503 while draining).
 * Errors: HTTP status from @genome/server-kit's mapping and {"error": "<message>"}. Every request ends in an answer:
 * malformed URLs and percent-encodings are 400s, unknown paths 404 (listing the routes), a known path with another
 * method 405 with `allow`, request lines or headers over the limit 431, and anything unexpected is a 500 with an
 * error id that is in the log — the process keeps serving.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { HttpError, clip, decodePathSegment, guardedHandler, listenHttp, parseJsonBody, quote, readBody, splitTarget, type TlsFiles } from '@genome/server-kit';
import { CallScope, publicStatus, type HostContext } from '../context.js';
import { PlatformError } from '../errors.js';
import type { RestRoute } from '../hosted.js';

/** Deepest nesting of arrays/objects in a request body (store requests need 4). */
export const MAX_JSON_DEPTH = 32;

export interface RestOptions {
  host: string;
  port: number;
  tls?: TlsFiles;
  /** True while the server serves (false once draining starts). */
  isReady: () => boolean;
}

interface CompiledRoute {
  route: RestRoute;
  regex: RegExp;
  names: string[];
}

/** `{name}` = one segment without `/` or `:`; a last `{path+}` = the rest (slashes included). */
export function compileRoute(route: RestRoute): CompiledRoute {
  const names: string[] = [];
  const src = route.path.replace(/[.*?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\+?)\}/g, (_m, name: string, plus: string) => {
    names.push(name);
    return plus ? '(.+)' : '([^/:]+)';
  });
  return { route, regex: new RegExp(`^${src}$`), names };
}

export function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const decodeSegment = (raw: string, what: string): string => decodePathSegment(raw, what, (message) => new PlatformError('INVALID_ARGUMENT', message));

function parseQuery(query: string): URLSearchParams {
  // URLSearchParams replaces malformed escapes instead of failing: check them first so the caller hears about it.
  for (const part of query.split('&')) {
    if (/%(?![0-9a-fA-F]{2})/.test(part)) throw new PlatformError('INVALID_ARGUMENT', `the query string has a malformed percent-encoding in ${quote(part)}`);
  }
  return new URLSearchParams(query);
}

export function restHandler(ctx: HostContext, routes: RestRoute[], opts: RestOptions) {
  const compiled = routes.map(compileRoute);
  const listing = [...new Set(routes.map((r) => `${r.method} ${r.path}`))];
  const routeHelp = `routes: ${listing.slice(0, 6).join(', ')}, ... (${listing.length} in all; see the server README), /v2/health/live, /v2/health/ready`;

  const failWith = (req: IncomingMessage, res: ServerResponse, rpc: string, err: unknown, fields: Record<string, unknown>): void => {
    const errorId = randomUUID();
    const s = err instanceof HttpError ? { http: err.status, message: err.message, internal: false, name: err.statusName } : publicStatus(err, errorId);
    const line = { transport: 'rest', rpc, ...fields, status: s.name, http: s.http };
    if (s.internal) ctx.logger.error({ ...line, errorId, err }, 'call failed (internal)');
    else ctx.logger.info({ ...line, message: s.message }, 'call failed');
    if (res.headersSent) {
      // Part of a download went out: cut the connection so the client sees a truncated body, never a good one.
      res.destroy();
      return;
    }
    if (res.destroyed) return;
    // An unread request body would poison a kept-alive connection: close it after this answer.
    if (!req.complete) res.setHeader('connection', 'close');
    send(res, s.http, { error: s.message });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = splitTarget(req.url ?? '');
    if (target === null) throw new PlatformError('INVALID_ARGUMENT', `request target ${quote(req.url)} is not a path; ${routeHelp}`);
    const { path } = target;
    if (ctx.isDraining()) res.setHeader('connection', 'close');
    if (path === '/v2/health/live' || path === '/v2/health/ready') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use GET for ${path}`);
      return send(res, path.endsWith('live') || opts.isReady() ? 200 : 503);
    }
    const matches = compiled.map((c) => ({ c, m: c.regex.exec(path) })).filter((x) => x.m !== null);
    if (matches.length === 0) throw new PlatformError('NOT_FOUND', `no route for ${quote(req.method, 20)} ${quote(path)}; ${routeHelp}`);
    const hit = matches.find((x) => x.c.route.method === req.method);
    if (!hit) {
      const allow = [...new Set(matches.map((x) => x.c.route.method))].join(', ');
      res.setHeader('allow', allow);
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${quote(req.method, 20)} is not allowed on ${quote(path)}; use ${allow}`);
    }
    const r = hit.c.route;
    const scope = new CallScope(ctx, Date.now() + (r.transfer ? ctx.limits.transferDeadlineMs : ctx.limits.defaultDeadlineMs));
    const onClose = () => {
      if (!res.writableEnded) scope.cancel('client');
    };
    res.on('close', onClose);
    let subject = '';
    try {
      if (ctx.isDraining()) throw new PlatformError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
      // Who asks, and whether they may, before the body is read.
      const principal = ctx.auth.authenticate(req.headers.authorization);
      subject = principal.subject;
      ctx.auth.require(principal, r.scope);
      const params: Record<string, string> = {};
      hit.c.names.forEach((n, i) => (params[n] = decodeSegment(hit.m![i + 1]!, n)));
      const query = parseQuery(target.query);
      const answer = await r.handle({
        req,
        res,
        params,
        query,
        principal,
        scope,
        json: async () =>
          parseJsonBody(await readBody(req, ctx.limits.maxMessageBytes, scope.signal, 'split the request or ask the operator to raise --max-message-bytes'), req.headers['content-type'], {
            maxDepth: MAX_JSON_DEPTH,
            invalid: (message) => new PlatformError('INVALID_ARGUMENT', message),
          }),
      });
      scope.check();
      if (answer) {
        // A handler may answer without reading the whole body (a blob the store already holds): close afterwards.
        if (!req.complete) res.setHeader('connection', 'close');
        send(res, answer.status ?? 200, answer.body);
      }
      ctx.logger.info({ transport: 'rest', rpc: r.rpc, subject, ms: +scope.elapsedMs().toFixed(3), status: 'OK', http: res.statusCode }, 'call done');
    } catch (err) {
      failWith(req, res, r.rpc, err, { subject, ms: +scope.elapsedMs().toFixed(3) });
    } finally {
      res.off('close', onClose);
      scope.dispose();
    }
  };

  return guardedHandler(route, (req, res, err) => failWith(req, res, 'http', err, { method: clip(String(req.method)), path: quote(req.url, 200) }), ctx.logger);
}

export async function startRest(ctx: HostContext, routes: RestRoute[], opts: RestOptions): Promise<{ server: Server; port: number }> {
  return listenHttp(restHandler(ctx, routes, opts), {
    host: opts.host,
    port: opts.port,
    ...(opts.tls ? { tls: opts.tls } : {}),
    oversizedMessage: 'the request line or headers are larger than this server accepts (16 KiB): send long values in the body',
  });
}
