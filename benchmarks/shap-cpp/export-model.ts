/**
 * Exports the three ../shared/fixtures/bench tree models in shap's dense TreeEnsemble layout for harness.cpp.
 * Models are loaded as every TreeSHAP benchmark loads them (benchmarks/tree-bench-models.ts: ONNX,
 * covers from all data.csv rows).
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/shap-cpp/export-model.ts OUT_DIR [maxRows=1000] [nBg=100]
 *
 * Writes OUT_DIR/<model>.bin (little-endian):
 *   char[8]  "SHAPDNS1"
 *   int32    nTrees, maxNodes, nFeatures, nOutputs (1), nRows, maxDepth, leaves
 *   float64  baseScore[nOutputs]
 *   int32    children_left[nTrees*maxNodes], children_right[..], children_default[..], features[..]
 *   float64  thresholds[nTrees*maxNodes], values[nTrees*maxNodes*nOutputs], node_sample_weights[nTrees*maxNodes]
 *   float64  X[nRows*nFeatures]   (first nRows rows of data.csv, NaN = missing)
 * Arrays are [nTrees, maxNodes] with tree-local node ids, padded like shap's Python TreeEnsemble
 * (children/features -1, thresholds/values/weights 0). Leaf values are scaled by 1/trees for `average`
 * ensembles (shap's sklearn random-forest scaling); internal node values are left 0: the harness fills them
 * with shap's own compute_expectations (as shap's SingleTree does).
 *
 * Also writes OUT_DIR/<model>.bg.bin: float64 [nBg][nFeatures], the interventional background = the LAST nBg rows of
 * data.csv, exactly as benchmarks/tree-shap.bench.ts takes it (`all.slice((nRowsAll - nBg) * nF)`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decision, Missing } from '@genome/model-format';
import { TREE_BENCH_MODELS, loadTreeBenchModel } from '../tree-bench-models.js';

function exportModel(name: string, outDir: string, maxRows: number, nBg: number): void {
  const { meta, model, all, nRowsAll } = loadTreeBenchModel(name);
  const { nTrees, treeOffsets, left, right, feature, threshold, decision, defaultLeft, missing, value, cover, nFeatures: F } = model;
  if (model.nOutputs !== 1 || model.valueWidth !== 1) throw new Error(`${name}: expected one output, got nOutputs=${model.nOutputs} valueWidth=${model.valueWidth}`);
  if (model.aggregate !== 'sum' && model.aggregate !== 'average') throw new Error(`${name}: aggregate ${model.aggregate} is not additive`);
  let maxNodes = 0;
  for (let t = 0; t < nTrees; t++) maxNodes = Math.max(maxNodes, treeOffsets[t + 1]! - treeOffsets[t]!);
  const size = nTrees * maxNodes;
  const cl = new Int32Array(size).fill(-1);
  const cr = new Int32Array(size).fill(-1);
  const cd = new Int32Array(size).fill(-1);
  const feat = new Int32Array(size).fill(-1);
  const thr = new Float64Array(size);
  const val = new Float64Array(size);
  const w = new Float64Array(size);
  const scale = model.aggregate === 'average' ? 1 / nTrees : 1;
  let leaves = 0;
  let maxDepth = 0;
  const counts = { lt: 0, leq: 0, other: 0, notNanDefault: 0, nonF32Thr: 0, zeroCoverInternal: 0, zeroCoverLeaf: 0 };
  for (let t = 0; t < nTrees; t++) {
    const o = treeOffsets[t]!;
    maxDepth = Math.max(maxDepth, model.treeDepth[t]!);
    for (let g = o; g < treeOffsets[t + 1]!; g++) {
      const k = t * maxNodes + (g - o);
      w[k] = cover[g]!;
      if (left[g]! < 0) {
        leaves++;
        val[k] = value[g]! * scale;
        if (cover[g] === 0) counts.zeroCoverLeaf++;
        continue;
      }
      if (cover[g] === 0) counts.zeroCoverInternal++;
      cl[k] = left[g]! - o;
      cr[k] = right[g]! - o;
      cd[k] = defaultLeft[g] === 1 ? cl[k]! : cr[k]!;
      feat[k] = feature[g]!;
      const d = decision[g]!;
      if (missing[g] !== Missing.NAN_DEFAULT) counts.notNanDefault++;
      if (Math.fround(threshold[g]!) !== threshold[g]) counts.nonF32Thr++;
      if (d === Decision.LEQ) {
        counts.leq++;
        thr[k] = threshold[g]!;
      } else if (d === Decision.LT) {
        // shap only has `x <= t` (compared in float32): x < t  <=>  x <= prevFloat32(t) for float32 x.
        counts.lt++;
        thr[k] = prevFloat32(threshold[g]!);
      } else {
        counts.other++;
      }
    }
  }
  if (counts.other > 0) throw new Error(`${name}: ${counts.other} categorical (IN_SET) splits; shap's dense layout is not set up for them here`);
  if (counts.notNanDefault > 0) throw new Error(`${name}: ${counts.notNanDefault} nodes with a missing mode other than NAN_DEFAULT`);
  if (leaves !== meta.leaves) throw new Error(`${name}: ${leaves} leaves, meta.json says ${meta.leaves}`);
  const nRows = Math.min(maxRows, nRowsAll);
  const X = all.slice(0, nRows * F);
  let nonF32X = 0;
  let nanX = 0;
  for (const x of X) {
    if (x !== x) nanX++;
    else if (Math.fround(x) !== x) nonF32X++;
  }

  const ints = [nTrees, maxNodes, F, 1, nRows, maxDepth, leaves];
  const parts: Uint8Array[] = [
    new TextEncoder().encode('SHAPDNS1'),
    bytes(Int32Array.from(ints)),
    bytes(Float64Array.from(model.baseScore)),
    bytes(cl), bytes(cr), bytes(cd), bytes(feat),
    bytes(thr), bytes(val), bytes(w),
    bytes(X),
  ];
  const file = join(outDir, `${name}.bin`);
  writeFileSync(file, Buffer.concat(parts));
  writeFileSync(join(outDir, `${name}.bg.bin`), bytes(backgroundRows(all, nRowsAll, F, nBg)));
  console.log(
    `${name}: ${nTrees} trees, maxNodes ${maxNodes}, ${leaves} leaves, depth ${maxDepth}, ${F} features, ${nRows} rows, ` +
      `aggregate ${model.aggregate}, baseScore ${model.baseScore[0]}, splits LEQ ${counts.leq} / LT ${counts.lt}, ` +
      `non-float32 thresholds ${counts.nonF32Thr}, non-float32 X values ${nonF32X}, NaN X ${nanX}, ` +
      `zero-cover nodes internal ${counts.zeroCoverInternal} / leaf ${counts.zeroCoverLeaf} -> ${file}`,
  );
}

/** The interventional background of benchmarks/tree-shap.bench.ts: the last nBg rows of data.csv. */
export function backgroundRows(all: Float64Array, nRowsAll: number, nF: number, nBg: number): Float64Array {
  if (!(nBg >= 1 && nBg <= nRowsAll)) throw new Error(`nBg must be in 1..${nRowsAll}, got ${nBg}`);
  return all.slice((nRowsAll - nBg) * nF);
}

function bytes(a: Int32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function prevFloat32(t: number): number {
  const f = new Float32Array([t]);
  const u = new Int32Array(f.buffer);
  if (f[0] === 0) return -1.401298464324817e-45;
  u[0] = f[0]! > 0 ? u[0]! - 1 : u[0]! + 1;
  return f[0]!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: export-model.ts OUT_DIR [maxRows=1000] [nBg=100]');
    process.exit(2);
  }
  const maxRows = Number(process.argv[3] ?? 1000);
  const nBg = Number(process.argv[4] ?? 100);
  mkdirSync(outDir, { recursive: true });
  for (const name of TREE_BENCH_MODELS) exportModel(name, outDir, maxRows, nBg);
}
