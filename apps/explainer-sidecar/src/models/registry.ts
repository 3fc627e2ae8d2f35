/**
 * The models this sidecar serves. Each configured model is loaded once at startup; loads are cached by
 * (ref, version, sha256) so two names pointing at the same bytes share one parsed model, and a reload of
 * unchanged bytes is free. Lookups on the request path are a Map get.
 */
import { SidecarError } from '../errors.js';
import type { LoadedModel } from './types.js';

export interface LoadKey {
  /** Absolute path or remote URL. */
  ref: string;
  version: string;
  /** Hex SHA-256 of the model bytes ('' for remote models). */
  sha256: string;
}

export class ModelRegistry {
  private readonly byName = new Map<string, LoadedModel>();
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

  /** Serves `model` under its description's name. The first model added is the default. */
  add(model: LoadedModel): void {
    const name = model.description.name;
    if (this.byName.has(name)) throw new SidecarError('CONFIG', `two models are named "${name}": give them distinct names (name=path)`);
    this.byName.set(name, model);
    this.defaultName ??= name;
  }

  /** The model called `name` (default model when empty); `version` must match when given. */
  get(name: string, version = ''): LoadedModel {
    const n = name || this.defaultName;
    const m = n === undefined ? undefined : this.byName.get(n);
    if (!m) {
      throw new SidecarError('MODEL_NOT_FOUND', `no model named "${name}" is served here; available: ${[...this.byName.keys()].join(', ') || '(none)'}`);
    }
    if (version && version !== m.description.version) {
      throw new SidecarError('MODEL_NOT_FOUND', `model "${m.description.name}" is served at version "${m.description.version}", not "${version}"`);
    }
    return m;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  list(): LoadedModel[] {
    return [...this.byName.values()];
  }

  get defaultModel(): string | undefined {
    return this.defaultName;
  }

  async close(): Promise<void> {
    const all = new Set(this.byName.values());
    this.byName.clear();
    await Promise.allSettled([...all].map((m) => m.close()));
  }
}
