/**
 * Changes of the runs this process drives, for WatchRun: the engine publishes every new record of a run; a watcher
 * waits for the next one (or a poll period, for runs another replica drives).
 */
import type { RunRecord } from '@genome/sequencer';

export class RunUpdates {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  publish(run: RunRecord): void {
    const set = this.waiters.get(run.runId);
    if (!set) return;
    this.waiters.delete(run.runId);
    for (const w of set) w();
  }

  /** Resolves at the run's next change, after `ms`, or when `signal` fires, whichever comes first. */
  next(runId: string, ms: number, signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(runId);
      if (!set) this.waiters.set(runId, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(runId) === set) this.waiters.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** Wakes every watcher (they then see that the server is draining). */
  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w();
    this.waiters.clear();
  }
}
