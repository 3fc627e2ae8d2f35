/**
 * Redis metadata backend on `@keyv/redis` (an optional peer dependency, loaded on first use). Keys are laid out as
 * `@keyv/redis` documents them (its `createKeyv`, or `new Keyv({ store, namespace, useKeyPrefix: false })`): the
 * adapter prefixes `<namespace>::`, keyv adds nothing.
 *
 * put-if-absent: `SET <namespace>::<key> <value> NX` on the adapter's own client (node-redis, from
 * `adapter.getClient()`): `OK` when this command stored the key, nil when it was there. Redis executes commands one at
 * a time, so exactly one of several concurrent `SET NX` of a key stores it.
 *
 * The client is created here (through the `createClient` that `@keyv/redis` re-exports) and handed to the adapter, with
 * an `error` listener, bounded reconnects and no offline queue, so that a lost server fails calls with UNAVAILABLE
 * instead of queueing them forever or crashing the process on an unhandled `error` event. A server that refuses the
 * first connection fails `open` at once (after two quick retries), not after the connect timeout.
 */
import Keyv from 'keyv';
import type KeyvRedis from '@keyv/redis';
import type { RedisClientType } from '@keyv/redis';
import { ModelStoreError } from '../errors.js';
import { DEFAULT_NAMESPACE, type OpenKvOptions } from './kv-backend.js';
import { KeyvBackend, checkNamespace, describeError, importOptional, parseServerUrl, redactUrl } from './keyv-backend.js';

/** A {@link KvBackend} on a Redis server. */
export class RedisKv extends KeyvBackend {
  readonly kind = 'redis' as const;

  private constructor(
    keyv: Keyv,
    private readonly adapter: KeyvRedis<unknown>,
    location: string,
    namespace: string,
  ) {
    super(keyv, location, namespace);
  }

  /** Connects to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS). */
  static async open(url: string, options: OpenKvOptions = {}): Promise<RedisKv> {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(namespace);
    parseServerUrl(url, 'Redis', 'redis://[user:password@]host[:port][/db] (rediss:// for TLS)');
    const location = redactUrl(url);
    const mod = await importOptional('@keyv/redis', () => import('@keyv/redis'), 'The Redis metadata backend');
    const connectTimeout = options.connectTimeoutMs ?? 10_000;
    let lastError: unknown;
    let everReady = false;
    const client = mod.createClient({
      url,
      name: `genome-model-store:${namespace}`, // CLIENT SETNAME: names the connection in CLIENT LIST
      disableOfflineQueue: true,
      socket: {
        connectTimeout,
        // Before a first connection: two quick retries, then fail. After a lost connection: back off up to 1 s and
        // give up after ~8 s; the adapter reconnects on the next call, which then fails fast while the server is down.
        reconnectStrategy: (retries: number, cause: Error) => {
          if (everReady && retries < 12) return Math.min(50 * 2 ** retries, 1000);
          if (!everReady && retries < 2) return 100 * (retries + 1);
          everReady = false;
          return cause;
        },
      },
    }) as RedisClientType;
    client.on('error', (err: unknown) => {
      lastError = err;
    });
    client.on('ready', () => {
      everReady = true;
    });
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no connection within ${connectTimeout} ms`)), connectTimeout).unref()),
      ]);
      await client.ping();
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      const detail = [err, lastError].filter((e) => e !== undefined).map((e) => describeError(e)).filter((d, i, all) => all.indexOf(d) === i).join('; ');
      throw new ModelStoreError('UNAVAILABLE', `Could not connect to the metadata backend ${location}: ${detail}`, { cause: err });
    }
    // No `connectionTimeout` for the adapter: its timer is never cleared (it would hold the process open for that long
    // after a reconnect); the client's own connect timeout and reconnect strategy bound a reconnect.
    const adapter = new mod.default(client, { throwErrors: true, throwOnConnectError: true });
    adapter.on('error', () => undefined); // failures are thrown to the caller (throwErrors)
    // No namespace on keyv nor on the adapter: physicalKey() lays the keys out as a namespaced adapter would.
    const keyv = new Keyv({ store: adapter, namespace: undefined, useKeyPrefix: false, throwOnErrors: true });
    return new RedisKv(keyv, adapter, location, namespace);
  }

  protected physicalKey(key: string): string {
    return this.adapter.createKeyPrefix(key, this.namespace);
  }

  protected async insertIfAbsent(physicalKey: string, serialized: string): Promise<boolean> {
    const client = (await this.adapter.getClient()) as RedisClientType;
    return (await client.set(physicalKey, serialized, { NX: true })) === 'OK';
  }

  protected async clearNamespace(): Promise<void> {
    // The adapter's clear() reports failures only as events; this one throws them.
    const client = (await this.adapter.getClient()) as RedisClientType;
    const match = `${this.adapter.createKeyPrefix('', this.namespace)}*`; // namespaces hold no glob metacharacters
    let cursor = 0;
    do {
      const page = await client.scan(cursor, { MATCH: match, COUNT: 1000 });
      cursor = Number(page.cursor);
      if (page.keys.length > 0) await client.unlink(page.keys);
    } while (cursor !== 0);
  }

  protected async disconnect(): Promise<void> {
    await this.adapter.disconnect();
  }
}
