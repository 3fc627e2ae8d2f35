import t from 'tap';
import fc from 'fast-check';
import { ExactExplainer, ShapError } from '../src/index.js';
import { INTERVENTIONAL_CASES, bruteForceShapley, fnPredictor, interactionFn, loadOracleCase, maxAbsDiff, randomRows } from './kernel-helpers.js';

const fn = interactionFn([1, -2, 0.5, 3, 0, 1.5], [[0, 1, 2], [3, 4, -1], [1, 5, 0.7]], 1.3);

t.test('equals the brute-force Shapley values (property over rows and backgrounds)', async (t) => {
  const p = fnPredictor(6, 2, fn);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 8 }), async (seed, nBg) => {
      const bg = randomRows(nBg, 6, seed);
      const x = randomRows(2, 6, seed + 1);
      const e = await new ExactExplainer(p, bg).explain(x);
      const ref = x.map((r) => bruteForceShapley(fn, 2, r, bg));
      const effOk = e.values.every((row, i) =>
        [0, 1].every((d) => Math.abs(e.baseValues[i]![d]! + row.reduce((s, v) => s + v[d]!, 0) - e.predictions![i]![d]!) < 1e-10),
      );
      return maxAbsDiff(e.values, ref.map((r) => r.phi)) < 1e-12 && maxAbsDiff(e.baseValues, ref.map((r) => r.base)) < 1e-12 && effOk;
    }),
    { numRuns: 25 },
  );
  t.pass('exact = brute force, efficient');
});

t.test('batched calls: one per row with default maxBatch, more with a small one, same values', async (t) => {
  const p = fnPredictor(6, 2, fn);
  const bg = randomRows(10, 6, 3);
  const X = randomRows(2, 6, 4);
  const a = await new ExactExplainer(p, bg).explain(X);
  t.equal(a.timings.modelCalls, 2 + 2);
  const b = await new ExactExplainer(p, bg, { maxBatch: 37 }).explain(X);
  t.ok(b.timings.modelCalls! > 10);
  t.same(a.values, b.values);
});

t.test('too many features: clear error pointing to kernel/permutation', async (t) => {
  const p = fnPredictor(20, 1, (x, o) => {
    o[0] = x[0]!;
  });
  t.throws(() => new ExactExplainer(p, randomRows(2, 20, 1)), { name: 'ShapError', code: 'TOO_MANY_FEATURES', message: /KernelExplainer or PermutationExplainer/ });
  t.throws(() => new ExactExplainer(p, randomRows(2, 20, 1), { maxFeatures: 30 }), { code: 'INVALID_OPTION' });
  const sparseBg = randomRows(2, 20, 1).map((r) => r.map((v, j) => (j < 3 ? v : 0)));
  const ok = await new ExactExplainer(p, sparseBg, { maxFeatures: 20 }).explain([randomRows(1, 20, 2)[0]!.map((v, j) => (j === 0 ? v : 0))]);
  t.equal(ok.method, 'exact_shap');
  t.throws(() => new ExactExplainer(fnPredictor(6, 2, fn), randomRows(3, 5, 1)), ShapError);
});

for (const name of INTERVENTIONAL_CASES) {
  t.test(`oracle ${name}: matches the interventional reference up to the model file's float32 rounding`, async (t) => {
    const c = loadOracleCase(name);
    const e = await new ExactExplainer(c.predictor, c.background).explain(c.ref.x);
    const err = maxAbsDiff(e.values, c.ref.interventional!.shap_values);
    const errBase = maxAbsDiff(e.baseValues[0], c.ref.interventional!.expected_value);
    t.comment(`${name}: max |exact - oracle| = ${err.toExponential(3)}, base ${errBase.toExponential(3)}, float32 model bound ${c.float32Bound.toExponential(2)}`);
    t.ok(err <= 2 * c.float32Bound + 1e-9, `values within 2 x float32 bound`);
    t.ok(errBase <= c.float32Bound + 1e-12, 'base value within the float32 bound');
  });
}
