/**
 * The models this sidecar serves. Each configured model is loaded once at startup; loads are cached by
 * (ref, version, sha256) so two names pointing at the same bytes share one parsed model, and a reload of
 * unchanged bytes is free. Lookups on the request path are a Map get.
 *
 * A remote model whose server cannot be reached at startup is served as *not ready*: it is listed with what is known
 * of it, calls to it answer UNAVAILABLE, and it becomes ready when a background retry loads it (`makeReady`).
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
