/**
 * What the server shell gives every hosted service: who is calling (auth), the log, the one error-to-status mapping,
 * the call lifetimes (deadlines, client cancels, shutdown) and the in-flight count the drain waits for.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { capMessage, grpcStatusName, toStatus, type MappedStatus, type TokenAuth } from '@genome/server-kit';
import { PlatformError } from './errors.js';

/** An error as a caller sees it: mapped status and a message of at most 1000 characters. */
export interface PublicStatus extends MappedStatus {
  /** gRPC status name ("INVALID_ARGUMENT"): the `status` field of log lines. */
  name: string;
}

export function publicStatus(err: unknown, errorId: string): PublicStatus {
  const s = toStatus(err, errorId);
  return { ...s, message: capMessage(s.message), name: grpcStatusName(s.grpc) };
}

/** Counts calls in flight; `idle()` resolves when none is. */
export class InFlight {
  private n = 0;
  private waiters: (() => void)[] = [];

  get count(): number {
    return this.n;
  }

  /** Marks a call started; the returned function marks it done (idempotent). */
  start(): () => void {
    this.n++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.n === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  idle(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

export interface HostLimits {
  /** Largest gRPC message and JSON request body, bytes. */
  maxMessageBytes: number;
  /** Largest uploaded blob, bytes. */
  maxBlobBytes: number;
  /** Deadline of ordinary calls that carry none, ms. */
  defaultDeadlineMs: number;
  /** Deadline of blob transfers that carry none, ms. */
  transferDeadlineMs: number;
  /** Poll period of event watches, ms. */
  watchPollMs: number;
}

export interface HostContext {
  readonly auth: TokenAuth;
  readonly logger: Logger;
  readonly limits: HostLimits;
  readonly inFlight: InFlight;
  /** Fires when shutdown starts: long-lived streams (watches) end so that the drain can finish. */
  readonly drainSignal: AbortSignal;
  /** Fires at the end of the shutdown grace period: in-flight work must stop. */
  readonly shutdownSignal: AbortSignal;
  isDraining(): boolean;
}

/**
 * The lifetime of one call: an AbortSignal that fires when the deadline passes, the client goes away or the server
 * shuts down (after the grace period), with the matching PlatformError as its reason.
 */
export class CallScope {
  private readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onShutdown: () => void;
  private readonly done: () => void;
  readonly started = performance.now();

  constructor(
    private readonly ctx: HostContext,
    /** Absolute deadline, ms since the epoch. */
    deadline: number,
  ) {
    setMaxListeners(0, this.ctl.signal);
    this.done = ctx.inFlight.start();
    const ms = deadline - Date.now();
    if (ms <= 0) this.cancel('deadline');
    // Timers take at most 2^31-1 ms (24.8 days); a deadline further out than that is as good as none.
    else if (ms < 2 ** 31 - 1) this.timer = setTimeout(() => this.cancel('deadline'), ms);
    this.onShutdown = () => this.cancel('shutdown');
    if (ctx.shutdownSignal.aborted) this.onShutdown();
    else ctx.shutdownSignal.addEventListener('abort', this.onShutdown, { once: true });
  }

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Throws the reason when the call is over (deadline, cancel, shutdown). */
  check(): void {
    if (this.ctl.signal.aborted) throw this.ctl.signal.reason;
  }

  cancel(reason: 'client' | 'deadline' | 'shutdown'): void {
    if (this.ctl.signal.aborted) return;
    this.ctl.abort(
      reason === 'deadline'
        ? new PlatformError('DEADLINE_EXCEEDED', 'deadline exceeded: the call took longer than its deadline; retry with a longer deadline (gRPC) or raise --default-deadline-ms / --transfer-deadline-ms')
        : reason === 'client'
          ? new PlatformError('CANCELLED', 'the client cancelled the call')
          : new PlatformError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica'),
    );
  }

  /** Ends the call's bookkeeping (timer, shutdown listener, in-flight count). Idempotent. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.ctx.shutdownSignal.removeEventListener('abort', this.onShutdown);
    this.done();
  }
}
