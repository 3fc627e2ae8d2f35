/** Test helpers: small models trained in the tests themselves and fixture loaders. Not part of the library. */
import type { Matrix, Predictor, TextPredictor } from '@genome/model-format';
import { readFixtureText } from '../../../tools/fixtures.js';

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** A linear regression model y = b + w·x. */
export function linearPredictor(w: number[], b: number): Predictor & { calls: number } {
  const p = {
    kind: 'tabular' as const,
    nFeatures: w.length,
    outputNames: ['y'],
    outputSpace: 'regression' as const,
    calls: 0,
    async predict(rows: Float64Array, n: number): Promise<Matrix> {
      p.calls++;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = b;
        for (let j = 0; j < w.length; j++) s += w[j]! * rows[i * w.length + j]!;
        out[i] = s;
      }
      return { data: out, rows: n, cols: 1 };
    },
  };
  return p;
}

/** Binary logistic model with outputs [P(0), P(1)]. */
export function logisticPredictor(w: ArrayLike<number>, b: number, names = ['0', '1']): Predictor {
  const d = w.length;
  return {
    kind: 'tabular',
    nFeatures: d,
    outputNames: names,
    outputSpace: 'probability',
    async predict(rows: Float64Array, n: number): Promise<Matrix> {
      const out = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        let s = b;
        for (let j = 0; j < d; j++) s += w[j]! * rows[i * d + j]!;
        const pr = sigmoid(s);
        out[2 * i] = 1 - pr;
        out[2 * i + 1] = pr;
      }
      return { data: out, rows: n, cols: 2 };
    },
  };
}

/** Fits L2-regularised logistic regression by full-batch gradient descent with Adam-free momentum (deterministic). */
export function fitLogistic(X: Float64Array, y: Uint8Array, n: number, d: number, opts: { l2?: number; iters?: number; lr?: number } = {}): { w: Float64Array; b: number } {
  const l2 = opts.l2 ?? 1e-3;
  const iters = opts.iters ?? 300;
  const lr = opts.lr ?? 0.5;
  const w = new Float64Array(d);
  let b = 0;
  const g = new Float64Array(d);
  const v = new Float64Array(d);
  let vb = 0;
  for (let it = 0; it < iters; it++) {
    g.fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      let s = b;
      const off = i * d;
      for (let j = 0; j < d; j++) s += w[j]! * X[off + j]!;
      const r = sigmoid(s) - y[i]!;
      gb += r;
      for (let j = 0; j < d; j++) g[j] += r * X[off + j]!;
    }
    for (let j = 0; j < d; j++) {
      v[j] = 0.9 * v[j]! + (g[j]! / n + l2 * w[j]!);
      w[j] -= lr * v[j]!;
    }
    vb = 0.9 * vb + gb / n;
    b -= lr * vb;
  }
  return { w, b };
}

export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((t) => t.length > 0);
}

/** Loads SMS spam: [label (1 = spam), message]. */
export function loadSms(): { text: string; label: number }[] {
  const lines = readFixtureText('data', 'text', 'sms_spam.tsv').split(/\r?\n/).slice(1);
  const out: { text: string; label: number }[] = [];
  for (const l of lines) {
    const tab = l.indexOf('\t');
    if (tab < 0) continue;
    out.push({ label: l.slice(0, tab) === 'spam' ? 1 : 0, text: l.slice(tab + 1) });
  }
  return out;
}

/** A bag-of-words (binary presence) logistic text classifier. */
export class BowModel implements TextPredictor {
  readonly kind = 'text' as const;
  readonly outputNames: readonly string[];
  readonly outputSpace = 'probability' as const;
  constructor(
    readonly vocab: Map<string, number>,
    readonly w: Float64Array,
    readonly b: number,
    names: readonly string[],
  ) {
    this.outputNames = names;
  }
  score(text: string): number {
    let s = this.b;
    const seen = new Set<number>();
    for (const t of tokenize(text)) {
      const j = this.vocab.get(t);
      if (j !== undefined && !seen.has(j)) {
        seen.add(j);
        s += this.w[j]!;
      }
    }
    return sigmoid(s);
  }
  async predict(texts: readonly string[]): Promise<Matrix> {
    const out = new Float64Array(texts.length * 2);
    texts.forEach((t, i) => {
      const p = this.score(t);
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    });
    return { data: out, rows: texts.length, cols: 2 };
  }
}

/** Trains the BoW logistic model on `docs` (vocabulary: tokens seen >= minCount times). */
export function trainBow(docs: { text: string; label: number }[], names: readonly string[], minCount = 3): BowModel {
  const counts = new Map<string, number>();
  const toks = docs.map((d) => [...new Set(tokenize(d.text))]);
  for (const ts of toks) for (const t of ts) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [t, c] of counts) if (c >= minCount) vocab.set(t, vocab.size);
  const d = vocab.size;
  const n = docs.length;
  // Sparse gradient descent on binary presence features.
  const idx = toks.map((ts) => Int32Array.from(ts.map((t) => vocab.get(t)).filter((j): j is number => j !== undefined)));
  const w = new Float64Array(d);
  let b = 0;
  const g = new Float64Array(d);
  const v = new Float64Array(d);
  let vb = 0;
  const l2 = 1e-4;
  for (let it = 0; it < 400; it++) {
    g.fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      let s = b;
      const ii = idx[i]!;
      for (let k = 0; k < ii.length; k++) s += w[ii[k]!]!;
      const r = sigmoid(s) - docs[i]!.label;
      gb += r;
      for (let k = 0; k < ii.length; k++) g[ii[k]!] += r;
    }
    for (let j = 0; j < d; j++) {
      v[j] = 0.9 * v[j]! + (g[j]! / n + l2 * w[j]!);
      w[j] -= 2 * v[j]!;
    }
    vb = 0.9 * vb + gb / n;
    b -= 2 * vb;
  }
  return new BowModel(vocab, w, b, names);
}

/** UCI Adult in alibi's 12-column ordinal encoding. */
export const ADULT_FEATURES = ['Age', 'Workclass', 'Education', 'Marital Status', 'Occupation', 'Relationship', 'Race', 'Sex', 'Capital Gain', 'Capital Loss', 'Hours per week', 'Country'];
const ADULT_SRC = [0, 1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13];
export const ADULT_CONTINUOUS = [0, 8, 9, 10];

export interface AdultData {
  train: number[][];
  trainY: number[];
  test: number[][];
  testY: number[];
  categoricalNames: Record<number, string[]>;
}

export function loadAdult(): AdultData {
  const cats: Map<string, number>[] = ADULT_FEATURES.map(() => new Map());
  const parse = (file: string): { X: number[][]; y: number[] } => {
    const X: number[][] = [];
    const y: number[] = [];
    for (const line of readFixtureText('data', 'adult', file).split(/\r?\n/)) {
      const c = line.split(',').map((s) => s.trim());
      if (c.length < 15) continue;
      X.push(
        ADULT_SRC.map((src, j) => {
          if (ADULT_CONTINUOUS.includes(j)) return Number(c[src]);
          const m = cats[j]!;
          let v = m.get(c[src]!);
          if (v === undefined) m.set(c[src]!, (v = m.size));
          return v;
        }),
      );
      y.push(c[14]!.startsWith('>50K') ? 1 : 0);
    }
    return { X, y };
  };
  const tr = parse('adult.data');
  const te = parse('adult.test');
  const categoricalNames: Record<number, string[]> = {};
  cats.forEach((m, j) => {
    if (!ADULT_CONTINUOUS.includes(j)) categoricalNames[j] = [...m.keys()];
  });
  return { train: tr.X, trainY: tr.y, test: te.X, testY: te.y, categoricalNames };
}

/** Logistic regression over one-hot categoricals + standardised continuous columns of the ordinal encoding. */
export function trainAdultModel(data: AdultData, nTrain = 12000): Predictor & { accuracy(X: number[][], y: number[]): number } {
  const d = ADULT_FEATURES.length;
  const offsets: number[] = [];
  let width = 0;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d).fill(1);
  for (let j = 0; j < d; j++) {
    offsets.push(width);
    width += ADULT_CONTINUOUS.includes(j) ? 1 : data.categoricalNames[j]!.length;
  }
  const rows = data.train.slice(0, nTrain);
  for (const j of ADULT_CONTINUOUS) {
    let m = 0;
    for (const r of rows) m += r[j]!;
    m /= rows.length;
    let v = 0;
    for (const r of rows) v += (r[j]! - m) ** 2;
    mean[j] = m;
    sd[j] = Math.sqrt(v / rows.length) || 1;
  }
  const encode = (r: ArrayLike<number>, X: Float64Array, off: number): void => {
    for (let j = 0; j < d; j++) {
      if (ADULT_CONTINUOUS.includes(j)) X[off + offsets[j]!] = (r[j]! - mean[j]!) / sd[j]!;
      else {
        const k = Math.round(r[j]!);
        const n = data.categoricalNames[j]!.length;
        if (k >= 0 && k < n) X[off + offsets[j]! + k] = 1;
      }
    }
  };
  const X = new Float64Array(rows.length * width);
  rows.forEach((r, i) => encode(r, X, i * width));
  const { w, b } = fitLogistic(X, Uint8Array.from(data.trainY.slice(0, nTrain)), rows.length, width, { iters: 250, lr: 0.5, l2: 1e-4 });
  const score = (r: ArrayLike<number>): number => {
    const x = new Float64Array(width);
    encode(r, x, 0);
    let s = b;
    for (let k = 0; k < width; k++) s += w[k]! * x[k]!;
    return sigmoid(s);
  };
  return {
    kind: 'tabular',
    nFeatures: d,
    outputNames: ['<=50K', '>50K'],
    outputSpace: 'probability',
    async predict(rs: Float64Array, n: number): Promise<Matrix> {
      const out = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        const p = score(rs.subarray(i * d, i * d + d));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return { data: out, rows: n, cols: 2 };
    },
    accuracy(Xs: number[][], ys: number[]): number {
      let c = 0;
      Xs.forEach((r, i) => (c += (score(r) > 0.5 ? 1 : 0) === ys[i] ? 1 : 0));
      return c / Xs.length;
    },
  };
}
