/**
 * PostgreSQL metadata backend on `@keyv/postgres` (an optional peer dependency, loaded on first use; one table
 * `keyv(key VARCHAR(255) PRIMARY KEY, value TEXT)` in schema `public`).
 *
 * put-if-absent: `INSERT INTO public.<table>(key, value) VALUES($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`
 * through the adapter's own `query`: one row back when this statement inserted, none when the key was there. The
 * primary key's unique index makes concurrent inserts of one key serialize: exactly one of them inserts.
 *
 * The adapter keeps one module-wide `pg` pool per URL, ends it for every instance on `disconnect()` and attaches no
 * `error` listener to it (an idle connection dropped by the server would crash the process). This backend therefore
 * gives each store its own pool, through the adapter's `connect()` hook, with an error listener and a bounded connect
 * timeout; `pg` is loaded from where `@keyv/postgres` itself loads it.
 */
import { createRequire } from 'node:module';
import Keyv from 'keyv';
import type { KeyvPostgres } from '@keyv/postgres';
import { ModelStoreError } from '../errors.js';
import { DEFAULT_NAMESPACE, type OpenKvOptions } from './kv-backend.js';
import { KeyvBackend, checkNamespace, checkTable, describeError, importOptional, parseServerUrl, redactUrl } from './keyv-backend.js';

/** The part of a `pg` pool this backend uses. */
interface PgPool {
  query(sql: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
interface PgModule {
  Pool: new (config: Record<string, unknown>) => PgPool;
}

type Query = (sql: string, values?: unknown[]) => Promise<unknown[]>;

/** A {@link KvBackend} on a PostgreSQL table. */
export class PostgresKv extends KeyvBackend {
  readonly kind = 'postgres' as const;

  private constructor(
    keyv: Keyv,
    private readonly query: Query,
    private readonly pool: PgPool,
    private readonly qualifiedTable: string,
    location: string,
    namespace: string,
  ) {
    super(keyv, location, namespace);
  }

  /** Connects to `url` (`postgres://` or `postgresql://`, `?table=` optional) and creates the table when needed. */
  static async open(url: string, options: OpenKvOptions = {}): Promise<PostgresKv> {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(namespace);
    const u = parseServerUrl(url, 'PostgreSQL', 'postgres://user[:password]@host[:port]/database[?table=name]');
    const table = options.table ?? u.searchParams.get('table') ?? 'keyv';
    checkTable(table);
    u.searchParams.delete('table');
    const connectionString = u.toString();
    const location = redactUrl(connectionString);

    const purpose = 'The PostgreSQL metadata backend';
    const mod = await importOptional('@keyv/postgres', () => import('@keyv/postgres'), purpose);
    const pg = await importOptional('@keyv/postgres', async () => createRequire(import.meta.resolve('@keyv/postgres'))('pg') as PgModule, purpose);
    const pool = new pg.Pool({
      connectionString,
      // Names the connections in pg_stat_activity (an application_name in the URL takes precedence).
      application_name: `genome-model-store:${namespace}`.slice(0, 63),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
    });
    let lastPoolError: Error | undefined;
    pool.on('error', (err) => {
      lastPoolError = err; // an idle connection was dropped; the pool replaces it on the next query
    });
    class OwnPoolKeyvPostgres extends mod.KeyvPostgres {
      override async connect(): Promise<Query> {
        return async (sql, values) => (await pool.query(sql, values)).rows;
      }
      override async disconnect(): Promise<void> {
        await pool.end();
      }
    }
    const adapter: KeyvPostgres = new OwnPoolKeyvPostgres({ uri: connectionString, table });
    adapter.on('error', () => undefined); // its table creation failed: retried and reported below
    const keyv = new Keyv({ store: adapter, namespace: undefined, useKeyPrefix: false, throwOnErrors: true });
    const qualifiedTable = `${adapter.opts.schema ?? 'public'}.${adapter.opts.table ?? table}`;
    const query: Query = (sql, values) => adapter.query(sql, values) as Promise<unknown[]>;
    try {
      await ensureTable(query, qualifiedTable);
    } catch (err) {
      await pool.end().catch(() => undefined);
      const detail = describeError(err) + (lastPoolError && lastPoolError !== err ? ` (${describeError(lastPoolError)})` : '');
      throw new ModelStoreError('UNAVAILABLE', `Could not open the metadata database ${location}: ${detail}`, { cause: err });
    }
    return new PostgresKv(keyv, query, pool, qualifiedTable, location, namespace);
  }

  protected physicalKey(key: string): string {
    return `${this.namespace}:${key}`;
  }

  protected async insertIfAbsent(physicalKey: string, serialized: string): Promise<boolean> {
    const rows = await this.query(
      `INSERT INTO ${this.qualifiedTable}(key, value) VALUES($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [physicalKey, serialized],
    );
    return rows.length === 1;
  }

  protected async clearNamespace(): Promise<void> {
    await this.query(`DELETE FROM ${this.qualifiedTable} WHERE starts_with(key, $1)`, [`${this.namespace}:`]);
  }

  protected async disconnect(): Promise<void> {
    await this.pool.end();
  }
}

/** Creates the keyv table when absent (concurrent creators race on the catalog: retried). */
async function ensureTable(query: Query, qualifiedTable: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await query(`CREATE TABLE IF NOT EXISTS ${qualifiedTable}(key VARCHAR(255) PRIMARY KEY, value TEXT)`);
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // 23505 / 42P07: another connection created it at the same moment.
      if ((code === '23505' || code === '42P07') && attempt < 5) continue;
      throw err;
    }
  }
}
