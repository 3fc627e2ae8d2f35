/**
 * Charts are drawn on a worker thread: building a large SVG (tens of milliseconds for 20,000 marks) and encoding a
 * PNG would otherwise hold the event loop that serves every other call. One worker, started on first use, jobs in
 * order (which also bounds the CPU that pictures take); it keeps the process alive only while it has work. A call
 * that is cancelled or passes its deadline is answered at once; the worker finishes that picture and drops it.
 */
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '@genome/model-format';
import type { ChartRequest, RenderedChart } from '@genome/viz';

interface Answer {
  id: number;
  chart?: RenderedChart;
  error?: { code?: string; message: string };
}

interface Job {
  resolve(chart: RenderedChart): void;
  reject(err: unknown): void;
}

/** An error from the worker, with its library code, so the one status mapping applies. */
class ChartError extends Error {
  override readonly name = 'ChartError';
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class ChartWorker {
  /** @param maxQueue charts waiting or drawing before further calls get RESOURCE_EXHAUSTED. */
  constructor(private readonly maxQueue: number) {}

  private worker: Worker | undefined;
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();
  private closed = false;

  /** Draws `req` (without its signal: `signal` cancels the wait here). */
  render(req: Omit<ChartRequest, 'signal'>, signal: AbortSignal): Promise<RenderedChart> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.closed) return Promise.reject(new ChartError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica'));
    if (this.jobs.size >= this.maxQueue) return Promise.reject(new ChartError('QUEUE_FULL', `${this.jobs.size} charts are being drawn or waiting; retry with backoff`));
    const id = this.nextId++;
    return new Promise<RenderedChart>((resolve, reject) => {
      const onAbort = () => this.settle(id, () => reject(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.jobs.set(id, {
        resolve: (c) => {
          signal.removeEventListener('abort', onAbort);
          resolve(c);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      const w = this.start();
      this.idle();
      w.postMessage({ id, req });
    });
  }

  /** Stops the worker; waiting calls fail with UNAVAILABLE. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new ChartError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica'));
    await w?.terminate();
  }

  private settle(id: number, then: () => void): void {
    this.jobs.delete(id);
    this.idle();
    then();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = startModuleWorker(siblingModule(import.meta.url, 'chart-worker'));
    w.on('message', (a: Answer) => {
      const job = this.jobs.get(a.id);
      if (!job) return;
      this.settle(a.id, () => (a.chart ? job.resolve(a.chart) : job.reject(new ChartError(a.error?.code, a.error?.message ?? 'the chart worker failed'))));
    });
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.failAll(new ChartError(undefined, `the chart worker stopped (${why})`));
    };
    w.on('error', (err) => lost(err.message));
    w.on('exit', (code) => lost(`exit code ${code}`));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const j of jobs) j.reject(err);
  }

  /** Referenced while it has jobs, so an idle worker never keeps the process alive. */
  private idle(): void {
    if (this.jobs.size === 0) this.worker?.unref();
    else this.worker?.ref();
  }
}
