/**
 * Compares shap C++ values written by harness.cpp with ours on the same rows, times ours there (single thread,
 * best of 3 after a warm-up) and prints one table: shap seconds (from <model>.shap.bin.seconds, written by the
 * harness), ours, the speed ratio and the max abs differences.
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/shap-cpp/compare.ts SHAP_DIR [--mode=path|interventional|interactions] [--n-bg=100]
 *
 * SHAP_DIR holds <model>.shap.bin files (the row count is taken from the file size):
 *   path            float64 [rows][features + 1] (last column = expected value); ours = treeShapPathDependent
 *                   (default kernel: the WebAssembly quadrature one).
 *   interventional  float64 [rows][features + 1]; ours = treeShapInterventional with background = the last
 *                   --n-bg rows of data.csv (as export-model.ts writes <model>.bg.bin), raw margin.
 *   interactions    float64 [rows][features + 1][features + 1] ([M][M] = expected value); ours = treeShapInteractions
 *                   ([row][i][j][output], one output).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { predictRaw } from '@genome/model-format';
import { treeShapInteractions, treeShapInterventional, treeShapPathDependent } from '@genome/shap';
import { TREE_BENCH_MODELS, loadTreeBenchModel } from '../tree-bench-models.js';
import { backgroundRows } from './export-model.js';

const MODES = ['path', 'interventional', 'interactions'] as const;
type Mode = (typeof MODES)[number];

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const mode = (opt('mode') ?? 'path') as Mode;
const nBg = Number(opt('n-bg') ?? 100);
if (!dir || !MODES.includes(mode)) {
  console.error('usage: compare.ts SHAP_DIR [--mode=path|interventional|interactions] [--n-bg=100]');
  process.exit(2);
}

/** Best of 3 after a warm-up, seconds; returns the warm-up's result. */
function timed<T>(fn: () => T): { result: T; seconds: number } {
  const result = fn();
  let seconds = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    fn();
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
  }
  return { result, seconds };
}

const e = (x: number) => x.toExponential(2);
const table: Record<string, string | number>[] = [];
for (const name of TREE_BENCH_MODELS) {
  const file = join(dir, `${name}.shap.bin`);
  if (!existsSync(file)) continue;
  const buf = readFileSync(file);
  const theirs = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  const shapSeconds = existsSync(`${file}.seconds`) ? Number(readFileSync(`${file}.seconds`, 'utf8')) : Number.NaN;
  const { meta, model, all, nRowsAll } = loadTreeBenchModel(name);
  const F = model.nFeatures;
  const W = mode === 'interactions' ? (F + 1) * (F + 1) : F + 1;
  const n = theirs.length / W;
  if (!Number.isInteger(n)) throw new Error(`${file}: size is not a multiple of ${W} float64`);
  const rows = all.slice(0, n * F);
  const pred = predictRaw(model, rows, n);

  let ours: { values: Float64Array; expectedValue: Float64Array };
  let seconds: number;
  const cols: Record<string, string | number> = {};
  let nan = 0;
  if (mode === 'interactions') {
    ({ result: ours, seconds } = timed(() => treeShapInteractions(model, rows, n)));
    let off = 0;
    let diag = 0;
    let base = 0;
    let maxAbsOff = 0;
    let maxAbsDiag = 0;
    let add = 0;
    for (let r = 0; r < n; r++) {
      const t = r * W;
      let sum = theirs[t + F * (F + 1) + F]!;
      base = Math.max(base, Math.abs(sum - ours.expectedValue[0]!));
      for (let i = 0; i < F; i++) {
        for (let j = 0; j < F; j++) {
          const a = theirs[t + i * (F + 1) + j]!;
          const b = ours.values[(r * F + i) * F + j]!;
          if (Number.isNaN(a)) nan++;
          sum += a;
          if (i === j) {
            diag = Math.max(diag, Math.abs(a - b));
            maxAbsDiag = Math.max(maxAbsDiag, Math.abs(b));
          } else {
            off = Math.max(off, Math.abs(a - b));
            maxAbsOff = Math.max(maxAbsOff, Math.abs(b));
          }
        }
      }
      add = Math.max(add, Math.abs(sum - pred[r]!));
    }
    cols['max |diff| off-diag'] = nan ? `NaN (${nan} NaN values)` : e(off);
    cols['max |diff| diag'] = nan ? '—' : e(diag);
    cols['max |phi_ij| off / diag'] = `${e(maxAbsOff)} / ${e(maxAbsDiag)}`;
    cols['|E shap - E ours|'] = e(base);
    cols['shap additivity max |sum - f(x)|'] = e(add);
  } else {
    if (mode === 'path') {
      ({ result: ours, seconds } = timed(() => treeShapPathDependent(model, rows, n)));
    } else {
      const bg = backgroundRows(all, nRowsAll, F, nBg);
      ({ result: ours, seconds } = timed(() => treeShapInterventional(model, rows, n, bg, nBg)));
    }
    let maxDiff = 0;
    let maxAbs = 0;
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
    if (mode === 'path') cols['ours: ns/unit'] = ((seconds * 1e9) / (meta.leaves * meta.max_depth * n)).toFixed(3);
    cols['max |phi shap - phi ours|'] = nan ? `NaN (${nan} NaN values)` : e(maxDiff);
    cols['max |phi|'] = e(maxAbs);
    cols['|E shap - E ours|'] = e(maxBase);
    cols['shap additivity max |sum - f(x)|'] = e(maxAdd);
  }
  table.push({
    model: name,
    rows: n,
    ...(mode === 'interventional' ? { bg: nBg } : {}),
    'shap s': Number.isNaN(shapSeconds) ? '—' : shapSeconds.toFixed(4),
    'ours s': seconds.toFixed(4),
    'shap ms/row': Number.isNaN(shapSeconds) ? '—' : ((shapSeconds * 1e3) / n).toFixed(3),
    'ours ms/row': ((seconds * 1e3) / n).toFixed(3),
    'ours speed / shap (x)': Number.isNaN(shapSeconds) ? '—' : (shapSeconds / seconds).toFixed(2),
    ...cols,
  });
}
console.table(table);
