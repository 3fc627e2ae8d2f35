// Sidecar benchmark: p50/p99 latency and throughput of a one-row TreeSHAP Explain over gRPC at concurrency 1, 16
// and 64, against the same explainTree call in-process, with one-row calls in-process (the default, below
// --tree-pool-min-rows) and on the TreeSHAP worker pool; 64-row calls with and without the pool; then memory of the
// sidecar while 200 ExplainStream calls run at once. The sidecar runs as a child process (the real CLI), the client here.
// Run: node --import=tsx --conditions=@genome/source benchmarks/sidecar.bench.ts [--quick]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { loadGenomePackage, withCovers } from '@genome/model-format';
import { explain } from '@genome/proto';
import { explainTree } from '@genome/shap';

const root = join(import.meta.dirname, '..');
const pkgDir = join(root, 'examples/packages/california-housing-rf');
const quick = process.argv.includes('--quick');
const N = quick ? 300 : 2000;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  // The model, loaded the way the sidecar loads it (tree IR + covers from the package's background rows).
  const pkg = await loadGenomePackage(pkgDir);
  const opened = await pkg.open({ engine: 'tree' });
  const bg = (await pkg.background())!;
  const bgRows = Math.min(bg.nRows, pkg.manifest.explainer?.background?.rows ?? bg.nRows);
  const F = bg.featureNames.length;
  const bgData = bg.rows.subarray(0, bgRows * F);
  const tree = withCovers(opened.tree!, bgData, bgRows);
  const row = Array.from(bg.rows.subarray(0, F));
  const rows: number[][] = Array.from({ length: 64 }, (_, i) => Array.from(bg.rows.subarray((i % bg.nRows) * F, (i % bg.nRows + 1) * F)));
  // --interventional: the package's default (100 background rows per row: ~50x the work); default path-dependent,
  // where the sidecar's own overhead is visible.
  const method = process.argv.includes('--interventional') ? 'interventional' : 'path_dependent';
  const opts = method === 'interventional' ? { method, background: bgData } as const : { method } as const;
  console.log(`model: ${pkg.manifest.name} — ${tree.nTrees} trees, ${tree.featureNames.length} features, max depth ${Math.max(...tree.treeDepth)}; TreeSHAP ${method} (${method === 'interventional' ? `${bgRows} background rows` : 'covers'}); ${N} calls per setting, 1 row per call`);

  // In-process baseline.
  for (let i = 0; i < 50; i++) await explainTree(tree, [row], opts);
  const inproc: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const a = performance.now();
    await explainTree(tree, [rows[i % rows.length]!], opts);
    inproc.push(performance.now() - a);
  }
  const inprocWall = performance.now() - t0;
  inproc.sort((a, b) => a - b);

  const table: Record<string, string | number>[] = [];
  table.push({ setting: 'in-process explainTree', rows: 1, concurrency: 1, 'p50 ms': +pct(inproc, 50).toFixed(3), 'p99 ms': +pct(inproc, 99).toFixed(3), 'calls/s': Math.round(N / (inprocWall / 1000)), 'p50 overhead ms': 0 });
  const parameters = { feature_perturbation: method === 'interventional' ? 'interventional' : 'tree_path_dependent' };

  /** Starts the sidecar CLI with `args`, runs `fn` with a client, stops it. */
  async function withSidecar<T>(args: string[], fn: (c: InstanceType<typeof explain.ExplainerClient>, info: { grpcPort: number; httpPort: number; treeWorkers: number }) => Promise<T>): Promise<T> {
    const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', join(root, 'apps/explainer-sidecar/src/main.ts'), '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--max-queue', '10000', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const startBy = Date.now() + 60_000;
    while (!out.includes('"sidecar listening"')) {
      if (Date.now() > startBy || child.exitCode !== null) throw new Error(`sidecar did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const info = JSON.parse(out.split('\n').find((l) => l.includes('"sidecar listening"'))!) as { grpcPort: number; httpPort: number; treeWorkers: number };
    // From here the request logs are drained without parsing, so the client process spends no CPU on them.
    child.stdout.removeAllListeners('data');
    child.stdout.resume();
    const c = new explain.ExplainerClient(`127.0.0.1:${info.grpcPort}`, credentials.createInsecure());
    try {
      return await fn(c, info);
    } finally {
      c.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
  }

  async function load(c: InstanceType<typeof explain.ExplainerClient>, setting: string, nRows: number, concurrencies: number[], calls: number): Promise<void> {
    const req = (i: number) =>
      explain.ExplainRequest.fromPartial({ methodName: 'tree_shap', parameters, tabular: { rows: Array.from({ length: nRows }, (_, k) => ({ values: rows[(i + k) % rows.length]! })) } });
    const call = (i: number) => new Promise<void>((res, rej) => c.explain(req(i), (e) => (e ? rej(e) : res())));
    for (let i = 0; i < 100; i++) await call(i); // warm-up (and the workers' first model transfer)
    for (const conc of concurrencies) {
      const lat: number[] = [];
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: conc }, async () => {
          while (next < calls) {
            const i = next++;
            const a = performance.now();
            await call(i);
            lat.push(performance.now() - a);
          }
        }),
      );
      const wall = performance.now() - start;
      lat.sort((a, b) => a - b);
      table.push({ setting, rows: nRows, concurrency: conc, 'p50 ms': +pct(lat, 50).toFixed(3), 'p99 ms': +pct(lat, 99).toFixed(3), 'calls/s': Math.round(calls / (wall / 1000)), 'p50 overhead ms': nRows === 1 ? +(pct(lat, 50) - pct(inproc, 50)).toFixed(3) : '' });
    }
  }

  // One-row calls on the pool (threshold 1), then the memory test and one-row calls in-process (the default).
  await withSidecar(['--tree-pool-min-rows', '1'], (c, i) => load(c, `sidecar gRPC, pool (${i.treeWorkers} workers)`, 1, [1, 16, 64], N));
  const M = quick ? 100 : 400;
  await withSidecar(['--tree-workers', '0'], (c) => load(c, 'sidecar gRPC, no pool', 64, [1, 4], M));
  await withSidecar([], async (c, info) => {
    // The transport floor: a trivial unary call (ListModels) through the same client and server.
    const list = () => new Promise<void>((res, rej) => c.listModels({}, (e) => (e ? rej(e) : res())));
    for (let i = 0; i < 100; i++) await list();
    const rtt: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const a = performance.now();
      await list();
      rtt.push(performance.now() - a);
    }
    const wall = performance.now() - t0;
    rtt.sort((a, b) => a - b);
    table.push({ setting: 'bare gRPC round trip (ListModels)', rows: 0, concurrency: 1, 'p50 ms': +pct(rtt, 50).toFixed(3), 'p99 ms': +pct(rtt, 99).toFixed(3), 'calls/s': Math.round(N / (wall / 1000)), 'p50 overhead ms': '' });
    await load(c, `sidecar gRPC, pool (${info.treeWorkers} workers)`, 64, [1, 4], M);
    await load(c, 'sidecar gRPC, 1 row in-process (default)', 1, [1, 16, 64], N);
    console.table(table);
    await streams(c, info);
  });
  await pkg.close();
}

async function streams(c: InstanceType<typeof explain.ExplainerClient>, info: { httpPort: number }): Promise<void> {
  const method = process.argv.includes('--interventional') ? 'interventional' : 'path_dependent';
  const parameters = { feature_perturbation: method === 'interventional' ? 'interventional' : 'tree_path_dependent' };
  const pkg = await loadGenomePackage(pkgDir);
  const bg = (await pkg.background())!;
  const F = bg.featureNames.length;
  const rows: number[][] = Array.from({ length: 64 }, (_, i) => Array.from(bg.rows.subarray((i % bg.nRows) * F, (i % bg.nRows + 1) * F)));
  // Memory with 200 concurrent streams (each 256 rows in chunks of 16), sampled from the sidecar's /metrics.
  const metric = async (name: string) => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${info.httpPort}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    } catch {
      return NaN; // scrape lost while the sidecar is saturated: skip this sample
    }
  };
  const before = { rss: await metric('genome_sidecar_process_resident_memory_bytes'), heap: await metric('genome_sidecar_nodejs_heap_size_used_bytes') };
  let peakRss = before.rss;
  let peakHeap = before.heap;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, (await metric('genome_sidecar_process_resident_memory_bytes')) || 0);
      peakHeap = Math.max(peakHeap, (await metric('genome_sidecar_nodejs_heap_size_used_bytes')) || 0);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const streamRows = Array.from({ length: 256 }, (_, i) => ({ values: rows[i % rows.length]! }));
  const s0 = performance.now();
  let messages = 0;
  await Promise.all(
    Array.from({ length: 200 }, () =>
      new Promise<void>((res, rej) => {
        const s = c.explainStream({ request: explain.ExplainRequest.fromPartial({ methodName: 'tree_shap', parameters, tabular: { rows: streamRows } }), chunkSize: 16 });
        s.on('data', () => messages++);
        s.on('error', rej);
        s.on('end', () => res());
      }),
    ),
  );
  const streamMs = performance.now() - s0;
  running = false;
  await sampler;
  const mb = (b: number) => +(b / 2 ** 20).toFixed(1);
  console.table([
    { what: '200 concurrent ExplainStream (256 rows each, chunks of 16)', 'rows explained': 200 * 256, messages, 'wall s': +(streamMs / 1000).toFixed(2), 'rows/s': Math.round((200 * 256) / (streamMs / 1000)), 'RSS before MiB': mb(before.rss), 'RSS peak MiB': mb(peakRss), 'heap before MiB': mb(before.heap), 'heap peak MiB': mb(peakHeap) },
  ]);
  await pkg.close();
}

await main();
