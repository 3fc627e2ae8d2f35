import t from 'tap';
import type { Matrix, TextPredictor } from '@genome/model-format';
import { IndexedText, LimeError, LimeTextExplainer } from '../src/index.js';
import { loadSms, tokenize, trainBow } from './helpers.js';

t.test('IndexedText mirrors lime IndexedString', async (t) => {
  const s = new IndexedText('The cat, the CAT and the cat!');
  t.same(s.vocabulary, ['The', 'cat', 'the', 'CAT', 'and']);
  t.same(s.stringPositions(1), [4, 25]);
  const active = Uint8Array.from([1, 0, 1, 1, 1]);
  t.equal(s.inverseRemoving(active, new Uint8Array(s.pieces.length)), 'The , the CAT and the !');
  const p = new IndexedText('a b a', { bow: false });
  t.same(p.vocabulary, ['a', 'b', 'a']);
  t.equal(p.inverseRemoving(Uint8Array.from([0, 1, 1]), new Uint8Array(p.pieces.length)), 'UNKWORDZ b a');
  const m = new IndexedText('a b a', { bow: false, maskString: '[MASK]' });
  t.equal(m.inverseRemoving(Uint8Array.from([1, 1, 0]), new Uint8Array(m.pieces.length)), 'a b [MASK]');
  const c = new IndexedText('abca', { charLevel: true, bow: false });
  t.same(c.vocabulary, ['a', 'b', 'c', 'a']);
  t.equal(c.inverseRemoving(Uint8Array.from([1, 0, 1, 1]), new Uint8Array(4)), 'a\u0000ca');
  const cb = new IndexedText('abca', { charLevel: true });
  t.same(cb.vocabulary, ['a', 'b', 'c']);
  t.equal(cb.inverseRemoving(Uint8Array.from([0, 1, 1]), new Uint8Array(4)), 'bc');
  const sp = new IndexedText('x1-y2 z3', { splitExpression: '[- ]' });
  t.same(sp.vocabulary, ['x1', 'y2', 'z3']);
  const fn = new IndexedText('hello, world', { splitExpression: (x) => x.split(/,? /) });
  t.same(fn.vocabulary, ['hello', 'world']);
  t.same(fn.pieces, ['hello', ', ', 'world']);
  t.same(new IndexedText('café déjà-vu').vocabulary, ['café', 'déjà', 'vu'], 'unicode words like Python \\W');
  t.throws(() => new IndexedText('abc', { splitExpression: () => ['zz'] }), /does not occur/);
  t.throws(() => new IndexedText('abc', { splitExpression: '(' }), LimeError);
});

t.test('LIME text on a logistic BoW model trained on SMS spam: top words are the highest-weight words', async (t) => {
  const docs = loadSms();
  t.ok(docs.length > 5000, 'fixture loaded');
  const model = trainBow(docs, ['ham', 'spam']);
  // training accuracy sanity check: the model is a real spam filter
  let correct = 0;
  for (const d of docs) correct += (model.score(d.text) > 0.5 ? 1 : 0) === d.label ? 1 : 0;
  t.ok(correct / docs.length > 0.95, `training accuracy ${(correct / docs.length).toFixed(3)}`);
  const explainer = new LimeTextExplainer({ seed: 1 });
  const spam = docs.filter((d) => d.label === 1 && model.score(d.text) > 0.5).slice(0, 6);
  let checked = 0;
  for (const d of spam) {
    const text = d.text.toLowerCase();
    // 10000 samples: at 2000 the top-3 check below failed for 11 of 40 seeds (messages whose 5th and 6th heaviest
    // words weigh 1.25 and 1.22 swap by sampling noise); at 10000 it holds for all 40.
    const e = await explainer.explain(model, text, { numSamples: 10000, numFeatures: 6 });
    t.same(e.outputNames, ['spam']);
    const list = (e.details as { explanations: { word: string; weight: number }[][][] }).explanations[0]![0]!;
    // model weights of the message's distinct in-vocabulary words
    const words = [...new Set(tokenize(text))].filter((w) => model.vocab.has(w));
    const byWeight = words.sort((a, b) => model.w[model.vocab.get(b)!]! - model.w[model.vocab.get(a)!]!);
    const topLime = list.filter((x) => x.weight > 0).map((x) => x.word);
    const wOf = (x: string): number => model.w[model.vocab.get(x)!]!;
    // LIME's weight is a finite-difference of the sigmoid, so near-ties in the model weights may swap.
    t.ok(topLime[0] === byWeight[0] || wOf(topLime[0]!) >= 0.95 * wOf(byWeight[0]!), `top LIME word '${topLime[0]}' is the highest-weight word '${byWeight[0]}' in: ${text.slice(0, 60)}`);
    t.ok(topLime.slice(0, 3).every((w) => byWeight.slice(0, 5).includes(w)), `top-3 LIME words ${topLime.slice(0, 3)} are among the 5 heaviest ${byWeight.slice(0, 5)}`);
    // the LIME weights are ordered like the model weights for the top words
    const lw = list.filter((x) => model.vocab.has(x.word)).slice(0, 3);
    for (let k = 1; k < lw.length; k++) {
      if (lw[k]!.weight > 0 && lw[k - 1]!.weight > 0) {
        t.ok(model.w[model.vocab.get(lw[k - 1]!.word)!]! >= model.w[model.vocab.get(lw[k]!.word)!]! - 0.5, 'ranking consistent');
      }
    }
    checked++;
  }
  t.equal(checked, 6);
});

t.test('positional masking, char level, topLabels, reproducibility', async (t) => {
  // A model that only looks at whether the FIRST word is "good".
  const model: TextPredictor = {
    kind: 'text',
    outputNames: ['neg', 'pos'],
    outputSpace: 'probability',
    async predict(texts): Promise<Matrix> {
      const out = new Float64Array(texts.length * 2);
      texts.forEach((x, i) => {
        const p = x.startsWith('good') ? 0.9 : 0.2;
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      });
      return { data: out, rows: texts.length, cols: 2 };
    },
  };
  const ex = new LimeTextExplainer({ bow: false, seed: 7 });
  const e = await ex.explain(model, 'good movie good plot', { numSamples: 1000, topLabels: 2 });
  t.same(e.featureNames, ['good', 'movie', 'good', 'plot']);
  t.same(e.outputNames, ['pos', 'neg']);
  const w = e.values[0]!.map((v) => v[0]!);
  t.ok(w[0]! > 0.5, 'first "good" carries the prediction');
  t.ok(Math.abs(w[2]!) < 0.05, 'the second "good" does not');
  const again = await ex.explain(model, 'good movie good plot', { numSamples: 1000, topLabels: 2, batchSize: 64 });
  t.same(again.values, e.values, 'reproducible and batch-size independent');
  t.equal(again.timings.modelCalls, Math.ceil(1000 / 64));
  const chars = new LimeTextExplainer({ charLevel: true, bow: false });
  const ce = await chars.explain(model, 'good', { numSamples: 500, labels: [1] });
  t.equal(ce.featureNames.length, 4);
  t.ok(ce.values[0]!.every((v) => v[0]! > 0), 'every character of "good" matters');
});

t.test('text errors', async (t) => {
  const ex = new LimeTextExplainer();
  const model: TextPredictor = { kind: 'text', outputNames: ['a', 'b'], outputSpace: 'probability', predict: async (x) => ({ data: new Float64Array(x.length * 2), rows: x.length, cols: 2 }) };
  await t.rejects(ex.explain(model, '...!'), /no words/);
  await t.rejects(ex.explain(model, 42 as never), /must be a string/);
  await t.rejects(ex.explain(model, 'hi there', { numSamples: 0 }), /numSamples/);
  const wrong: TextPredictor = { ...model, predict: async () => ({ data: new Float64Array(2), rows: 1, cols: 2 }) };
  await t.rejects(ex.explain(wrong, 'hi there'), { code: 'MODEL_OUTPUT' });
  t.throws(() => new LimeTextExplainer({ kernelWidth: -1 }), /kernelWidth/);
});
