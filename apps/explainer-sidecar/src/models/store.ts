/**
 * Models served from the Genome model store (`--model store://NAME@ALIAS`, `store://NAME`, `store://NAME/3`).
 *
 * A version is opened with the store's `openPackage` (a verified copy in the store's package cache) and loaded
 * exactly as a Genome package directory is ({@link loadPackageModel}), outside the registry's cache: each version is
 * its own LoadedModel, closed when a newer one has replaced it and its last call has ended.
 *
 * An alias or latest reference is followed ({@link StoreFollower}): the store's log is polled every `pollMs`; when
 * the reference names another version, that version is loaded in the background (open, parse, warm-up — which also
 * hands a tree model to every TreeSHAP worker), then swapped in with one synchronous registry update. Calls that
 * started before the swap finish on the version they leased at their start (an ExplainStream keeps its version for
 * all its messages); calls that start after it get the new version; the old one is released (TreeSHAP pool, runtime
 * sessions, package) once its last lease is returned. A version that fails to load is not served: the current one
 * stays, an error is logged and counted, and the load is retried with backoff while the reference still names it.
 * A reference that stops resolving (alias deleted, version deleted) keeps the current version served, with a warning.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelStoreError, openModelStore, parseRef, type ModelStore, type ModelVersion, type ParsedRef, type StoreEvent, type StoreWatch } from '@genome/model-store';
import type { Logger } from 'pino';
import type { StoreSettings } from '../config.js';
import { SidecarError } from '../errors.js';
import type { SidecarMetrics } from '../metrics.js';
import { cooperative } from './cooperative.js';
import { loadPackageModel } from './package.js';
import type { ModelRegistry } from './registry.js';
import type { LoadedModel, ModelSpec } from './types.js';

export type StoreSpec = Extract<ModelSpec, { kind: 'store' }>;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Where the store is, for messages (no password: the store's own locations strip it). */
export function storeWhere(s: StoreSettings): string {
  const parts = [s.dir ? `dir ${s.dir}` : 'dir $GENOME_STORE_DIR or ./.genome-store', ...(s.metadata ? [`metadata ${s.metadata.replace(/\/\/[^@/]*@/, '//***@')}`] : []), ...(s.blobs ? [`blobs ${s.blobs.replace(/\/\/[^@/]*@/, '//***@')}`] : [])];
  return parts.join(', ');
}

/** Opens the model store of `settings`; a CONFIG error naming the store when it cannot be opened. */
export async function openStore(settings: StoreSettings): Promise<ModelStore> {
  try {
    return await openModelStore({
      ...(settings.dir ? { dir: settings.dir } : {}),
      ...(settings.metadata ? { metadata: settings.metadata } : {}),
      ...(settings.blobs ? { blobs: settings.blobs } : {}),
    });
  } catch (err) {
    throw new SidecarError('CONFIG', `cannot open the model store (${storeWhere(settings)}): ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Loads version `target` (a version number; default: what `spec.ref` names now) of a store model. Errors are the
 * store's (NOT_FOUND, CORRUPT, UNAVAILABLE) or the package loader's.
 */
export async function loadStoreModel(spec: StoreSpec, store: ModelStore, registry: ModelRegistry, target?: number): Promise<LoadedModel> {
  const ref = parseRef(spec.ref);
  const opened = await store.openPackage(target !== undefined ? { name: ref.name, version: target } : spec.ref);
  const v = opened.version;
  const m = await loadPackageModel(
    { kind: 'package', path: opened.dir, name: spec.name ?? v.name, version: String(v.version), ...(spec.iterationRange !== undefined ? { iterationRange: spec.iterationRange } : {}) },
    registry,
    { pkg: opened.package, cache: false },
  );
  return {
    ...m,
    description: {
      ...m.description,
      source: `store://${v.name}/${v.version}`,
      store: { ref: spec.ref, name: v.name, version: v.version, alias: ref.kind === 'alias' ? ref.alias : '', digest: v.digest, follows: ref.kind !== 'version' },
    },
    // As loadModel does: explainers' model calls yield to the event loop and stop when their call is cancelled.
    ...(m.predictor ? { predictor: cooperative(m.predictor) } : {}),
  };
}

/** A start-up failure of a store model as the operator should read it. */
export function storeStartError(spec: StoreSpec, settings: StoreSettings, err: unknown): SidecarError {
  const code = err instanceof ModelStoreError ? err.code : undefined;
  const what =
    code === 'NOT_FOUND'
      ? 'not found in the model store'
      : code === 'CORRUPT'
        ? 'is damaged in the model store'
        : code === 'UNAVAILABLE'
          ? 'cannot be read: the model store is unreachable'
          : 'cannot be loaded';
  return new SidecarError('CONFIG', `store://${spec.ref} ${what} (${storeWhere(settings)}): ${messageOf(err)}`, { cause: err });
}

export interface FollowerDeps {
  models: ModelRegistry;
  logger: Logger;
  metrics: SidecarMetrics;
  /** Prepares a freshly loaded version before it is served (warm-up); a throw means it is not served. */
  prepare: (m: LoadedModel) => Promise<void>;
  /** Releases what a replaced version holds outside itself (its TreeSHAP pool registration); before `close()`. */
  release: (m: LoadedModel) => void;
}

/** Longest wait between retries of a failed update, ms. */
const MAX_RETRY_MS = 60_000;

/** Follows one alias or latest reference and swaps versions in as it moves (see the module doc). */
export class StoreFollower {
  private readonly ref: ParsedRef;
  private current: LoadedModel;
  private watch: StoreWatch | undefined;
  private stopped = false;
  /** The check running now (one at a time); `again` asks for one more after it. */
  private running: Promise<void> | undefined;
  private again = false;
  /** Time of the store write that triggered the pending check (for the swap-time log), ms since the epoch. */
  private triggeredAt: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  /** The version whose load failed last, to log its retries once per change. */
  private failed: { version: number; digest: string } | undefined;
  /** Whether the reference did not resolve at the last check (warned once). */
  private missing = false;
  /** Failed polls since the last warning, and when that was (a store that is down is logged once a minute). */
  private pollFailures = 0;
  private pollWarnedAt = -Infinity;
  /** Replaced versions waiting for their calls to end, and the promise that closes each. */
  private readonly retiring = new Map<LoadedModel, Promise<void>>();

  constructor(
    readonly spec: StoreSpec,
    private readonly store: ModelStore,
    private readonly deps: FollowerDeps,
    initial: LoadedModel,
    private readonly pollMs: number,
  ) {
    this.ref = parseRef(spec.ref);
    this.current = initial;
    this.retryMs = Math.max(1000, pollMs);
  }

  /** The version served now. */
  get served(): LoadedModel {
    return this.current;
  }

  private get name(): string {
    return this.current.description.name;
  }

  private get servedVersion(): number {
    return this.current.description.store!.version;
  }

  /** Starts watching the store's log after `sinceSeq` (the log position the served version was resolved at). */
  async start(sinceSeq: number): Promise<void> {
    this.watch = await this.store.watch((e) => this.onEvent(e), {
      sinceSeq,
      intervalMs: this.pollMs,
      onError: (err) => {
        this.deps.metrics.modelUpdates.inc({ model: this.name, result: 'poll_failed' });
        this.pollFailures++;
        if (performance.now() - this.pollWarnedAt < 60_000) return;
        this.pollWarnedAt = performance.now();
        this.deps.logger.warn(
          { model: this.name, ref: `store://${this.spec.ref}`, version: this.servedVersion, failedPolls: this.pollFailures, err: messageOf(err) },
          'model store poll failed; still serving the current version (logged at most once a minute)',
        );
        this.pollFailures = 0;
      },
    });
  }

  private onEvent(e: StoreEvent): void {
    if (this.stopped || !('name' in e) || e.name !== this.ref.name) return;
    if (e.type === 'version-updated') return; // tags and metrics: the package is the same
    if (this.ref.kind === 'alias') {
      const mine = (e.type === 'alias-set' || e.type === 'alias-deleted') && e.alias === (this.ref as { alias: string }).alias;
      const ownVersion = e.type !== 'alias-set' && e.type !== 'alias-deleted' && e.version === this.servedVersion;
      // A save with `aliases: [...]` moves the alias without an alias-set event: a new version is checked too.
      if (!mine && !ownVersion && e.type !== 'version-created') return;
    }
    this.triggeredAt ??= Date.parse(e.at);
    this.check();
  }

  /** Re-resolves the reference now (coalesced with a check already running). */
  check(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.checkOnce();
        } while (this.again && !this.stopped);
      } catch (err) {
        // checkOnce handles the store's and the loader's errors; this is a bug, logged, and the current version stays.
        this.deps.logger.error({ model: this.name, ref: `store://${this.spec.ref}`, err }, 'following the model store failed; still serving the current version');
        this.scheduleRetry();
      } finally {
        this.running = undefined;
      }
    })();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.check();
    }, wait);
    this.retryTimer.unref();
  }

  private async checkOnce(): Promise<void> {
    const log = this.deps.logger;
    const ref = `store://${this.spec.ref}`;
    let v: ModelVersion;
    try {
      v = await this.store.getVersion(this.spec.ref);
    } catch (err) {
      if (err instanceof ModelStoreError && err.code === 'NOT_FOUND') {
        this.triggeredAt = undefined;
        if (!this.missing) {
          this.missing = true;
          this.deps.metrics.modelUpdates.inc({ model: this.name, result: 'alias_missing' });
          log.warn({ model: this.name, ref, version: this.servedVersion, err: messageOf(err) }, 'the model store reference no longer resolves (alias or version deleted); still serving the current version');
        }
        return;
      }
      log.warn({ model: this.name, ref, version: this.servedVersion, err: messageOf(err) }, 'cannot check the model store; still serving the current version');
      this.scheduleRetry();
      return;
    }
    this.missing = false;
    const cur = this.current.description.store!;
    if (v.version === cur.version && v.digest === cur.digest) {
      // Back where we are (e.g. the alias moved away and back before we looked): nothing to do.
      this.failed = undefined;
      this.triggeredAt = undefined;
      this.retryMs = Math.max(1000, this.pollMs);
      return;
    }
    const t0 = performance.now();
    let t1 = t0;
    const triggeredAt = this.triggeredAt;
    let next: LoadedModel | undefined;
    try {
      next = await loadStoreModel(this.spec, this.store, this.deps.models, v.version);
      if (next.description.store!.digest !== v.digest) throw new SidecarError('CONFIG', `version ${v.version} changed while it was loaded`);
      t1 = performance.now();
      await this.deps.prepare(next);
    } catch (err) {
      if (next) await next.close().catch(() => undefined);
      const again = this.failed?.version === v.version && this.failed.digest === v.digest;
      this.failed = { version: v.version, digest: v.digest };
      this.deps.metrics.modelUpdates.inc({ model: this.name, result: 'failed' });
      log.error(
        { model: this.name, ref, version: cur.version, failedVersion: v.version, digest: v.digest, err: messageOf(err), code: err instanceof ModelStoreError || err instanceof SidecarError ? err.code : undefined, retryInMs: this.retryMs, retry: again },
        `could not load version ${v.version}; still serving version ${cur.version}`,
      );
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      await next.close().catch(() => undefined);
      return;
    }
    // The swap: one synchronous step. Calls resolving the name from here on get `next`.
    const old = this.deps.models.replace(next);
    this.current = next;
    this.failed = undefined;
    this.triggeredAt = undefined;
    this.retryMs = Math.max(1000, this.pollMs);
    this.deps.metrics.modelUpdates.inc({ model: this.name, result: 'swapped' });
    this.deps.metrics.storeVersion.set({ model: this.name }, v.version);
    log.info(
      {
        model: this.name,
        ref,
        from: cur.version,
        to: v.version,
        digest: v.digest,
        loadMs: +(t1 - t0).toFixed(1),
        warmUpMs: +(performance.now() - t1).toFixed(1),
        ...(triggeredAt !== undefined && Number.isFinite(triggeredAt) ? { sinceStoreWriteMs: Date.now() - triggeredAt } : {}),
        inFlightOnOld: old ? this.deps.models.leasesOf(old) : 0,
      },
      `model version swapped: ${cur.version} -> ${v.version}`,
    );
    if (old) this.retire(old, cur.version);
  }

  /** Closes `old` once no call holds it. */
  private retire(old: LoadedModel, version: number): void {
    const done = this.deps.models.drained(old).then(() => this.close(old, version));
    this.retiring.set(old, done);
  }

  private async close(old: LoadedModel, version: number): Promise<void> {
    if (!this.retiring.has(old)) return; // closed by stop() already
    this.retiring.delete(old);
    try {
      this.deps.release(old);
      await old.close();
      this.deps.logger.info({ model: this.name, version }, `released version ${version} (its last call ended)`);
    } catch (err) {
      this.deps.logger.warn({ model: this.name, version, err: messageOf(err) }, 'closing a replaced version failed');
    }
  }

  /**
   * Stops following: no new check starts, a load in progress is awaited (and its model closed), and replaced versions
   * still waiting for calls get `graceMs` more before they are closed anyway. The served version stays open (the
   * registry closes it).
   */
  async stop(graceMs = 1000): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.watch?.close();
    await this.running;
    const waiting = [...this.retiring.values()];
    if (waiting.length > 0) await Promise.race([Promise.all(waiting), sleep(graceMs)]);
    for (const [m] of [...this.retiring]) {
      this.retiring.delete(m);
      this.deps.release(m);
      await m.close().catch(() => undefined);
    }
  }
}
