/**
 * Anchors for text, following alibi's `AnchorText` with the `unknown` sampling strategy: the features are the
 * token positions, every token outside the anchor is replaced by `UNK` independently with probability
 * `sampleProba` (alibi draws a binomial count then a random subset, which is the same distribution), and the
 * coverage is estimated on unlabelled samples. Tokens keep their original separators (alibi re-joins spaCy
 * tokens with single spaces).
 */
import { EXPLANATION_SCHEMA, rowStream, type Explanation, type TextPredictor } from '@genome/model-format';
import { LimeError } from '../errors.js';
import { ModelCounter, checkSignal } from '../model-calls.js';
import { Rng, checkSeed } from '../random.js';
import { alibiExplanation, precisionGains } from './alibi.js';
import { AnchorBeam, SAMPLE_BLOCK, type AnchorSampleBatch, type AnchorSampler } from './beam.js';
import { classLabels, labelName } from './labels.js';
import { alibiParams, beamOptions, type AnchorExplainOptions } from './options.js';

/** Words (letters/digits, with inner apostrophes) and single punctuation marks, like spaCy tokens. */
export const DEFAULT_TOKEN_PATTERN = /[\p{L}\p{N}_]+(?:['’][\p{L}\p{N}_]+)*|[^\s\p{L}\p{N}_]/gu;

export interface AnchorTextOptions {
  /** Global regex matching tokens (default: words and punctuation marks). */
  readonly tokenPattern?: RegExp;
  /** Replacement token (default 'UNK'). */
  readonly unknownToken?: string;
  /** Probability of replacing each non-anchor token (alibi `sample_proba`, default 0.5). */
  readonly sampleProba?: number;
  readonly seed?: number;
}

export class AnchorText {
  readonly tokenPattern: RegExp;
  readonly unknownToken: string;
  readonly sampleProba: number;
  readonly seed: number;

  constructor(options: AnchorTextOptions = {}) {
    this.tokenPattern = options.tokenPattern ?? DEFAULT_TOKEN_PATTERN;
    if (!(this.tokenPattern instanceof RegExp) || !this.tokenPattern.global) throw new LimeError('INVALID_CONFIG', 'tokenPattern must be a RegExp with the g flag.');
    this.unknownToken = options.unknownToken ?? 'UNK';
    this.sampleProba = options.sampleProba ?? 0.5;
    if (!(this.sampleProba > 0 && this.sampleProba <= 1)) throw new LimeError('INVALID_INPUT', `sampleProba must be in (0, 1], got ${this.sampleProba}.`);
    this.seed = options.seed ?? 0;
  }

  /** Tokens with their character offsets. */
  tokenize(text: string): { tokens: string[]; positions: number[]; gaps: string[] } {
    const tokens: string[] = [];
    const positions: number[] = [];
    const gaps: string[] = [];
    let last = 0;
    for (const m of text.matchAll(new RegExp(this.tokenPattern.source, this.tokenPattern.flags))) {
      if (m[0].length === 0) continue;
      gaps.push(text.slice(last, m.index));
      tokens.push(m[0]);
      positions.push(m.index);
      last = m.index + m[0].length;
    }
    gaps.push(text.slice(last));
    return { tokens, positions, gaps };
  }

  async explain(predictor: TextPredictor, text: string, options: AnchorExplainOptions = {}): Promise<Explanation> {
    const t0 = performance.now();
    const counter = new ModelCounter(checkSignal(options.signal));
    counter.check();
    if (typeof text !== 'string') throw new LimeError('INVALID_INPUT', `The text to explain must be a string, got ${typeof text}.`);
    if (!predictor || typeof predictor.predict !== 'function') throw new LimeError('INVALID_INPUT', 'predictor must be a Genome TextPredictor.');
    const tok = this.tokenize(text);
    if (tok.tokens.length === 0) throw new LimeError('INVALID_INPUT', 'The text has no tokens to explain.');
    const opts = beamOptions(options, true);
    const seed = checkSeed(options.seed ?? this.seed);
    const rng = new Rng(rowStream(seed, text));
    const nOut = predictor.outputNames.length;
    if (nOut < 1) throw new LimeError('INVALID_INPUT', 'The predictor has no outputNames.');
    const first = await counter.run(1, nOut, 'text', (o) => predictor.predict([text], o));
    const instanceLabel = classLabels(first, predictor.outputSpace, new Int32Array(1))[0]!;
    const sampler = new TextAnchorSampler(tok, this.unknownToken, this.sampleProba, predictor, instanceLabel, opts.nCoveredEx, rng, counter);
    const res = await new AnchorBeam<string>(sampler, opts).search();
    const names = res.feature.map((f) => tok.tokens[f]!);
    const params = alibiParams(opts, { seed, sampling_strategy: 'unknown', sample_proba: this.sampleProba });
    const alibi = alibiExplanation('AnchorText', params, res, names, res.feature, instanceLabel, text, { positions: res.feature.map((f) => tok.positions[f]!) });
    return {
      schema: EXPLANATION_SCHEMA,
      method: 'anchors.text',
      values: [precisionGains(tok.tokens.length, res, res.feature)],
      baseValues: [[res.emptyPrecision]],
      featureNames: [...tok.tokens],
      outputNames: [labelName(predictor.outputNames, instanceLabel)],
      outputSpace: 'probability',
      predictions: [[alibi.data.precision]],
      parameters: { ...params },
      seed,
      timings: { totalMs: performance.now() - t0, modelMs: counter.ms, modelCalls: counter.calls, samples: counter.samples },
      details: { alibi, anchor: names, precision: alibi.data.precision, coverage: alibi.data.coverage, success: res.success, budgetExhausted: res.budgetExhausted, positions: tok.positions },
    };
  }
}

class TextAnchorSampler implements AnchorSampler<string> {
  readonly nFeatures: number;
  constructor(
    private readonly tok: { tokens: string[]; gaps: string[] },
    private readonly unk: string,
    private readonly p: number,
    private readonly predictor: TextPredictor,
    private readonly instanceLabel: number,
    private readonly nCoveredEx: number,
    private readonly rng: Rng,
    private readonly counter: ModelCounter,
  ) {
    this.nFeatures = tok.tokens.length;
  }

  private perturb(order: readonly number[], n: number, data: Uint8Array): void {
    const F = this.nFeatures;
    data.fill(1);
    const inAnchor = new Uint8Array(F);
    for (const f of order) inAnchor[f] = 1;
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) if (!inAnchor[f] && this.rng.nextFloat() < this.p) data[i * F + f] = 0;
    }
  }

  private render(mask: Uint8Array, off: number): string {
    const { tokens, gaps } = this.tok;
    let s = gaps[0]!;
    for (let f = 0; f < tokens.length; f++) s += (mask[off + f] ? tokens[f]! : this.unk) + gaps[f + 1]!;
    return s;
  }

  async coverageSamples(n: number): Promise<Uint8Array> {
    const F = this.nFeatures;
    const data = new Uint8Array(n * F);
    // perturb draws row by row, so blocks consume the generator as one pass would
    for (let start = 0; start < n; start += SAMPLE_BLOCK) {
      if (start > 0) await this.counter.pause();
      const k = Math.min(SAMPLE_BLOCK, n - start);
      this.perturb([], k, data.subarray(start * F, (start + k) * F));
    }
    return data;
  }

  pause(): Promise<void> {
    return this.counter.pause();
  }

  async sample(requests: readonly { order: readonly number[]; n: number }[]): Promise<AnchorSampleBatch<string>[]> {
    const F = this.nFeatures;
    const masks: Uint8Array[] = [];
    const texts: string[] = [];
    for (const r of requests) {
      await this.counter.pause();
      const m = new Uint8Array(r.n * F);
      this.perturb(r.order, r.n, m);
      masks.push(m);
      // rendering builds a string per sample: offer a pause every few samples (it yields once ~10 ms have passed)
      for (let i = 0; i < r.n; i++) {
        if (i > 0 && i % 32 === 0) await this.counter.pause();
        texts.push(this.render(m, i * F));
      }
    }
    const nOut = this.predictor.outputNames.length;
    const out = await this.counter.run(texts.length, nOut, 'text', (o) => this.predictor.predict(texts, o));
    const labels = classLabels(out, this.predictor.outputSpace, new Int32Array(texts.length));
    let off = 0;
    return requests.map((r, k) => {
      const lab = new Uint8Array(r.n);
      const coveredTrue: string[] = [];
      const coveredFalse: string[] = [];
      for (let i = 0; i < r.n; i++) {
        const ok = labels[off + i] === this.instanceLabel;
        lab[i] = ok ? 1 : 0;
        const target = ok ? coveredTrue : coveredFalse;
        if (target.length < this.nCoveredEx) target.push(texts[off + i]!);
      }
      off += r.n;
      return { data: masks[k]!, labels: lab, coverage: -1, coveredTrue, coveredFalse };
    });
  }
}
