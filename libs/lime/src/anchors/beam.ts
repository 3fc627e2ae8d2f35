/**
 * The anchor search of Ribeiro et al. (AAAI 2018) as implemented by alibi's `AnchorBaseBeam.anchor_beam`:
 * candidates grow one predicate at a time, KL-LUCB picks the `beamSize` most precise candidates of each
 * size, extra samples are drawn until each is confidently above/below the precision `threshold`, and the
 * valid anchor with the largest coverage wins. All of a round's samples for all candidates go to the
 * model in one batched call (see {@link AnchorSampler}).
 */
import { computeBeta, lowerBound, upperBound } from './bounds.js';

/** Samples drawn for one anchor (predicate ids in the order they were added). */
export interface AnchorSampleBatch<E> {
  /** n x nFeatures binary matrix: predicate j holds on sample i. */
  readonly data: Uint8Array;
  /** 1 when the model's label on the sample equals the instance's label. */
  readonly labels: Uint8Array;
  /** Coverage of the anchor computed by the sampler (-1 = unknown: use the coverage samples). */
  readonly coverage: number;
  readonly coveredTrue: E[];
  readonly coveredFalse: E[];
}

export interface AnchorSampler<E> {
  readonly nFeatures: number;
  /** Draws `n` samples for each request; implementations batch the model calls across requests. */
  sample(requests: readonly { readonly order: readonly number[]; readonly n: number }[]): Promise<AnchorSampleBatch<E>[]>;
  /**
   * Binary predicate matrix (n x nFeatures) of `n` unlabelled samples, used to estimate coverage; built in blocks
   * with {@link pause} between them.
   */
  coverageSamples(n: number): Promise<Uint8Array>;
  /** Lets the caller's event loop run (and a cancellation land) between steps of long synchronous work. */
  pause(): Promise<void>;
}

/** Rows per block of synchronous sample generation between pauses. */
export const SAMPLE_BLOCK = 2048;

export interface BeamOptions {
  readonly delta: number;
  /** KL-LUCB tolerance (alibi passes `tau` here). */
  readonly epsilon: number;
  /** Precision threshold. */
  readonly threshold: number;
  readonly beamSize: number;
  readonly epsilonStop: number;
  readonly minSamplesStart: number;
  readonly maxAnchorSize: number | undefined;
  readonly stopOnFirst: boolean;
  readonly batchSize: number;
  readonly coverageSamples: number;
  /** Hard cap on labelled samples; when reached, bandit loops stop where they are. */
  readonly maxSamples: number;
}

export interface BeamExample<E> {
  covered_true: E[];
  covered_false: E[];
  uncovered_true: E[];
  uncovered_false: E[];
}

export interface BeamResult<E> {
  /** Predicate ids in the order they were added. */
  feature: number[];
  mean: number[];
  precision: number[];
  coverage: number[];
  examples: BeamExample<E>[];
  all_precision: number;
  num_preds: number;
  success: boolean;
  /** Precision of the empty anchor (random samples agreeing with the instance's label). */
  emptyPrecision: number;
  budgetExhausted: boolean;
}

const key = (a: readonly number[]): string => a.join(',');

export class AnchorBeam<E> {
  private readonly F: number;
  private data: Uint8Array;
  private labels: Uint8Array;
  private currentIdx = 0;
  private readonly tIdx = new Map<string, number[]>();
  private readonly tNsamples = new Map<string, number>();
  private readonly tPositives = new Map<string, number>();
  private readonly tCoverage = new Map<string, number>();
  private readonly tCoverageIdx = new Map<string, Int32Array>();
  private readonly tCoveredTrue = new Map<string, E[]>();
  private readonly tCoveredFalse = new Map<string, E[]>();
  private readonly tOrder = new Map<string, number[]>();
  private readonly tuples = new Map<string, number[]>();
  private coverageData: Uint8Array = new Uint8Array(0);
  private nCoverage = 0;
  private budgetExhausted = false;

  constructor(
    private readonly sampler: AnchorSampler<E>,
    private readonly o: BeamOptions,
  ) {
    this.F = sampler.nFeatures;
    const cap = Math.max(1024, o.batchSize * 16);
    this.data = new Uint8Array(cap * this.F);
    this.labels = new Uint8Array(cap);
  }

  get samplesDrawn(): number {
    return this.currentIdx;
  }

  private tuple(a: readonly number[]): number[] {
    const k = key(a);
    let t = this.tuples.get(k);
    if (!t) {
      t = [...a];
      this.tuples.set(k, t);
    }
    return t;
  }

  private ensureCapacity(extra: number): void {
    const need = this.currentIdx + extra;
    if (need <= this.labels.length) return;
    let cap = this.labels.length;
    while (cap < need) cap *= 2;
    const d = new Uint8Array(cap * this.F);
    d.set(this.data.subarray(0, this.currentIdx * this.F));
    const l = new Uint8Array(cap);
    l.set(this.labels.subarray(0, this.currentIdx));
    this.data = d;
    this.labels = l;
  }

  /** alibi `draw_samples` + `update_state`: returns (positives, totals) per anchor. */
  private async drawSamples(anchors: readonly number[][], batchSize: number, force = false): Promise<{ pos: number[]; total: number[] }> {
    if (!force && this.currentIdx >= this.o.maxSamples) {
      this.budgetExhausted = true;
      return { pos: anchors.map(() => 0), total: anchors.map(() => 0) };
    }
    for (const a of anchors) if (!this.tOrder.has(key(a))) this.tOrder.set(key(a), [...a]);
    const batches = await this.sampler.sample(anchors.map((a) => ({ order: this.tOrder.get(key(a))!, n: batchSize })));
    const pos: number[] = [];
    const total: number[] = [];
    anchors.forEach((a, i) => {
      const b = batches[i]!;
      const n = b.labels.length;
      const k = key(a);
      this.ensureCapacity(n);
      const idx = this.tIdx.get(k) ?? [];
      let p = 0;
      for (let r = 0; r < n; r++) {
        idx.push(this.currentIdx + r);
        p += b.labels[r]!;
      }
      this.tIdx.set(k, idx);
      this.tNsamples.set(k, (this.tNsamples.get(k) ?? 0) + n);
      this.tPositives.set(k, (this.tPositives.get(k) ?? 0) + p);
      if (b.coverage > -1) this.tCoverage.set(k, b.coverage);
      this.tCoveredTrue.set(k, b.coveredTrue);
      this.tCoveredFalse.set(k, b.coveredFalse);
      this.data.set(b.data.subarray(0, n * this.F), this.currentIdx * this.F);
      this.labels.set(b.labels.subarray(0, n), this.currentIdx);
      this.currentIdx += n;
      pos.push(p);
      total.push(n);
    });
    return { pos, total };
  }

  /** alibi `propose_anchors`. */
  private async proposeAnchors(previousBest: number[][]): Promise<number[][]> {
    const F = this.F;
    const cov = this.coverageData;
    const nc = this.nCoverage;
    if (previousBest.length === 0) {
      const out: number[][] = [];
      for (let f = 0; f < F; f++) {
        await this.sampler.pause();
        const t = this.tuple([f]);
        const k = key(t);
        const pres: number[] = [];
        let positives = 0;
        for (let r = 0; r < this.currentIdx; r++) {
          if (this.data[r * F + f]) {
            pres.push(r);
            positives += this.labels[r]!;
          }
        }
        this.tIdx.set(k, pres);
        this.tNsamples.set(k, pres.length);
        this.tPositives.set(k, positives);
        const order = this.tOrder.get(k) ?? [];
        order.push(f);
        this.tOrder.set(k, order);
        const ci: number[] = [];
        for (let r = 0; r < nc; r++) if (cov[r * F + f]) ci.push(r);
        this.tCoverageIdx.set(k, Int32Array.from(ci));
        this.tCoverage.set(k, ci.length / nc);
        out.push(t);
      }
      return out;
    }
    const seen = new Set<string>();
    const out: number[][] = [];
    for (let f = 0; f < F; f++) {
      for (const t of previousBest) {
        if (t.includes(f)) continue;
        // Each candidate scans the coverage set and the samples of its parent: pause between candidates.
        await this.sampler.pause();
        const nt = this.tuple([...t, f].sort((a, b) => a - b));
        const nk = key(nt);
        if (seen.has(nk)) continue;
        seen.add(nk);
        out.push(nt);
        const tk = key(t);
        this.tOrder.set(nk, [...(this.tOrder.get(tk) ?? t), f]);
        const a = this.tCoverageIdx.get(tk)!;
        const b = this.tCoverageIdx.get(key([f]))!;
        const inter = intersectSorted(a, b);
        this.tCoverageIdx.set(nk, inter);
        this.tCoverage.set(nk, inter.length / nc);
        const prev = this.tIdx.get(tk) ?? [];
        const present: number[] = [];
        let positives = 0;
        for (const r of prev) {
          if (this.data[r * F + f]) {
            present.push(r);
            positives += this.labels[r]!;
          }
        }
        this.tIdx.set(nk, present);
        this.tNsamples.set(nk, present.length);
        this.tPositives.set(nk, positives);
      }
    }
    return out;
  }

  private stats(anchors: readonly number[][]): { n: Float64Array; pos: Float64Array; cov: Float64Array } {
    const n = new Float64Array(anchors.length);
    const pos = new Float64Array(anchors.length);
    const cov = new Float64Array(anchors.length);
    anchors.forEach((a, i) => {
      const k = key(a);
      n[i] = this.tNsamples.get(k) ?? 0;
      pos[i] = this.tPositives.get(k) ?? 0;
      cov[i] = this.tCoverage.get(k) ?? 0;
    });
    return { n, pos, cov };
  }

  /** alibi `kllucb`: indices of the `topN` best arms. */
  private async kllucb(anchors: number[][], n: Float64Array, positives: Float64Array, topN: number): Promise<number[]> {
    const { epsilon, delta, batchSize } = this.o;
    const N = anchors.length;
    const zero: number[] = [];
    for (let i = 0; i < N; i++) if (n[i] === 0) zero.push(i);
    if (zero.length > 0) {
      const { pos, total } = await this.drawSamples(zero.map((i) => anchors[i]!), 1);
      zero.forEach((i, j) => {
        positives[i] += pos[j]!;
        n[i] += total[j]!;
      });
    }
    if (N === topN) return Array.from({ length: N }, (_, i) => i);
    const means = new Float64Array(N);
    const ub = new Float64Array(N);
    const lb = new Float64Array(N);
    const update = (): void => {
      for (let i = 0; i < N; i++) means[i] = n[i]! > 0 ? positives[i]! / n[i]! : 0;
    };
    update();
    let t = 1;
    let crit = this.selectCriticalArms(means, ub, lb, n, topN, t);
    let B = ub[crit.ut]! - lb[crit.lt]!;
    while (B > epsilon && !this.budgetExhausted) {
      const sel = [crit.ut, crit.lt];
      const { pos, total } = await this.drawSamples(sel.map((i) => anchors[i]!), batchSize);
      sel.forEach((i, j) => {
        positives[i] += pos[j]!;
        n[i] += total[j]!;
      });
      update();
      t++;
      crit = this.selectCriticalArms(means, ub, lb, n, topN, t);
      B = ub[crit.ut]! - lb[crit.lt]!;
    }
    return argsortStable(means).slice(-topN);
  }

  private selectCriticalArms(means: Float64Array, ub: Float64Array, lb: Float64Array, n: Float64Array, topN: number, t: number): { ut: number; lt: number } {
    const sorted = argsortStable(means);
    const beta = computeBeta(means.length, t, this.o.delta);
    const J = sorted.slice(-topN);
    const notJ = sorted.slice(0, sorted.length - topN);
    for (const i of notJ) ub[i] = upperBound(means[i]!, beta / n[i]!);
    for (const i of J) lb[i] = lowerBound(means[i]!, beta / n[i]!);
    let ut = notJ[0]!;
    for (const i of notJ) if (ub[i]! > ub[ut]!) ut = i;
    let lt = J[0]!;
    for (const i of J) if (lb[i]! < lb[lt]!) lt = i;
    return { ut, lt };
  }

  /** alibi `anchor_beam`. */
  async search(): Promise<BeamResult<E>> {
    const o = this.o;
    this.coverageData = await this.sampler.coverageSamples(o.coverageSamples);
    this.nCoverage = o.coverageSamples;
    this.tOrder.set('', []);
    const empty = this.tuple([]);
    let { pos: p0, total: n0 } = await this.drawSamples([empty], o.minSamplesStart);
    let pos = p0[0]!;
    let total = n0[0]!;
    let mean = pos / total;
    const beta0 = Math.log(1 / o.delta);
    let lb = lowerBound(mean, beta0 / total);
    while (mean > o.threshold && lb < o.threshold - o.epsilon && !this.budgetExhausted) {
      ({ pos: p0, total: n0 } = await this.drawSamples([empty], o.batchSize));
      pos += p0[0]!;
      total += n0[0]!;
      mean = pos / total;
      lb = lowerBound(mean, beta0 / total);
    }
    const emptyPrecision = mean;
    if (lb > o.threshold) {
      return { feature: [], mean: [], precision: [], coverage: [], examples: [], all_precision: mean, num_preds: this.currentIdx, success: true, emptyPrecision, budgetExhausted: this.budgetExhausted };
    }
    let currentSize = 1;
    let bestCoverage = -1;
    const bestOfSize: number[][][] = [[]];
    let bestAnchor: number[] = [];
    const maxSize = o.maxAnchorSize ?? this.F;
    while (currentSize <= maxSize) {
      let anchors = await this.proposeAnchors(bestOfSize[currentSize - 1]!);
      anchors = anchors.filter((a) => (this.tCoverage.get(key(a)) ?? 0) > bestCoverage);
      if (anchors.length === 0) break;
      const st = this.stats(anchors);
      const cand = await this.kllucb(anchors, st.n, st.pos, Math.min(o.beamSize, anchors.length));
      bestOfSize[currentSize] = cand.map((i) => anchors[i]!);
      const s2 = this.stats(bestOfSize[currentSize]!);
      const positives = s2.pos;
      const nSamples = s2.n;
      const beta = Math.log(1 / (o.delta / (1 + (o.beamSize - 1) * this.F)));
      const K = cand.length;
      const means = new Float64Array(K);
      const lbs = new Float64Array(K);
      const ubs = new Float64Array(K);
      const refresh = (i: number): void => {
        means[i] = positives[i]! / nSamples[i]!;
        lbs[i] = lowerBound(means[i]!, beta / nSamples[i]!);
        ubs[i] = upperBound(means[i]!, beta / nSamples[i]!);
      };
      for (let i = 0; i < K; i++) refresh(i);
      const toSample = (): number[] => {
        const out: number[] = [];
        for (let i = 0; i < K; i++) {
          const m = means[i]!;
          if ((m >= o.threshold && lbs[i]! < o.threshold - o.epsilonStop) || (m < o.threshold && ubs[i]! >= o.threshold + o.epsilonStop)) out.push(i);
        }
        return out;
      };
      let cont = toSample();
      while (cont.length > 0 && !this.budgetExhausted) {
        const { pos: ps, total: ts } = await this.drawSamples(cont.map((i) => anchors[cand[i]!]!), o.batchSize);
        cont.forEach((i, j) => {
          positives[i] += ps[j]!;
          nSamples[i] += ts[j]!;
          refresh(i);
        });
        cont = toSample();
      }
      const coverages = s2.cov;
      let bestIdx = -1;
      for (let i = 0; i < K; i++) {
        const valid = means[i]! >= o.threshold && lbs[i]! > o.threshold - o.epsilonStop;
        if (valid && coverages[i]! > bestCoverage && (bestIdx < 0 || coverages[i]! > coverages[bestIdx]!)) bestIdx = i;
      }
      if (bestIdx >= 0) {
        bestCoverage = coverages[bestIdx]!;
        bestAnchor = anchors[cand[bestIdx]!]!;
        if (bestCoverage === 1 || o.stopOnFirst) break;
      }
      currentSize++;
    }
    let success = true;
    if (bestAnchor.length === 0) {
      success = false;
      const all: number[][] = [];
      for (let i = 0; i < currentSize && i < bestOfSize.length; i++) all.push(...bestOfSize[i]!);
      if (all.length > 0) {
        const st = this.stats(all);
        const c = await this.kllucb(all, st.n, st.pos, 1);
        bestAnchor = all[c[0]!]!;
      }
    }
    return this.metadata(bestAnchor, success, emptyPrecision);
  }

  /** alibi `get_anchor_metadata`: precision/coverage/examples of each partial anchor along the search order. */
  private async metadata(features: number[], success: boolean, emptyPrecision: number): Promise<BeamResult<E>> {
    const res: BeamResult<E> = {
      feature: [],
      mean: [],
      precision: [],
      coverage: [],
      examples: [],
      all_precision: 0,
      num_preds: 0,
      success,
      emptyPrecision,
      budgetExhausted: false,
    };
    let current: number[] = [];
    const toResample: { t: number[]; at: number }[] = [];
    for (const f of this.tOrder.get(key(features)) ?? features) {
      current = this.tuple([...new Set([...current, f])].sort((a, b) => a - b));
      const k = key(current);
      res.feature.push(f);
      const m = (this.tPositives.get(k) ?? 0) / (this.tNsamples.get(k) ?? 0);
      res.mean.push(m);
      res.precision.push(m);
      res.coverage.push(this.tCoverage.get(k) ?? 0);
      if (this.tCoveredTrue.has(k)) {
        res.examples.push({ covered_true: this.tCoveredTrue.get(k)!, covered_false: this.tCoveredFalse.get(k)!, uncovered_true: [], uncovered_false: [] });
      } else {
        this.tOrder.set(k, [...current]);
        toResample.push({ t: current, at: res.examples.length });
        res.examples.push({ covered_true: [], covered_false: [], uncovered_true: [], uncovered_false: [] });
      }
    }
    if (toResample.length > 0) {
      // examples must exist even if the search budget ran out: this last draw is always made
      await this.drawSamples(toResample.map((r) => r.t), this.o.batchSize, true);
      for (const r of toResample) {
        const k = key(r.t);
        res.examples[r.at] = { covered_true: this.tCoveredTrue.get(k)!, covered_false: this.tCoveredFalse.get(k)!, uncovered_true: [], uncovered_false: [] };
        res.coverage[r.at] = this.tCoverage.get(k) ?? 0;
        if (!Number.isFinite(res.mean[r.at]!)) {
          const m = (this.tPositives.get(k) ?? 0) / (this.tNsamples.get(k) ?? 1);
          res.mean[r.at] = m;
          res.precision[r.at] = m;
        }
      }
    }
    res.num_preds = this.currentIdx;
    res.budgetExhausted = this.budgetExhausted;
    return res;
  }
}

function argsortStable(v: Float64Array): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i);
  idx.sort((a, b) => v[a]! - v[b]! || a - b);
  return idx;
}

function intersectSorted(a: Int32Array, b: Int32Array): Int32Array {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! === b[j]!) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return Int32Array.from(out);
}
