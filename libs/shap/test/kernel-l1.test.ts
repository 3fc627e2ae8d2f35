// Regression: with few samples, the AIC/BIC optimum of the lasso path can be the empty model. Selection must
// keep at least one feature, or no attribution carries f(x) - E[f] and efficiency breaks (found by the
// efficiency property in kernel.test.ts).
import t from 'tap';
import { KernelExplainer } from '../src/index.js';
import { fnPredictor, randomRows } from './kernel-helpers.js';

t.test('l1 selection never drops every feature: efficiency holds when the IC optimum is the empty model', async (t) => {
  const bg = randomRows(6, 12, 11);
  const w = Array.from({ length: 12 }, (_, i) => (i % 3) - 1 + i / 10);
  const f = (x: ArrayLike<number>, out: Float64Array) => {
    let s = 0;
    for (let j = 0; j < 12; j++) s += w[j]! * x[j]!;
    out[0] = s + x[0]! * x[5]! - 2 * x[3]! * x[7]! * x[9]!;
  };
  const ex = new KernelExplainer(fnPredictor(12, 1, f), bg);
  const x = [-2.196199620929234, 0, 0, 0, 0, 1.4583694746122948, 0, 0, 0, 0, 0, 0];
  for (const l1Reg of ['bic', 'aic', 'num_features(1)'] as const) {
    // Seeds whose coalitions make the AIC and BIC optimum the empty model (each of these reaches the fallback).
    for (const seed of [11, 31, 43, 98, 116]) {
      const e = await ex.explain([x], { nsamples: 13, l1Reg, seed });
      const total = e.baseValues[0]![0]! + e.values[0]!.reduce((s, v) => s + v[0]!, 0);
      const nonzero = e.values[0]!.filter((v) => v[0] !== 0).length;
      t.ok(Math.abs(total - e.predictions![0]![0]!) < 1e-12, `${l1Reg} seed ${seed}: base + sum = prediction`);
      t.ok(nonzero >= 1, `${l1Reg} seed ${seed}: at least one feature carries the attribution`);
    }
  }
});
