/**
 * Compares shap C++ SHAP values written by harness.cpp with ours (treeShapPathDependent, the default kernel: the
 * WebAssembly quadrature one) on the same rows, and times ours there (single thread, best of 3 after a warm-up).
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/shap-cpp/compare.ts SHAP_DIR
 *
 * SHAP_DIR holds <model>.shap.bin files, float64 [rows][features + 1] (last column = expected value);
 * the row count is taken from the file size.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { predictRaw } from '@genome/model-format';
import { treeShapPathDependent } from '@genome/shap';
import { TREE_BENCH_MODELS, loadTreeBenchModel } from '../tree-bench-models.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: compare.ts SHAP_DIR');
  process.exit(2);
}
const table: Record<string, string | number>[] = [];
for (const name of TREE_BENCH_MODELS) {
  const file = join(dir, `${name}.shap.bin`);
  if (!existsSync(file)) continue;
  const buf = readFileSync(file);
  const theirs = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  const { meta, model, all } = loadTreeBenchModel(name);
  const F = model.nFeatures;
  const n = theirs.length / (F + 1);
  if (!Number.isInteger(n)) throw new Error(`${file}: size is not a multiple of ${F + 1} float64`);
  const rows = all.slice(0, n * F);
  const ours = treeShapPathDependent(model, rows, n);
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    treeShapPathDependent(model, rows, n);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  const pred = predictRaw(model, rows, n);
  let maxDiff = 0;
  let maxAbs = 0;
  let nan = 0;
  let maxAdd = 0;
  let maxBase = 0;
  for (let r = 0; r < n; r++) {
    let sum = theirs[r * (F + 1) + F]!;
    maxBase = Math.max(maxBase, Math.abs(theirs[r * (F + 1) + F]! - ours.expectedValue[0]!));
    for (let j = 0; j < F; j++) {
      const a = theirs[r * (F + 1) + j]!;
      const b = ours.values[r * F + j]!;
      if (Number.isNaN(a)) nan++;
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
      maxAbs = Math.max(maxAbs, Math.abs(b));
      sum += a;
    }
    maxAdd = Math.max(maxAdd, Math.abs(sum - pred[r]!));
  }
  table.push({
    model: name,
    rows: n,
    'ours: seconds': best.toFixed(4),
    'ours: ns/unit': ((best * 1e9) / (meta.leaves * meta.max_depth * n)).toFixed(3),
    'max |phi shap - phi ours|': nan ? `NaN (${nan} NaN values)` : maxDiff.toExponential(2),
    'max |phi|': maxAbs.toExponential(2),
    '|E shap - E ours|': maxBase.toExponential(2),
    'shap additivity max |sum - f(x)|': maxAdd.toExponential(2),
  });
}
console.table(table);
