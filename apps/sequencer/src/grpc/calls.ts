/**
 * Building grpc-js handlers for hosted services: every call is admitted the same way (not draining, caller
 * authenticated, scope granted, bytes decoded), runs inside a {@link CallScope} (deadline, client cancel, shutdown),
 * is counted for the drain, logged once, and ends in a status whatever its body throws (INTERNAL with an error id
 * that is in the log, for a bug).
 */
import { randomUUID } from 'node:crypto';
import type {
  Metadata,
  sendUnaryData,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceError,
} from '@grpc/grpc-js';
import { isUndecodable, settle, undecodedMessage, type Principal } from '@genome/server-kit';
import { CallScope, publicStatus, type HostContext } from '../context.js';
import { PlatformError } from '../errors.js';
import { StreamSignal } from '../stream-signal.js';

/** Throws INVALID_ARGUMENT when `req` is the marker of undecodable bytes. */
function checkDecoded(req: unknown, contract: string): void {
  const message = undecodedMessage(req, contract);
  if (message !== undefined) throw new PlatformError('INVALID_ARGUMENT', message);
}

/** What a handler body gets besides the request. */
export interface GrpcCallInfo {
  principal: Principal;
  scope: CallScope;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerReadableStream<unknown, unknown>;

/** Margin between the client's deadline and the server's copy of it (transit plus timer granularity). */
const DEADLINE_TRANSIT_MS = 100;

function header(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
}

export interface CallOptions {
  /**
   * The deadline when the call carries none: `default` (--default-deadline-ms), `transfer` (blob uploads and
   * downloads, --transfer-deadline-ms) or `none` (watches, which run until cancelled or the server drains).
   */
  deadline?: 'default' | 'transfer' | 'none';
}

export class GrpcKit {
  constructor(
    private readonly ctx: HostContext,
    /** The .proto callers should generate stubs from (named in decode errors). */
    private readonly contract: string,
  ) {}

  private deadlineOf(call: AnyCall, opts: CallOptions): number {
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : d;
    if (Number.isFinite(ms)) return ms;
    if (opts.deadline === 'none') return Infinity;
    return Date.now() + (opts.deadline === 'transfer' ? this.ctx.limits.transferDeadlineMs : this.ctx.limits.defaultDeadlineMs);
  }

  private open(call: AnyCall, opts: CallOptions): CallScope {
    const scope = new CallScope(this.ctx, this.deadlineOf(call, opts));
    // The server learns the deadline as a timeout at receipt, so a client that gives up at its deadline cancels the
    // call just before our copy fires: within that margin the cancel is the deadline, not the client's choice.
    (call as unknown as { on(event: 'cancelled', listener: () => void): unknown }).on('cancelled', () => scope.cancel(Date.now() >= this.deadlineOf(call, opts) - DEADLINE_TRANSIT_MS ? 'deadline' : 'client'));
    return scope;
  }

  private admit(call: AnyCall, scopeName: string, request: unknown | undefined): Principal {
    if (this.ctx.isDraining()) throw new PlatformError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica');
    const principal = this.ctx.auth.authenticate(header(call.metadata, 'authorization'));
    this.ctx.auth.require(principal, scopeName);
    if (request !== undefined) checkDecoded(request, this.contract);
    return principal;
  }

  /** Logs the outcome and returns the error to send (null for OK). */
  private finish(rpc: string, scope: CallScope, err: unknown, subject: string): ServiceError | null {
    const ms = +scope.elapsedMs().toFixed(3);
    if (err === null) {
      this.ctx.logger.info({ transport: 'grpc', rpc, subject, ms, status: 'OK' }, 'call done');
      return null;
    }
    const errorId = randomUUID();
    const s = publicStatus(err, errorId);
    const fields = { transport: 'grpc', rpc, subject, ms, status: s.name };
    if (s.internal) this.ctx.logger.error({ ...fields, errorId, err }, 'call failed (internal)');
    else this.ctx.logger.info({ ...fields, message: s.message }, 'call failed');
    return Object.assign(new Error(s.message), { code: s.grpc, details: s.message, metadata: undefined as never });
  }

  unary<Q, R>(rpc: string, scopeName: string, body: (req: Q, info: GrpcCallInfo) => Promise<R>, opts: CallOptions = {}) {
    return (call: ServerUnaryCall<Q, R>, callback: sendUnaryData<R>): void => {
      const scope = this.open(call as AnyCall, opts);
      let subject = '';
      settle(
        async () => {
          const principal = this.admit(call as AnyCall, scopeName, call.request);
          subject = principal.subject;
          const out = await body(call.request, { principal, scope });
          scope.check();
          return out;
        },
        (err, res) => {
          scope.dispose();
          callback(this.finish(rpc, scope, err, subject), res);
        },
      );
    };
  }

  /** A server stream: `write` waits while the client is slow (flow control) and throws once the call is over. */
  serverStream<Q, R>(rpc: string, scopeName: string, body: (req: Q, info: GrpcCallInfo, write: (m: R) => Promise<void>) => Promise<void>, opts: CallOptions = {}) {
    return (call: ServerWritableStream<Q, R>): void => {
      const scope = this.open(call as AnyCall, opts);
      let subject = '';
      const write = async (m: R): Promise<void> => {
        scope.check();
        if (call.write(m)) return;
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            scope.signal.removeEventListener('abort', onAbort);
            resolve();
          };
          const onAbort = () => {
            call.off('drain', onDrain);
            reject(scope.signal.reason);
          };
          call.once('drain', onDrain);
          scope.signal.addEventListener('abort', onAbort, { once: true });
        });
      };
      settle(
        async () => {
          const principal = this.admit(call as AnyCall, scopeName, call.request);
          subject = principal.subject;
          await body(call.request, { principal, scope }, write);
        },
        (err) => {
          scope.dispose();
          const e = this.finish(rpc, scope, err, subject);
          if (e) call.emit('error', e);
          else call.end();
        },
      );
    };
  }

  /** A client stream: the body reads the messages (flow-controlled) and returns the answer. */
  clientStream<Q, R>(rpc: string, scopeName: string, body: (messages: AsyncIterable<Q>, info: GrpcCallInfo) => Promise<R>, opts: CallOptions = {}) {
    return (call: ServerReadableStream<Q, R>, callback: sendUnaryData<R>): void => {
      const scope = this.open(call as AnyCall, opts);
      let subject = '';
      let answered = false;
      settle(
        async () => {
          const principal = this.admit(call as AnyCall, scopeName, undefined);
          subject = principal.subject;
          const out = await body(messages(call, scope, this.contract), { principal, scope });
          scope.check();
          return out;
        },
        (err, res) => {
          scope.dispose();
          if (answered) return;
          answered = true;
          callback(this.finish(rpc, scope, err, subject), res);
        },
      );
    };
  }
}

/**
 * The messages of a client stream as an async iterable, with flow control (the stream is paused while a few
 * messages wait), undecodable messages as INVALID_ARGUMENT, and the call's end (deadline, cancel) as an error.
 * Leaving the loop early leaves the call open (later messages are dropped), so an answer can still be sent.
 */
export function messages<Q>(call: ServerReadableStream<Q, unknown>, scope: CallScope, contract: string): AsyncIterable<Q> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Q> {
      const queue: Q[] = [];
      const s = new StreamSignal();
      const onData = (m: Q) => {
        queue.push(m);
        if (queue.length >= 4) call.pause();
        s.notify();
      };
      const onEnd = s.end;
      const onError = s.fail;
      const onAbort = () => s.fail(scope.signal.reason);
      call.on('data', onData);
      call.on('end', onEnd);
      call.on('error', onError);
      scope.signal.addEventListener('abort', onAbort, { once: true });
      let cleaned = false;
      const cleanup = () => {
        if (cleaned) return;
        cleaned = true;
        call.off('data', onData);
        call.off('end', onEnd);
        call.off('error', onError);
        scope.signal.removeEventListener('abort', onAbort);
        // Later messages are read and dropped, so the stream is not stuck paused.
        call.on('data', () => {});
        call.on('error', () => {});
        call.resume();
      };
      return {
        async next(): Promise<IteratorResult<Q>> {
          for (;;) {
            if (s.error !== undefined) {
              cleanup();
              throw s.error;
            }
            if (queue.length > 0) {
              const m = queue.shift()!;
              if (queue.length < 2) call.resume();
              if (isUndecodable(m)) {
                cleanup();
                checkDecoded(m, contract);
              }
              return { value: m, done: false };
            }
            if (s.ended) {
              cleanup();
              return { value: undefined, done: true };
            }
            await s.wait();
          }
        },
        async return(): Promise<IteratorResult<Q>> {
          cleanup();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
