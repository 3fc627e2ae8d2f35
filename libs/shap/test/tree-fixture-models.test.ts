/**
 * Additivity (expected_value + sum of SHAP values == raw prediction) on every tree model fixture that
 * @genome/model-format loads: XGBoost JSON (incl. categorical splits), LightGBM text (categorical, missing
 * values), ONNX tree ensembles. Rows are synthesised around each model's thresholds and categories, with
 * NaN mixed in, so every missing-value rule and split kind is exercised; covers come from those rows.
 */
import t from 'tap';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadTreeModel, predictRaw, withCovers, type TreeEnsemble } from '@genome/model-format';
import { fixture, readFixture } from '../../../tools/fixtures.js';
import { treeShapInterventional, treeShapPathDependent } from '../src/tree/tree-shap.js';
import { PATH_KERNELS, pathDependentBy } from './oracles/fast-v2.js';
import { mulberry32 } from './tree-helpers.js';

const roots = ['models/xgboost', 'models/lightgbm', 'models/onnx-trees'];
const files: string[] = [];
function walk(dir: string): void {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(json|txt|model|onnx)$/.test(e) && !/pred|true_|data/.test(e)) files.push(p);
  }
}
for (const r of roots) walk(fixture(...r.split('/')));

function synthRows(m: TreeEnsemble, n: number, seed: number): Float64Array {
  const rnd = mulberry32(seed);
  const perFeature: number[][] = Array.from({ length: m.nFeatures }, () => []);
  for (let i = 0; i < m.left.length; i++) {
    if (m.left[i]! < 0) continue;
    const f = m.feature[i]!;
    if (m.decision[i] === 2) {
      for (let w = 0; w < m.catLen[i]!; w++) for (let b = 0; b < 32; b++) if ((m.catBits[m.catStart[i]! + w]! >>> b) & 1) perFeature[f]!.push(w * 32 + b, w * 32 + b + 1);
    } else {
      const th = m.threshold[i]!;
      perFeature[f]!.push(th, th - Math.abs(th) * 1e-3 - 1e-3, th + Math.abs(th) * 1e-3 + 1e-3);
    }
  }
  const out = new Float64Array(n * m.nFeatures);
  for (let r = 0; r < n; r++)
    for (let f = 0; f < m.nFeatures; f++) {
      const pool = perFeature[f]!;
      const u = rnd();
      out[r * m.nFeatures + f] = u < 0.1 ? Number.NaN : u < 0.15 ? 0 : pool.length ? pool[Math.floor(rnd() * pool.length)]! : rnd();
    }
  return out;
}

let loaded = 0;
for (const file of files) {
  const name = relative(fixture('models'), file);
  let model: TreeEnsemble;
  try {
    model = loadTreeModel(new Uint8Array(readFixture('models', name)));
  } catch (e) {
    t.comment(`skip ${name}: ${(e as Error).message.slice(0, 100)}`);
    continue;
  }
  if (model.aggregate === 'min' || model.aggregate === 'max') {
    t.throws(() => treeShapInterventional(model, new Float64Array(model.nFeatures), 1, new Float64Array(model.nFeatures), 1), /aggregates trees/, `${name}: ${model.aggregate} rejected`);
    continue;
  }
  loaded++;
  t.test(name, async (t) => {
    const n = 12;
    const rows = synthRows(model, n, 1);
    const cover = synthRows(model, 200, 2);
    const covered = model.hasCovers ? model : withCovers(model, cover, 200);
    const raw = predictRaw(model, rows, n);
    const nF = model.nFeatures;
    const nO = model.nOutputs;
    const add = (values: Float64Array, ev: Float64Array, target: (r: number, k: number) => number): number => {
      let d = 0;
      for (let r = 0; r < n; r++)
        for (let k = 0; k < nO; k++) {
          let s = ev[k]!;
          for (let f = 0; f < nF; f++) s += values[(r * nF + f) * nO + k]!;
          d = Math.max(d, Math.abs(s - target(r, k)) / Math.max(1, Math.abs(target(r, k))));
        }
      return d;
    };
    for (const algorithm of PATH_KERNELS) {
      const res = pathDependentBy(algorithm, covered, rows, n);
      const d = add(res.values, res.expectedValue, (r, k) => raw[r * nO + k]!);
      t.ok(d <= 1e-9, `path-dependent ${algorithm} additivity ${d.toExponential(2)} (${model.nTrees} trees, ${model.source.format})`);
    }
    const bg = synthRows(model, 6, 3);
    const iv = treeShapInterventional(model, rows, n, bg, 6);
    const d = add(iv.values, iv.expectedValue, (r, k) => raw[r * nO + k]!);
    t.ok(d <= 1e-9, `interventional additivity ${d.toExponential(2)}`);
  });
}
t.test('loaded tree fixtures', async (t) => {
  t.ok(loaded >= 8, `${loaded} tree models explained`);
});
