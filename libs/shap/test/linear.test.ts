import t from 'tap';
import fc from 'fast-check';
import { ExactExplainer, KernelExplainer, LinearExplainer, linearStats, makeBackground } from '../src/index.js';
import { bruteForceShapley, fnPredictor, linearFn, maxAbsDiff, randomRows, testRandom } from './kernel-helpers.js';

const w = [1.5, -2, 0.25, 3, -0.5];
const model = { coefficients: w, intercepts: [0.7], nFeatures: 5, outputNames: ['y'] };

t.test('interventional = brute-force Shapley of the linear function over the background', async (t) => {
  const bg = randomRows(30, 5, 1);
  const X = randomRows(4, 5, 2);
  const e = new LinearExplainer(model, bg).explain(X);
  t.equal(e.method, 'linear_shap');
  t.equal(e.outputSpace, 'raw');
  const ref = X.map((x) => bruteForceShapley(linearFn(w, 0.7), 1, x, bg));
  t.ok(maxAbsDiff(e.values, ref.map((r) => r.phi)) < 1e-12);
  t.ok(maxAbsDiff(e.baseValues, ref.map((r) => r.base)) < 1e-12);
  // and the black-box explainers agree on the same linear model
  const p = fnPredictor(5, 1, linearFn(w, 0.7));
  t.ok(maxAbsDiff((await new KernelExplainer(p, bg).explain(X)).values, e.values) < 1e-10);
  t.ok(maxAbsDiff((await new ExactExplainer(p, bg).explain(X)).values, e.values) < 1e-12);
});

t.test('multi-output coefficients (row-major outputs x features) and {mean} stats', async (t) => {
  const m2 = { coefficients: [1, 2, 3, -1, 0, 4], intercepts: [0, 1], nFeatures: 3 };
  const e = new LinearExplainer(m2, { mean: [1, 1, 1] }).explain([[2, 0, 1]]);
  t.same(e.values, [[[1, -1], [-2, 0], [0, 0]]]);
  t.same(e.baseValues, [[6, 4]]);
  t.same(e.predictions, [[5, 3]]);
  t.same(e.outputNames, ['output0', 'output1']);
});

t.test('correlation_dependent: equals interventional for independent features, efficient, seeded', async (t) => {
  const diag = { mean: [0, 1, 2, 0, 0], covariance: Array.from({ length: 25 }, (_, k) => (k % 6 === 0 ? 1 + (k % 4) : 0)) };
  const X = randomRows(3, 5, 3);
  const ind = new LinearExplainer(model, diag).explain(X);
  const cd = new LinearExplainer(model, diag, { featurePerturbation: 'correlation_dependent', nsamples: 50 }).explain(X);
  t.ok(maxAbsDiff(ind.values, cd.values) < 1e-12, 'diagonal covariance: no correlation to account for');
  t.same(cd.parameters, { featurePerturbation: 'correlation_dependent', nsamples: 50 });

  // correlated data: x1 ~ x0
  const r = testRandom(7);
  const rows = Array.from({ length: 400 }, () => {
    const a = r() * 2 - 1;
    return [a, a + 0.1 * (r() - 0.5), r(), r() * 3, r() - 0.5];
  });
  const stats = linearStats(rows);
  await fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
      const ex = new LinearExplainer(model, stats, { featurePerturbation: 'correlation_dependent', nsamples: 30, seed });
      const e = ex.explain(X);
      return e.values.every((row, i) => Math.abs(e.baseValues[i]![0]! + row.reduce((s, v) => s + v[0]!, 0) - e.predictions![i]![0]!) < 1e-9);
    }),
    { numRuns: 15 },
  );
  const a = new LinearExplainer(model, rows, { featurePerturbation: 'correlation_dependent', seed: 5 }).explain(X);
  const b = new LinearExplainer(model, makeBackground(rows), { featurePerturbation: 'correlation_dependent', seed: 5 }).explain(X);
  t.same(a.values, b.values, 'same seed, rows or Background: identical');
  t.equal(a.seed, 5);
  // with strongly correlated x0/x1 and opposite-signed weights, credit is shared between them
  const i0 = new LinearExplainer(model, rows).explain([[1, 1, 0.5, 1.5, 0]]);
  const c0 = new LinearExplainer(model, rows, { featurePerturbation: 'correlation_dependent' }).explain([[1, 1, 0.5, 1.5, 0]]);
  const shared = (c0.values[0]![0]![0]! + c0.values[0]![1]![0]!) - (i0.values[0]![0]![0]! + i0.values[0]![1]![0]!);
  t.ok(Math.abs(c0.values[0]![0]![0]! - c0.values[0]![1]![0]!) < Math.abs(i0.values[0]![0]![0]! - i0.values[0]![1]![0]!), 'correlated pair values move together');
  t.ok(Number.isFinite(shared));
});

t.test('errors', async (t) => {
  t.throws(() => new LinearExplainer({ coefficients: [1, 2], intercepts: [0], nFeatures: 3 }, { mean: [0, 0, 0] }), { code: 'INVALID_INPUT', message: /1 x 3/ });
  t.throws(() => new LinearExplainer(model, { mean: [0, 0] }), { code: 'INVALID_INPUT', message: /takes 5 features/ });
  t.throws(() => new LinearExplainer(model, { mean: [0, 0, 0, 0, 0] }, { featurePerturbation: 'correlation_dependent' }), { code: 'INVALID_INPUT', message: /covariance/ });
  t.throws(() => new LinearExplainer(model, { mean: [0, 0, 0, 0, 0] }, { featurePerturbation: 'foo' as never }), { code: 'INVALID_OPTION' });
  const ex = new LinearExplainer(model, { mean: [0, 0, 0, 0, 0] });
  t.throws(() => ex.explain([[1, 2, 3]]), { code: 'INVALID_INPUT', message: /3 values but the model takes 5/ });
  t.throws(() => ex.explain([[1, 2, 3, 4, Number.NaN]]), { code: 'INVALID_INPUT', message: /NaN/ });
});
