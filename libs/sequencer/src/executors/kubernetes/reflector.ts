/**
 * list+watch of one resource, as client-go's reflector does it: list once, then watch from the list's
 * resourceVersion; after every dropped watch (server timeout, reset connection, client inactivity timeout) watch
 * again from the last resourceVersion seen (events and bookmarks); after 410 Gone (an ERROR event or an HTTP 410)
 * list again. Errors back off exponentially; the loop ends only with stop().
 */
import type { KubernetesObject, Watch } from '@kubernetes/client-node';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorOptions<T extends KubernetesObject> {
  /** For messages: "jobs", "pods". */
  resource: string;
  list(): Promise<{ items: T[]; resourceVersion: string | undefined }>;
  /** The collection's path, e.g. /apis/batch/v1/namespaces/ns/jobs. */
  path: string;
  labelSelector?: string;
  watch: Watch;
  /** The whole state after a (re)list: replaces what the consumer knew. */
  onReplace(items: T[]): void;
  onEvent(type: WatchEventType, obj: T): void;
  /** Told of every failed list or watch (the reflector retries by itself). */
  onError?(err: unknown): void;
  /** Server-side timeout of one watch request (default 300 s; client-go picks 5-10 min). */
  timeoutSeconds?: number;
  /** First and longest delay between failed attempts (default 100 ms and 5 s). */
  backoffMs?: { initial: number; max: number };
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  /** Watches refused with 410 Gone (each followed by a list). */
  gone: number;
  errors: number;
  /** Where the next watch starts (the last resourceVersion of a list, an event or a bookmark). */
  resourceVersion?: string;
}

function isGone(e: unknown): boolean {
  const x = e as { statusCode?: number; code?: number } | undefined;
  return x?.statusCode === 410 || x?.code === 410;
}

export class Reflector<T extends KubernetesObject> {
  resourceVersion: string | undefined;
  readonly stats: ReflectorStats = { lists: 0, watches: 0, gone: 0, errors: 0 };
  lastError: unknown;
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private syncedResolve!: () => void;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void> = new Promise((r) => (this.syncedResolve = r));
  private loop: Promise<void> | undefined;

  constructor(private readonly o: ReflectorOptions<T>) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const backoff = this.o.backoffMs ?? { initial: 100, max: 5000 };
    let delay = backoff.initial;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) {
          const l = await this.o.list();
          if (this.stopped) return;
          this.stats.lists++;
          this.resourceVersion = l.resourceVersion;
          this.o.onReplace(l.items);
          this.syncedResolve();
        }
        const r = await this.watchOnce();
        if (r.gone) {
          // Our resourceVersion is older than the server's history: list again, then watch from the new list.
          this.stats.gone++;
          this.resourceVersion = undefined;
          continue;
        }
        // A clean end (server timeout, dropped connection): watch again at once from where we were, unless the
        // server keeps closing watches that carried nothing, then back off.
        if (r.events > 0 || r.ms > 1000) delay = backoff.initial;
        else {
          await this.sleep(delay);
          delay = Math.min(delay * 2, backoff.max);
        }
      } catch (e) {
        if (this.stopped) return;
        if (isGone(e)) {
          this.stats.gone++;
          this.resourceVersion = undefined;
          continue;
        }
        this.stats.errors++;
        this.lastError = e;
        this.o.onError?.(e);
        await this.sleep(delay);
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  }

  private watchOnce(): Promise<{ gone: boolean; events: number; ms: number }> {
    const started = Date.now();
    let events = 0;
    let gone = false;
    let failure: Error | undefined;
    let connected = false;
    this.stats.watches++;
    return new Promise((resolve, reject) => {
      const done = (err: unknown): void => {
        this.abort = undefined;
        if (this.stopped) return resolve({ gone: false, events, ms: Date.now() - started });
        if (gone) return resolve({ gone: true, events, ms: Date.now() - started });
        if (failure) return reject(failure);
        // A refused request (no connection, a non-200 answer) is an error; a stream that ends or is reset after a
        // 200 is a dropped watch.
        if (err && !connected) return reject(err);
        resolve({ gone: false, events, ms: Date.now() - started });
      };
      const query: Record<string, string | number | boolean> = {
        allowWatchBookmarks: true,
        timeoutSeconds: this.o.timeoutSeconds ?? 300,
      };
      if (this.resourceVersion !== undefined) query.resourceVersion = this.resourceVersion;
      if (this.o.labelSelector) query.labelSelector = this.o.labelSelector;
      this.o.watch
        .watch(
          this.o.path,
          query,
          (type: string, obj: unknown) => {
            const o = obj as (T & { code?: number; message?: string; reason?: string }) | undefined;
            if (type === 'ERROR') {
              if (o?.code === 410) gone = true;
              else failure = Object.assign(new Error(`watch of ${this.o.resource} failed: ${o?.message ?? 'an ERROR event'}`), { statusCode: o?.code });
              return;
            }
            const rv = o?.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (type === 'BOOKMARK') return;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
              events++;
              this.o.onEvent(type, o as T);
            }
          },
          done,
        )
        .then(
          (c) => {
            connected = true;
            this.abort = c;
            if (this.stopped) c.abort();
          },
          (e: unknown) => done(e),
        );
    });
  }
}
