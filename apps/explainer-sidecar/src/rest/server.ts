/**
 * KServe-compatible REST on its own port (node:http/https, no framework):
 *   POST /v1/models/{name}:explain   {"instances": [...], "method"?, "parameters"?, "outputs"?} -> {"explanations": [...]}
 *   GET  /v1/models                  {"models": [names the caller may use]}
 *   GET  /v1/models/{name}           {"name", "ready": true}; 503 while the model is not ready (KServe V1)
 *   GET  /v2/models/{name}[/versions/{v}]/ready   {"name", "ready": true}; 503 while not ready (KServe V2)
 *   GET  /v2/health/live, /v2/health/ready   200 / 503, empty body (OIP health semantics)
 *   GET  /metrics                    Prometheus text
 * Errors: HTTP status from status.ts and {"error": "<message>"}. Every request ends in an answer: malformed URLs and
 * percent-encodings are 400s, a request line or headers over the limit are 431, and anything unexpected is a 500
 * with an error id that is in the log — the process keeps serving.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttp, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Duplex } from 'node:stream';
import { CallScope } from '../call-scope.js';
import type { SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import { dataFromInstances } from '../explain/input.js';
import { restAnswer } from '../explain/encode.js';
import { clip, httpsServerOptions, quote, type TlsFiles } from '@genome/server-kit';
import { HttpError, parseJsonBody, readBody } from './body.js';

export interface RestOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  tls?: TlsFiles;
  /** True once models are loaded and until shutdown starts. */
  isReady: () => boolean;
}

const EXPLAIN = /^\/v1\/models\/([^/:]+):explain$/;
const V1_MODEL = /^\/v1\/models\/([^/:]+)$/;
const V2_READY = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/ready$/;
const ROUTES = '/v1/models, /v1/models/{name}, /v1/models/{name}:explain, /v2/models/{name}/ready, /v2/health/live, /v2/health/ready, /metrics';

function send(res: ServerResponse, status: number, body?: unknown, type = 'application/json'): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The path of a request target (origin-form or absolute-form), without the query; null when it has none. */
function pathOf(target: string): string | null {
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(target);
  const rest = abs ? target.slice(abs[0].length) || '/' : target;
  if (!rest.startsWith('/')) return null;
  const q = rest.search(/[?#]/);
  return q >= 0 ? rest.slice(0, q) : rest;
}

/** A percent-decoded path segment; a malformed encoding is the caller's error. */
function segment(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SidecarError('INVALID_REQUEST', `the ${what} in the URL, ${quote(raw)}, is not valid percent-encoding`);
  }
}

export function restHandler(ctx: SidecarContext, opts: RestOptions) {
  /** Answers an error, logs it, counts it. */
  const failWith = (req: IncomingMessage, res: ServerResponse, rpc: string, err: unknown, fields: Record<string, unknown> = {}, seconds?: number): void => {
    const errorId = randomUUID();
    const s = err instanceof HttpError ? { http: err.status, message: err.message, internal: false, name: err.statusName } : ctx.status(err, errorId);
    if (seconds !== undefined) ctx.metrics.observe('rest', rpc, String(fields.method ?? ''), s.name, seconds);
    const line = { transport: 'rest', rpc, ...fields, status: s.name, http: s.http };
    if (s.internal) ctx.logger.error({ ...line, errorId, err }, 'call failed (internal)');
    else ctx.logger.info({ ...line, message: s.message }, 'call failed');
    if (res.headersSent || res.destroyed) return;
    // An unread request body would poison a kept-alive connection: close it after this answer.
    if (!req.complete) res.setHeader('connection', 'close');
    send(res, s.http, { error: s.message });
  };

  const explain = async (rawName: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const scope = new CallScope(ctx.shutdownSignal, Date.now() + ctx.limits.defaultDeadlineMs, ctx.metrics);
    const requestId = String(req.headers['x-request-id'] ?? randomUUID()).slice(0, 200);
    // Client went away before we answered: stop the work.
    const onClose = () => {
      if (!res.writableEnded) scope.cancel('client');
    };
    res.on('close', onClose);
    let method = '';
    let model = '';
    try {
      if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
      // Who asks, and for which model, before anything else (the body is not even read for a refused caller).
      const principal = ctx.auth.authenticate(req.headers.authorization);
      const m = ctx.service.resolve(principal, { name: segment(rawName, 'model name') });
      model = m.description.name;
      const body = parseJsonBody(await readBody(req, opts.maxBodyBytes, scope.signal), req.headers['content-type']);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SidecarError('INVALID_REQUEST', `request body must be a JSON object like {"instances": [[...], ...]}, got ${quote(body)}`);
      const b = body as Record<string, unknown>;
      const known = ['instances', 'inputs', 'method', 'parameters', 'outputs'];
      const extra = Object.keys(b).filter((k) => !known.includes(k));
      if (extra.length) throw new SidecarError('INVALID_REQUEST', `unknown field(s) ${extra.slice(0, 5).map((k) => clip(k)).join(', ')}; accepted: ${known.join(', ')}`);
      if (b.method !== undefined && b.method !== null && typeof b.method !== 'string') throw new SidecarError('INVALID_REQUEST', `"method" must be a string such as "tree_shap", got ${quote(b.method)}`);
      const params = b.parameters ?? {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new SidecarError('INVALID_REQUEST', `"parameters" must be an object, got ${quote(params)}`);
      const o = b.outputs;
      if (o !== undefined && o !== null && (typeof o !== 'object' || Array.isArray(o))) throw new SidecarError('INVALID_REQUEST', `"outputs" must be an object {indices?, names?, top_k?}, got ${quote(o)}`);
      const sel = o as Record<string, unknown> | undefined | null;
      if (sel) {
        const unknown = Object.keys(sel).filter((k) => !['indices', 'names', 'top_k'].includes(k));
        if (unknown.length) throw new SidecarError('INVALID_REQUEST', `"outputs" has unknown field(s) ${unknown.slice(0, 5).map((k) => clip(k)).join(', ')}; accepted: indices, names, top_k`);
      }
      const instances = b.instances ?? b.inputs;
      const p = ctx.service.prepare(m, {
        method: ((b.method as string | undefined | null) ?? '').toLowerCase(),
        params: params as Record<string, unknown>,
        outputs: sel ? { indices: sel.indices, names: sel.names, topK: sel.top_k } : undefined,
        data: (d) => dataFromInstances(instances, d, ctx.limits),
      });
      method = p.method.name;
      const e = await ctx.service.run(p, scope.signal);
      // Written in pieces with pauses, so a large answer does not stop the loop.
      const answer = await restAnswer(e, p.model.description, requestId, scope.signal);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      for (const b of answer.buffers) res.write(b);
      res.end();
      ctx.metrics.observe('rest', 'explain', method, 'OK', scope.elapsedMs() / 1000);
      ctx.logger.info({ transport: 'rest', rpc: 'explain', method, model, rows: p.rows, requestId, ms: +scope.elapsedMs().toFixed(3), status: 'OK' }, 'call done');
    } catch (err) {
      failWith(req, res, 'explain', err, { method, model, requestId, ms: +scope.elapsedMs().toFixed(3) }, scope.elapsedMs() / 1000);
    } finally {
      res.off('close', onClose);
      scope.dispose();
    }
  };

  /** GET routes that name a model: who asks first, then whether the model exists for them, then readiness. */
  const modelStatus = (req: IncomingMessage, res: ServerResponse, rawName: string, rawVersion: string | undefined): void => {
    const principal = ctx.auth.authenticate(req.headers.authorization);
    const name = segment(rawName, 'model name');
    const version = rawVersion === undefined ? '' : segment(rawVersion, 'model version');
    const m = ctx.service.resolve(principal, { name, version });
    send(res, 200, { name: m.description.name, ready: true });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req.url ?? '');
    if (path === null) throw new SidecarError('INVALID_REQUEST', `request target ${quote(req.url)} is not a path; use one of ${ROUTES}`);
    if (ctx.isDraining()) res.setHeader('connection', 'close');
    const m = EXPLAIN.exec(path);
    if (m) {
      if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use POST for /v1/models/{name}:explain`);
      return explain(m[1]!, req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${quote(req.method, 20)} is not allowed here; the only POST route is /v1/models/{name}:explain`);
    if (path === '/v2/health/live') return send(res, 200);
    if (path === '/v2/health/ready') return send(res, opts.isReady() ? 200 : 503);
    if (path === '/metrics') return send(res, 200, await ctx.metrics.registry.metrics(), ctx.metrics.registry.contentType);
    if (path === '/v1/models') {
      const principal = ctx.auth.authenticate(req.headers.authorization);
      return send(res, 200, { models: ctx.service.visibleNames(principal) });
    }
    const v1 = V1_MODEL.exec(path);
    if (v1) return modelStatus(req, res, v1[1]!, undefined);
    const v2 = V2_READY.exec(path);
    if (v2) return modelStatus(req, res, v2[1]!, v2[2]);
    throw new HttpError(404, 'NOT_FOUND', `no route for ${quote(req.method, 20)} ${quote(path)}; routes: ${ROUTES}`);
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const guard = (err: unknown) => {
      // Route errors are ordinary answers; anything else is a bug, answered 500 with an error id, never a crash.
      try {
        failWith(req, res, 'http', err, { path: quote(req.url, 200) });
      } catch (again) {
        ctx.logger.error({ err: again }, 'could not answer a failed request');
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

/**
 * Answers what the HTTP parser refused (a request line or headers over the limit, malformed syntax) with a status
 * line instead of a reset: 431 for oversized headers or URL, 400 otherwise. The rest of the request is read and
 * dropped until the client closes, so the answer is not lost to a TCP reset.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431
      ? 'the request line or headers are larger than this server accepts (16 KiB); send the model name in a shorter URL and the data in the body'
      : status === 408
        ? 'the request headers did not arrive in time'
        : 'the request is not valid HTTP/1.1';
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  socket.on('error', () => {});
  socket.resume();
  setTimeout(() => socket.destroy(), 5000).unref();
}

export async function startRest(ctx: SidecarContext, opts: RestOptions): Promise<{ server: Server; port: number }> {
  const handler = restHandler(ctx, opts);
  const server: Server = opts.tls
    ? createHttps(httpsServerOptions(opts.tls), handler)
    : createHttp(handler);
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // deadlines are per call (CallScope), not per socket
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new SidecarError('CONFIG', `cannot listen for HTTP on ${opts.host}:${opts.port}: ${err.message}`, { cause: err })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : opts.port };
}
