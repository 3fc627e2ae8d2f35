/** grpc-js implementation of genome.explain.v1.Explainer over the transport-independent ExplainService. */
import { randomUUID } from 'node:crypto';
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { explain as pb } from '@genome/proto';
import { CallScope } from '../call-scope.js';
import { checkDecoded } from './decode.js';
import { modelInfo, type SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import { dataFromRequest } from '../explain/input.js';
import type { ExplainCall } from '../explain/service.js';
import { toExplainResponse } from '../explain/response.js';
import { grpcStatusName, toStatus } from '../status.js';

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** Method name of a request: method_name wins, then the enum (METHOD_TREE_SHAP -> tree_shap). */
export function methodName(req: pb.ExplainRequest): string {
  if (req.methodName) return req.methodName.trim().toLowerCase();
  if (req.method === pb.Method.METHOD_UNSPECIFIED) return '';
  let name: string;
  try {
    name = pb.methodToJSON(req.method);
  } catch {
    throw new SidecarError('INVALID_REQUEST', `unknown method enum value ${String(req.method)}; send method_name instead`);
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

function toCall(ctx: SidecarContext, req: pb.ExplainRequest, md: Metadata): ExplainCall {
  const principal = ctx.auth.authenticate(header(md, 'authorization'));
  const sel = req.outputs;
  return {
    model: { name: req.model?.name ?? '', version: req.model?.version ?? '' },
    method: methodName(req),
    params: req.parameters ?? {},
    outputs: sel ? { indices: sel.indices, names: sel.names, topK: sel.topK } : undefined,
    data: (d) => {
      ctx.auth.authorize(principal, d.name);
      return dataFromRequest(req, d, ctx.limits);
    },
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
    const s = toStatus(err, errorId);
    ctx.metrics.observe('grpc', rpc, method, grpcStatusName(s.grpc), seconds);
    const fields = { rpc, method, requestId, ms: +(seconds * 1000).toFixed(3), status: grpcStatusName(s.grpc), ...extra };
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

  const unary = <Q, R>(rpc: string, body: (req: Q, call: ServerUnaryCall<Q, R>, scope: CallScope) => Promise<R>) =>
    (call: ServerUnaryCall<Q, R>, callback: sendUnaryData<R>): void => {
      const scope = open(call as AnyCall);
      const run = async () => {
        if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
        checkDecoded(call.request);
        return body(call.request, call, scope);
      };
      run().then(
        (res) => {
          finish(rpc, '', scope, null, '');
          scope.dispose();
          callback(null, res);
        },
        (err: unknown) => {
          callback(finish(rpc, '', scope, err, ''));
          scope.dispose();
        },
      );
    };

  return {
    explain(call: ServerUnaryCall<pb.ExplainRequest, pb.ExplainResponse>, callback: sendUnaryData<pb.ExplainResponse>): void {
      const scope = open(call as AnyCall);
      const req = call.request;
      const requestId = req.requestId || randomUUID();
      let method = '';
      let model = '';
      const run = async () => {
        if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
        checkDecoded(req);
        const p = ctx.service.prepare(toCall(ctx, req, call.metadata));
        method = p.method.name;
        model = p.model.description.name;
        const e = await ctx.service.run(p, scope.signal);
        return toExplainResponse(e, p.model.description, requestId, scope.elapsedMs());
      };
      run().then(
        (res) => {
          finish('Explain', method, scope, null, requestId, { model, rows: res.shape[0] });
          scope.dispose();
          callback(null, res);
        },
        (err: unknown) => {
          callback(finish('Explain', method, scope, err, requestId, { model }));
          scope.dispose();
        },
      );
    },

    explainStream(call: ServerWritableStream<pb.ExplainStreamRequest, pb.ExplainStreamResponse>): void {
      const scope = open(call as AnyCall);
      const req = call.request?.request ?? pb.ExplainRequest.fromPartial({});
      const requestId = req.requestId || randomUUID();
      let method = '';
      let model = '';
      const write = async (msg: pb.ExplainStreamResponse) => {
        if (!call.write(msg)) {
          await new Promise<void>((resolve, reject) => {
            const onDrain = () => { scope.signal.removeEventListener('abort', onAbort); resolve(); };
            const onAbort = () => { call.off('drain', onDrain); reject(scope.signal.reason); };
            call.once('drain', onDrain);
            scope.signal.addEventListener('abort', onAbort, { once: true });
          });
        }
      };
      const run = async () => {
        if (ctx.isDraining()) throw new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
        checkDecoded(call.request);
        const p = ctx.service.prepare(toCall(ctx, req, call.metadata));
        method = p.method.name;
        model = p.model.description.name;
        const chunk = call.request.chunkSize || ctx.limits.streamChunkRows;
        let done = 0;
        for await (const { offset, explanation } of ctx.service.stream(p, chunk, scope.signal)) {
          await write({ result: toExplainResponse(explanation, p.model.description, requestId, scope.elapsedMs()), rowOffset: offset });
          done = offset + explanation.values.length;
          await write({ progress: { rowsDone: done, rowsTotal: p.rows, elapsedMs: scope.elapsedMs(), done: done === p.rows }, rowOffset: offset });
        }
        return done;
      };
      run().then(
        (rows) => {
          finish('ExplainStream', method, scope, null, requestId, { model, rows });
          scope.dispose();
          call.end();
        },
        (err: unknown) => {
          const e = finish('ExplainStream', method, scope, err, requestId, { model });
          scope.dispose();
          call.emit('error', e);
        },
      );
    },

    listModels: unary<pb.ListModelsRequest, pb.ListModelsResponse>('ListModels', async (_req, call) => {
      const p = ctx.auth.authenticate(header(call.metadata, 'authorization'));
      const models = ctx.service.models.list().filter((m) => ctx.auth.canUse(p, m.description.name));
      return { models: models.map((m) => modelInfo(ctx, m)) };
    }),

    describeModel: unary<pb.DescribeModelRequest, pb.DescribeModelResponse>('DescribeModel', async (req, call) => {
      const p = ctx.auth.authenticate(header(call.metadata, 'authorization'));
      const m = ctx.service.models.get(req.model?.name ?? '', req.model?.version ?? '');
      ctx.auth.authorize(p, m.description.name);
      return { model: modelInfo(ctx, m) };
    }),

    visualize: unary<pb.VisualizeRequest, pb.VisualizeResponse>('Visualize', async () => {
      throw new SidecarError(
        'NOT_IMPLEMENTED',
        'Visualize is reserved for the explanation visualiser and is not implemented in this version; render ExplainResponse.explanation_json client-side for now',
      );
    }),
  };
}
