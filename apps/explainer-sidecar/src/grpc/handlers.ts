/**
 * grpc-js implementation of genome.explain.v1.Explainer over the transport-independent ExplainService. Every call
 * authenticates before anything else, and every handler runs inside a guard: whatever throws becomes a status
 * (INTERNAL with an error id that is in the log, for a bug), never an uncaught exception.
 */
import { randomUUID } from 'node:crypto';
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { explain as pb } from '@genome/proto';
import { CallScope } from '../call-scope.js';
import { modelInfo, type SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import { dataFromRequest } from '../explain/input.js';
import type { ExplainCall } from '../explain/service.js';
import { encodeExplainResponse, encodeStreamResult } from '../explain/encode.js';
import { quote, settle, undecodedMessage } from '@genome/server-kit';
import type { RawCell } from '@genome/model-format';
import { visualize, type VisualizeCall } from '../visualize/service.js';

/** Throws INVALID_REQUEST when `req` is the marker of undecodable bytes. */
function checkDecoded(req: unknown): void {
  const message = undecodedMessage(req, 'proto/genome/explain/v1/explainer.proto');
  if (message !== undefined) throw new SidecarError('INVALID_REQUEST', message);
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** Method name of a request: method_name wins, then the enum (METHOD_TREE_SHAP -> tree_shap). */
export function methodName(req: pb.ExplainRequest): string {
  if (req.methodName) return req.methodName.trim().toLowerCase();
  if (req.method === pb.Method.METHOD_UNSPECIFIED) return '';
  let name: string;
  try {
    name = pb.methodToJSON(req.method);
  } catch {
    throw new SidecarError('INVALID_REQUEST', `unknown method enum value ${quote(req.method)}; send method_name instead`);
  }
  return name.slice('METHOD_'.length).toLowerCase();
}

/** Margin between the client's deadline and the server's copy of it (transit plus timer granularity). */
const DEADLINE_TRANSIT_MS = 100;

function deadlineOf(call: AnyCall, ctx: SidecarContext): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : Date.now() + ctx.limits.defaultDeadlineMs;
}

function header(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
}

function toCall(ctx: SidecarContext, req: pb.ExplainRequest, stream: boolean): ExplainCall {
  const sel = req.outputs;
  return {
    method: methodName(req),
    params: req.parameters ?? {},
    outputs: sel ? { indices: sel.indices, names: sel.names, topK: sel.topK } : undefined,
    data: (d) => dataFromRequest(req, d, { ...ctx.limits, stream }),
  };
}

/** A gRPC Row as raw cells (numbers, category names, null for missing). */
function rawRow(row: pb.Row): RawCell[] {
  if (row.cells.length > 0 && row.values.length > 0) throw new SidecarError('INVALID_REQUEST', 'row: set either values or cells, not both');
  if (row.cells.length === 0) return [...row.values];
  return row.cells.map((c) => (c.number !== undefined ? c.number : c.category !== undefined ? c.category : null));
}

/** The transport-independent form of a VisualizeRequest. */
function visualizeCall(ctx: SidecarContext, req: pb.VisualizeRequest): VisualizeCall {
  return {
    kind: req.kind.trim().toLowerCase(),
    format: req.format.trim().toLowerCase(),
    options: req.options ?? {},
    ...(req.explanationJson ? { explanation: req.explanationJson } : {}),
    ...(req.explain ? { explain: { model: req.explain.model ?? {}, call: toCall(ctx, req.explain, false) } } : {}),
    ...(req.model ? { model: req.model } : {}),
    ...(req.row ? { row: rawRow(req.row) } : {}),
  };
}

export function explainerHandlers(ctx: SidecarContext): pb.ExplainerServer {
  const finish = (rpc: string, method: string, scope: CallScope, err: unknown, requestId: string, extra: Record<string, unknown> = {}): ServiceError | null => {
    const seconds = scope.elapsedMs() / 1000;
    if (err === null) {
      ctx.metrics.observe('grpc', rpc, method, 'OK', seconds);
      ctx.logger.info({ rpc, method, requestId, ms: +(seconds * 1000).toFixed(3), status: 'OK', ...extra }, 'call done');
      return null;
    }
    const errorId = randomUUID();
    const s = ctx.status(err, errorId);
    ctx.metrics.observe('grpc', rpc, method, s.name, seconds);
    const fields = { rpc, method, requestId, ms: +(seconds * 1000).toFixed(3), status: s.name, ...extra };
    if (s.internal) ctx.logger.error({ ...fields, errorId, err }, 'call failed (internal)');
    else ctx.logger.info({ ...fields, message: s.message }, 'call failed');
    return Object.assign(new Error(s.message), { code: s.grpc, details: s.message, metadata: undefined as never });
  };

  const open = (call: AnyCall): CallScope => {
    const scope = new CallScope(ctx.shutdownSignal, deadlineOf(call, ctx), ctx.metrics);
    // The server learns the deadline as a timeout at receipt, so its copy ends a little after the client's: a
    // client that gives up at its deadline cancels the stream just before ours fires. Within that margin the
    // cancel is the deadline, not the client's choice.
    call.on('cancelled', () => scope.cancel(Date.now() >= deadlineOf(call, ctx) - DEADLINE_TRANSIT_MS ? 'deadline' : 'client'));
    return scope;
  };

  /** What every call checks first: the server is not draining, the caller is known, the bytes decoded. */
  const admit = (call: AnyCall) => {
    if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
    const principal = ctx.auth.authenticate(header(call.metadata, 'authorization'));
    checkDecoded(call.request);
    return principal;
  };

  const unary = <Q, R>(rpc: string, body: (req: Q, call: ServerUnaryCall<Q, R>, scope: CallScope) => Promise<R>) =>
    (call: ServerUnaryCall<Q, R>, callback: sendUnaryData<R>): void => {
      const scope = open(call as AnyCall);
      settle(
        () => body(call.request, call, scope),
        (err, res) => {
          callback(finish(rpc, '', scope, err, ''), res);
          scope.dispose();
        },
      );
    };

  return {
    explain(call: ServerUnaryCall<pb.ExplainRequest, pb.ExplainResponse>, callback: sendUnaryData<pb.ExplainResponse>): void {
      const scope = open(call as AnyCall);
      const req = call.request;
      let requestId = '';
      let method = '';
      let model = '';
      let rows = 0;
      let version = '';
      let release = () => {};
      settle(
        async () => {
          const principal = admit(call as AnyCall);
          requestId = String(req.requestId ?? '').slice(0, 200) || randomUUID();
          // One model snapshot for the whole call, leased until it ends (see ExplainService.lease).
          const lease = ctx.service.lease(principal, req.model);
          release = lease.release;
          const m = lease.model;
          model = m.description.name;
          version = m.description.version;
          const p = ctx.service.prepare(m, toCall(ctx, req, false));
          method = p.method.name;
          const e = await ctx.service.run(p, scope.signal);
          rows = p.rows;
          // Encoded here, in pieces with pauses (grpc-js sends a Buffer as it is): a large answer does not stop the loop.
          return (await encodeExplainResponse(e, p.model.description, requestId, scope.elapsedMs(), scope.signal)) as unknown as pb.ExplainResponse;
        },
        (err, res) => {
          release();
          callback(finish('Explain', method, scope, err, requestId, { model, ...(version ? { version } : {}), ...(err ? {} : { rows }) }), res);
          scope.dispose();
        },
      );
    },

    explainStream(call: ServerWritableStream<pb.ExplainStreamRequest, pb.ExplainStreamResponse>): void {
      const scope = open(call as AnyCall);
      let requestId = '';
      let method = '';
      let model = '';
      let version = '';
      let release = () => {};
      const write = async (msg: pb.ExplainStreamResponse | Buffer) => {
        if (!call.write(msg as pb.ExplainStreamResponse)) {
          await new Promise<void>((resolve, reject) => {
            const onDrain = () => { scope.signal.removeEventListener('abort', onAbort); resolve(); };
            const onAbort = () => { call.off('drain', onDrain); reject(scope.signal.reason); };
            call.once('drain', onDrain);
            scope.signal.addEventListener('abort', onAbort, { once: true });
          });
        }
      };
      settle(
        async () => {
          const principal = admit(call as AnyCall);
          const req = call.request.request ?? pb.ExplainRequest.fromPartial({});
          requestId = String(req.requestId ?? '').slice(0, 200) || randomUUID();
          // The stream pins the model it starts with: every message comes from this version, even across a swap.
          const lease = ctx.service.lease(principal, req.model);
          release = lease.release;
          const m = lease.model;
          model = m.description.name;
          version = m.description.version;
          const chunk = Math.min(call.request.chunkSize || ctx.limits.streamChunkRows, ctx.limits.maxRows);
          const p = ctx.service.prepare(m, toCall(ctx, req, true), chunk);
          method = p.method.name;
          let done = 0;
          for await (const { offset, explanation } of ctx.service.stream(p, chunk, scope.signal)) {
            await write(await encodeStreamResult(explanation, p.model.description, requestId, scope.elapsedMs(), offset, scope.signal));
            done = offset + explanation.values.length;
            await write({ progress: { rowsDone: done, rowsTotal: p.rows, elapsedMs: scope.elapsedMs(), done: done === p.rows }, rowOffset: offset });
          }
          return done;
        },
        (err, rows) => {
          release();
          const e = finish('ExplainStream', method, scope, err, requestId, { model, ...(version ? { version } : {}), ...(rows !== undefined ? { rows } : {}) });
          scope.dispose();
          if (e) call.emit('error', e);
          else call.end();
        },
      );
    },

    listModels: unary<pb.ListModelsRequest, pb.ListModelsResponse>('ListModels', async (_req, call) => {
      const principal = admit(call as AnyCall);
      const entries = ctx.service.models.entries().filter((e) => ctx.auth.canUse(principal, e.description.name));
      return { models: entries.map((e) => modelInfo(ctx, e)) };
    }),

    describeModel: unary<pb.DescribeModelRequest, pb.DescribeModelResponse>('DescribeModel', async (req, call) => {
      const principal = admit(call as AnyCall);
      return { model: modelInfo(ctx, ctx.service.entryFor(principal, req.model)) };
    }),

    visualize(call: ServerUnaryCall<pb.VisualizeRequest, pb.VisualizeResponse>, callback: sendUnaryData<pb.VisualizeResponse>): void {
      const scope = open(call as AnyCall);
      const req = call.request;
      const fields: Record<string, unknown> = {};
      settle(
        async () => {
          const principal = admit(call as AnyCall);
          const r = await visualize(ctx, principal, visualizeCall(ctx, req), scope.signal);
          Object.assign(fields, { method: r.method ?? '', kind: r.chart.kind, format: r.chart.contentType, ...(r.model ? { model: r.model } : {}), ...(r.rows ? { rows: r.rows } : {}) });
          return {
            content: Buffer.from(r.chart.content.buffer, r.chart.content.byteOffset, r.chart.content.byteLength),
            contentType: r.chart.contentType,
            explanationJson: r.explanation ? JSON.stringify(r.explanation) : '',
            kind: r.chart.kind,
            width: Math.round(r.chart.width),
            height: Math.round(r.chart.height),
          };
        },
        (err, res) => {
          callback(finish('Visualize', String(fields.method ?? ''), scope, err, '', fields), res);
          scope.dispose();
        },
      );
    },
  };
}
