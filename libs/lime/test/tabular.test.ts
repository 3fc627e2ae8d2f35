import t from 'tap';
import { LimeError, LimeTabularExplainer, Rng } from '../src/index.js';
import { linearPredictor, logisticPredictor } from './helpers.js';

function gaussianData(n: number, d: number, seed: number, means: number[], sds: number[]): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => means[j]! + sds[j]! * rng.normal()));
}

const means = [1, -2, 0, 5, 0.5];
const sds = [2, 1, 0.5, 3, 1];
const train = gaussianData(2000, 5, 1, means, sds);
const names = ['a', 'b', 'c', 'd', 'e'];

t.test('continuous LIME on a linear model recovers coefficient * training std exactly', async (t) => {
  const coef = [3, -2, 1, 0, 0.25];
  const model = linearPredictor(coef, 7);
  const ex = new LimeTabularExplainer({ trainingData: train, featureNames: names, discretizeContinuous: false, featureSelection: 'none' });
  const row = [2, -1, 0.3, 4, 1];
  const e = await ex.explain(model, row, { numSamples: 4000 });
  t.equal(e.method, 'lime.tabular');
  t.same(e.outputNames, ['y']);
  const stats = ex.trainingStats;
  for (let j = 0; j < 5; j++) {
    // ridge alpha=1 shrinks by a relative factor ~ 1/(sum of weights * var) << 1e-3 here
    t.ok(Math.abs(e.values[0]![j]![0]! - coef[j]! * stats.scale[j]!) < 2e-3 * Math.max(1, Math.abs(coef[j]! * stats.scale[j]!)), `feature ${j}`);
  }
  const d = e.details as { score: number[][]; localPrediction: number[][] };
  t.ok(d.score[0]![0]! > 0.9999, 'R^2 ~ 1 on an exactly linear model');
  const fx = 7 + coef.reduce((s, c, j) => s + c * row[j]!, 0);
  t.ok(Math.abs(d.localPrediction[0]![0]! - fx) < 1e-2, 'local prediction = model output');
  t.ok(Math.abs(e.predictions![0]![0]! - fx) < 1e-9);
  t.equal(e.timings.samples, 4000);
  t.equal(e.timings.modelCalls, 1);
});

t.test('discretized LIME on a logistic model: signs and ranking of the true coefficients', async (t) => {
  const coef = [1.5, -1.0, 0.5, 0, 0];
  const model = logisticPredictor(coef, -0.5);
  const ex = new LimeTabularExplainer({ trainingData: train, featureNames: names, seed: 3 });
  // an instance in the top quartile of every feature
  const row = means.map((m, j) => m + 1.2 * sds[j]!);
  // 50000 samples: at the default 5000 the zero-coefficient weights are sampling noise of the same size as
  // w[2] (coef * sd = 0.25), and the 0.25 ratio check below holds for only about half of all seeds.
  const e = await ex.explain(model, row, { numFeatures: 5, numSamples: 50000 });
  const w = e.values[0]!.map((v) => v[0]!);
  t.same(e.outputNames, ['1']);
  // feature value above the median increases the logit by coef*... : sign of weight = sign of coef*sd
  t.ok(w[0]! > 0 && w[1]! < 0 && w[2]! > 0, `signs ${w}`);
  const absTrue = coef.map((c, j) => Math.abs(c * sds[j]!));
  const rankTrue = [0, 1, 2, 3, 4].sort((a, b) => absTrue[b]! - absTrue[a]!).slice(0, 3);
  const rankLime = [0, 1, 2, 3, 4].sort((a, b) => Math.abs(w[b]!) - Math.abs(w[a]!)).slice(0, 3);
  t.same(rankLime, rankTrue, 'top-3 ranking matches |coef * std|');
  t.ok(Math.abs(w[3]!) < 0.25 * Math.abs(w[2]!) && Math.abs(w[4]!) < 0.25 * Math.abs(w[2]!), 'zero-coefficient features get small weights');
  const desc = (e.details as { featureDescriptions: string[][] }).featureDescriptions[0]!;
  t.match(desc[0]!, /^a > \d+\.\d\d$/, 'bin name of the instance');
});

t.test('non-discretized logistic: local weights recover the local gradient ranking', async (t) => {
  const coef = [0.8, -0.6, 2.0, 0, 0.1];
  const model = logisticPredictor(coef, 0);
  for (const fs of ['auto', 'forward_selection', 'highest_weights', 'lasso_path', 'none'] as const) {
    const ex = new LimeTabularExplainer({ trainingData: train, featureNames: names, discretizeContinuous: false, sampleAroundInstance: true, featureSelection: fs, kernelWidth: 1 });
    const e = await ex.explain(model, [1, -2, 0, 5, 0.5], { numFeatures: 3, numSamples: 3000 });
    const all = (e.details as { explanations: { feature: number; weight: number }[][][] }).explanations[0]![0]!;
    t.equal(all.length, fs === 'none' ? 5 : 3, `${fs}: number of features`);
    const list = all.slice(0, 3);
    t.same(list.map((x) => x.feature).sort(), [0, 1, 2], `${fs}: selects the 3 informative features`);
    const byAbs = list.map((x) => x.feature);
    // |coef * sd|: a 1.6, b 0.6, c 1.0
    t.same(byAbs, [0, 2, 1], `${fs}: sorted by |weight|`);
    t.ok(list.find((x) => x.feature === 1)!.weight < 0, `${fs}: negative sign for b`);
  }
});

t.test('categorical features, entropy/decile discretizers, topLabels, trainingStats round-trip', async (t) => {
  const rng = new Rng(5);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 1500; i++) {
    const cat = rng.int(3);
    const x = rng.normal() * 2;
    rows.push([x, cat, rng.normal()]);
    labels.push(x + (cat === 2 ? 2 : 0) > 1 ? 1 : 0);
  }
  const model = logisticPredictor([1, 0, 0], -1);
  const catModel: typeof model = {
    ...model,
    async predict(r, n) {
      const out = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        const s = r[i * 3]! + (r[i * 3 + 1] === 2 ? 3 : 0) - 1;
        const p = 1 / (1 + Math.exp(-s));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return { data: out, rows: n, cols: 2 };
    },
  };
  for (const disc of ['quartile', 'decile', 'entropy'] as const) {
    const ex = new LimeTabularExplainer({
      trainingData: rows,
      trainingLabels: labels,
      featureNames: ['x', 'kind', 'noise'],
      categoricalFeatures: [1],
      categoricalNames: { 1: ['red', 'green', 'blue'] },
      discretizer: disc,
    });
    const e = await ex.explain(catModel, [0.5, 2, 0], { topLabels: 2, numFeatures: 3, numSamples: 2000 });
    t.equal(e.outputNames.length, 2, `${disc}: two top labels`);
    t.same(e.outputNames, ['1', '0'], `${disc}: best label first`);
    const desc = (e.details as { featureDescriptions: string[][] }).featureDescriptions[0]!;
    t.equal(desc[1], 'kind=blue', `${disc}: categorical name`);
    const w = e.values[0]!.map((v) => v[0]!);
    t.ok(w[1]! > 0, `${disc}: kind=blue pushes up label 1`);
    t.ok(Math.abs(w[1]!) > Math.abs(w[2]!), `${disc}: categorical outranks noise`);
    // weights of label 0 are the negatives of label 1 (probabilities sum to one)
    t.ok(Math.abs(e.values[0]![1]![1]! + w[1]!) < 1e-9, `${disc}: complementary labels`);
    // stats round-trip gives the identical explanation
    const ex2 = new LimeTabularExplainer({ trainingStats: JSON.parse(JSON.stringify(ex.trainingStats)), categoricalNames: { 1: ['red', 'green', 'blue'] } });
    const e2 = await ex2.explain(catModel, [0.5, 2, 0], { topLabels: 2, numFeatures: 3, numSamples: 2000 });
    t.same(e2.values, e.values, `${disc}: trainingStats reproduce the explanation`);
  }
});

t.test('seeded reproducibility, batching and several rows', async (t) => {
  const model = linearPredictor([1, 2, 3, 4, 5], 0);
  const ex = new LimeTabularExplainer({ trainingData: train, seed: 42 });
  const a = await ex.explain(model, [train[0]!, train[1]!], { numSamples: 1000, batchSize: 300 });
  const b = await ex.explain(model, [train[0]!, train[1]!], { numSamples: 1000, batchSize: 1000 });
  t.same(a.values, b.values, 'same seed, different batch sizes -> identical');
  t.equal(a.timings.modelCalls, 8, '4 calls of <= 300 per row');
  t.equal(a.values.length, 2);
  t.equal(a.seed, 42);
  const c = await ex.explain(model, [train[0]!, train[1]!], { numSamples: 1000, seed: 43 });
  t.not(JSON.stringify(c.values), JSON.stringify(a.values), 'another seed -> another sample');
  t.same(JSON.parse(JSON.stringify(a)), a, 'plain JSON');
});

t.test('clear errors on bad input', async (t) => {
  const model = linearPredictor([1, 2, 3, 4, 5], 0);
  t.throws(() => new LimeTabularExplainer({}), LimeError);
  t.throws(() => new LimeTabularExplainer({ trainingData: [[1, 2], [3]] }), /row 1 has 1 values/);
  t.throws(() => new LimeTabularExplainer({ trainingData: train, discretizer: 'entropy' }), /needs trainingLabels/);
  t.throws(() => new LimeTabularExplainer({ trainingData: train, featureSelection: 'magic' as never }), /Unknown featureSelection/);
  t.throws(() => new LimeTabularExplainer({ trainingData: [[NaN, 1]] }), /not a finite number/);
  const ex = new LimeTabularExplainer({ trainingData: train });
  await t.rejects(ex.explain(model, [1, 2, 3]), /expects 5 features/);
  await t.rejects(ex.explain(model, [1, 2, 3, 4, NaN]), /non-finite/);
  await t.rejects(ex.explain(model, [1, 2, 3, 4, 5], { numSamples: 1 }), /numSamples must be an integer >= 2/);
  await t.rejects(ex.explain(model, [1, 2, 3, 4, 5], { labels: [3] }), /not an output index/);
  await t.rejects(ex.explain(linearPredictor([1, 2], 0), [1, 2]), /takes 2 features/);
  const bad = { ...model, predict: async () => ({ data: new Float64Array(3), rows: 3, cols: 1 }) };
  await t.rejects(ex.explain(bad, [1, 2, 3, 4, 5]), { code: 'MODEL_OUTPUT' });
  const nan = { ...model, predict: async (_r: Float64Array, n: number) => ({ data: new Float64Array(n).fill(NaN), rows: n, cols: 1 }) };
  await t.rejects(ex.explain(nan, [1, 2, 3, 4, 5]), /non-finite output/);
  const throwing = { ...model, predict: async () => { throw new Error('boom'); } };
  await t.rejects(ex.explain(throwing, [1, 2, 3, 4, 5]), { code: 'RUNTIME', message: /boom/ });
});
