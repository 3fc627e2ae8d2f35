/**
 * TreeSHAP throughput on the three ../shared/fixtures/bench models (ONNX, covers from all data.csv rows).
 * Prints rows/s and ns per (tree x leaf x depth x row) for the quadrature kernel (default; WebAssembly SIMD), the same
 * kernel in TypeScript (quadrature-js) and the classic recursion, single thread and on a worker pool with all cores;
 * plus interventional TreeSHAP (100 background rows) and interaction values; the pool's speed-up for path-dependent and
 * interaction values next to the machine's own for plain JavaScript; each kernel on random ensembles of other shapes.
 * Then cold starts, each in a fresh process: the first call on a freshly loaded model against a warm one, with and
 * without preparing the model at load (prepareTreeShap, pool.register). The pool's workers have served another copy
 * of the model before (a sidecar whose alias moved to a new version), so worker start-up is not counted.
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/tree-shap.bench.ts [rows]
 *
 * Reference: shap's C++ TreeSHAP, 1000 trees of depth 6 (<= 64 leaves), 1000 rows in 1.47 s single thread
 * = 1.47e9 / (1000 * 64 * 6 * 1000) = 3.83 ns per tree x leaf x depth x row.
 */
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { createTreeShapPool, prepareTreeShap, treeShapInteractions, treeShapInterventional, treeShapPathDependent } from '@genome/shap';
import { TREE_BENCH_MODELS, loadTreeBenchModel } from './tree-bench-models.js';
// Random ensembles of chosen shapes, and the per-leaf-table kernel that left the library (kept as a test oracle).
import { randomEnsemble, randomRows } from '../libs/shap/test/tree-helpers.js';
import { fastV2PathDependent } from '../libs/shap/test/oracles/fast-v2.js';

const SHAP_CPP_NS = 1.47e9 / (1000 * 64 * 6 * 1000);
const nExplain = Number(process.argv[2] ?? 1000);
const COLD_REPEATS = Number(process.env.COLD_REPEATS ?? 5);

// A cold-start child (see coldStarts below): one measurement in a fresh process, printed as JSON.
if (process.argv[2] === '--cold') {
  console.log(JSON.stringify(await coldChild(process.argv[3]!, process.argv[4] as ColdMode, Number(process.argv[5]))));
  process.exit(0);
}
const threads = availableParallelism();
const pool = createTreeShapPool({ threads });

interface Row {
  model: string;
  trees: number;
  leaves: number;
  depth: number;
  kernel: string;
  threads: number;
  rows: number;
  seconds: string;
  'rows/s': string;
  'ns/(tree*leaf*depth*row)': string;
  'vs shap C++': string;
  'rss MiB': string;
}
const table: Row[] = [];


for (const name of TREE_BENCH_MODELS) {
  const { meta, model, all, nRowsAll } = loadTreeBenchModel(name);
  const nF = meta.features;
  const n = Math.min(nExplain, nRowsAll);
  const rows = all.slice(0, n * nF);
  const leavesPerTree = meta.leaves / meta.trees;
  const unit = meta.trees * leavesPerTree * meta.max_depth * n;
  const push = (kernel: string, th: number, rowsDone: number, s: number) => {
    const nsUnit = (s * 1e9) / (unit * (rowsDone / n));
    table.push({
      model: name,
      trees: meta.trees,
      leaves: meta.leaves,
      depth: meta.max_depth,
      kernel,
      threads: th,
      rows: rowsDone,
      seconds: s.toFixed(3),
      'rows/s': (rowsDone / s).toFixed(0),
      // The unit and shap's figure are for path-dependent TreeSHAP only.
      'ns/(tree*leaf*depth*row)': kernel.startsWith('path') ? nsUnit.toFixed(2) : '—',
      'vs shap C++': kernel.startsWith('path') ? `${(SHAP_CPP_NS / nsUnit).toFixed(2)}x` : '—',
      // Resident memory of this process after this model's tasks (models, their WebAssembly copies, results).
      'rss MiB': (process.memoryUsage().rss / 2 ** 20).toFixed(0),
    });
  };
  // warm-up (JIT)
  treeShapPathDependent(model, rows.subarray(0, 20 * nF), 20, { algorithm: 'classic' });
  treeShapPathDependent(model, rows.subarray(0, 20 * nF), 20, { algorithm: 'quadrature' });
  treeShapPathDependent(model, rows.subarray(0, 20 * nF), 20, { algorithm: 'quadrature-js' });
  await pool.register(model, { interactions: true });
  for (const algorithm of ['quadrature', 'quadrature-js', 'classic'] as const) {
    await pool.pathDependent(model, rows.subarray(0, threads * 8 * nF), threads * 8, { algorithm }); // warm up (JIT)
  }
  const nBg = 100;
  const bg = all.slice((nRowsAll - nBg) * nF);
  const nI = Math.max(10, Math.floor(n / 10));
  treeShapInterventional(model, rows.subarray(0, 2 * nF), 2, bg, nBg);
  treeShapInteractions(model, rows.subarray(0, 2 * nF), 2);

  // Each task explains the whole batch once per iteration (a batch of 1000 rows is long enough to time).
  const bench = new Bench({ time: 0, iterations: Number(process.env.BENCH_ITERATIONS ?? 1), warmup: false });
  const tasks: [string, number, number][] = [];
  for (const algorithm of ['quadrature', 'quadrature-js', 'classic'] as const) {
    const label = `path ${algorithm}`;
    bench.add(label, () => {
      treeShapPathDependent(model, rows, n, { algorithm });
    });
    tasks.push([label, 1, n]);
  }
  for (const algorithm of ['quadrature', 'quadrature-js', 'classic'] as const) {
    bench.add(`path ${algorithm} pool`, async () => {
      await pool.pathDependent(model, rows, n, { algorithm });
    });
    tasks.push([`path ${algorithm} pool`, threads, n]);
  }
  bench.add(`interventional (${nBg} bg)`, () => {
    treeShapInterventional(model, rows.subarray(0, nI * nF), nI, bg, nBg);
  });
  tasks.push([`interventional (${nBg} bg)`, 1, nI]);
  bench.add('interactions', () => {
    treeShapInteractions(model, rows.subarray(0, nI * nF), nI);
  });
  tasks.push(['interactions', 1, nI]);
  await bench.run();
  bench.tasks.forEach((task, i) => {
    const r = task.result as { latency?: { mean: number }; mean?: number };
    const ms = r.latency?.mean ?? r.mean ?? Number.NaN;
    const [label, th, rowsDone] = tasks[i]!;
    push(label, th, rowsDone, ms / 1000);
  });
}
await pool.close();
console.log(`TreeSHAP benchmark, Node ${process.version}, ${threads} threads; shap C++ reference ${SHAP_CPP_NS.toFixed(2)} ns/unit`);
console.table(table);
console.log(`Scaling on the pool (${threads} workers against one thread; medians of 7 alternating pairs)`);
console.table(await scaling());
console.log('Kernel choice by shape: path-dependent rows/s, one thread, random ensembles (200 trees, 12 features, numeric splits)');
console.table(kernelsByShape());
console.log(`Cold starts (${nExplain} rows per call; each cell the median of ${COLD_REPEATS} fresh processes)`);
console.table(coldStarts());

/**
 * How a cold-start child treats the model: `lazy` calls it straight after loading; `prepared` calls
 * prepareTreeShap at load first; `pool-lazy` / `pool-registered` the same through a worker pool (pool.register).
 */
type ColdMode = 'lazy' | 'prepared' | 'pool-lazy' | 'pool-registered';
interface ColdResult {
  /** ms of the preparation at load (prepareTreeShap or pool.register; 0 for the lazy modes). */
  prepareMs: number;
  /** ms of the first call and of the third (warm) call. */
  firstMs: number;
  warmMs: number;
}

async function coldChild(name: string, mode: ColdMode, nRows: number): Promise<ColdResult> {
  const { model, all, nRowsAll, meta } = loadTreeBenchModel(name);
  const n = Math.min(nRows, nRowsAll);
  const rows = all.slice(0, n * meta.features);
  const pool = mode.startsWith('pool') ? createTreeShapPool({ threads: availableParallelism() }) : undefined;
  if (pool) {
    // Workers started and serving another copy of the model (a sidecar whose alias moves to a new version).
    const other = loadTreeBenchModel(name).model;
    await pool.pathDependent(other, rows, n);
    pool.release(other);
  }
  let t = performance.now();
  if (mode === 'prepared') prepareTreeShap(model);
  if (mode === 'pool-registered') await pool!.register(model);
  const prepareMs = performance.now() - t;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    if (pool) await pool.pathDependent(model, rows, n);
    else treeShapPathDependent(model, rows, n);
    times.push(performance.now() - t);
  }
  await pool?.close();
  return { prepareMs, firstMs: times[0]!, warmMs: times[2]! };
}

function coldStarts() {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const out: Record<string, string | number>[] = [];
  for (const name of TREE_BENCH_MODELS) {
    for (const mode of ['lazy', 'prepared', 'pool-lazy', 'pool-registered'] as const) {
      const runs: ColdResult[] = [];
      for (let i = 0; i < COLD_REPEATS; i++) {
        const text = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--cold', name, mode, String(nExplain)], { encoding: 'utf8' });
        runs.push(JSON.parse(text.trim().split('\n').at(-1)!) as ColdResult);
      }
      const first = median(runs.map((r) => r.firstMs));
      const warm = median(runs.map((r) => r.warmMs));
      out.push({
        model: name,
        'at load': { lazy: 'nothing', prepared: 'prepareTreeShap', 'pool-lazy': 'pool, nothing', 'pool-registered': 'pool.register' }[mode],
        'prepare ms': median(runs.map((r) => r.prepareMs)).toFixed(1),
        'first call ms': first.toFixed(1),
        'warm call ms': warm.toFixed(1),
        'first / warm': `${(first / warm).toFixed(2)}x`,
      });
    }
  }
  return out;
}

/** Each path-dependent kernel (and the fast-v2 oracle) on random ensembles from stumps to depth 12 and a 5-class forest. */
function kernelsByShape() {
  const shapes = [
    { label: 'depth 1 (stumps)', maxDepth: 1, valueWidth: 1 as const, nOutputs: 1 },
    { label: 'depth 2', maxDepth: 2, valueWidth: 1 as const, nOutputs: 1 },
    { label: 'depth 4', maxDepth: 4, valueWidth: 1 as const, nOutputs: 1 },
    { label: 'depth 8', maxDepth: 8, valueWidth: 1 as const, nOutputs: 1 },
    { label: 'depth 12', maxDepth: 12, valueWidth: 1 as const, nOutputs: 1 },
    { label: 'depth 8, 5 classes per node', maxDepth: 8, valueWidth: 'all' as const, nOutputs: 5 },
  ];
  const nRows = 256;
  const out: Record<string, string>[] = [];
  for (const sh of shapes) {
    const m = randomEnsemble(7, { nFeatures: 12, nOutputs: sh.nOutputs, valueWidth: sh.valueWidth, nTrees: 200, maxDepth: sh.maxDepth, numericOnly: true });
    const rows = randomRows(8, nRows, 12);
    const rate = (run: () => void): string => {
      run(); // warm-up
      let n = 0;
      const t0 = performance.now();
      do {
        run();
        n++;
      } while (performance.now() - t0 < 300);
      return ((n * nRows) / ((performance.now() - t0) / 1000)).toFixed(0);
    };
    out.push({
      shape: sh.label,
      nodes: String(m.treeOffsets[m.nTrees]),
      quadrature: rate(() => treeShapPathDependent(m, rows, nRows, { algorithm: 'quadrature' })),
      'quadrature-js': rate(() => treeShapPathDependent(m, rows, nRows, { algorithm: 'quadrature-js' })),
      classic: rate(() => treeShapPathDependent(m, rows, nRows, { algorithm: 'classic' })),
      'fast-v2 (test oracle)': rate(() => fastV2PathDependent(m, rows, nRows)),
    });
  }
  return out;
}

/**
 * The pool's speed-up for path-dependent values (1000 rows) and interaction values (100 rows; 30 for the forest),
 * next to what the machine itself gives: the same plain JavaScript loop split over the same number of workers.
 */
async function scaling() {
  const pairs = 7;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const pairsOf = async (one: () => unknown, many: () => Promise<unknown>) => {
    await one();
    await many();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < pairs; i++) {
      let t = performance.now();
      await one();
      a.push(performance.now() - t);
      t = performance.now();
      await many();
      b.push(performance.now() - t);
    }
    return { one: median(a), many: median(b) };
  };
  const out: Record<string, string>[] = [];
  const row = (what: string, r: { one: number; many: number }) =>
    out.push({ what, 'one thread ms': r.one.toFixed(0), [`${threads} workers ms`]: r.many.toFixed(0), 'speed-up': `${(r.one / r.many).toFixed(2)}x` });
  // The machine: a plain loop over a Float64Array, the same total work on one worker or split over all.
  const code = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (n) => { let x = 0; const a = new Float64Array(1 << 16); for (let k = 0; k < n; k++) for (let i = 0; i < a.length; i++) { a[i] = a[i] * 0.5 + i; x += a[i]; } parentPort.postMessage(x); });`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
  const work = (w: Worker, n: number) => new Promise((r) => (w.once('message', r), w.postMessage(n)));
  const total = 2400;
  row('the machine: a plain JavaScript loop', await pairsOf(() => work(workers[0]!, total), () => Promise.all(workers.map((w) => work(w, total / threads)))));
  await Promise.all(workers.map((w) => w.terminate()));
  const pool = createTreeShapPool({ threads });
  for (const name of TREE_BENCH_MODELS) {
    const { model, all, meta } = loadTreeBenchModel(name);
    prepareTreeShap(model, { interactions: true });
    await pool.register(model, { interactions: true });
    const n = Math.min(nExplain, 1000);
    const rows = all.slice(0, n * meta.features);
    row(`${name}: path-dependent, ${n} rows`, await pairsOf(() => treeShapPathDependent(model, rows, n), () => pool.pathDependent(model, rows, n)));
    const nI = name.includes('-rf-') ? 30 : 100;
    const r = rows.subarray(0, nI * meta.features);
    row(`${name}: interactions, ${nI} rows`, await pairsOf(() => treeShapInteractions(model, r, nI), () => pool.interactions(model, r, nI)));
    pool.release(model);
  }
  await pool.close();
  return out;
}
