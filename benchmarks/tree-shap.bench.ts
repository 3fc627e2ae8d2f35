/**
 * TreeSHAP throughput on the three ../shared/fixtures/bench models (ONNX, covers from all data.csv rows).
 * Prints rows/s and ns per (tree x leaf x depth x row) for the quadrature kernel (default; WebAssembly SIMD), the same
 * kernel in TypeScript (quadrature-js), the classic recursion and the per-leaf-table kernel (Fast TreeSHAP v2),
 * single thread and on a worker pool with all cores; plus interventional TreeSHAP (100 background rows) and
 * interaction values.
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/tree-shap.bench.ts [rows]
 *
 * Reference: shap's C++ TreeSHAP, 1000 trees of depth 6 (<= 64 leaves), 1000 rows in 1.47 s single thread
 * = 1.47e9 / (1000 * 64 * 6 * 1000) = 3.83 ns per tree x leaf x depth x row.
 */
import { availableParallelism } from 'node:os';
import { Bench } from 'tinybench';
import { createTreeShapPool, treeShapInteractions, treeShapInterventional, treeShapPathDependent } from '@genome/shap';
import { TREE_BENCH_MODELS, loadTreeBenchModel } from './tree-bench-models.js';

const SHAP_CPP_NS = 1.47e9 / (1000 * 64 * 6 * 1000);
const nExplain = Number(process.argv[2] ?? 1000);
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
  // warm-up (JIT; the fast-v2 tables are built once per model and timed separately)
  treeShapPathDependent(model, rows.subarray(0, 20 * nF), 20, { algorithm: 'classic' });
  treeShapPathDependent(model, rows.subarray(0, 20 * nF), 20, { algorithm: 'quadrature' });
  treeShapPathDependent(model, rows.subarray(0, 20 * nF), 20, { algorithm: 'quadrature-js' });
  const t0 = performance.now();
  treeShapPathDependent(model, rows.subarray(0, nF), 1, { algorithm: 'fast-v2' });
  const tBuild = (performance.now() - t0) / 1000;
  for (const algorithm of ['quadrature', 'quadrature-js', 'classic', 'fast-v2'] as const) {
    await pool.pathDependent(model, rows.subarray(0, threads * 8 * nF), threads * 8, { algorithm }); // ship model, warm up
  }
  const nBg = 100;
  const bg = all.slice((nRowsAll - nBg) * nF);
  const nI = Math.max(10, Math.floor(n / 20));
  treeShapInterventional(model, rows.subarray(0, 2 * nF), 2, bg, nBg);
  treeShapInteractions(model, rows.subarray(0, 2 * nF), 2);

  // Each task explains the whole batch once per iteration (a batch of 1000 rows is long enough to time).
  const bench = new Bench({ time: 0, iterations: Number(process.env.BENCH_ITERATIONS ?? 1), warmup: false });
  const tasks: [string, number, number][] = [];
  for (const algorithm of ['quadrature', 'quadrature-js', 'classic', 'fast-v2'] as const) {
    const label = algorithm === 'fast-v2' ? `path fast-v2 (tables ${tBuild.toFixed(2)} s once)` : `path ${algorithm}`;
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
