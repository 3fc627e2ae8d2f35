/**
 * Bounded concurrency with a bounded FIFO queue. `run` starts the task when fewer than `maxConcurrent` run,
 * queues it when the queue has room, and otherwise fails at once with QUEUE_FULL (RESOURCE_EXHAUSTED), so an
 * overloaded sidecar sheds load instead of growing memory. Queued tasks whose signal aborts leave the queue.
 */
import { SidecarError } from './errors.js';

interface Waiter {
  start: () => void;
  fail: (err: unknown) => void;
}

export interface LimiterStats {
  inFlight: number;
  queued: number;
}

export class Limiter {
  private running = 0;
  private readonly queue: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    private readonly onChange: (s: LimiterStats) => void = () => {},
  ) {
    if (!(maxConcurrent >= 1)) throw new SidecarError('CONFIG', `maxConcurrent must be >= 1, got ${maxConcurrent}`);
    if (!(maxQueue >= 0)) throw new SidecarError('CONFIG', `maxQueue must be >= 0, got ${maxQueue}`);
  }

  get stats(): LimiterStats {
    return { inFlight: this.running, queued: this.queue.length };
  }

  /** Runs `task` under the limit. Rejects with the signal's reason if it aborts while queued. */
  async run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return this.enter(task, signal, true);
  }

  /** Like `run`, but waits for a slot even when the queue is over its limit (later chunks of admitted streams). */
  async runUnbounded<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return this.enter(task, signal, false);
  }

  private async enter<T>(task: () => Promise<T>, signal: AbortSignal, bounded: boolean): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.running >= this.maxConcurrent) {
      if (bounded && this.queue.length >= this.maxQueue) {
        throw new SidecarError(
          'QUEUE_FULL',
          `server busy: ${this.running} calls running and ${this.queue.length} queued (limit ${this.maxQueue}); retry with backoff`,
        );
      }
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          fail: reject,
        };
        const onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          this.changed();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.queue.push(waiter);
        this.changed();
      });
    } else {
      this.running++;
      this.changed();
    }
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      // The slot passes straight to the next waiter: `running` stays the same.
      next.start();
    } else {
      this.running--;
    }
    this.changed();
  }

  private changed(): void {
    this.onChange(this.stats);
    if (this.running === 0 && this.queue.length === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }
}
