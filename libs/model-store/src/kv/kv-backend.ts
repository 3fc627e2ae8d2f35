/**
 * {@link KvBackend}: the few key-value operations the model store needs from its metadata backend, the one atomic
 * primitive among them being {@link KvBackend.putIfAbsent}. Keys are given without the namespace; a backend adds it
 * exactly as keyv does for that adapter, and stores values in keyv's serialized form (`{"value":"..."}`), so that a
 * plain keyv on the same adapter and namespace reads what the store wrote, and the other way round.
 */

/** Which backend a {@link KvBackend} talks to. */
export type KvKind = 'sqlite' | 'postgres' | 'redis' | 'memory';

export interface KvBackend {
  readonly kind: KvKind;
  /** Where the data lives, for messages (`sqlite:///var/lib/genome/metadata.sqlite`, `redis://host:6379`); never holds a password. */
  readonly location: string;
  /** Every key is stored under this namespace (keyv's namespace: `<namespace>:<key>`, or `<namespace>::<key>` on Redis). */
  readonly namespace: string;
  /** The value of `key`, or undefined when absent. */
  get(key: string): Promise<string | undefined>;
  /** The values of `keys`, in order (undefined where absent), in one round trip. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Stores `value` under `key` only if `key` is absent, atomically with respect to every other writer of the same
   * backend (other processes and hosts included). True when this call stored it; false when the key was already there
   * (its value is left as it was).
   */
  putIfAbsent(key: string, value: string): Promise<boolean>;
  /** Stores `value` under `key`, replacing any value (for hints and caches only: never for the log). */
  set(key: string, value: string): Promise<void>;
  /** Removes `key`; true when it was there. */
  delete(key: string): Promise<boolean>;
  /** Removes every key of this namespace (to retire a store; tests use it to clean up). */
  clear(): Promise<void>;
  /** Releases the connection. The backend is unusable afterwards. */
  close(): Promise<void>;
}

/** Options of {@link openKv}. */
export interface OpenKvOptions {
  /** Key namespace (default `genome-store`). `[A-Za-z0-9_.-]{1,64}`. */
  namespace?: string;
  /**
   * SQLite and PostgreSQL: the table (default `keyv`, keyv's own default; also `?table=` in the URL).
   * `[A-Za-z][A-Za-z0-9_]{0,62}` (@keyv/sqlite would rename a name starting with `_`).
   */
  table?: string;
  /** SQLite: how long a writer waits for another process's write lock, in ms (default 30000). */
  busyTimeoutMs?: number;
  /** PostgreSQL and Redis: how long to wait for a connection, in ms (default 10000). */
  connectTimeoutMs?: number;
  /** PostgreSQL: most connections in the pool (default 4). */
  poolSize?: number;
}

/** The default namespace of a model store's keys. */
export const DEFAULT_NAMESPACE = 'genome-store';
