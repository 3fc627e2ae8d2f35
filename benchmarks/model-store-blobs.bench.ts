/**
 * Blob store throughput: put (write) and get / stream (read, verified) MB/s for 1 MiB and 64 MiB blobs, puts of a
 * blob already held (dedup) per second, and `missing()` over 1000 addresses, on the filesystem store (in os.tmpdir())
 * and on the S3 store against a local moto server (skipped with a warning when moto is not installed for python3).
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/model-store-blobs.bench.ts
 */
import { Bench } from 'tinybench';
import type { Task } from 'tinybench';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobStore } from '../libs/model-store/src/blobs/blob-store.js';
import { openFsBlobStore } from '../libs/model-store/src/blobs/fs.js';
import { openS3BlobStore } from '../libs/model-store/src/blobs/s3.js';
import { deterministicBytes } from '../libs/model-store/test/helpers/bytes.js';
import { MOTO_CREDENTIALS, MOTO_REGION, findMoto, motoMissingMessage, startMoto } from '../libs/model-store/test/helpers/moto.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MiB = 1024 * 1024;
const throughput: Record<string, string | number>[] = [];
const operations: Record<string, string | number>[] = [];

/** How many timed runs each measurement gets (after one warm-up run). */
interface Runs {
  small: number;
  large: number;
  dedup: number;
  missing: number;
}

/** Mean latency of a finished task, in ms. */
function meanMs(bench: Bench, name: string): number {
  const task = bench.tasks.find((t: Task) => t.name === name);
  const result = task?.result as { latency?: { mean: number } } | undefined;
  if (result?.latency === undefined) throw new Error(`benchmark task ${name} did not finish`);
  return result.latency.mean;
}

/** A buffer as a stream of 1 MiB chunks (how a package file reaches put). */
const streamOf = (bytes: Buffer) =>
  Readable.from(
    (function* () {
      for (let o = 0; o < bytes.byteLength; o += MiB) yield bytes.subarray(o, o + MiB);
    })(),
  );

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of chunks) void _;
}

async function measure(backend: string, store: BlobStore, runs: Runs): Promise<void> {
  for (const [label, size, iterations] of [['1 MiB', MiB, runs.small], ['64 MiB', 64 * MiB, runs.large]] as const) {
    const bytes = deterministicBytes(`bench ${size}`, size);
    const held = await store.put(bytes);
    let counter = 0;
    let written = '';
    const bench = new Bench({ time: 0, iterations, warmupIterations: 1, warmupTime: 0, throws: true });
    bench
      .add(
        'put',
        async () => {
          written = (await store.put(size > 8 * MiB ? streamOf(bytes) : bytes)).sha256;
        },
        {
          beforeEach: () => void bytes.writeBigUInt64LE(BigInt(++counter), 0), // new content each time: a real write
          afterEach: () => store.delete(written),
        },
      )
      .add('get', async () => void (await store.get(held.sha256)))
      .add('stream', async () => drain((await store.stream(held.sha256)).chunks));
    await bench.run();
    const mbps = (task: string) => +(size / 1e6 / (meanMs(bench, task) / 1000)).toFixed(1);
    throughput.push({ backend, blob: label, 'put MB/s': mbps('put'), 'get MB/s': mbps('get'), 'stream MB/s': mbps('stream') });
  }

  const small = deterministicBytes('bench dedup', 64 * 1024);
  const held = await store.put(small);
  const present: string[] = [];
  for (let i = 0; i < 500; i++) present.push((await store.put(deterministicBytes(`bench present ${i}`, 256))).sha256);
  const absent = Array.from({ length: 500 }, (_, i) => createHash('sha256').update(`absent ${i}`).digest('hex'));
  const addresses = [...present, ...absent];
  const bench = new Bench({ time: 0, iterations: runs.dedup, warmupIterations: 2, warmupTime: 0, throws: true });
  bench
    .add('dedup buffer', async () => void (await store.put(small)))
    .add('dedup stream', async () => void (await store.put(streamOf(small), { sha256: held.sha256, size: small.byteLength })));
  await bench.run();
  const missingBench = new Bench({ time: 0, iterations: runs.missing, warmupIterations: 1, warmupTime: 0, throws: true });
  missingBench.add('missing', async () => void (await store.missing(addresses)));
  await missingBench.run();
  operations.push({
    backend,
    'dedup put/s (64 KiB buffer, hashed)': Math.round(1000 / meanMs(bench, 'dedup buffer')),
    'dedup put/s (stream, sha256 known)': Math.round(1000 / meanMs(bench, 'dedup stream')),
    'missing(1000 addresses) ms': +meanMs(missingBench, 'missing').toFixed(1),
  });
}

const dir = await mkdtemp(join(tmpdir(), 'genome-blobs-bench-'));
try {
  const store = await openFsBlobStore(dir);
  await measure('fs', store, { small: 50, large: 5, dedup: 200, missing: 20 });
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

const moto = findMoto();
if ('missing' in moto) {
  console.warn(`WARNING: ${motoMissingMessage(moto.missing)} (no S3 figures)`);
} else {
  const server = await startMoto(moto);
  try {
    await server.createBucket('bench');
    const store = await openS3BlobStore({ bucket: 'bench', prefix: 'blobs', endpoint: server.endpoint, region: MOTO_REGION, credentials: { ...MOTO_CREDENTIALS } });
    await measure('s3 (moto, local)', store, { small: 20, large: 3, dedup: 50, missing: 2 });
    await store.close();
  } finally {
    await server.stop();
  }
}
console.log(`${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; MB = 10^6 bytes`);
console.table(throughput);
console.table(operations);
