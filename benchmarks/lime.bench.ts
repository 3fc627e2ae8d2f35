/**
 * LIME / Anchors throughput: explanations per second for tabular LIME on UCI Adult (5000 samples, quartile
 * discretizer, auto feature selection), text LIME on SMS spam (5000 samples), and Anchors (tabular, text).
 * Models are trained here (logistic regression on one-hot Adult, BoW logistic regression on SMS), so the
 * figures measure the explainers plus a cheap in-process model.
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/lime.bench.ts
 */
import { Bench } from 'tinybench';
import { AnchorTabular, AnchorText, LimeTabularExplainer, LimeTextExplainer } from '@genome/lime';
import { ADULT_FEATURES, loadAdult, loadSms, trainAdultModel, trainBow } from '../libs/lime/test/helpers.js';

const adult = loadAdult();
const adultModel = trainAdultModel(adult);
const categorical = Object.keys(adult.categoricalNames).map(Number);
const tabular = new LimeTabularExplainer({
  trainingData: adult.train,
  featureNames: ADULT_FEATURES,
  categoricalFeatures: categorical,
  categoricalNames: adult.categoricalNames,
});
const anchors = new AnchorTabular({ trainingData: adult.train, featureNames: ADULT_FEATURES, categoricalNames: adult.categoricalNames });
const sms = loadSms();
const bow = trainBow(sms, ['ham', 'spam']);
const textLime = new LimeTextExplainer();
const textAnchors = new AnchorText();
const spamTexts = sms.filter((d) => d.label === 1).slice(0, 50).map((d) => d.text);

let ti = 0;
let si = 0;
let ai = 0;
let ati = 0;
const stats: Record<string, { samples: number; calls: number; modelMs: number; n: number }> = {};
const record = (name: string, e: { timings: { samples?: number; modelCalls?: number; modelMs?: number } }): void => {
  const s = (stats[name] ??= { samples: 0, calls: 0, modelMs: 0, n: 0 });
  s.samples += e.timings.samples ?? 0;
  s.calls += e.timings.modelCalls ?? 0;
  s.modelMs += e.timings.modelMs ?? 0;
  s.n++;
};

const bench = new Bench({ time: 4000, iterations: 5, warmup: true, warmupIterations: 2 });
bench
  .add('lime.tabular adult (5000 samples, 12 features)', async () => {
    record('lime.tabular adult (5000 samples, 12 features)', await tabular.explain(adultModel, adult.test[ti++ % 1000]!, { numSamples: 5000 }));
  })
  .add('lime.text sms spam (5000 samples)', async () => {
    record('lime.text sms spam (5000 samples)', await textLime.explain(bow, spamTexts[si++ % spamTexts.length]!, { numSamples: 5000 }));
  })
  .add('anchors.tabular adult (defaults)', async () => {
    record('anchors.tabular adult (defaults)', await anchors.explain(adultModel, adult.test[ai++ % 1000]!));
  })
  .add('anchors.text sms spam (defaults)', async () => {
    record('anchors.text sms spam (defaults)', await textAnchors.explain(bow, spamTexts[ati++ % spamTexts.length]!));
  });

await bench.run();
console.log(`Adult: ${adult.train.length} training rows; model = logistic regression, ${adultModel.nFeatures} inputs one-hot encoded.`);
console.log(`SMS: ${sms.length} messages; model = BoW logistic regression over ${bow.vocab.size} words.`);
console.table(
  bench.tasks.map((task) => {
    const r = task.result as { latency?: { mean: number; p99?: number } ; throughput?: { mean: number } } | undefined;
    const s = stats[task.name];
    const meanMs = r?.latency?.mean ?? NaN;
    return {
      task: task.name,
      'explanations/s': Number((1000 / meanMs).toFixed(2)),
      'mean ms': Number(meanMs.toFixed(1)),
      'samples/expl': s ? Math.round(s.samples / s.n) : null,
      'model calls/expl': s ? Number((s.calls / s.n).toFixed(1)) : null,
      'model ms/expl': s ? Number((s.modelMs / s.n).toFixed(1)) : null,
    };
  }),
);
