/**
 * Model store metadata throughput, per metadata backend (in-process memory as the reference, a SQLite file, the local
 * PostgreSQL and Redis that CI starts; GENOME_TEST_POSTGRES_URL / GENOME_TEST_REDIS_URL override them), with
 * filesystem blobs in os.tmpdir():
 *
 * - saves/s: `saveModel` of a copy of examples/packages/california-housing-rf (3 files, 265 KB) with a new description
 *   each time (every file hashed, genome.json a new blob, the model and background blobs already held), one at a time;
 * - fill to 10k versions (100 models x 100 versions) with `createVersion` (the remote save path: the blobs were uploaded
 *   once, each commit checks and touches them, reads and validates genome.json and appends one log entry), 8 calls in
 *   flight; its rate is reported;
 * - getVersion/s and search/s at 10k versions, for several query shapes; every read first catches up with the log
 *   (one round trip to the backend), as every read of the store does;
 * - cold open at 10k: a new store (new connection) from the latest snapshot plus the entries after it, and from a
 *   replay of the whole log (snapshots hidden).
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/model-store.bench.ts [--quick] [--only=sqlite,redis]
 *
 * `--quick` fills 2k versions instead of 10k; `--only` picks backends. A backend whose server does not answer is skipped with a warning.
 */
import KeyvPostgres from '@keyv/postgres';
import { Bench } from 'tinybench';
import type { Task } from 'tinybench';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvBackend, KvKind } from '../libs/model-store/src/kv/kv-backend.js';
import { openKv } from '../libs/model-store/src/kv/open.js';
import { openModelStore, type ModelStore } from '../libs/model-store/src/store.js';
import type { SearchQuery, StoredFile } from '../libs/model-store/src/types.js';
import { makePackage } from '../libs/model-store/test/helpers/packages.js';

const quick = process.argv.includes('--quick');
const MODELS = 100;
const PER_MODEL = quick ? 20 : 100;
const TOTAL = MODELS * PER_MODEL;
const SAVES = quick ? 30 : 100;
const POSTGRES_URL = process.env.GENOME_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.GENOME_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = randomBytes(4).toString('hex');

const writes: Record<string, string | number>[] = [];
const reads: Record<string, string | number>[] = [];
const opens: Record<string, string | number>[] = [];

/** Mean latency of a finished task, in ms. */
function meanMs(bench: Bench, name: string): number {
  const task = bench.tasks.find((t: Task) => t.name === name);
  const result = task?.result as { latency?: { mean: number } } | undefined;
  if (result?.latency === undefined) throw new Error(`benchmark task ${name} did not finish`);
  return result.latency.mean;
}

/** The metadata URL of each backend, with a table / map of this run's own. */
function backendUrl(kind: KvKind): string {
  switch (kind) {
    case 'memory':
      return `memory:bench-${runId}`;
    case 'sqlite':
      return ''; // set per run (a file in the run's directory)
    case 'postgres':
      return `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}table=bench_${runId}`;
    case 'redis':
      return REDIS_URL;
  }
}

/** A view of `kv` without snapshots: a store opened on it replays the whole log. */
function withoutSnapshots(kv: KvBackend): KvBackend {
  const hide = (key: string) => key.startsWith('snapshot:');
  return {
    kind: kv.kind,
    location: kv.location,
    namespace: kv.namespace,
    get: (key) => (hide(key) ? Promise.resolve(undefined) : kv.get(key)),
    getMany: async (keys) => (await kv.getMany(keys)).map((v, i) => (hide(keys[i]!) ? undefined : v)),
    putIfAbsent: (key, value) => kv.putIfAbsent(key, value),
    set: (key, value) => kv.set(key, value),
    delete: (key) => kv.delete(key),
    clear: () => kv.clear(),
    close: () => kv.close(),
  };
}

/** Runs `fn(i)` for i in [0, n), `inFlight` at a time. */
async function pool(n: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const model = (m: number) => `model-${String(m).padStart(3, '0')}`;

/** The search shapes measured, at 10k versions (selectivity in the comment). */
const QUERIES: { label: string; query: SearchQuery }[] = [
  { label: 'metadata =: application (10%)', query: { where: [{ field: 'application', op: '=', value: 'app-3' }] } },
  { label: 'name prefix (10 models, 10%)', query: { where: [{ field: 'name', op: 'prefix', value: 'model-01' }] } },
  { label: 'metadata prefix: pipelineName (10%)', query: { where: [{ field: 'pipelineName', op: 'prefix', value: 'pipe-7' }] } },
  { label: 'metric range: 0.90 <= auc < 0.95 (5%)', query: { where: [{ field: 'metrics.auc', op: '>=', value: 0.9 }, { field: 'metrics.auc', op: '<', value: 0.95 }] } },
  { label: 'tag =: team (5%)', query: { where: [{ field: 'tags.team', op: '=', value: 'team-7' }] } },
  { label: 'filter text: app AND auc > 0.5 (5%)', query: { filter: "application = 'app-3' AND metrics.auc > 0.5" } },
  { label: 'latestOnly (100 of all)', query: { latestOnly: true } },
  { label: 'latestOnly + tag = (20 of 5%)', query: { latestOnly: true, where: [{ field: 'tags.team', op: '=', value: 'team-7' }] } },
  { label: 'all, orderBy auc desc, page 1 (50)', query: { orderBy: [{ field: 'metrics.auc', direction: 'desc' }], pageSize: 50 } },
];

async function runBackend(kind: KvKind, dir: string): Promise<void> {
  const url = kind === 'sqlite' ? `sqlite://${join(dir, 'metadata.sqlite')}` : backendUrl(kind);
  const namespace = `bench-${runId}-${kind}`;
  const blobs = join(dir, 'blobs');
  const options = { metadata: url, namespace, blobs, dir, onWarning: (m: string) => console.warn(`WARNING (${kind}): ${m}`) };
  let store: ModelStore;
  try {
    store = await openModelStore(options);
  } catch (err) {
    console.warn(`WARNING: ${kind} skipped: ${(err as Error).message}`);
    return;
  }
  try {
    // -- saves/s
    const pkg = makePackage(join(dir, 'pkgs'), 'bench');
    const manifestPath = join(pkg, 'genome.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    let n = 0;
    const saveBench = new Bench({ time: 0, iterations: SAVES, warmupIterations: 3, warmupTime: 0, throws: true });
    saveBench.add('save', async () => void (await store.saveModel(pkg, { canonicalName: 'saved', tags: { i: String(n) } })), {
      beforeEach: () => writeFileSync(manifestPath, JSON.stringify({ ...manifest, description: `bench save ${++n}` })),
    });
    await saveBench.run();

    // -- fill with createVersion: one genome.json blob per model, the model and background blobs shared.
    const files = new Map<number, StoredFile[]>();
    for (let m = 0; m < MODELS; m++) {
      writeFileSync(manifestPath, JSON.stringify({ ...manifest, description: `bench ${model(m)}` }));
      const v = await store.saveModel(pkg, { canonicalName: model(m), application: `app-${m % 10}`, tags: { team: `team-${m % 20}` }, metrics: { auc: 0.5 } });
      files.set(m, v.files);
    }
    const fillStart = performance.now();
    let random = 42;
    const rand = () => ((random = (Math.imul(random, 1103515245) + 12345) >>> 0) / 2 ** 32);
    await pool(TOTAL - MODELS, 8, async (i) => {
      const m = i % MODELS;
      await store.createVersion(files.get(m)!, {
        canonicalName: model(m),
        application: `app-${(m + Math.floor(i / MODELS)) % 10}`,
        pipelineName: `pipe-${i % 10}`,
        pipelineRunId: `run-${i}`,
        description: `version ${i} of ${model(m)}`,
        tags: { team: `team-${i % 20}`, fold: String(i % 5) },
        metrics: { auc: +rand().toFixed(4), loss: +rand().toFixed(4) },
        ...(Math.floor(i / MODELS) % 5 === 0 ? { aliases: ['production'] } : {}),
      });
    });
    const fillMs = performance.now() - fillStart;
    for (const m of [0, MODELS - 1]) {
      const latest = (await store.getModel(model(m))).latestVersion;
      if (latest !== PER_MODEL) throw new Error(`${model(m)} has ${latest} versions after the fill, not ${PER_MODEL}`);
    }
    writes.push({
      backend: kind,
      'saves/s (265 KB pkg)': Math.round(1000 / meanMs(saveBench, 'save')),
      'save ms': +meanMs(saveBench, 'save').toFixed(2),
      [`fill: createVersion/s (8 in flight, to ${TOTAL})`]: Math.round((TOTAL - MODELS) / (fillMs / 1000)),
    });

    // -- reads at 10k
    const refs = Array.from({ length: 512 }, (_, i) => `${model((i * 37) % MODELS)}/${1 + ((i * 13) % PER_MODEL)}`);
    let r = 0;
    const pageOne = await store.search(QUERIES.at(-1)!.query);
    const readBench = new Bench({ time: 400, warmupTime: 100, throws: true });
    readBench
      .add('getVersion name/N', async () => void (await store.getVersion(refs[r++ % refs.length]!)))
      .add('getVersion name@alias', async () => void (await store.getVersion(`${model(r++ % MODELS)}@production`)))
      .add('listVersions (page 100)', async () => void (await store.listVersions(model(r++ % MODELS))));
    for (const q of QUERIES) readBench.add(`search: ${q.label}`, async () => void (await store.search(q.query)));
    readBench.add('search: same, page 2 (token)', async () => void (await store.search({ ...QUERIES.at(-1)!.query, pageToken: pageOne.nextPageToken! })));
    await readBench.run();
    const row: Record<string, string | number> = { backend: kind };
    for (const task of readBench.tasks) row[task.name] = Math.round(1000 / meanMs(readBench, task.name));
    reads.push(row);
    await store.close();

    // -- cold open: new connection, snapshot + tail, or the whole log
    const openTimes = { snapshot: [] as number[], replay: [] as number[] };
    let loaded = '';
    for (let i = 0; i < 3; i++) {
      let t0 = performance.now();
      const s1 = await openModelStore(options);
      await s1.getVersion(`${model(0)}@production`);
      openTimes.snapshot.push(performance.now() - t0);
      await s1.close();
      t0 = performance.now();
      const kv = await openKv(url, { namespace });
      const s2 = await openModelStore({ ...options, metadata: withoutSnapshots(kv), snapshotEvery: 0 });
      await s2.getVersion(`${model(0)}@production`);
      openTimes.replay.push(performance.now() - t0);
      loaded = `${s2.seq} entries`;
      await s2.close();
      await kv.close();
    }
    const kv = await openKv(url, { namespace });
    const latest = await kv.get('snapshot:latest');
    const header = JSON.parse((await kv.get(`snapshot:${latest}`)) ?? '{}') as { chars?: number; parts?: number };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    opens.push({
      backend: kind,
      log: loaded,
      'snapshot seq': Number(latest),
      'snapshot MB (parts)': `${((header.chars ?? 0) / 1e6).toFixed(1)} (${header.parts || 1})`,
      'open from snapshot ms': Math.round(median(openTimes.snapshot)),
      'open by full replay ms': Math.round(median(openTimes.replay)),
    });
    await kv.clear();
    await kv.close();
  } finally {
    await store.close().catch(() => undefined);
  }
}

const started = performance.now();
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
for (const kind of ['memory', 'sqlite', 'postgres', 'redis'] as const satisfies readonly KvKind[]) {
  if (only && !only.includes(kind)) continue;
  const dir = await mkdtemp(join(tmpdir(), `genome-store-bench-${kind}-`));
  try {
    const t0 = performance.now();
    await runBackend(kind, dir);
    console.log(`${kind}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
// The PostgreSQL table of this run.
if (opens.some((o) => o.backend === 'postgres')) {
  const adapter = new KeyvPostgres({ uri: POSTGRES_URL, table: `bench_${runId}` });
  await adapter.query(`DROP TABLE IF EXISTS public.bench_${runId}`);
  await adapter.disconnect();
}

console.log(`${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ${TOTAL} versions (${MODELS} models x ${PER_MODEL}); ops/s = 1000 / mean ms; total ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log('\nWrites (fs blobs):');
console.table(writes);
console.log(`Reads at ${TOTAL} versions, per second (each read catches up with the log first: one round trip):`);
const taskNames = Object.keys(reads[0] ?? {}).filter((k) => k !== 'backend');
console.table(taskNames.map((name) => Object.fromEntries([['operation', name], ...reads.map((r) => [r.backend, r[name]])])));
console.log(`Cold open at ${TOTAL} versions (new connection + load + first read; median of 3):`);
console.table(opens);
