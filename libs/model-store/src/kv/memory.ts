/**
 * In-process metadata backend: keyv over a `Map`, for embedded single-process use and tests. `memory:` opens a
 * fresh private map; `memory:<name>` shares one map among every opening of that name in this process.
 *
 * put-if-absent: `if (!map.has(key)) map.set(key, value)`, one synchronous step on the event loop, so no other
 * caller in the process can interleave. Nothing is shared with other processes and nothing survives the process.
 */
import Keyv from 'keyv';
import { DEFAULT_NAMESPACE, type OpenKvOptions } from './kv-backend.js';
import { KeyvBackend, checkNamespace } from './keyv-backend.js';

const shared = new Map<string, Map<string, unknown>>();

/** A {@link KvBackend} on a `Map` of this process. */
export class MemoryKv extends KeyvBackend {
  readonly kind = 'memory' as const;

  private constructor(
    keyv: Keyv,
    /** The map keyv stores into (`<namespace>:<key>` → keyv's serialized value); a plain keyv on it reads the same data. */
    readonly map: Map<string, unknown>,
    location: string,
    namespace: string,
  ) {
    super(keyv, location, namespace);
  }

  /** Opens a private map (`name` undefined) or the process-wide map called `name`. */
  static open(name: string | undefined, options: OpenKvOptions = {}): MemoryKv {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(namespace);
    let map: Map<string, unknown>;
    if (name) {
      map = shared.get(name) ?? new Map<string, unknown>();
      shared.set(name, map);
    } else {
      map = new Map<string, unknown>();
    }
    const keyv = new Keyv({ store: map, namespace: undefined, useKeyPrefix: false, throwOnErrors: true });
    return new MemoryKv(keyv, map, name ? `memory:${name}` : 'memory:', namespace);
  }

  /** Key by key: keyv's getMany on a `Map` store would turn a value it cannot parse into undefined. */
  override async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  protected physicalKey(key: string): string {
    return `${this.namespace}:${key}`;
  }

  protected async insertIfAbsent(physicalKey: string, serialized: string): Promise<boolean> {
    if (this.map.has(physicalKey)) return false;
    this.map.set(physicalKey, serialized);
    return true;
  }

  protected async clearNamespace(): Promise<void> {
    const prefix = `${this.namespace}:`;
    for (const key of [...this.map.keys()]) if (key.startsWith(prefix)) this.map.delete(key);
  }

  protected async disconnect(): Promise<void> {
    // Nothing to release: a named map stays available to later openings in this process.
  }
}
