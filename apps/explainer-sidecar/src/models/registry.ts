/**
 * The models this sidecar serves. Each configured model is loaded once at startup; loads are cached by
 * (ref, version, sha256) so two names pointing at the same bytes share one parsed model, and a reload of
 * unchanged bytes is free. Lookups on the request path are a Map get.
 *
 * A remote model whose server cannot be reached at startup is served as *not ready*: it is listed with what is known
 * of it, calls to it answer UNAVAILABLE, and it becomes ready when a background retry loads it (`makeReady`).
 *
 * A store-backed model that follows an alias is swapped (`replace`): the name's entry points at the new model in one
 * synchronous step, so each call sees either the old or the new model, never both. A call holds a lease on the model
 * it resolved (`acquire`) for its whole duration (a stream: until its last message), and `drained` tells when the
 * old model's last lease is returned, so it can be closed without failing a call.
 */
import { SidecarError } from '../errors.js';
import type { LoadedModel, ModelDescription } from './types.js';

export interface LoadKey {
  /** Absolute path or remote URL. */
  ref: string;
  version: string;
  /** Hex SHA-256 of the model bytes ('' for remote models). */
  sha256: string;
}

/** A served name: its model once loaded, or what is known of it while it is not ready. */
export type ModelEntry =
  | { readonly ready: true; readonly model: LoadedModel; readonly description: ModelDescription }
  | { readonly ready: false; readonly description: ModelDescription; readonly reason: string };

export class ModelRegistry {
  private readonly byName = new Map<string, ModelEntry>();
  private readonly cache = new Map<string, Promise<LoadedModel>>();
  private defaultName: string | undefined;
  /** Calls holding each model (only models with at least one). */
  private readonly leases = new Map<LoadedModel, number>();
  /** Who waits for a model's last lease to be returned. */
  private readonly drainWaiters = new Map<LoadedModel, (() => void)[]>();

  /** Loads through the cache: `load` runs only for a new (ref, version, sha256). */
  async loadCached(key: LoadKey, load: () => Promise<LoadedModel>): Promise<LoadedModel> {
    const k = `${key.ref}\u0000${key.version}\u0000${key.sha256}`;
    let p = this.cache.get(k);
    if (!p) {
      p = load();
      this.cache.set(k, p);
      p.catch(() => this.cache.delete(k));
    }
    return p;
  }

  private claim(name: string): void {
    if (this.byName.has(name)) throw new SidecarError('CONFIG', `two models are named "${name}": give them distinct names (name=path)`);
    this.defaultName ??= name;
  }

  /** Serves `model` under its description's name. The first model added is the default. */
  add(model: LoadedModel): void {
    const name = model.description.name;
    this.claim(name);
    this.byName.set(name, { ready: true, model, description: model.description });
  }

  /** Lists `description.name` as not ready (its predictor is unreachable), keeping its place in the order. */
  addPending(description: ModelDescription, reason: string): void {
    this.claim(description.name);
    this.byName.set(description.name, { ready: false, description, reason });
  }

  /** Updates why a not-ready model is not ready. */
  setPendingReason(name: string, reason: string): void {
    const e = this.byName.get(name);
    if (e && !e.ready) this.byName.set(name, { ...e, reason });
  }

  /** A pending name becomes ready with `model`; false when the name is gone (the registry was closed). */
  makeReady(model: LoadedModel): boolean {
    const e = this.byName.get(model.description.name);
    if (!e || e.ready) return false;
    this.byName.set(model.description.name, { ready: true, model, description: model.description });
    return true;
  }

  /**
   * Serves `model` under its name in place of the model served there now, atomically: calls that resolve the name
   * from now on get `model`; calls holding the previous one keep it until they end. Returns the previous model.
   */
  replace(model: LoadedModel): LoadedModel | undefined {
    const name = model.description.name;
    const e = this.byName.get(name);
    if (!e) throw new SidecarError('CONFIG', `no model named "${name}" to replace`);
    this.byName.set(name, { ready: true, model, description: model.description });
    return e.ready ? e.model : undefined;
  }

  /** Takes a lease on `model` for one call; the returned function gives it back (calling it twice is harmless). */
  acquire(model: LoadedModel): () => void {
    this.leases.set(model, (this.leases.get(model) ?? 0) + 1);
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      const n = (this.leases.get(model) ?? 1) - 1;
      if (n > 0) {
        this.leases.set(model, n);
        return;
      }
      this.leases.delete(model);
      const waiters = this.drainWaiters.get(model);
      this.drainWaiters.delete(model);
      for (const w of waiters ?? []) w();
    };
  }

  /** Calls holding `model` now. */
  leasesOf(model: LoadedModel): number {
    return this.leases.get(model) ?? 0;
  }

  /** Resolves once no call holds `model`. */
  drained(model: LoadedModel): Promise<void> {
    if (!this.leases.has(model)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.drainWaiters.get(model) ?? [];
      list.push(resolve);
      this.drainWaiters.set(model, list);
    });
  }

  /** The entry of `name` (the default model when empty), or undefined. */
  entry(name: string): ModelEntry | undefined {
    const n = name || this.defaultName;
    return n === undefined ? undefined : this.byName.get(n);
  }

  /** Every served name, ready or not, in configuration order. */
  entries(): ModelEntry[] {
    return [...this.byName.values()];
  }

  /** The ready models. */
  list(): LoadedModel[] {
    return this.entries().flatMap((e) => (e.ready ? [e.model] : []));
  }

  get defaultModel(): string | undefined {
    return this.defaultName;
  }

  async close(): Promise<void> {
    const all = new Set(this.list());
    this.byName.clear();
    await Promise.allSettled([...all].map((m) => m.close()));
  }
}
