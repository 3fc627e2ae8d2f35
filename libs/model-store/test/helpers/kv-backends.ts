/**
 * The metadata backends the kv tests run against, each on a database of its own for this test run: a SQLite file in
 * a temporary directory, a PostgreSQL table `kvt_<random>` (dropped in cleanup), Redis namespaces `kvt-<random>-*`
 * (cleared in cleanup) and a named in-process map. The servers are the local ones CI starts
 * (`GENOME_TEST_POSTGRES_URL`, `GENOME_TEST_REDIS_URL` override them); a test fails loudly when one is down.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvPostgres from '@keyv/postgres';
import KeyvRedis, { createClient } from '@keyv/redis';
import type { KvBackend, KvKind } from '../../src/kv/kv-backend.js';
import type { MemoryKv } from '../../src/kv/memory.js';
import { openKv } from '../../src/kv/open.js';

export const POSTGRES_URL = process.env.GENOME_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.GENOME_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const HOW_TO_START: Record<string, string> = {
  postgres: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  redis: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
};

/** A plain keyv 5 on a fresh adapter of a fixture's database, set up the way the adapter documents. */
export interface PlainKeyv {
  keyv: Keyv;
  close(): Promise<void>;
}

/** One backend under test. */
export interface KvFixture {
  kind: KvKind;
  /** A URL opening this fixture's database (its own file, table or map). */
  url: string;
  /** A namespace of this test run (`kvt-<random>-<label>`), cleared in cleanup. */
  namespace(label: string): string;
  /** Opens the backend on `namespace`. */
  open(namespace: string): Promise<KvBackend>;
  plainKeyv(namespace: string): Promise<PlainKeyv>;
  /** Removes what the tests stored: the file, the table, the namespaces. */
  cleanup(): Promise<void>;
}

const runId = randomBytes(4).toString('hex');

/** Opens `url` once to check that its server answers; the error says how to start it when not. */
async function probe(kind: 'postgres' | 'redis', url: string): Promise<void> {
  try {
    await (await openKv(url, { connectTimeoutMs: 3000, namespace: 'kvt-probe' })).close();
  } catch (err) {
    throw new Error(`The ${kind} server at ${url} is not answering (${(err as Error).message}). Start it: ${HOW_TO_START[kind]}`, { cause: err });
  }
}

/** A fixture for `kind`; `label` keeps the databases of different test files apart. */
export async function kvFixture(kind: KvKind, label: string): Promise<KvFixture> {
  const namespaces = new Set<string>();
  const namespace = (l: string) => {
    const ns = `kvt-${runId}-${label}-${l}`.slice(0, 64);
    namespaces.add(ns);
    return ns;
  };
  const clearNamespaces = async (url: string) => {
    for (const ns of namespaces) {
      const kv = await openKv(url, { namespace: ns });
      await kv.clear();
      await kv.close();
    }
  };
  const base = (url: string) => ({ kind, url, namespace, open: (ns: string) => openKv(url, { namespace: ns }) });
  switch (kind) {
    case 'memory': {
      const url = `memory:kvt-${runId}-${label}`;
      return {
        ...base(url),
        async plainKeyv(ns) {
          const map = ((await openKv(url, { namespace: ns })) as MemoryKv).map;
          return { keyv: new Keyv({ store: map, namespace: ns }), close: async () => undefined };
        },
        cleanup: () => clearNamespaces(url),
      };
    }
    case 'sqlite': {
      const dir = await mkdtemp(join(tmpdir(), `genome-kv-${label}-`));
      const file = join(dir, 'metadata.sqlite');
      const url = `sqlite://${file}`;
      return {
        ...base(url),
        async plainKeyv(ns) {
          const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 30_000 });
          return { keyv: new Keyv({ store: adapter, namespace: ns }), close: () => adapter.disconnect() };
        },
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    }
    case 'postgres': {
      await probe('postgres', POSTGRES_URL);
      const table = `kvt_${runId}_${label.replace(/\W/g, '_')}`.slice(0, 63);
      const url = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}table=${table}`;
      // @keyv/postgres keeps one module-wide pool per URL and ends it on disconnect(): one plain adapter at a time.
      const plainAdapter = () => new KeyvPostgres({ uri: POSTGRES_URL, table });
      return {
        ...base(url),
        async plainKeyv(ns) {
          const adapter = plainAdapter();
          return { keyv: new Keyv({ store: adapter, namespace: ns }), close: () => adapter.disconnect() };
        },
        async cleanup() {
          const adapter = plainAdapter();
          await adapter.query(`DROP TABLE IF EXISTS public.${table}`);
          await adapter.disconnect();
        },
      };
    }
    case 'redis': {
      await probe('redis', REDIS_URL);
      return {
        ...base(REDIS_URL),
        async plainKeyv(ns) {
          const adapter = new KeyvRedis(REDIS_URL);
          // As @keyv/redis documents: the adapter prefixes the namespace, keyv does not.
          return { keyv: new Keyv({ store: adapter, namespace: ns, useKeyPrefix: false }), close: () => adapter.disconnect() };
        },
        cleanup: () => clearNamespaces(REDIS_URL),
      };
    }
  }
}

/** Every backend: the in-process map, a SQLite file, PostgreSQL and Redis. */
export const ALL_KINDS: readonly KvKind[] = ['memory', 'sqlite', 'postgres', 'redis'];

/**
 * Makes the server close every connection a backend opened on `namespace` (the backends name their connections
 * `genome-model-store:<namespace>`), as a server restart or an idle timeout would; returns how many it closed.
 */
export async function dropConnections(kind: 'postgres' | 'redis', namespace: string): Promise<number> {
  const name = `genome-model-store:${namespace}`;
  if (kind === 'postgres') {
    const table = `kvt_${runId}_admin`; // the adapter creates its table on construction
    const adapter = new KeyvPostgres({ uri: POSTGRES_URL, table });
    try {
      const rows = (await adapter.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [name])) as unknown[];
      return rows.length;
    } finally {
      await adapter.query(`DROP TABLE IF EXISTS public.${table}`);
      await adapter.disconnect();
    }
  }
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    const list = await client.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'normal']);
    const ids = list.split('\n').filter((line) => line.includes(` name=${name} `)).map((line) => /\bid=(\d+)/.exec(line)![1]!);
    for (const id of ids) await client.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    return ids.length;
  } finally {
    await client.quit();
  }
}

/** A private `redis-server` on a free port (no persistence), to stop and start again under a live backend. */
export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
  let child: ChildProcess | undefined;
  const answers = () =>
    new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      let failed: Error | undefined;
      started.on('error', (err) => (failed = err)); // redis-server not on PATH
      child = started;
      for (let i = 0; i < 100 && !failed && started.exitCode === null && !(await answers()); i++) await sleep(50);
      if (failed || started.exitCode !== null) throw new Error(`redis-server did not start on port ${port}: ${failed?.message ?? `exit ${started.exitCode}`}`);
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
  await redis.start();
  return redis;
}

const helpers = fileURLToPath(new URL('./', import.meta.url));

/**
 * Runs `kv-open.ts` on `urls` in a child process (with `imports` loaded first, `env` added to the environment),
 * returning its results; the child is killed after `timeoutMs` (so that an open that never settles fails the test).
 */
export async function openInChild(
  urls: string[],
  options: { imports?: string[]; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Array<Record<string, string>>> {
  // tsx by absolute URL: the child may run in another directory.
  const args = [`--import=${import.meta.resolve('tsx')}`, '--conditions=@genome/source', ...(options.imports ?? []).map((i) => `--import=${join(helpers, i)}`), join(helpers, 'kv-open.ts'), ...urls];
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
  return JSON.parse(stdout) as Array<Record<string, string>>;
}
