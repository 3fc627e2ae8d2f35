/**
 * KernelSHAP throughput and accuracy on real ONNX tree models (evaluated by model-format's tree predictor):
 * explanations/s and max abs error against the independent interventional oracle, by nsamples.
 * Run: node --import=tsx --conditions=@genome/source benchmarks/kernel-shap.bench.ts
 */
import { Bench } from 'tinybench';
import { loadOnnxTreeEnsemble, treePredictor } from '@genome/model-format';
import { ExactExplainer, KernelExplainer, PermutationExplainer } from '@genome/shap';
import { readFixture, readFixtureJson, readNumericCsv } from '../tools/fixtures.js';

interface Ref {
  n_features: number;
  background_rows: number[];
  x: number[][];
  interventional: { shap_values: number[][][] } | null;
}

function maxAbs(a: number[][][], b: number[][][]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i]!.length; j++) for (let k = 0; k < a[i]![j]!.length; k++) m = Math.max(m, Math.abs(a[i]![j]![k]! - b[i]![j]![k]!));
  return m;
}

const rowsOut: Record<string, string | number>[] = [];
for (const name of ['diabetes-gbm-regressor', 'breast-cancer-gbm-binary']) {
  const ref = readFixtureJson<Ref>('oracles', 'trees', name, 'reference.json');
  const model = loadOnnxTreeEnsemble(readFixture('oracles', 'trees', name, 'model.onnx'));
  const data = readNumericCsv('oracles', 'trees', name, 'data.csv').rows.map((r) => r.slice(0, ref.n_features));
  const bg = ref.background_rows.map((i) => data[i]!);
  const p = treePredictor(model, { outputSpace: 'raw' });
  const leaves = Array.from(model.left).filter((l) => l < 0).length;
  const size = `${model.nTrees} trees, ${leaves} leaves, M=${ref.n_features}, bg=${bg.length}`;
  const ex = new KernelExplainer(p, bg);
  const budgets: (number | 'auto')[] = [64, 256, 1000, 'auto'];
  for (const nsamples of budgets) {
    const bench = new Bench({ time: 1500, iterations: 2 });
    let last: Awaited<ReturnType<KernelExplainer['explain']>> | undefined;
    bench.add('kernel', async () => {
      last = await ex.explain([ref.x[0]!], { nsamples, seed: 1 });
    });
    await bench.run();
    const task = bench.tasks[0]!;
    const meanMs = (task.result as { latency?: { mean: number }; mean?: number }).latency?.mean ?? (task.result as { mean: number }).mean;
    let err: string = 'n/a (no oracle)';
    if (ref.interventional) {
      let s = 0;
      for (const seed of [1, 2, 3]) s = Math.max(s, maxAbs((await ex.explain(ref.x, { nsamples, seed })).values, ref.interventional.shap_values));
      err = s.toExponential(2);
    }
    rowsOut.push({
      model: name,
      size,
      nsamples: nsamples === 'auto' ? `auto (${last!.details!.samplesUsed})` : nsamples,
      'rows/call': (last!.timings.samples ?? 0) - 1 - bg.length,
      'explanations/s': (1000 / meanMs).toFixed(2),
      'ms/explanation': meanMs.toFixed(1),
      'model share': `${Math.round((100 * (last!.timings.modelMs ?? 0)) / last!.timings.totalMs)}%`,
      'max abs err vs oracle (8 rows, 3 seeds)': err,
    });
  }
  if (ref.interventional) {
    const t0 = performance.now();
    const e = await new ExactExplainer(p, bg).explain(ref.x);
    const ms = (performance.now() - t0) / ref.x.length;
    rowsOut.push({ model: name, size, nsamples: 'exact (2^M)', 'explanations/s': (1000 / ms).toFixed(2), 'ms/explanation': ms.toFixed(1), 'max abs err vs oracle (8 rows, 3 seeds)': maxAbs(e.values, ref.interventional.shap_values).toExponential(2) });
    const t1 = performance.now();
    const pe = await new PermutationExplainer(p, bg).explain(ref.x, { seed: 1 });
    const ms1 = (performance.now() - t1) / ref.x.length;
    rowsOut.push({ model: name, size, nsamples: 'permutation 500', 'explanations/s': (1000 / ms1).toFixed(2), 'ms/explanation': ms1.toFixed(1), 'max abs err vs oracle (8 rows, 3 seeds)': maxAbs(pe.values, ref.interventional.shap_values).toExponential(2) });
  }
}
console.table(rowsOut);
