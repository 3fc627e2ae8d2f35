/**
 * {@link openKv}: a metadata backend from a URL, as found in configuration and on command lines.
 */
import { ModelStoreError } from '../errors.js';
import type { KvBackend, OpenKvOptions } from './kv-backend.js';

/** The accepted forms, for messages. */
export const KV_URL_FORMS =
  'sqlite:///absolute/path.sqlite, sqlite://relative/path.sqlite, postgres://user@host:5432/db (or postgresql://), ' +
  'redis://host:6379 (or rediss://), memory: or memory:<name>';

/**
 * Opens a metadata backend:
 * - `sqlite:///abs/path.sqlite` or `sqlite://relative.sqlite` (`?table=` optional): a SQLite file (created when absent);
 * - `postgres://...` / `postgresql://...` (`?table=` optional): PostgreSQL, needs `npm install @keyv/postgres`;
 * - `redis://...` / `rediss://...`: Redis, needs `npm install @keyv/redis`;
 * - `memory:` (a private map) or `memory:<name>` (a map shared in this process).
 */
export async function openKv(url: string, options: OpenKvOptions = {}): Promise<KvBackend> {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ModelStoreError('INVALID_ARGUMENT', `The metadata backend URL is empty; give one of ${KV_URL_FORMS}.`);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      let rest = url.startsWith('sqlite://') ? url.slice('sqlite://'.length) : '';
      let table = options.table;
      const q = rest.indexOf('?');
      if (q >= 0) {
        const params = new URLSearchParams(rest.slice(q + 1));
        table ??= params.get('table') ?? undefined;
        rest = rest.slice(0, q);
      }
      if (rest === '') {
        throw new ModelStoreError('INVALID_ARGUMENT', `Invalid SQLite URL ${JSON.stringify(url)}: write sqlite:///absolute/path.sqlite or sqlite://relative/path.sqlite.`);
      }
      if (rest === ':memory:') {
        throw new ModelStoreError('INVALID_ARGUMENT', `SQLite's :memory: database is private to one connection; use memory: for an in-process store.`);
      }
      let path: string;
      try {
        path = decodeURIComponent(rest);
      } catch (err) {
        throw new ModelStoreError('INVALID_ARGUMENT', `Invalid SQLite URL ${JSON.stringify(url)}: malformed %-escape in the path.`, { cause: err });
      }
      const { SqliteKv } = await import('./sqlite.js');
      return SqliteKv.open(path, { ...options, ...(table !== undefined ? { table } : {}) });
    }
    case 'postgres':
    case 'postgresql': {
      const { PostgresKv } = await import('./postgres.js');
      return PostgresKv.open(url, options);
    }
    case 'redis':
    case 'rediss': {
      const { RedisKv } = await import('./redis.js');
      return RedisKv.open(url, options);
    }
    case 'memory': {
      const { MemoryKv } = await import('./memory.js');
      const name = url.slice('memory:'.length).replace(/^\/\//, '');
      return MemoryKv.open(name === '' ? undefined : name, options);
    }
    default:
      throw new ModelStoreError(
        'INVALID_ARGUMENT',
        `Unsupported metadata backend URL ${JSON.stringify(url.slice(0, 40))}${scheme ? ` (scheme "${scheme}:")` : ''}; accepted: ${KV_URL_FORMS}.`,
      );
  }
}

/** True when `value` has every method of a {@link KvBackend}. */
export function isKvBackend(value: unknown): value is KvBackend {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['get', 'getMany', 'putIfAbsent', 'set', 'delete', 'clear', 'close'].every((m) => typeof v[m] === 'function') && typeof v.namespace === 'string';
}
