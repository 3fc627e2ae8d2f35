/**
 * Bounded concurrency with a bounded FIFO queue and a cap per key (per model). `run` starts the task when fewer than
 * `maxConcurrent` run in all and fewer than `maxPerKey` run for its key, queues it when the queue has room, and
 * otherwise fails at once with QUEUE_FULL (RESOURCE_EXHAUSTED), so an overloaded sidecar sheds load instead of growing
 * memory. A freed slot goes to the oldest waiter whose key is under its cap, so one slow model (a hung model server)
 * holds at most `maxPerKey` slots and calls to the other models keep running. Queued tasks whose signal aborts leave
 * the queue.
 */
import { SidecarError } from './errors.js';

interface Waiter {
  key: string;
  start: () => void;
}

export interface LimiterStats {
  inFlight: number;
  queued: number;
}

export class Limiter {
  private running = 0;
  private readonly perKey = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    private readonly onChange: (s: LimiterStats) => void = () => {},
    readonly maxPerKey: number = maxConcurrent,
  ) {
    if (!(maxConcurrent >= 1)) throw new SidecarError('CONFIG', `maxConcurrent must be >= 1, got ${maxConcurrent}`);
    if (!(maxQueue >= 0)) throw new SidecarError('CONFIG', `maxQueue must be >= 0, got ${maxQueue}`);
    if (!(maxPerKey >= 1)) throw new SidecarError('CONFIG', `the per-model concurrency must be >= 1, got ${maxPerKey}`);
  }

  get stats(): LimiterStats {
    return { inFlight: this.running, queued: this.queue.length };
  }

  /** Calls of `key` running now. */
  runningFor(key: string): number {
    return this.perKey.get(key) ?? 0;
  }

  /** Runs `task` under the limits. Rejects with the signal's reason if it aborts while queued. */
  async run<T>(task: () => Promise<T>, signal: AbortSignal, key = ''): Promise<T> {
    return this.enter(task, signal, key, true);
  }

  /** Like `run`, but waits for a slot even when the queue is over its limit (later chunks of admitted streams). */
  async runUnbounded<T>(task: () => Promise<T>, signal: AbortSignal, key = ''): Promise<T> {
    return this.enter(task, signal, key, false);
  }

  private canStart(key: string): boolean {
    return this.running < this.maxConcurrent && this.runningFor(key) < this.maxPerKey;
  }

  private take(key: string): void {
    this.running++;
    this.perKey.set(key, this.runningFor(key) + 1);
  }

  private async enter<T>(task: () => Promise<T>, signal: AbortSignal, key: string, bounded: boolean): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.canStart(key)) {
      this.take(key);
      this.changed();
    } else {
      if (bounded && this.queue.length >= this.maxQueue) {
        throw new SidecarError(
          'QUEUE_FULL',
          `server busy: ${this.running} calls running and ${this.queue.length} queued (limit ${this.maxQueue}; ${this.runningFor(key)} running for this model, at most ${this.maxPerKey}); retry with backoff`,
        );
      }
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          key,
          start: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
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
    }
    try {
      return await task();
    } finally {
      this.release(key);
    }
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(key: string): void {
    this.running--;
    const n = this.runningFor(key) - 1;
    if (n > 0) this.perKey.set(key, n);
    else this.perKey.delete(key);
    // Start the oldest waiters whose model is under its cap.
    for (let i = 0; i < this.queue.length && this.running < this.maxConcurrent; ) {
      const w = this.queue[i]!;
      if (this.runningFor(w.key) < this.maxPerKey) {
        this.queue.splice(i, 1);
        this.take(w.key);
        w.start();
      } else {
        i++;
      }
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
