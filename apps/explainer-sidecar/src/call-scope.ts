/**
 * The lifetime of one call: an AbortSignal that fires when the deadline passes, the client cancels or the server
 * shuts down (after the drain grace period), with the matching SidecarError as its reason.
 */
import { setMaxListeners } from 'node:events';
import { SidecarError } from './errors.js';
import type { SidecarMetrics } from './metrics.js';

export class CallScope {
  private readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onShutdown: () => void;
  readonly started = performance.now();

  constructor(
    private readonly shutdown: AbortSignal,
    /** Absolute deadline in ms since epoch (Infinity = none). */
    deadline: number,
    private readonly metrics: SidecarMetrics,
  ) {
    // Chunks, queue waits and streams each listen on the call's signal for a while.
    setMaxListeners(0, this.ctl.signal);
    const ms = deadline - Date.now();
    if (Number.isFinite(ms)) {
      if (ms <= 0) this.cancel('deadline');
      else this.timer = setTimeout(() => this.cancel('deadline'), ms);
    }
    this.onShutdown = () => this.cancel('shutdown');
    if (shutdown.aborted) this.onShutdown();
    else shutdown.addEventListener('abort', this.onShutdown, { once: true });
  }

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  cancel(reason: 'client' | 'deadline' | 'shutdown'): void {
    if (this.ctl.signal.aborted) return;
    this.metrics.cancelled.inc({ reason });
    this.ctl.abort(
      reason === 'deadline'
        ? new SidecarError('DEADLINE', 'deadline exceeded: the call took longer than its deadline; send fewer rows, use ExplainStream, or raise the deadline')
        : reason === 'client'
          ? new SidecarError('CANCELLED', 'the client cancelled the call')
          : new SidecarError('SHUTTING_DOWN', 'the server is shutting down; retry on another replica'),
    );
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.shutdown.removeEventListener('abort', this.onShutdown);
  }
}
