/**
 * SQLite metadata backend on `@keyv/sqlite` (a `sqlite3` database; one table `keyv(key VARCHAR PRIMARY KEY, value
 * TEXT)`). Several processes may share the file: it is switched to WAL (readers never wait for the writer) and every
 * connection waits up to `busyTimeoutMs` for another process's write lock.
 *
 * put-if-absent: `INSERT INTO <table>(key, value) VALUES(?, ?) ON CONFLICT(key) DO NOTHING RETURNING key` through the
 * adapter's own `query` (sqlite3's `Database#all` on the adapter's connection): one row back when this statement
 * inserted, none when the key was there. SQLite runs each statement as its own transaction under the database write
 * lock, so two processes can never both insert the same key.
 */
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Keyv from 'keyv';
import type { KeyvSqlite } from '@keyv/sqlite';
import { ModelStoreError } from '../errors.js';
import { DEFAULT_NAMESPACE, type OpenKvOptions } from './kv-backend.js';
import { KeyvBackend, checkNamespace, checkTable, describeError, importOptional } from './keyv-backend.js';
import { makeDirs } from '../files/make-dirs.js';

/** Errors sqlite3 reports while another connection holds the lock, worth retrying. */
function isBusy(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return true;
  }
  return false;
}

/**
 * Runs `call`, retrying with a short random backoff while it fails with SQLITE_BUSY, for at most `budgetMs` in all.
 * The connection's busy timeout already waits for the lock; this covers the cases where SQLite answers BUSY without
 * waiting (switching to WAL or recovering the WAL while another process opens the file).
 */
async function retryBusy<T>(call: () => Promise<T>, budgetMs: number): Promise<T> {
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isBusy(err) || Date.now() - start >= budgetMs) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(10 * attempt, 200)));
    }
  }
}

/** A {@link KvBackend} on a SQLite file. */
export class SqliteKv extends KeyvBackend {
  readonly kind = 'sqlite' as const;

  private constructor(
    keyv: Keyv,
    private readonly adapter: KeyvSqlite,
    private readonly table: string,
    private readonly busyTimeoutMs: number,
    location: string,
    namespace: string,
  ) {
    super(keyv, location, namespace);
  }

  /** Opens (creating when needed) the database file at `path` (absolute, or relative to the working directory). */
  static async open(path: string, options: OpenKvOptions = {}): Promise<SqliteKv> {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(namespace);
    const table = options.table ?? 'keyv';
    checkTable(table);
    const busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
    const file = resolve(path);
    const location = pathToFileURL(file).href.replace(/^file:/, 'sqlite:');
    try {
      await makeDirs(dirname(file));
    } catch (err) {
      throw new ModelStoreError('UNAVAILABLE', `Could not create the directory of the metadata database ${location}: ${describeError(err)}`, { cause: err });
    }
    const mod = await importOptional('@keyv/sqlite', () => import('@keyv/sqlite'), 'The SQLite metadata backend');
    const adapter = new mod.KeyvSqlite({ uri: `sqlite://${file}`, table, busyTimeout: busyTimeoutMs });
    adapter.on('error', () => undefined); // reported through the failing query below
    const keyv = new Keyv({ store: adapter, namespace: undefined, useKeyPrefix: false, throwOnErrors: true });
    // The adapter's own table name (it would rename some names; checkTable admits only names it keeps).
    const kv = new SqliteKv(keyv, adapter, adapter.opts.table ?? table, busyTimeoutMs, location, namespace);
    try {
      // WAL: readers do not block the writer and the writer does not block readers; each commit is durable
      // (synchronous stays FULL, the default). The setting is stored in the file, for every later connection.
      await kv.attempt(() => adapter.query('PRAGMA journal_mode=WAL'));
      await kv.attempt(() => adapter.query(`SELECT 1 FROM ${kv.table} LIMIT 1`));
    } catch (err) {
      await adapter.close().catch(() => undefined);
      throw new ModelStoreError('UNAVAILABLE', `Could not open the metadata database ${location}: ${describeError(err)}`, { cause: err });
    }
    return kv;
  }

  protected override attempt<T>(call: () => Promise<T>): Promise<T> {
    return retryBusy(call, this.busyTimeoutMs);
  }

  protected physicalKey(key: string): string {
    return `${this.namespace}:${key}`;
  }

  protected async insertIfAbsent(physicalKey: string, serialized: string): Promise<boolean> {
    const rows = (await this.adapter.query(
      `INSERT INTO ${this.table}(key, value) VALUES(?, ?) ON CONFLICT(key) DO NOTHING RETURNING key`,
      physicalKey,
      serialized,
    )) as unknown[];
    return rows.length === 1;
  }

  protected async clearNamespace(): Promise<void> {
    // A key range rather than LIKE: LIKE is case-insensitive in SQLite and '_' is a wildcard. Keys compare as bytes.
    await this.adapter.query(`DELETE FROM ${this.table} WHERE key >= ? AND key < ?`, `${this.namespace}:`, `${this.namespace};`);
  }

  protected async disconnect(): Promise<void> {
    await this.adapter.disconnect();
  }
}
