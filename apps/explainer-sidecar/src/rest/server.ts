/**
 * KServe-compatible REST on its own port (node:http/https, no framework):
 *   POST /v1/models/{name}:explain   {"instances": [...], "method"?, "parameters"?, "outputs"?} -> {"explanations": [...]}
 *   GET  /v1/models                  {"models": [names]}
 *   GET  /v1/models/{name}           {"name", "ready"}  (404 unknown)
 *   GET  /v2/health/live, /v2/health/ready   200 / 503, empty body (OIP health semantics)
 *   GET  /metrics                    Prometheus text
 * Errors: HTTP status from status.ts and {"error": "<message>"}.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import { CallScope } from '../call-scope.js';
import type { SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import { dataFromInstances } from '../explain/input.js';
import { splitRows } from '../explain/response.js';
import type { TlsFiles } from '../grpc/server.js';
import { grpcStatusName, toStatus } from '../status.js';

export interface RestOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  tls?: TlsFiles;
  /** True once models are loaded and until shutdown starts. */
  isReady: () => boolean;
}

const EXPLAIN = /^\/v1\/models\/([^/:]+):explain$/;
const MODEL = /^\/v1\/models\/([^/:]+)$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body?: unknown, type = 'application/json'): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body is larger than ${limit} bytes; split the request or raise --max-message-bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SidecarError('INVALID_REQUEST', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function restHandler(ctx: SidecarContext, opts: RestOptions) {
  const explain = async (name: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const scope = new CallScope(ctx.shutdownSignal, Date.now() + ctx.limits.defaultDeadlineMs, ctx.metrics);
    const requestId = String(req.headers['x-request-id'] ?? randomUUID());
    // Client went away before we answered: stop the work.
    const onClose = () => {
      if (!res.writableEnded) scope.cancel('client');
    };
    res.on('close', onClose);
    let method = '';
    try {
      if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
      const principal = ctx.auth.authenticate(req.headers.authorization);
      const body = await readJson(req, opts.maxBodyBytes);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SidecarError('INVALID_REQUEST', 'request body must be a JSON object like {"instances": [[...], ...]}');
      const b = body as Record<string, unknown>;
      const known = ['instances', 'inputs', 'method', 'parameters', 'outputs'];
      const extra = Object.keys(b).filter((k) => !known.includes(k));
      if (extra.length) throw new SidecarError('INVALID_REQUEST', `unknown field(s) ${extra.join(', ')}; accepted: ${known.join(', ')}`);
      const instances = b.instances ?? b.inputs;
      if (b.method !== undefined && typeof b.method !== 'string') throw new SidecarError('INVALID_REQUEST', '"method" must be a string such as "tree_shap"');
      const params = b.parameters ?? {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new SidecarError('INVALID_REQUEST', '"parameters" must be an object');
      const o = (b.outputs ?? undefined) as { indices?: number[]; names?: string[]; top_k?: number } | undefined;
      if (o !== undefined && (o === null || typeof o !== 'object')) throw new SidecarError('INVALID_REQUEST', '"outputs" must be an object {indices?, names?, top_k?}');
      const p = ctx.service.prepare({
        model: { name },
        method: ((b.method as string | undefined) ?? '').toLowerCase(),
        params: params as Record<string, unknown>,
        outputs: o ? { indices: o.indices, names: o.names, topK: o.top_k } : undefined,
        data: (d) => {
          ctx.auth.authorize(principal, d.name);
          return dataFromInstances(instances, d, ctx.limits);
        },
      });
      method = p.method.name;
      const e = await ctx.service.run(p, scope.signal);
      const d = p.model.description;
      send(res, 200, { model_name: d.name, model_version: d.version, id: requestId, method: e.method, explanations: splitRows(e) });
      ctx.metrics.observe('rest', 'explain', method, 'OK', scope.elapsedMs() / 1000);
      ctx.logger.info({ transport: 'rest', rpc: 'explain', method, model: d.name, rows: p.rows, requestId, ms: +scope.elapsedMs().toFixed(3), status: 'OK' }, 'call done');
    } catch (err) {
      const errorId = randomUUID();
      const s = err instanceof HttpError ? { http: err.status, message: err.message, internal: false, name: 'RESOURCE_EXHAUSTED' } : (() => {
        const m = toStatus(err, errorId);
        return { http: m.http, message: m.message, internal: m.internal, name: grpcStatusName(m.grpc) };
      })();
      ctx.metrics.observe('rest', 'explain', method, s.name, scope.elapsedMs() / 1000);
      const fields = { transport: 'rest', rpc: 'explain', method, model: name, requestId, ms: +scope.elapsedMs().toFixed(3), status: s.name };
      if (s.internal) ctx.logger.error({ ...fields, errorId, err }, 'call failed (internal)');
      else ctx.logger.info({ ...fields, message: s.message }, 'call failed');
      if (!res.headersSent && !res.destroyed) {
        // An unread request body would poison a kept-alive connection: close it after this answer.
        if (!req.complete) res.setHeader('connection', 'close');
        send(res, s.http, { error: s.message });
      }
    } finally {
      res.off('close', onClose);
      scope.dispose();
    }
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const fail = (status: number, message: string) => send(res, status, { error: message });
    const authorized = (model?: string): boolean => {
      try {
        const p = ctx.auth.authenticate(req.headers.authorization);
        if (model !== undefined) ctx.auth.authorize(p, model);
        return true;
      } catch (err) {
        const s = toStatus(err);
        fail(s.http, s.message);
        return false;
      }
    };
    if (ctx.isDraining()) res.setHeader('connection', 'close');
    const m = EXPLAIN.exec(path);
    if (m) {
      if (req.method !== 'POST') return fail(405, `use POST for ${path}`);
      void explain(decodeURIComponent(m[1]!), req, res);
      return;
    }
    if (req.method !== 'GET') return fail(405, `${req.method} is not allowed on ${path}`);
    if (path === '/v2/health/live') return send(res, 200);
    if (path === '/v2/health/ready') return send(res, opts.isReady() ? 200 : 503);
    if (path === '/metrics') {
      ctx.metrics.registry.metrics().then(
        (text) => send(res, 200, text, ctx.metrics.registry.contentType),
        (err: unknown) => fail(500, String(err)),
      );
      return;
    }
    if (path === '/v1/models') {
      if (!authorized()) return;
      const p = ctx.auth.authenticate(req.headers.authorization);
      return send(res, 200, { models: ctx.service.models.list().map((x) => x.description.name).filter((n) => ctx.auth.canUse(p, n)) });
    }
    const mm = MODEL.exec(path);
    if (mm) {
      const name = decodeURIComponent(mm[1]!);
      if (!ctx.service.models.has(name)) return fail(404, `no model named "${name}" is served here`);
      if (!authorized(name)) return;
      return send(res, 200, { name, ready: opts.isReady() });
    }
    fail(404, `no route for GET ${path}; see /v1/models, /v1/models/{name}:explain, /v2/health/ready, /metrics`);
  };
}

export async function startRest(ctx: SidecarContext, opts: RestOptions): Promise<{ server: Server; port: number }> {
  const handler = restHandler(ctx, opts);
  const server: Server = opts.tls
    ? createHttps(
        {
          cert: readFileSync(opts.tls.certFile),
          key: readFileSync(opts.tls.keyFile),
          ...(opts.tls.caFile ? { ca: readFileSync(opts.tls.caFile) } : {}),
          requestCert: opts.tls.requireClientCert ?? false,
          rejectUnauthorized: opts.tls.requireClientCert ?? false,
        },
        handler,
      )
    : createHttp(handler);
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // deadlines are per call (CallScope), not per socket
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new SidecarError('CONFIG', `cannot listen for HTTP on ${opts.host}:${opts.port}: ${err.message}`, { cause: err })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : opts.port };
}
