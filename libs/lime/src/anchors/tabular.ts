/**
 * Anchors for tabular data, following alibi's `AnchorTabular` + `TabularSampler`: continuous features are
 * binned at training percentiles (25/50/75 by default), each bin threshold and each categorical value of the
 * instance becomes a predicate, and perturbations are training rows with the anchor's predicates imposed
 * (rows satisfying the longest anchor prefix first, then per-feature draws from rows satisfying each
 * predicate). Coverage is the fraction of training rows the anchor applies to.
 */
import { EXPLANATION_SCHEMA, rowStream, type Explanation, type Predictor } from '@genome/model-format';
import { binNames, binOf, fmt2, percentile, uniqueSorted } from '../discretizer.js';
import { LimeError } from '../errors.js';
import { ModelCounter, checkSignal } from '../model-calls.js';
import { Rng, checkSeed } from '../random.js';
import { alibiExplanation, precisionGains, type AlibiAnchorExplanation } from './alibi.js';
import { AnchorBeam, SAMPLE_BLOCK, type AnchorSampleBatch, type AnchorSampler } from './beam.js';
import { classLabels, labelName } from './labels.js';
import { alibiParams, beamOptions, type AnchorExplainOptions } from './options.js';

export interface AnchorTabularOptions {
  readonly trainingData: readonly ArrayLike<number>[];
  readonly featureNames: readonly string[];
  /** Categorical columns and the names of their codes (alibi `categorical_names`); codes are 0..k-1. */
  readonly categoricalNames?: Readonly<Record<number, readonly string[]>>;
  /** Percentiles for binning continuous columns (alibi `disc_perc`, default [25, 50, 75]). */
  readonly percentiles?: readonly number[];
  /** Default 0. */
  readonly seed?: number;
}

interface Predicate {
  readonly feature: number;
  readonly categorical: boolean;
  readonly value: number;
  /** allowed bins [lo, hi] for ordinal predicates */
  readonly lo: number;
  readonly hi: number;
}

export class AnchorTabular {
  readonly featureNames: string[];
  readonly nFeatures: number;
  readonly nRecords: number;
  readonly seed: number;
  readonly percentiles: number[];
  private readonly train: Float64Array;
  private readonly dtrain: Float64Array;
  private readonly categorical: Uint8Array;
  private readonly categoricalNames: Readonly<Record<number, readonly string[]>>;
  /** boundaries per continuous feature */
  private readonly bins: (number[] | null)[];
  private readonly binLabels: (string[] | null)[];
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  /** per feature: value (code or bin) -> training rows (sorted) */
  private readonly val2idx: Map<number, Int32Array>[];

  constructor(options: AnchorTabularOptions) {
    const rows = options?.trainingData;
    if (!rows || rows.length === 0) throw new LimeError('INVALID_INPUT', 'AnchorTabular needs non-empty trainingData rows.');
    const names = options.featureNames;
    if (!names || names.length === 0) throw new LimeError('INVALID_INPUT', 'AnchorTabular needs featureNames (one per column).');
    const d = names.length;
    const n = rows.length;
    this.featureNames = [...names];
    this.nFeatures = d;
    this.nRecords = n;
    this.seed = options.seed ?? 0;
    this.percentiles = [...(options.percentiles ?? [25, 50, 75])];
    for (const p of this.percentiles) if (!(p >= 0 && p <= 100)) throw new LimeError('INVALID_INPUT', `percentiles must be in [0, 100], got ${p}.`);
    this.categoricalNames = options.categoricalNames ?? {};
    this.categorical = new Uint8Array(d);
    for (const k of Object.keys(this.categoricalNames)) {
      const c = Number(k);
      if (!Number.isInteger(c) || c < 0 || c >= d) throw new LimeError('INVALID_INPUT', `categoricalNames has key ${k}, not a column index in 0..${d - 1}.`);
      this.categorical[c] = 1;
    }
    this.train = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      if (!r || r.length !== d) throw new LimeError('INVALID_INPUT', `trainingData row ${i} has ${r?.length} values; expected ${d} (one per feature name).`);
      for (let j = 0; j < d; j++) {
        const v = r[j]!;
        if (!Number.isFinite(v)) throw new LimeError('INVALID_INPUT', `trainingData row ${i} column ${j} is not a finite number (${v}).`);
        this.train[i * d + j] = v;
      }
    }
    this.bins = [];
    this.binLabels = [];
    this.min = new Float64Array(d);
    this.max = new Float64Array(d);
    const col = new Float64Array(n);
    for (let j = 0; j < d; j++) {
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = this.train[i * d + j]!;
        col[i] = v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      this.min[j] = mn;
      this.max[j] = mx;
      if (this.categorical[j]) {
        this.bins.push(null);
        this.binLabels.push(null);
      } else {
        const sorted = col.slice().sort();
        const qts = uniqueSorted(this.percentiles.map((p) => percentile(sorted, p)));
        this.bins.push(qts);
        this.binLabels.push(binNames(names[j]!, qts));
      }
    }
    this.dtrain = new Float64Array(n * d);
    this.val2idx = [];
    for (let j = 0; j < d; j++) {
      const m = new Map<number, number[]>();
      const qts = this.bins[j];
      for (let i = 0; i < n; i++) {
        const v = qts ? binOf(qts, this.train[i * d + j]!) : this.train[i * d + j]!;
        this.dtrain[i * d + j] = v;
        let l = m.get(v);
        if (!l) m.set(v, (l = []));
        l.push(i);
      }
      const mm = new Map<number, Int32Array>();
      for (const [k, l] of m) mm.set(k, Int32Array.from(l));
      this.val2idx.push(mm);
    }
  }

  /** The predicates of `row` (alibi `build_lookups`), in column order. */
  private predicates(row: Float64Array): Predicate[] {
    const out: Predicate[] = [];
    for (let f = 0; f < this.nFeatures; f++) {
      const qts = this.bins[f];
      if (!qts) {
        out.push({ feature: f, categorical: true, value: row[f]!, lo: 0, hi: 0 });
        continue;
      }
      const nBins = qts.length + 1;
      const xb = binOf(qts, row[f]!);
      for (let b = 0; b < nBins; b++) {
        if (xb <= b && b !== nBins - 1) out.push({ feature: f, categorical: false, value: b, lo: 0, hi: b });
        else if (xb > b) out.push({ feature: f, categorical: false, value: b, lo: b + 1, hi: nBins - 1 });
      }
    }
    return out;
  }

  /** alibi `add_names_to_exp`: e.g. `Age > 37.00`, `28.00 < Hours <= 40.00`, `Sex = Male`. */
  private names(preds: Predicate[], order: number[]): { names: string[]; features: number[] } {
    const ranges = new Map<number, [number, number]>();
    for (const id of order) {
      const p = preds[id]!;
      if (p.categorical) continue;
      const r = ranges.get(p.feature) ?? [-Infinity, Infinity];
      if (p.lo === 0) r[1] = Math.min(r[1], p.hi);
      else r[0] = Math.max(r[0], p.lo - 1);
      ranges.set(p.feature, r);
    }
    const names: string[] = [];
    const handled = new Set<number>();
    for (const id of order) {
      const p = preds[id]!;
      const fname = this.featureNames[p.feature]!;
      if (p.categorical) {
        const cn = this.categoricalNames[p.feature];
        const v = p.value;
        if (cn && Number.isInteger(v) && v >= 0 && v < cn.length) {
          const label = cn[v]!;
          names.push(label.includes('<') || label.includes('>') ? label : `${fname} = ${label}`);
        } else names.push(`${fname} = ${fmt2(v)}`);
        continue;
      }
      if (handled.has(p.feature)) continue;
      handled.add(p.feature);
      const qts = this.bins[p.feature]!;
      const [geq, leq] = ranges.get(p.feature)!;
      const lower = geq > -Infinity ? fmt2(qts[Math.min(geq, qts.length - 1)]!) : '';
      const upper = leq < Infinity ? fmt2(qts[leq]!) : '';
      if (lower && upper) names.push(`${lower} < ${fname} <= ${upper}`);
      else if (upper) names.push(`${fname} <= ${upper}`);
      else names.push(`${fname} > ${lower}`);
    }
    return { names, features: order.map((id) => preds[id]!.feature) };
  }

  async explain(predictor: Predictor, row: ArrayLike<number>, options: AnchorExplainOptions = {}): Promise<Explanation> {
    const t0 = performance.now();
    const counter = new ModelCounter(checkSignal(options.signal));
    counter.check();
    const d = this.nFeatures;
    if (!predictor || typeof predictor.predict !== 'function') throw new LimeError('INVALID_INPUT', 'predictor must be a Genome Predictor.');
    if (predictor.nFeatures !== d) throw new LimeError('INVALID_INPUT', `The predictor takes ${predictor.nFeatures} features but AnchorTabular was fitted on ${d} columns.`);
    if (!row || row.length !== d) throw new LimeError('INVALID_INPUT', `The row has ${row?.length ?? 'no'} values; expected ${d}.`);
    const x = Float64Array.from(row);
    for (let j = 0; j < d; j++) if (!Number.isFinite(x[j]!)) throw new LimeError('INVALID_INPUT', `The row has a non-finite value at feature ${j} (${x[j]}).`);
    const opts = beamOptions(options, false);
    const seed = checkSeed(options.seed ?? this.seed);
    const rng = new Rng(rowStream(seed, x));
    const nOut = predictor.outputNames.length;
    if (nOut < 1) throw new LimeError('INVALID_INPUT', 'The predictor has no outputNames.');
    const first = await counter.run(1, nOut, 'tabular', (o) => predictor.predict(x.slice(), 1, o));
    const instanceLabel = classLabels(first, predictor.outputSpace, new Int32Array(1))[0]!;
    const preds = this.predicates(x);
    const sampler = new TabularAnchorSampler(this, preds, predictor, instanceLabel, opts.nCoveredEx, rng, counter);
    const beam = new AnchorBeam<number[]>(sampler, opts);
    const res = await beam.search();
    const { names, features } = this.names(preds, res.feature);
    const params = alibiParams(opts, { seed, disc_perc: this.percentiles });
    const alibi = alibiExplanation('AnchorTabular', params, res, names, features, instanceLabel, Array.from(x));
    return {
      schema: EXPLANATION_SCHEMA,
      method: 'anchors.tabular',
      values: [precisionGains(d, res, features)],
      baseValues: [[res.emptyPrecision]],
      featureNames: [...this.featureNames],
      outputNames: [labelName(predictor.outputNames, instanceLabel)],
      outputSpace: 'probability',
      predictions: [[alibi.data.precision]],
      data: [Array.from(x)],
      parameters: { ...params },
      seed,
      timings: { totalMs: performance.now() - t0, modelMs: counter.ms, modelCalls: counter.calls, samples: counter.samples },
      details: { alibi, anchor: names, precision: alibi.data.precision, coverage: alibi.data.coverage, success: res.success, budgetExhausted: res.budgetExhausted },
    };
  }

  /** @internal sampler access */
  get internals(): {
    train: Float64Array;
    dtrain: Float64Array;
    bins: (number[] | null)[];
    val2idx: Map<number, Int32Array>[];
    min: Float64Array;
    max: Float64Array;
  } {
    return { train: this.train, dtrain: this.dtrain, bins: this.bins, val2idx: this.val2idx, min: this.min, max: this.max };
  }
}

class TabularAnchorSampler implements AnchorSampler<number[]> {
  readonly nFeatures: number;
  private readonly d: number;
  private readonly n: number;
  private readonly rowsCache = new Map<string, Int32Array>();

  constructor(
    private readonly ex: AnchorTabular,
    private readonly preds: Predicate[],
    private readonly predictor: Predictor,
    private readonly instanceLabel: number,
    private readonly nCoveredEx: number,
    private readonly rng: Rng,
    private readonly counter: ModelCounter,
  ) {
    this.nFeatures = preds.length;
    this.d = ex.nFeatures;
    this.n = ex.nRecords;
  }

  /** Sorted training rows where every predicate in `ids` (all on feature `f`) holds. */
  private allowedRows(f: number, ids: number[]): { rows: Int32Array; categorical: boolean; value: number; lo: number; hi: number } {
    const { val2idx, bins } = this.ex.internals;
    if (!bins[f]) {
      const v = this.preds[ids[0]!]!.value;
      return { rows: val2idx[f]!.get(v) ?? new Int32Array(0), categorical: true, value: v, lo: 0, hi: 0 };
    }
    let lo = 0;
    let hi = bins[f]!.length;
    for (const id of ids) {
      lo = Math.max(lo, this.preds[id]!.lo);
      hi = Math.min(hi, this.preds[id]!.hi);
    }
    const k = `${f}:${lo}:${hi}`;
    let rows = this.rowsCache.get(k);
    if (!rows) {
      const parts: number[] = [];
      for (let b = lo; b <= hi; b++) {
        const r = val2idx[f]!.get(b);
        if (r) for (let i = 0; i < r.length; i++) parts.push(r[i]!);
      }
      rows = Int32Array.from(parts).sort();
      this.rowsCache.set(k, rows);
    }
    return { rows, categorical: false, value: 0, lo, hi };
  }

  /** Fills `samples` (m x d) for one anchor; returns the anchor's training coverage (-1 for the empty anchor). */
  private perturb(order: readonly number[], m: number, samples: Float64Array): number {
    const { train, min, max } = this.ex.internals;
    const d = this.d;
    const rng = this.rng;
    for (let i = 0; i < m; i++) {
      const r = rng.nextInt(this.n);
      samples.set(train.subarray(r * d, r * d + d), i * d);
    }
    if (order.length === 0) return -1;
    // unique features in anchor order, with their predicates
    const byFeature = new Map<number, number[]>();
    for (const id of order) {
      const f = this.preds[id]!.feature;
      const l = byFeature.get(f);
      if (l) l.push(id);
      else byFeature.set(f, [id]);
    }
    const allowed = new Map<number, Int32Array>();
    const unk: { f: number; categorical: boolean; value: number }[] = [];
    const uniq: number[] = [];
    for (const [f, ids] of byFeature) {
      const a = this.allowedRows(f, ids);
      allowed.set(f, a.rows);
      if (a.rows.length === 0) unk.push({ f, categorical: a.categorical, value: a.value });
      else uniq.push(f);
    }
    // rows where each prefix of the anchor holds
    const partial: Int32Array[] = [];
    for (let k = 0; k < uniq.length; k++) {
      const rows = allowed.get(uniq[k]!)!;
      partial.push(k === 0 ? rows : intersect(partial[k - 1]!, rows));
    }
    const nb = partial.map((p) => p.length).reverse(); // nb[0] = full anchor
    const coverage = uniq.length === 0 ? 0 : nb[0]! / this.n;
    const copyFeats = (dst: number, src: number, feats: readonly number[]): void => {
      for (const f of feats) samples[dst * d + f] = train[src * d + f]!;
    };
    if (uniq.length > 0 && nb[0]! >= m) {
      const full = partial[uniq.length - 1]!;
      for (let i = 0; i < m; i++) copyFeats(i, full[rng.nextInt(full.length)]!, uniq);
    } else if (uniq.length > 0) {
      // alibi replace_features: longest satisfiable prefix first, remaining anchor features drawn per feature
      const M = uniq.length;
      const rev = [...uniq].reverse();
      let remaining = m;
      let start = 0;
      let startIdx = 0;
      while (startIdx < M && nb[startIdx] === 0) startIdx++;
      let cum = 0;
      let endIdx = M - 1;
      for (let k = 0; k < M; k++) {
        cum += nb[k]!;
        if (cum >= m) {
          endIdx = k;
          break;
        }
      }
      for (let idx = startIdx; idx <= endIdx && idx < M; idx++) {
        const rowsP = partial[M - idx - 1]!;
        let nSamp = nb[idx]!;
        const keep = rev.slice(idx);
        const redraw = rev.slice(0, idx);
        if (remaining >= nSamp) {
          for (let i = 0; i < nSamp; i++) copyFeats(start + i, rowsP[i]!, keep);
          remaining -= nSamp;
        } else {
          for (let i = 0; i < remaining; i++) copyFeats(start + i, rowsP[rng.nextInt(rowsP.length)]!, keep);
          nSamp = remaining;
          remaining = 0;
        }
        for (const f of redraw) {
          const rows = allowed.get(f)!;
          for (let i = 0; i < nSamp; i++) samples[(start + i) * d + f] = train[rows[rng.nextInt(rows.length)]! * d + f]!;
        }
        start += nSamp;
      }
      let total = 0;
      for (const v of nb) total += v;
      if (total <= m) {
        for (let i = start; i < m; i++) {
          for (const f of uniq) {
            const rows = allowed.get(f)!;
            samples[i * d + f] = train[rows[rng.nextInt(rows.length)]! * d + f]!;
          }
        }
      }
    }
    for (const u of unk) {
      for (let i = 0; i < m; i++) samples[i * d + u.f] = u.categorical ? u.value : min[u.f]! + rng.nextFloat() * (max[u.f]! - min[u.f]!);
    }
    return coverage;
  }

  private binarize(samples: Float64Array, m: number, out: Uint8Array): void {
    const { bins } = this.ex.internals;
    const d = this.d;
    const P = this.preds.length;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < P; j++) {
        const p = this.preds[j]!;
        const v = samples[i * d + p.feature]!;
        if (p.categorical) out[i * P + j] = v === p.value ? 1 : 0;
        else {
          const b = binOf(bins[p.feature]!, v);
          out[i * P + j] = b >= p.lo && b <= p.hi ? 1 : 0;
        }
      }
    }
  }

  async coverageSamples(m: number): Promise<Uint8Array> {
    const d = this.d;
    const P = this.preds.length;
    const samples = new Float64Array(Math.min(m, SAMPLE_BLOCK) * d);
    const out = new Uint8Array(m * P);
    // Row by row the empty anchor draws one training row each, so blocks consume the generator as one pass would.
    for (let start = 0; start < m; start += SAMPLE_BLOCK) {
      if (start > 0) await this.counter.pause();
      const k = Math.min(SAMPLE_BLOCK, m - start);
      this.perturb([], k, samples);
      this.binarize(samples, k, out.subarray(start * P, (start + k) * P));
    }
    return out;
  }

  pause(): Promise<void> {
    return this.counter.pause();
  }

  async sample(requests: readonly { order: readonly number[]; n: number }[]): Promise<AnchorSampleBatch<number[]>[]> {
    const d = this.d;
    let total = 0;
    for (const r of requests) total += r.n;
    const all = new Float64Array(total * d);
    const coverages: number[] = [];
    let off = 0;
    for (const r of requests) {
      await this.counter.pause();
      coverages.push(this.perturb(r.order, r.n, all.subarray(off * d, (off + r.n) * d)));
      off += r.n;
    }
    const nOut = this.predictor.outputNames.length;
    const out = await this.counter.run(total, nOut, 'tabular', (o) => this.predictor.predict(all, total, o));
    const labels = classLabels(out, this.predictor.outputSpace, new Int32Array(total));
    const res: AnchorSampleBatch<number[]>[] = [];
    off = 0;
    for (const [k, r] of requests.entries()) {
      await this.counter.pause();
      const P = this.preds.length;
      const data = new Uint8Array(r.n * P);
      this.binarize(all.subarray(off * d, (off + r.n) * d), r.n, data);
      const lab = new Uint8Array(r.n);
      const coveredTrue: number[][] = [];
      const coveredFalse: number[][] = [];
      for (let i = 0; i < r.n; i++) {
        const ok = labels[off + i] === this.instanceLabel;
        lab[i] = ok ? 1 : 0;
        const target = ok ? coveredTrue : coveredFalse;
        if (target.length < this.nCoveredEx) target.push(Array.from(all.subarray((off + i) * d, (off + i + 1) * d)));
      }
      res.push({ data, labels: lab, coverage: coverages[k]!, coveredTrue, coveredFalse });
      off += r.n;
    }
    return res;
  }
}

function intersect(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! === b[j]!) {
      out[k++] = a[i]!;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out.slice(0, k);
}

export type { AlibiAnchorExplanation };
