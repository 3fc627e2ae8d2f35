import t from 'tap';
import fc from 'fast-check';
import { DEFAULT_SEED } from '@genome/model-format';
import { KernelExplainer, ShapError, kmeansBackground } from '../src/index.js';
import { batchesAround, firstDifference, rowOf } from '../../../tools/bit-identical.js';
import { bruteForceShapley, fnPredictor, interactionFn, linearFn, maxAbsDiff, randomRows } from './kernel-helpers.js';

const M = 6;
const fn = interactionFn([1, -2, 0.5, 3, 0, 1.5], [[0, 1, 2], [3, 4, -1], [1, 5, 0.7]], 1.3);

function sum(a: number[][], d: number): number {
  return a.reduce((s, v) => s + v[d]!, 0);
}

t.test('full enumeration (2^M - 2 <= nsamples) equals brute-force Shapley values, multi-output', async (t) => {
  const p = fnPredictor(M, 2, fn);
  const bg = randomRows(12, M, 1);
  const X = randomRows(4, M, 2);
  const e = await new KernelExplainer(p, bg).explain(X);
  t.equal(e.method, 'kernel_shap');
  t.same(e.details?.fullEnumeration, [true, true, true, true]);
  const ref = X.map((x) => bruteForceShapley(fn, 2, x, bg));
  t.ok(maxAbsDiff(e.values, ref.map((r) => r.phi)) < 1e-10, `max err ${maxAbsDiff(e.values, ref.map((r) => r.phi))}`);
  t.ok(maxAbsDiff(e.baseValues, ref.map((r) => r.base)) < 1e-12);
  t.same(e.featureNames, ['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
  t.same(e.outputNames, ['y0', 'y1']);
  t.equal(JSON.stringify(JSON.parse(JSON.stringify(e))), JSON.stringify(e), 'plain JSON round-trip');
});

t.test('weighted background (k-means summary) is honoured', async (t) => {
  const p = fnPredictor(M, 2, fn);
  const data = randomRows(200, M, 5);
  const bg = kmeansBackground(data, 8, { seed: 3 });
  const X = randomRows(2, M, 6);
  const e = await new KernelExplainer(p, bg).explain(X);
  const bgRows = Array.from({ length: bg.rows }, (_, r) => Array.from(bg.data.subarray(r * M, r * M + M)));
  const ref = X.map((x) => bruteForceShapley(fn, 2, x, bgRows, Array.from(bg.weights)));
  t.ok(maxAbsDiff(e.values, ref.map((r) => r.phi)) < 1e-10);
  t.ok(maxAbsDiff(e.baseValues, ref.map((r) => r.base)) < 1e-12);
});

t.test('efficiency holds for every sampling budget and l1 rule (property)', async (t) => {
  const bg = randomRows(6, 12, 11);
  const w = Array.from({ length: 12 }, (_, i) => (i % 3) - 1 + i / 10);
  const f2 = (x: ArrayLike<number>, out: Float64Array) => {
    let s = 0;
    for (let j = 0; j < 12; j++) s += w[j]! * x[j]!;
    out[0] = s + x[0]! * x[5]! - 2 * x[3]! * x[7]! * x[9]!;
  };
  const p = fnPredictor(12, 1, f2);
  const ex = new KernelExplainer(p, bg);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 12, maxLength: 12 }),
      fc.integer({ min: 13, max: 300 }),
      fc.constantFrom<false | 'aic' | 'bic' | 'num_features(4)'>(false, 'aic', 'bic', 'num_features(4)'),
      fc.integer({ min: 0, max: 1000 }),
      async (x, nsamples, l1Reg, seed) => {
        const e = await ex.explain([x], { nsamples, l1Reg, seed });
        const total = e.baseValues[0]![0]! + sum(e.values[0]!, 0);
        // round-off of the sum scales with the magnitude of the summed terms
        const scale = 1 + Math.abs(e.baseValues[0]![0]!) + e.values[0]!.reduce((s, v) => s + Math.abs(v[0]!), 0);
        const ok = Math.abs(total - e.predictions![0]![0]!) < 1e-12 * scale * 13;
        if (!ok) t.comment(`efficiency failure: nsamples=${nsamples} l1Reg=${l1Reg} seed=${seed} x=${JSON.stringify(x)} details=${JSON.stringify(e.details)}`);
        return ok;
      },
    ),
    { numRuns: 40 },
  );
  t.pass('efficiency');
});

t.test('symmetry and dummy axioms on a synthetic model', async (t) => {
  // f = 2*x0*x1 + x2 ; x3 is a dummy; x0 and x1 are symmetric when x0 = x1 and their backgrounds agree
  const f = (x: ArrayLike<number>, out: Float64Array) => {
    out[0] = 2 * x[0]! * x[1]! + x[2]!;
  };
  const p = fnPredictor(4, 1, f);
  const bg = [
    [0, 0, 0, 0],
    [1, 1, -1, 2],
    [-0.5, -0.5, 2, -3],
  ];
  const e = await new KernelExplainer(p, bg).explain([[1.5, 1.5, 0.3, 7]]);
  const v = e.values[0]!;
  t.ok(Math.abs(v[0]![0]! - v[1]![0]!) < 1e-10, 'symmetric features get equal values');
  t.ok(Math.abs(v[3]![0]!) < 1e-10, 'dummy feature gets 0');
});

t.test('sampled estimates converge to the exact values as nsamples grows', async (t) => {
  const Mbig = 12;
  const fnBig = interactionFn(
    Array.from({ length: Mbig }, (_, i) => Math.sin(i + 1) * 2),
    [[0, 1, 1.5], [2, 7, -1], [4, 9, 0.8], [10, 11, 1.2]],
    0.9,
  );
  const p = fnPredictor(Mbig, 2, fnBig);
  const bg = randomRows(5, Mbig, 21);
  const X = randomRows(3, Mbig, 22);
  const ref = X.map((x) => bruteForceShapley(fnBig, 2, x, bg).phi);
  const ex = new KernelExplainer(p, bg);
  const err: number[] = [];
  for (const nsamples of [40, 400, 4000]) {
    let total = 0;
    for (const seed of [1, 2, 3]) total += maxAbsDiff((await ex.explain(X, { nsamples, seed })).values, ref);
    err.push(total / 3);
  }
  t.ok(err[0]! > err[1]! && err[1]! > err[2]!, `error shrinks: ${err.map((e) => e.toExponential(2)).join(' > ')}`);
  const full = await ex.explain(X, { nsamples: 2 ** Mbig - 2 });
  t.ok(maxAbsDiff(full.values, ref) < 1e-9, 'full enumeration is exact');
});

t.test('seeded reproducibility, independence of batching and of row grouping', async (t) => {
  const Mbig = 10;
  const fnBig = linearFn(Array.from({ length: Mbig }, (_, i) => i - 4), 0.5);
  const fnI = (x: ArrayLike<number>, out: Float64Array) => {
    fnBig(x, out);
    out[0]! += x[1]! * x[8]!;
  };
  const bg = randomRows(7, Mbig, 31);
  const X = randomRows(3, Mbig, 32);
  const a = await new KernelExplainer(fnPredictor(Mbig, 1, fnI), bg).explain(X, { nsamples: 100, seed: 42 });
  const b = await new KernelExplainer(fnPredictor(Mbig, 1, fnI), bg, { maxBatch: 50 }).explain(X, { nsamples: 100, seed: 42 });
  const c = await new KernelExplainer(fnPredictor(Mbig, 1, fnI), bg).explain(X, { nsamples: 100, seed: 43 });
  const last = await new KernelExplainer(fnPredictor(Mbig, 1, fnI), bg).explain([X[0]!], { nsamples: 100, seed: 42 });
  t.same(a.values, b.values, 'same seed, different maxBatch: identical');
  t.equal(a.seed, 42);
  t.ok(maxAbsDiff(a.values, c.values) > 0, 'different seed: different estimate');
  t.same(last.values[0], a.values[0], 'row 0 does not depend on the other rows');
  t.ok((b.timings.modelCalls ?? 0) > (a.timings.modelCalls ?? 0), 'smaller maxBatch -> more model calls');
});

t.test('one batched model call per explained row (plus base and f(x))', async (t) => {
  const p = fnPredictor(M, 2, fn);
  const bg = randomRows(10, M, 41);
  const X = randomRows(3, M, 42);
  await new KernelExplainer(p, bg).explain(X);
  t.equal(p.calls, 2 + 3);
});

t.test('non-varying features get 0 and fewer coalitions are needed', async (t) => {
  const p = fnPredictor(M, 2, fn);
  const bg = [
    [0, 0, 1, 1, 0, 0],
    [1, 0, 1, 2, 0, 0],
  ];
  const e = await new KernelExplainer(p, bg).explain([[0.5, 0, 1, 3, 0, 0]]);
  for (const j of [1, 2, 4, 5]) t.same(e.values[0]![j], [0, 0]);
  const ref = bruteForceShapley(fn, 2, [0.5, 0, 1, 3, 0, 0], bg).phi;
  t.ok(maxAbsDiff(e.values[0], ref) < 1e-12);
});

t.test('l1 regularisation selects the informative features', async (t) => {
  const w = [5, 0, 0, -4, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
  const p = fnPredictor(16, 1, linearFn(w, 1));
  const bg = randomRows(4, 16, 51);
  const x = [randomRows(1, 16, 52)[0]!];
  const e = await new KernelExplainer(p, bg).explain(x, { nsamples: 200, l1Reg: 'num_features(3)' });
  const nz = e.values[0]!.map((v, j) => (Math.abs(v[0]!) > 1e-12 ? j : -1)).filter((j) => j >= 0);
  t.same(nz, [0, 3, 8]);
  const aic = await new KernelExplainer(p, bg).explain(x, { nsamples: 200, l1Reg: 'aic' });
  const ref = bruteForceShapley(linearFn(w, 1), 1, x[0]!, bg).phi;
  t.ok(maxAbsDiff(aic.values[0], ref) < 1e-8, 'aic keeps the exact linear attributions');
  const obj = await new KernelExplainer(p, bg).explain(x, { nsamples: 200, l1Reg: { numFeatures: 3 } });
  t.same(obj.values, e.values);
});

t.test('logit link attributes in log-odds', async (t) => {
  const f = (x: ArrayLike<number>, out: Float64Array) => {
    out[0] = 1 / (1 + Math.exp(-(x[0]! - 2 * x[1]! + x[0]! * x[2]!)));
  };
  const p = fnPredictor(3, 1, f, 'probability');
  const bg = randomRows(5, 3, 61);
  const e = await new KernelExplainer(p, bg, { link: 'logit' }).explain([[0.3, -0.2, 0.9]]);
  t.equal(e.outputSpace, 'raw');
  const logit = (q: number) => Math.log(q / (1 - q));
  const out = new Float64Array(1);
  f([0.3, -0.2, 0.9], out);
  t.ok(Math.abs(e.predictions![0]![0]! - logit(out[0]!)) < 1e-12);
  t.ok(Math.abs(e.baseValues[0]![0]! + sum(e.values[0]!, 0) - logit(out[0]!)) < 1e-10);
});

t.test('bad input gives clear typed errors', async (t) => {
  const p = fnPredictor(M, 2, fn);
  const bg = randomRows(5, M, 71);
  const ex = new KernelExplainer(p, bg);
  await t.rejects(ex.explain([[1, 2, 3]]), { name: 'ShapError', code: 'INVALID_INPUT', message: /3 values but the model takes 6 features/ });
  await t.rejects(ex.explain([[1, 2, 3, 4, 5, Number.NaN]]), { code: 'INVALID_INPUT', message: /NaN/ });
  await t.rejects(ex.explain([randomRows(1, M, 72)[0]!], { nsamples: 3 }), { code: 'INVALID_OPTION', message: /too small/ });
  await t.rejects(ex.explain([randomRows(1, M, 72)[0]!], { l1Reg: 'lasso' as never }), { code: 'INVALID_OPTION' });
  await t.rejects(ex.explain([randomRows(1, M, 72)[0]!], { seed: 1.5 }), { code: 'INVALID_OPTION' });
  t.throws(() => new KernelExplainer(p, randomRows(5, 4, 1)), { code: 'INVALID_INPUT', message: /4 values but the model takes 6/ });
  t.throws(() => new KernelExplainer(p, []), { code: 'INVALID_INPUT' });
  t.throws(() => new KernelExplainer(p, bg, { link: 'probit' as never }), ShapError);
  const nanModel = fnPredictor(M, 2, (x, out) => {
    out[0] = x[0]! > 100 ? Number.NaN : 1;
    out[1] = 0;
  });
  await t.rejects(new KernelExplainer(nanModel, bg).explain([[1000, 0, 0, 0, 0, 0]]), { code: 'MODEL_OUTPUT' });
  const bad = { ...p, predict: async () => ({ data: new Float64Array(1), rows: 1, cols: 1 }) };
  await t.rejects(new KernelExplainer(bad, bg).explain([[1, 2, 3, 4, 5, 6]]), { code: 'MODEL_OUTPUT', message: /expected/ });
  const nanOk = await new KernelExplainer(p, bg, { allowNaN: true }).explain([[Number.NaN, 0, 0, 0, 0, 0]]).catch((e) => e);
  t.equal(nanOk.code, 'MODEL_OUTPUT', 'allowNaN passes NaN through to the model (this synthetic one returns NaN)');
});

t.test('a row alone = the row at positions 0, k, last of batches of 2, 5, 9, NaN cells included; the recorded seed reproduces it', async (t) => {
  const KERNEL_ROW = ['samplesUsed', 'fullEnumeration', 'singularSystem'];
  // Missing values go to a default, as a tree's default branch would.
  const f = (x: ArrayLike<number>, out: Float64Array) => {
    const z = Array.from(x, (v, j) => (Number.isNaN(v) ? 0.3 * j : v));
    fn(z, out);
    out[1] = z[0]! * z[3]! - z[5]!;
  };
  const bg = randomRows(9, M, 61);
  bg[2]![4] = NaN;
  const ex = new KernelExplainer(fnPredictor(M, 2, f), bg, { allowNaN: true });
  const x = [0.4, NaN, -1.2, NaN, 0.8, 0.1];
  const fill = randomRows(9, M, 62);
  for (const opts of [{ nsamples: 40, seed: 5 }, { nsamples: 30, l1Reg: 'num_features(3)' as const, seed: 6 }]) {
    const alone = await ex.explain([x], opts);
    t.same(alone.details!.fullEnumeration, [false], 'sampled coalitions');
    for (const { rows, at } of batchesAround(x, [2, 5, 9], (i) => fill[i]!)) {
      const e = await ex.explain(rows, opts);
      for (const p of at) t.equal(firstDifference(rowOf(e, p, KERNEL_ROW), rowOf(alone, 0, KERNEL_ROW)), null, `${JSON.stringify(opts)}: row ${p} of ${rows.length}`);
    }
  }
  const batch = await ex.explain(batchesAround(x, [5], (i) => fill[i]!)[0]!.rows, { nsamples: 40 });
  t.equal(batch.seed, DEFAULT_SEED, 'the default seed is recorded');
  const alone = await ex.explain([x], { nsamples: 40, seed: batch.seed! });
  t.equal(firstDifference(rowOf(batch, 4, KERNEL_ROW), rowOf(alone, 0, KERNEL_ROW)), null, 'the recorded seed and the row reproduce it alone');
});
