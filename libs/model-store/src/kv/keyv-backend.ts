/**
 * The part every keyv-based backend shares: reads, plain writes and deletes go through keyv itself (so the layout and
 * the serialization are keyv's), errors become `ModelStoreError` UNAVAILABLE naming the backend, and values for the
 * native put-if-absent are serialized with the very serializer keyv uses.
 *
 * Keys: each backend's keyv instance is created without a namespace, and the backend hands it the full key as the
 * adapter stores it ({@link KeyvBackend.physicalKey}: `<namespace>:<key>`, or `<namespace>::<key>` on Redis), the
 * same key its native put-if-absent writes. (keyv's own prefixing leaves a key that already starts with
 * `<namespace>:` unprefixed in `get` and `set` but prefixes it in `getMany`, so leaving the prefix to keyv would make
 * such keys land in two places.)
 */
import type Keyv from 'keyv';
import { ModelStoreError } from '../errors.js';
import type { KvBackend, KvKind } from './kv-backend.js';

/** A short description of an error and its cause chain, for messages. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      const text = e.message || e.name;
      parts.push(typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  // AggregateError (e.g. ECONNREFUSED on both IPv4 and IPv6) carries its reasons in `errors`.
  if (err instanceof AggregateError && (parts[0] === '' || parts[0] === 'AggregateError')) {
    parts[0] = err.errors.map((x) => describeError(x)).join('; ');
  }
  return parts.filter((p) => p.length > 0).join(': ') || 'unknown error';
}

/** Longest key accepted (UTF-16 units): with the longest namespace it fits keyv's `VARCHAR(255)` key column. */
const MAX_KEY_LENGTH = 190;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Throws INVALID_ARGUMENT unless `key` is a string of 1 to {@link MAX_KEY_LENGTH} units, well-formed Unicode, without
 * NUL: the keys every backend stores and compares exactly (PostgreSQL rejects NUL and replaces lone surrogates).
 */
function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes('\0') || LONE_SURROGATE.test(key)) {
    const shown = typeof key === 'string' ? JSON.stringify(key.slice(0, 60)) : typeof key;
    throw new ModelStoreError('INVALID_ARGUMENT', `Invalid metadata key ${shown}: 1-${MAX_KEY_LENGTH} characters of well-formed Unicode without NUL.`);
  }
}

/** Base class of the keyv-backed {@link KvBackend}s. */
export abstract class KeyvBackend implements KvBackend {
  abstract readonly kind: KvKind;
  private closed = false;
  /** The last error the adapter emitted as an event (some adapters report connection failures only that way). */
  protected lastEventError: unknown;

  /** `keyv` must have no namespace: it is given {@link physicalKey}s. */
  protected constructor(
    protected readonly keyv: Keyv,
    readonly location: string,
    readonly namespace: string,
  ) {
    keyv.on('error', (err: unknown) => {
      this.lastEventError = err;
    });
  }

  /** The key as the adapter stores it (namespace included, as keyv and the adapter would lay it out). */
  protected abstract physicalKey(key: string): string;
  /** The native atomic insert of an already serialized value under a physical key. */
  protected abstract insertIfAbsent(physicalKey: string, serialized: string): Promise<boolean>;
  /** Removes every key of the namespace and nothing else. */
  protected abstract clearNamespace(): Promise<void>;
  /** Releases the connection. */
  protected abstract disconnect(): Promise<void>;

  /** Runs one backend call (SQLite overrides it to retry while another process holds the database lock). */
  protected attempt<T>(call: () => Promise<T>): Promise<T> {
    return call();
  }

  /** `ModelStoreError` UNAVAILABLE for a failed backend call. */
  protected unavailable(doing: string, err: unknown): ModelStoreError {
    if (err instanceof ModelStoreError) return err;
    let detail = describeError(err);
    // Some adapters report what went wrong only as an event, and throw a generic error (or a TypeError) after it.
    if (this.lastEventError !== undefined) {
      const event = describeError(this.lastEventError);
      if (!detail.includes(event)) detail = `${detail} (${event})`;
      this.lastEventError = undefined;
    }
    return new ModelStoreError('UNAVAILABLE', `The metadata backend ${this.location} failed to ${doing}: ${detail}`, { cause: err });
  }

  /** Runs `call` on the open backend, turning its failure into UNAVAILABLE (CORRUPT for a value keyv cannot parse). */
  private async run<T>(doing: string, call: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ModelStoreError('FAILED_PRECONDITION', `The metadata backend ${this.location} is closed; open a new one.`);
    try {
      return await this.attempt(call);
    } catch (err) {
      if (err instanceof SyntaxError) {
        throw new ModelStoreError('CORRUPT', `The metadata backend ${this.location} failed to ${doing}: a stored value is not in keyv's serialized form (${err.message}).`, { cause: err });
      }
      throw this.unavailable(doing, err);
    }
  }

  private checkValue(key: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      throw new ModelStoreError('CORRUPT', `The metadata backend ${this.location} holds a non-string value under ${this.namespace}:${key}; the model store only writes strings.`);
    }
    return value;
  }

  private static checkNewValue(key: string, value: unknown): void {
    if (typeof value !== 'string') throw new ModelStoreError('INVALID_ARGUMENT', `The value for metadata key ${JSON.stringify(key)} is a ${typeof value}, not a string.`);
  }

  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    const value = await this.run(`read ${key}`, () => this.keyv.get<unknown>(this.physicalKey(key)));
    return this.checkValue(key, value);
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    for (const key of keys) checkKey(key);
    if (keys.length === 0) return [];
    const physical = keys.map((k) => this.physicalKey(k));
    const values = await this.run(`read ${keys.length} keys from ${keys[0]}`, () => this.keyv.getMany<unknown>(physical));
    if (values.length !== keys.length) {
      throw new ModelStoreError('UNAVAILABLE', `The metadata backend ${this.location} answered ${values.length} values for ${keys.length} keys.`);
    }
    return values.map((v, i) => this.checkValue(keys[i]!, v));
  }

  async putIfAbsent(key: string, value: string): Promise<boolean> {
    checkKey(key);
    KeyvBackend.checkNewValue(key, value);
    // keyv's serialized form (`{"value":"..."}`), as `keyv.set` would store it.
    const serialized = this.keyv.serialize ? await this.keyv.serialize({ value, expires: undefined }) : value;
    return this.run(`insert ${key}`, () => this.insertIfAbsent(this.physicalKey(key), serialized));
  }

  async set(key: string, value: string): Promise<void> {
    checkKey(key);
    KeyvBackend.checkNewValue(key, value);
    const ok = await this.run(`write ${key}`, () => this.keyv.set(this.physicalKey(key), value));
    if (!ok) throw this.unavailable(`write ${key}`, this.lastEventError ?? new Error('the adapter reported failure'));
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return this.run(`delete ${key}`, () => this.keyv.delete(this.physicalKey(key)));
  }

  async clear(): Promise<void> {
    await this.run(`clear the namespace ${this.namespace}`, () => this.clearNamespace());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.disconnect();
    } catch (err) {
      throw this.unavailable('close its connection', err);
    }
  }
}

/** Throws INVALID_ARGUMENT unless `namespace` is `[A-Za-z0-9_.-]{1,64}` (no ':' so that keys split unambiguously, no glob or LIKE metacharacters). */
export function checkNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(namespace)) {
    throw new ModelStoreError('INVALID_ARGUMENT', `Invalid namespace ${JSON.stringify(namespace)}: 1-64 characters of letters, digits, '_', '.' and '-'.`);
  }
}

/** Throws INVALID_ARGUMENT unless `table` is a plain SQL identifier that starts with a letter (kept as is by every adapter). */
export function checkTable(table: string): void {
  if (typeof table !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new ModelStoreError('INVALID_ARGUMENT', `Invalid table name ${JSON.stringify(table)}: a letter then up to 62 letters, digits or '_'.`);
  }
}

/** `postgres://user:***@host:5432/db`: a URL without its password (nor secret-looking query parameters), for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@').replace(/([?&][^=]*(?:pass|secret|token|key)[^=]*=)[^&]*/gi, '$1***');
  }
}

/** Parses a server URL, or throws INVALID_ARGUMENT quoting it without its password. */
export function parseServerUrl(url: string, backend: string, form: string): URL {
  try {
    return new URL(url);
  } catch (err) {
    throw new ModelStoreError('INVALID_ARGUMENT', `Invalid ${backend} URL ${JSON.stringify(redactUrl(url))}: write ${form}.`, { cause: err });
  }
}

/** A lazily loaded optional package, or MISSING_DEPENDENCY naming the npm command. */
export async function importOptional<T>(specifier: string, load: () => Promise<T>, purpose: string): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ModelStoreError('MISSING_DEPENDENCY', `${purpose} needs the optional package ${specifier}: npm install ${specifier}`, { cause: err });
    }
    throw err;
  }
}
