/**
 * The platform server's model store API, end to end over loopback (in-process server, scratch SQLite store + blob
 * directory): a 64 MiB blob uploaded and downloaded (verified) over gRPC and REST, MB/s; and the latency of small
 * calls (GetVersion, SearchVersions) over each transport. Mean of RUNS timed runs after one warm-up.
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/platform-store.bench.ts
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultConfig, startPlatform } from '../apps/sequencer/src/index.js';
import * as g from '../apps/sequencer/test/helpers/grpc.js';
import { makePackage } from '../apps/sequencer/test/helpers/packages.js';
import { uploadGrpc } from '../apps/sequencer/test/helpers/upload.js';

const MiB = 1024 * 1024;
const RUNS = Number(process.env.RUNS ?? 3);
const CALLS = 300;

const dir = mkdtempSync(join(tmpdir(), 'platform-bench-'));
const p = await startPlatform({ ...defaultConfig(), host: '127.0.0.1', grpcPort: 0, httpPort: 0, logLevel: 'silent', store: { dir: join(dir, 'store') } }, { logger: pino({ level: 'silent' }) });
const c = g.client(p.grpcPort, undefined, { 'grpc.max_receive_message_length': 8 * MiB });
const base = `http://127.0.0.1:${p.httpPort}/v1.0/genome/modelstore`;
await uploadGrpc(c, makePackage(dir, 'a'), { metadata: { canonicalName: 'housing' }, aliases: ['production'] });

async function timed(fn: () => Promise<void>): Promise<number> {
  await fn();
  let total = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    total += performance.now() - t0;
  }
  return total / RUNS;
}

const rows: Record<string, string>[] = [];
let n = 0;
const fresh = () => {
  const b = Buffer.alloc(64 * MiB, ++n);
  return { b, sha: createHash('sha256').update(b).digest('hex') };
};
const mbps = (ms: number) => (64 / (ms / 1000)).toFixed(0);

const grpcPut = await timed(async () => {
  const { b, sha } = fresh();
  await g.putBlob(c, b, { sha256: sha }, { chunkBytes: MiB });
});
const held = fresh();
await g.putBlob(c, held.b, { sha256: held.sha }, { chunkBytes: MiB });
const grpcGet = await timed(async () => {
  const r = await g.getBlob(c, held.sha);
  if (r.error || r.bytes.length !== held.b.length) throw r.error ?? new Error('short read');
});
const restPut = await timed(async () => {
  const { b, sha } = fresh();
  const r = await fetch(`${base}/blobs/${sha}`, { method: 'PUT', body: b });
  if (r.status !== 201) throw new Error(`PUT ${r.status}`);
  await r.arrayBuffer();
});
// A version holding the 64 MiB blob, for the REST file route.
const files = (await g.getVersion(c, { ref: 'housing' })).files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
await g.createVersion(c, { metadata: { canonicalName: 'big' }, files: [...files, { path: 'data.bin', sha256: held.sha, size: held.b.length }] });
const restGet = await timed(async () => {
  const r = await fetch(`${base}/models/big/versions/1/files/data.bin`);
  const got = await r.arrayBuffer();
  if (got.byteLength !== held.b.length) throw new Error('short read');
});
rows.push(
  { transfer: '64 MiB upload', gRPC: `${mbps(grpcPut)} MB/s (${grpcPut.toFixed(0)} ms)`, REST: `${mbps(restPut)} MB/s (${restPut.toFixed(0)} ms)` },
  { transfer: '64 MiB download (verified)', gRPC: `${mbps(grpcGet)} MB/s (${grpcGet.toFixed(0)} ms)`, REST: `${mbps(restGet)} MB/s (${restGet.toFixed(0)} ms)` },
);

async function latency(fn: () => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 20; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return `p50 ${ms[Math.floor(CALLS / 2)]!.toFixed(2)} ms, p99 ${ms[Math.floor(CALLS * 0.99)]!.toFixed(2)} ms`;
}
const calls = [
  { call: 'GetVersion housing@production', gRPC: await latency(() => g.getVersion(c, { ref: 'housing@production' })), REST: await latency(async () => (await fetch(`${base}/models/housing/aliases/production`)).json()) },
  {
    call: 'SearchVersions (filter)',
    gRPC: await latency(() => g.searchVersions(c, { filter: "framework = 'onnx'" })),
    REST: await latency(async () => (await fetch(`${base}/search`, { method: 'POST', body: JSON.stringify({ filter: "framework = 'onnx'" }) })).json()),
  },
];

console.log(`platform server, loopback, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ${RUNS} runs`);
console.table(rows);
console.table(calls);
c.close();
await p.close(100);
rmSync(dir, { recursive: true, force: true });
