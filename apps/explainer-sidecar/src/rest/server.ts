/**
 * KServe-compatible REST on its own port (node:http/https, no framework):
 *   POST /v1/models/{name}:explain   {"instances": [...], "method"?, "parameters"?, "outputs"?} -> {"explanations": [...]}
 *   GET  /v1/models                  {"models": [names the caller may use]}
 *   GET  /v1/models/{name}           {"name", "ready": true}; 503 while the model is not ready (KServe V1); a store-backed
 *                                    model adds "version" and "store" {ref, name, version, alias, digest, follows}
 *   GET  /v2/models/{name}[/versions/{v}]/ready   {"name", "ready": true}; 503 while not ready (KServe V2)
 *   GET  /v2/health/live, /v2/health/ready   200 / 503, empty body (OIP health semantics)
 *   GET  /metrics                    Prometheus text
 * Errors: HTTP status from status.ts and {"error": "<message>"}. Every request ends in an answer: malformed URLs and
 * percent-encodings are 400s, a request line or headers over the limit are 431, and anything unexpected is a 500
 * with an error id that is in the log — the process keeps serving.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { CallScope } from '../call-scope.js';
import type { SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import { dataFromInstances } from '../explain/input.js';
import { restAnswer } from '../explain/encode.js';
import type { ExplainCall } from '../explain/service.js';
import { isModelChart } from '@genome/viz';
import { visualize, type VisualizeCall } from '../visualize/service.js';
import type { RawCell } from '@genome/model-format';
import { modelMetadata } from './metadata.js';
import { uiAsset } from '../ui/assets.js';
import { HttpError, clip, decodePathSegment, guardedHandler, listenHttp, parseJsonBody, quote, readBody, splitTarget, type Principal, type TlsFiles } from '@genome/server-kit';

/** Deepest nesting of arrays/objects in a request body (an image as nested [C][H][W] lists needs 5). */
export const MAX_JSON_DEPTH = 64;

export interface RestOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  tls?: TlsFiles;
  /** True once models are loaded and until shutdown starts. */
  isReady: () => boolean;
}

const EXPLAIN = /^\/v1\/models\/([^/:]+):explain$/;
const VISUALIZE = /^\/v1\/models\/([^/:]+):visualize$/;
const V2_MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?$/;
const V1_MODEL = /^\/v1\/models\/([^/:]+)$/;
const V2_READY = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/ready$/;
const ROUTES = '/ (explorer page), /v1/models, /v1/models/{name}, /v1/models/{name}:explain, /v1/models/{name}:visualize, /v2/models/{name}, /v2/models/{name}/ready, /v2/health/live, /v2/health/ready, /metrics';

function send(res: ServerResponse, status: number, body?: unknown, type = 'application/json'): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A percent-decoded path segment; a malformed encoding is the caller's error. */
const segment = (raw: string, what: string): string => decodePathSegment(raw, what, (message) => new SidecarError('INVALID_REQUEST', message));

const EXPLAIN_FIELDS = ['instances', 'inputs', 'method', 'parameters', 'outputs'];
const VISUALIZE_FIELDS = [...EXPLAIN_FIELDS, 'kind', 'format', 'options', 'explanation', 'row'];

/** The Explain call a REST body asks for (`instances`/`inputs`, `method`, `parameters`, `outputs`); `known` lists every accepted field. */
function explainCallFromBody(ctx: SidecarContext, b: Record<string, unknown>, known: readonly string[]): ExplainCall {
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
  return {
    method: ((b.method as string | undefined | null) ?? '').toLowerCase(),
    params: params as Record<string, unknown>,
    outputs: sel ? { indices: sel.indices, names: sel.names, topK: sel.top_k } : undefined,
    data: (d) => dataFromInstances(instances, d, ctx.limits),
  };
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

  /** What a POST route's body runs with. */
  interface PostCall {
    scope: CallScope;
    requestId: string;
    principal: Principal;
    /** Logged with the call's outcome (`method` also labels the metrics). */
    fields: Record<string, unknown>;
    /** Reads and parses the body: a JSON object, nesting bounded; `expected` says what it should look like. */
    body(expected: string): Promise<Record<string, unknown>>;
  }

  /**
   * The frame of a POST route: a deadline and client-cancel scope, refusal while draining, the caller authenticated
   * before anything else (the route checks its model before it reads the body), one success log line and metric,
   * one error path.
   */
  const postCall = async (rpc: string, req: IncomingMessage, res: ServerResponse, run: (call: PostCall) => Promise<void>): Promise<void> => {
    const scope = new CallScope(ctx.shutdownSignal, Date.now() + ctx.limits.defaultDeadlineMs, ctx.metrics);
    const requestId = String(req.headers['x-request-id'] ?? randomUUID()).slice(0, 200);
    // Client went away before we answered: stop the work.
    const onClose = () => {
      if (!res.writableEnded) scope.cancel('client');
    };
    res.on('close', onClose);
    const fields: Record<string, unknown> = { requestId };
    try {
      if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
      const principal = ctx.auth.authenticate(req.headers.authorization);
      const body = async (expected: string): Promise<Record<string, unknown>> => {
        const b = parseJsonBody(await readBody(req, opts.maxBodyBytes, scope.signal), req.headers['content-type'], {
          maxDepth: MAX_JSON_DEPTH,
          invalid: (message) => new SidecarError('INVALID_REQUEST', message),
          depthHint: '; send rows as flat lists of numbers',
          expected,
        });
        if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new SidecarError('INVALID_REQUEST', `request body must be ${expected}, got ${quote(b)}`);
        return b as Record<string, unknown>;
      };
      await run({ scope, requestId, principal, fields, body });
      ctx.metrics.observe('rest', rpc, String(fields.method ?? ''), 'OK', scope.elapsedMs() / 1000);
      ctx.logger.info({ transport: 'rest', rpc, ...fields, ms: +scope.elapsedMs().toFixed(3), status: 'OK' }, 'call done');
    } catch (err) {
      failWith(req, res, rpc, err, { ...fields, ms: +scope.elapsedMs().toFixed(3) }, scope.elapsedMs() / 1000);
    } finally {
      res.off('close', onClose);
      scope.dispose();
    }
  };

  const explain = (rawName: string, req: IncomingMessage, res: ServerResponse): Promise<void> =>
    postCall('explain', req, res, async ({ scope, requestId, principal, fields, body }) => {
      // One model snapshot for the whole call, leased until it ends (see ExplainService.lease); checked before the
      // body is even read.
      const lease = ctx.service.lease(principal, { name: segment(rawName, 'model name') });
      try {
        const m = lease.model;
        Object.assign(fields, { model: m.description.name, ...(m.description.version ? { version: m.description.version } : {}) });
        const b = await body('a JSON object like {"instances": [[...], ...]}');
        const p = ctx.service.prepare(m, explainCallFromBody(ctx, b, EXPLAIN_FIELDS));
        fields.method = p.method.name;
        const e = await ctx.service.run(p, scope.signal);
        // Written in pieces with pauses, so a large answer does not stop the loop.
        const answer = await restAnswer(e, p.model.description, requestId, scope.signal);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
        for (const chunk of answer.buffers) res.write(chunk);
        res.end();
        fields.rows = p.rows;
      } finally {
        lease.release();
      }
    });

  /**
   * POST /v1/models/{name}:visualize: draws `explanation` (a genome.explanation/v1 document), or explains
   * `instances` and draws the result (explain and plot), or draws the model's internals (`kind` coefficients, tree,
   * ensemble; `row` or `instances[0]` highlights a path). Answers the picture itself, or JSON
   * {kind, content_type, width, height, content, explanation?} when the client accepts application/json
   * (content base64 for PNG).
   */
  const visualizeRoute = (rawName: string, req: IncomingMessage, res: ServerResponse): Promise<void> =>
    postCall('visualize', req, res, async ({ scope, principal, fields, body }) => {
      const name = segment(rawName, 'model name');
      // The caller must be allowed this model whatever it draws (an explanation it sent included).
      ctx.service.entryFor(principal, { name });
      fields.model = name;
      const b = await body('a JSON object like {"kind": "waterfall", "instances": [[...]]} or {"kind": "beeswarm", "explanation": {...}}');
      const extra = Object.keys(b).filter((k) => !VISUALIZE_FIELDS.includes(k));
      if (extra.length) throw new SidecarError('INVALID_REQUEST', `unknown field(s) ${extra.slice(0, 5).map((k) => clip(k)).join(', ')}; accepted: ${VISUALIZE_FIELDS.join(', ')}`);
      for (const k of ['kind', 'format'] as const) {
        if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'string') throw new SidecarError('INVALID_REQUEST', `"${k}" must be a string, got ${quote(b[k])}`);
      }
      const options = b.options ?? {};
      if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new SidecarError('INVALID_REQUEST', `"options" must be an object such as {"row": 0, "max_display": 10}, got ${quote(options)}`);
      const kind = String(b.kind ?? '').trim().toLowerCase();
      const v: VisualizeCall = { kind, format: String(b.format ?? '').trim().toLowerCase(), options: options as Record<string, unknown> };
      const instances = b.instances ?? b.inputs;
      if (b.explanation !== undefined && b.explanation !== null) {
        const stray = ['instances', 'inputs', 'method', 'parameters', 'outputs', 'row'].filter((k) => b[k] !== undefined);
        if (stray.length) throw new SidecarError('INVALID_REQUEST', `with "explanation" there is nothing to explain; drop ${stray.join(', ')}`);
        v.explanation = b.explanation;
      } else if (isModelChart(kind)) {
        const row = b.row ?? (Array.isArray(instances) ? instances[0] : undefined);
        if (row !== undefined && (row === null || typeof row !== 'object')) throw new SidecarError('INVALID_REQUEST', `"row" must be an array of values or an object keyed by feature name, got ${quote(row)}`);
        v.model = { name };
        if (row !== undefined) v.row = row as RawCell[];
      } else {
        if (instances === undefined) throw new SidecarError('INVALID_REQUEST', 'send "instances" to explain and plot, "explanation" to plot an explanation, or a model chart kind (coefficients, tree, ensemble)');
        v.explain = { model: { name }, call: explainCallFromBody(ctx, b, VISUALIZE_FIELDS) };
      }
      const r = await visualize(ctx, principal, v, scope.signal);
      Object.assign(fields, { kind: r.chart.kind, method: r.method ?? '', ...(r.rows ? { rows: r.rows } : {}) });
      const accept = String(req.headers.accept ?? '');
      if (/\bapplication\/json\b/.test(accept) && !/\bimage\/|text\/html/.test(accept)) {
        const isText = r.chart.contentType !== 'image/png';
        send(res, 200, {
          kind: r.chart.kind,
          content_type: r.chart.contentType,
          width: r.chart.width,
          height: r.chart.height,
          content: isText ? Buffer.from(r.chart.content).toString('utf8') : Buffer.from(r.chart.content).toString('base64'),
          ...(r.explanation ? { explanation: r.explanation } : {}),
          ...(r.model ? { model_name: r.model, model_version: r.version } : {}),
        });
      } else {
        res.writeHead(200, {
          'content-type': r.chart.contentType === 'image/png' ? 'image/png' : `${r.chart.contentType}; charset=utf-8`,
          'content-length': r.chart.content.byteLength,
          'x-genome-chart-kind': r.chart.kind,
          // A picture, never a page that runs scripts in this origin.
          'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
          'x-content-type-options': 'nosniff',
        });
        res.end(Buffer.from(r.chart.content.buffer, r.chart.content.byteOffset, r.chart.content.byteLength));
      }
    });

  /** GET routes that name a model: who asks first, then whether the model exists for them, then readiness. */
  const modelStatus = (req: IncomingMessage, res: ServerResponse, rawName: string, rawVersion: string | undefined): void => {
    const principal = ctx.auth.authenticate(req.headers.authorization);
    const name = segment(rawName, 'model name');
    const version = rawVersion === undefined ? '' : segment(rawVersion, 'model version');
    const m = ctx.service.resolve(principal, { name, version });
    const st = m.description.store;
    send(res, 200, st ? { name: m.description.name, ready: true, version: m.description.version, store: { ...st } } : { name: m.description.name, ready: true });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = splitTarget(req.url ?? '')?.path ?? null;
    if (path === null) throw new SidecarError('INVALID_REQUEST', `request target ${quote(req.url)} is not a path; use one of ${ROUTES}`);
    if (ctx.isDraining()) res.setHeader('connection', 'close');
    const m = EXPLAIN.exec(path);
    if (m) {
      if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use POST for /v1/models/{name}:explain`);
      return explain(m[1]!, req, res);
    }
    const vz = VISUALIZE.exec(path);
    if (vz) {
      if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use POST for /v1/models/{name}:visualize`);
      return visualizeRoute(vz[1]!, req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${quote(req.method, 20)} is not allowed here; the POST routes are /v1/models/{name}:explain and /v1/models/{name}:visualize`);
    // The explorer page and its assets (public files: the data they show comes from the authenticated API).
    const asset = uiAsset(path);
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.byteLength,
        'cache-control': 'no-cache',
        'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
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
    const meta = V2_MODEL.exec(path);
    if (meta) {
      const principal = ctx.auth.authenticate(req.headers.authorization);
      const e = ctx.service.entryFor(principal, { name: segment(meta[1]!, 'model name'), version: meta[2] === undefined ? '' : segment(meta[2], 'model version') });
      return send(res, 200, modelMetadata(ctx, e));
    }
    throw new HttpError(404, 'NOT_FOUND', `no route for ${quote(req.method, 20)} ${quote(path)}; routes: ${ROUTES}`);
  };

  return guardedHandler(route, (req, res, err) => failWith(req, res, 'http', err, { path: quote(req.url, 200) }), ctx.logger);
}

export async function startRest(ctx: SidecarContext, opts: RestOptions): Promise<{ server: Server; port: number }> {
  return listenHttp(restHandler(ctx, opts), {
    host: opts.host,
    port: opts.port,
    ...(opts.tls ? { tls: opts.tls } : {}),
    oversizedMessage: 'the request line or headers are larger than this server accepts (16 KiB); send the model name in a shorter URL and the data in the body',
  });
}
