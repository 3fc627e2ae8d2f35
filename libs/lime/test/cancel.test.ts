/**
 * Cancellation (`signal`) of LIME tabular/text/image and Anchors tabular/text, and the failure codes of model
 * calls: RUNTIME for a call that throws, MODEL_OUTPUT for a malformed answer.
 */
import t from 'tap';
import type tap from 'tap';
import type { AnyPredictor, Explanation, ImagePredictor, Matrix, PredictOptions, Predictor, TextPredictor } from '@genome/model-format';
import { AnchorTabular, AnchorText, LimeError, LimeImageExplainer, LimeTabularExplainer, LimeTextExplainer, Rng } from '../src/index.js';
import { logisticPredictor } from './helpers.js';
import { abortAfter, hanging, slow, sleep } from '../../../tools/abort-check.js';

// ---- models ----

const D = 4;
const rng = new Rng(5);
const train = Array.from({ length: 300 }, () => Array.from({ length: D }, () => rng.nextNormal()));
const tabular = logisticPredictor([1.5, -2, 0.8, 0.3], 0.1);
/** Close to the decision boundary, so the anchor search needs several rounds. */
const rows = [
  [0.1, 0.2, 0.05, -0.1],
  [0.5, 0.1, -0.4, 0.2],
  [-0.3, -0.2, 0.6, 0.1],
];

const text: TextPredictor = {
  kind: 'text',
  outputNames: ['neg', 'pos'],
  outputSpace: 'probability',
  async predict(texts: readonly string[]): Promise<Matrix> {
    const out = new Float64Array(texts.length * 2);
    texts.forEach((x, i) => {
      const p = (x.includes('good') ? 0.45 : 0) + (x.includes('plot') ? 0.3 : 0) + (x.includes('not') ? -0.2 : 0.1);
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    });
    return { data: out, rows: texts.length, cols: 2 };
  },
};
const DOC = 'a good movie with a good plot and not a single dull scene';

const W = 16;
const H = 16;
const image = { data: Float32Array.from({ length: W * H * 3 }, (_, i) => ((i * 37) % 101) / 101), width: W, height: H };
/** 16 square superpixels of 4x4 pixels. */
const segments = Array.from({ length: W * H }, (_, p) => Math.floor(Math.floor(p / W) / 4) * 4 + Math.floor((p % W) / 4));
const imageModel: ImagePredictor = {
  kind: 'image',
  inputShape: [1, H, W, 3],
  layout: 'NHWC',
  outputNames: ['a', 'b'],
  outputSpace: 'probability',
  async predict(px: Float32Array, n: number): Promise<Matrix> {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let p = 0; p < W * H; p += 7) s += px[i * W * H * 3 + p * 3]!;
      const pr = 1 / (1 + Math.exp(-(s - 18)));
      out[2 * i] = 1 - pr;
      out[2 * i + 1] = pr;
    }
    return { data: out, rows: n, cols: 2 };
  },
};

/** `inner` with `predict` replaced. */
function withPredict<P extends AnyPredictor>(inner: P, predict: (...args: unknown[]) => Promise<Matrix>): P {
  return { ...inner, predict } as P;
}

// ---- the explainers, each making many model calls per explanation ----

interface Case {
  model: AnyPredictor;
  run(p: AnyPredictor, o: { signal?: AbortSignal }): Promise<Explanation>;
}

const limeTabular = new LimeTabularExplainer({ trainingData: train, seed: 3 });
const limeText = new LimeTextExplainer({ seed: 4 });
const limeImage = new LimeImageExplainer({ seed: 5 });
const anchorTabular = new AnchorTabular({ trainingData: train, featureNames: ['a', 'b', 'c', 'd'], seed: 6 });
const anchorText = new AnchorText({ seed: 7 });

const cases: Record<string, Case> = {
  'LIME tabular': { model: tabular, run: (p, o) => limeTabular.explain(p as Predictor, rows, { numSamples: 400, batchSize: 50, ...o }) },
  'LIME text': { model: text, run: (p, o) => limeText.explain(p as TextPredictor, DOC, { numSamples: 400, batchSize: 40, ...o }) },
  'LIME image': {
    model: imageModel,
    run: (p, o) => limeImage.explain(p as ImagePredictor, image, { numSamples: 200, batchSize: 10, segmentation: { algorithm: 'precomputed', segments }, ...o }),
  },
  'Anchors tabular': { model: tabular, run: (p, o) => anchorTabular.explain(p as Predictor, rows[0]!, { batchSize: 20, coverageSamples: 200, ...o }) },
  'Anchors text': { model: text, run: (p, o) => anchorText.explain(p as TextPredictor, DOC, { batchSize: 20, coverageSamples: 200, ...o }) },
};

// One run of each explainer first: the abort tests below abort 50 ms into a run and expect model calls by then, which
// a cold first run (JIT, lazy module state) on a loaded machine can miss.
t.before(async () => {
  for (const c of Object.values(cases)) await c.run(c.model, {});
});

for (const [name, c] of Object.entries(cases)) {
  t.test(`${name}: an abort stops the explanation`, async (t) => {
    const s = slow(c.model, 20, true);
    await abortAfter(t, c.run, s.p, s.state, 'slow predictor that honours the signal');
    t.ok(s.state.calls >= 1 && s.state.signals.every((x) => x !== undefined), 'the signal is passed to every predict call');

    const deaf = slow(c.model, 30, false);
    await abortAfter(t, c.run, deaf.p, deaf.state, 'slow predictor that ignores the signal');

    const hang = hanging(c.model);
    await abortAfter(t, c.run, hang.p, hang.state, 'predictor that only returns when aborted');
    t.equal(hang.state.calls, 1, 'the hanging call was the only one');
  });

  t.test(`${name}: a pre-aborted signal makes no model call`, async (t) => {
    const s = slow(c.model, 1, true);
    const reason = new Error('already cancelled');
    const err = await c.run(s.p, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    t.equal(err, reason, 'rejects with the reason itself');
    const signal = AbortSignal.abort();
    const err2 = await c.run(s.p, { signal }).catch((e: unknown) => e);
    t.equal(err2, signal.reason, 'the default AbortError reason too');
    t.equal(s.state.calls, 0, 'no predict call');
  });

  t.test(`${name}: an un-aborted signal changes nothing`, async (t) => {
    const plain = await c.run(c.model, {});
    const signalled = await c.run(c.model, { signal: new AbortController().signal });
    t.strictSame(signalled.values, plain.values, 'values bit-identical');
    t.strictSame(signalled.baseValues, plain.baseValues);
    t.strictSame(signalled.predictions, plain.predictions);
    t.strictSame(signalled.parameters, plain.parameters, 'the signal is not an explanation parameter');
    const { segmentationMs: _a, ...details } = (signalled.details ?? {}) as Record<string, unknown>;
    const { segmentationMs: _b, ...plainDetails } = (plain.details ?? {}) as Record<string, unknown>;
    t.strictSame(details, plainDetails, 'details (but timings)');
    t.equal(signalled.timings.modelCalls, plain.timings.modelCalls);
  });

  t.test(`${name}: failure codes of model calls`, async (t) => {
    const boom = new Error('connection refused');
    const e1 = (await c.run(withPredict(c.model, async () => Promise.reject(boom)), {}).catch((e: unknown) => e)) as LimeError;
    t.type(e1, LimeError);
    t.equal(e1.code, 'RUNTIME', 'a model call that throws is RUNTIME');
    t.equal(e1.cause, boom, 'the predictor error is the cause');
    t.match(e1.message, /failed: connection refused/);

    const syncThrow = withPredict(c.model, () => {
      throw boom;
    });
    const e2 = (await c.run(syncThrow, {}).catch((e: unknown) => e)) as LimeError;
    t.equal(e2.code, 'RUNTIME', 'also when predict throws synchronously');
    t.equal(e2.cause, boom);

    const timeout = Object.assign(new Error('infer timed out after 50 ms'), { code: 'TIMEOUT' });
    const e3 = (await c.run(withPredict(c.model, async () => Promise.reject(timeout)), { signal: new AbortController().signal }).catch((e: unknown) => e)) as LimeError;
    t.equal(e3.code, 'RUNTIME', 'a predictor timeout stays RUNTIME');
    t.match(e3.message, /model call timed out/);
    t.equal(e3.cause, timeout);

    const call = c.model.predict.bind(c.model) as (...a: unknown[]) => Promise<Matrix>;
    const nan = withPredict(c.model, async (...args) => {
      const m = await call(...args);
      return { ...m, data: m.data.map(() => Number.NaN) };
    });
    await t.rejects(c.run(nan, {}), { name: 'LimeError', code: 'MODEL_OUTPUT', message: /non-finite/ });
    const wrong = withPredict(c.model, async () => ({ data: new Float64Array(1), rows: 1, cols: 1 }));
    await t.rejects(c.run(wrong, {}), { code: 'MODEL_OUTPUT' });
  });

  t.test(`${name}: a model call failing because of the abort rejects with the reason`, async (t) => {
    const ac = new AbortController();
    const reason = new Error('caller went away');
    const call = c.model.predict.bind(c.model) as (...a: unknown[]) => Promise<Matrix>;
    let calls = 0;
    const p = withPredict(c.model, async (...args) => {
      if (++calls === 2) {
        ac.abort(reason);
        throw new Error('socket closed');
      }
      return call(...args);
    });
    const err = await c.run(p, { signal: ac.signal }).catch((e: unknown) => e);
    t.equal(err, reason, 'not wrapped into a RUNTIME LimeError');
    t.equal(calls, 2);
  });

  t.test(`${name}: a signal that is not an AbortSignal is an input error`, async (t) => {
    await t.rejects(c.run(c.model, { signal: 'soon' as never }), { code: 'INVALID_INPUT', message: /AbortSignal/ });
  });
}

t.test('AbortSignal.timeout stops a long explanation over an in-process model', async (t) => {
  // the logistic model computes synchronously inside an async predict: no timer runs between its calls unless
  // the explainer yields to the event loop
  const many = Array.from({ length: 200 }, (_, i) => rows[i % rows.length]!);
  const signal = AbortSignal.timeout(50);
  const t0 = performance.now();
  const err = await limeTabular.explain(tabular, many, { numSamples: 5000, batchSize: 500, signal }).catch((e: unknown) => e);
  const ms = performance.now() - t0;
  t.equal(err, signal.reason, 'rejects with the TimeoutError of the signal');
  t.equal((err as Error).name, 'TimeoutError');
  t.ok(ms < 250, `stopped after ${ms.toFixed(0)} ms (timeout 50 ms)`);
});
