/**
 * Reproducible sampling: each explained row, text or image draws from the stream of (seed, its content), so its
 * explanation is bit-identical alone, at any position of any batch, next to equal rows, whatever `batchSize`, and
 * the seed an explanation records reproduces it on an explainer whose default seed is another.
 */
import t from 'tap';
import type tap from 'tap';
import type { Explanation, ImagePredictor, Matrix, Predictor, TextPredictor } from '@genome/model-format';
import { AnchorTabular, AnchorText, LimeImageExplainer, LimeTabularExplainer, LimeTextExplainer, Rng } from '../src/index.js';
import { batchesAround, firstDifference, rowOf } from '../../../tools/bit-identical.js';

const D = 4;
const rng = new Rng(21);
/** Features 0, 1, 3 continuous, feature 2 categorical (0..2). */
const randomRow = (): number[] => [rng.nextNormal() * 2, rng.nextNormal(), rng.nextInt(3), rng.nextNormal() + 1];
const train = Array.from({ length: 400 }, randomRow);

/** Softmax over three linear scores (the categorical feature shifts class 2). */
const model: Predictor = {
  kind: 'tabular',
  nFeatures: D,
  outputNames: ['a', 'b', 'c'],
  outputSpace: 'probability',
  async predict(x: Float64Array, n: number): Promise<Matrix> {
    const out = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const r = x.subarray(i * D, i * D + D);
      const z = [r[0]! - 0.5 * r[1]!, -r[0]! + r[3]!, 0.8 * r[1]! + (r[2] === 2 ? 1.5 : 0) - 0.3 * r[3]!];
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e[0]! + e[1]! + e[2]!;
      for (let k = 0; k < 3; k++) out[3 * i + k] = e[k]! / s;
    }
    return { data: out, rows: n, cols: 3 };
  },
};

const X = [1.25, -0.5, 2, 0.75];
/** Batches of 2, 5 and 9 rows with X at position 0, an inner position and the last one. */
const batches = (x: readonly number[]) => batchesAround([...x], [2, 5, 9], randomRow);

const LIME_ROW = ['intercept', 'score', 'localPrediction', 'featureDescriptions', 'explanations'];

/** {@link rowOf} but `parameters.batchSize` (the samples per model call, which changes no number). */
function rowOfAnyBatch(e: Explanation, r: number, perRow: readonly string[]): Record<string, unknown> {
  const o = rowOf(e, r, perRow);
  return { ...o, parameters: { ...(o.parameters as Record<string, unknown>), batchSize: undefined } };
}

function same(t: Pick<typeof tap, 'equal'>, a: unknown, b: unknown, what: string): void {
  const d = firstDifference(a, b);
  t.equal(d, null, `${what}: bit-identical${d ? ` (first difference ${d})` : ''}`);
}

t.test('LIME tabular: a row alone = the row at positions 0, k, last of batches of 2, 5, 9 (both samplers)', async (t) => {
  for (const [name, ex] of [
    ['discretized (quartile bins, categorical draws)', new LimeTabularExplainer({ trainingData: train, categoricalFeatures: [2] })],
    ['Gaussian around the instance', new LimeTabularExplainer({ trainingData: train, categoricalFeatures: [2], discretizeContinuous: false, sampleAroundInstance: true })],
  ] as const) {
    const opts = { labels: [0, 2], numSamples: 300, numFeatures: 3, seed: 17 };
    const alone = await ex.explain(model, X, opts);
    t.equal(alone.seed, 17);
    for (const { rows, at } of batches(X)) {
      // A batch size of model calls that does not divide the sample count.
      const e = await ex.explain(model, rows, { ...opts, batchSize: 64 });
      for (const p of at) same(t, rowOfAnyBatch(e, p, LIME_ROW), rowOfAnyBatch(alone, 0, LIME_ROW), `${name}: row ${p} of ${rows.length}`);
    }
    const other = await ex.explain(model, X, { ...opts, seed: 18 });
    t.not(firstDifference(other.values, alone.values), null, `${name}: another seed, another explanation`);
  }
});

t.test('LIME tabular: the recorded seed reproduces a row of a batch alone', async (t) => {
  const batch = await new LimeTabularExplainer({ trainingData: train, categoricalFeatures: [2] }).explain(model, batches(X)[1]!.rows, { numSamples: 300 });
  t.equal(batch.seed, 0, 'the default seed is recorded');
  const ex = new LimeTabularExplainer({ trainingData: train, categoricalFeatures: [2], seed: 99 });
  for (const r of [1, 3]) {
    const alone = await ex.explain(model, batch.data![r] as number[], { numSamples: 300, seed: batch.seed! });
    same(t, rowOf(alone, 0, LIME_ROW), rowOf(batch, r, LIME_ROW), `row ${r} from (seed ${batch.seed}, its values)`);
  }
});

/** Row `r`'s entries per output name, over the outputs it explains (its own top labels). */
function ownOutputs(e: Explanation, r: number): Record<string, unknown> {
  const d = e.details as { labels: number[]; topLabels: number[][]; intercept: number[][]; score: number[][]; localPrediction: number[][]; explanations: unknown[][][] };
  const out: Record<string, unknown> = {};
  for (const label of d.topLabels[r]!) {
    const o = d.labels.indexOf(label);
    out[e.outputNames[o]!] = {
      values: e.values[r]!.map((f) => f[o]),
      baseValue: e.baseValues[r]![o],
      prediction: e.predictions![r]![o],
      intercept: d.intercept[r]![o],
      score: d.score[r]![o],
      localPrediction: d.localPrediction[r]![o],
      explanations: d.explanations[r]![o],
    };
  }
  return out;
}

t.test('LIME tabular topLabels: a row explains its own top labels whatever the batch; other outputs hold 0', async (t) => {
  const ex = new LimeTabularExplainer({ trainingData: train, categoricalFeatures: [2] });
  const opts = { topLabels: 1, numSamples: 300, seed: 4 };
  const alone = await ex.explain(model, X, opts);
  t.equal(alone.outputNames.length, 1, 'alone: its one top label');
  // Rows whose top labels differ from X's, so the batch's outputs are a union.
  const others = [
    [-3, 0, 0, 0],
    [0, 2, 2, -1],
  ];
  const rows = [others[0]!, [...X], others[1]!, [...X]];
  const e = await ex.explain(model, rows, opts);
  t.ok(e.outputNames.length > 1, `the batch explains the union of its rows' labels (${e.outputNames.join(', ')})`);
  for (const p of [1, 3]) {
    same(t, ownOutputs(e, p), ownOutputs(alone, 0), `row ${p}: its top label`);
    const mine = (e.details as { topLabels: number[][]; labels: number[] }).topLabels[p]!;
    const rest = e.outputNames.map((_, o) => o).filter((o) => !mine.includes((e.details as { labels: number[] }).labels[o]!));
    t.ok(
      rest.every((o) => e.baseValues[p]![o] === 0 && e.predictions![p]![o] === 0 && e.values[p]!.every((f) => f[o] === 0)),
      `row ${p}: 0 for the outputs of the other rows`,
    );
  }
});

// ---- text ----

const words: Record<string, number> = { free: 2, win: 3, prize: 1.5, meeting: -2, café: -1 };
const textModel: TextPredictor = {
  kind: 'text',
  outputNames: ['ham', 'spam'],
  outputSpace: 'probability',
  async predict(texts: readonly string[]): Promise<Matrix> {
    const out = new Float64Array(texts.length * 2);
    texts.forEach((s, i) => {
      let z = -2;
      for (const w of s.toLowerCase().split(/\W+/u)) z += words[w] ?? 0;
      const p = 1 / (1 + Math.exp(-z));
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    });
    return { data: out, rows: texts.length, cols: 2 };
  },
};
const TEXT = 'win a free prize at the café, free entry';
const OTHER_TEXTS = ['meeting at noon', 'free café meeting', 'win win win'];

const TEXT_ROW = ['intercept', 'score', 'localPrediction', 'explanations'];

t.test('LIME text: a text alone = the same text after others, whatever batchSize; the recorded seed reproduces it', async (t) => {
  const opts = { numSamples: 400, numFeatures: 4, seed: 8 };
  const alone = await new LimeTextExplainer().explain(textModel, TEXT, opts);
  const ex = new LimeTextExplainer();
  for (const [i, other] of OTHER_TEXTS.entries()) {
    await ex.explain(textModel, other, opts);
    const e = await ex.explain(textModel, TEXT, { ...opts, batchSize: 7 + i * 50 });
    same(t, rowOfAnyBatch(e, 0, TEXT_ROW), rowOfAnyBatch(alone, 0, TEXT_ROW), `after "${other}", batchSize ${7 + i * 50}`);
  }
  const byDefault = await new LimeTextExplainer({ seed: 8 }).explain(textModel, TEXT, { numSamples: 400, numFeatures: 4 });
  t.equal(byDefault.seed, 8);
  same(t, rowOf(byDefault, 0, TEXT_ROW), rowOf(alone, 0, TEXT_ROW), 'the explainer default seed 8 = the explain option seed 8');
  const changed = await new LimeTextExplainer().explain(textModel, `${TEXT} `, opts);
  t.not(firstDifference(changed.values, alone.values), null, 'another text (one more space), another stream');
});

t.test('Anchors text: a text alone = the same text after others; the recorded seed reproduces it', async (t) => {
  const opts = { batchSize: 30, coverageSamples: 300, seed: 5 };
  const alone = await new AnchorText().explain(textModel, TEXT, opts);
  const ex = new AnchorText({ seed: 123 });
  for (const other of OTHER_TEXTS) await ex.explain(textModel, other, opts);
  const e = await ex.explain(textModel, TEXT, opts);
  same(t, rowOf(e, 0), rowOf(alone, 0), 'values and parameters');
  same(t, e.details, alone.details, 'the anchor, its precision, coverage and samples');
  const again = await new AnchorText({ seed: alone.seed! }).explain(textModel, TEXT, { batchSize: 30, coverageSamples: 300 });
  same(t, again.details, alone.details, `the recorded seed ${alone.seed} as the explainer default`);
});

t.test('Anchors tabular: a row alone = the same row after others; the recorded seed reproduces it', async (t) => {
  const names = ['a', 'b', 'c', 'd'];
  const opts = { batchSize: 40, coverageSamples: 300, seed: 6 };
  const alone = await new AnchorTabular({ trainingData: train, featureNames: names }).explain(model, X, opts);
  const ex = new AnchorTabular({ trainingData: train, featureNames: names, seed: 77 });
  for (const row of batches(X)[1]!.rows) await ex.explain(model, row, opts);
  const e = await ex.explain(model, Float64Array.from(X), opts);
  same(t, rowOf(e, 0), rowOf(alone, 0), 'values and parameters');
  same(t, e.details, alone.details, 'the anchor, its precision, coverage and samples');
  const again = await new AnchorTabular({ trainingData: train, featureNames: names, seed: alone.seed! }).explain(model, X, { batchSize: 40, coverageSamples: 300 });
  same(t, again.details, alone.details, `the recorded seed ${alone.seed} as the explainer default`);
});

// ---- image ----

const W = 12;
const H = 12;
function image(shift: number): Uint8Array {
  return Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + shift * 11) % 251);
}
const imageModel: ImagePredictor = {
  kind: 'image',
  inputShape: [1, H, W, 3],
  layout: 'NHWC',
  outputNames: ['dark', 'bright'],
  outputSpace: 'probability',
  async predict(px: Float32Array, n: number): Promise<Matrix> {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let p = 0; p < W * H; p += 5) s += px[i * W * H * 3 + p * 3]!;
      const pr = 1 / (1 + Math.exp(-(s / 29 - 128) / 20));
      out[2 * i] = 1 - pr;
      out[2 * i + 1] = pr;
    }
    return { data: out, rows: n, cols: 2 };
  },
};

t.test('LIME image: an image alone = the same image after others, whatever batchSize; the recorded seed reproduces it', async (t) => {
  const img = { data: image(0), width: W, height: H };
  // quickshift draws its density noise seed from the image's stream too.
  const common = { numSamples: 120, labels: [1], segmentation: { algorithm: 'quickshift' as const, kernelSize: 2, maxDist: 6, ratio: 0.5 } };
  const opts = { ...common, seed: 3 };
  const alone = await new LimeImageExplainer().explain(imageModel, img, opts);
  const ex = new LimeImageExplainer({ seed: 50 });
  for (const shift of [1, 2]) await ex.explain(imageModel, { data: image(shift), width: W, height: H }, opts);
  const e = await ex.explain(imageModel, { data: image(0), width: W, height: H }, { ...opts, batchSize: 7 });
  const IMAGE_ROW = ['intercept', 'score', 'localPrediction', 'explanations'];
  same(t, rowOfAnyBatch(e, 0, IMAGE_ROW), rowOfAnyBatch(alone, 0, IMAGE_ROW), 'values');
  same(t, (e.details as { segments: unknown }).segments, (alone.details as { segments: unknown }).segments, 'the superpixels');
  const again = await new LimeImageExplainer({ seed: alone.seed! }).explain(imageModel, img, common);
  same(t, again.values, alone.values, `the recorded seed ${alone.seed} as the explainer default`);
  const float = await new LimeImageExplainer().explain(imageModel, { data: Float32Array.from(image(0)), width: W, height: H }, opts);
  same(t, float.values, alone.values, 'the same pixel values as float32: the same stream');
});
