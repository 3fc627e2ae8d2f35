/**
 * KernelSHAP coalition sampling, following shap's KernelExplainer: subset sizes are enumerated completely,
 * smallest first (with their complements), while the sample budget covers them under the Shapley kernel
 * weights; the remaining sizes are sampled in complement pairs, with repeated masks accumulating weight,
 * and the sampled weights are rescaled to the kernel weight left over.
 */
import type { Rng } from '@genome/model-format';

export interface KernelSamples {
  /** `count x M` masks, 1 = feature present (taken from the explained row). */
  readonly masks: Uint8Array;
  /** Kernel weight of each mask. */
  readonly weights: Float64Array;
  /** Number of masks actually produced (<= the budget). */
  readonly count: number;
  /** Budget after capping at 2^M - 2. */
  readonly nsamples: number;
  /** Subsets evaluated over all possible (shap's `fraction_evaluated`). */
  readonly fractionEvaluated: number;
  /** True when every subset size was enumerated (exact Shapley values, up to round-off). */
  readonly complete: boolean;
}

/** The sample budget shap uses for M features: `auto` = 2M + 2048, capped at 2^M - 2 when M <= 30. */
export function resolveNsamples(requested: number | 'auto', M: number): { nsamples: number; maxSamples: number } {
  let nsamples = requested === 'auto' ? 2 * M + 2048 : requested;
  let maxSamples = 2 ** 30;
  if (M <= 30) {
    maxSamples = 2 ** M - 2;
    if (nsamples > maxSamples) nsamples = maxSamples;
  }
  return { nsamples, maxSamples };
}

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Builds the masks and kernel weights for M >= 2 varying features. */
export function kernelSamples(M: number, requested: number | 'auto', rng: Rng): KernelSamples {
  const { nsamples, maxSamples } = resolveNsamples(requested, M);
  const masks = new Uint8Array(nsamples * M);
  const weights = new Float64Array(nsamples);
  let added = 0;

  const numSubsetSizes = Math.ceil((M - 1) / 2);
  const numPairedSubsetSizes = Math.floor((M - 1) / 2);
  const weightVector = new Float64Array(numSubsetSizes);
  let wsum = 0;
  for (let i = 1; i <= numSubsetSizes; i++) {
    let w = (M - 1) / (i * (M - i));
    if (i <= numPairedSubsetSizes) w *= 2;
    weightVector[i - 1] = w;
    wsum += w;
  }
  for (let i = 0; i < numSubsetSizes; i++) weightVector[i]! /= wsum;

  // enumerate whole subset sizes while the budget allows
  let numFullSubsets = 0;
  let numSamplesLeft = nsamples;
  const remaining = Float64Array.from(weightVector);
  const comb = new Int32Array(M);
  for (let size = 1; size <= numSubsetSizes; size++) {
    let nsubsets = binom(M, size);
    const paired = size <= numPairedSubsetSizes;
    if (paired) nsubsets *= 2;
    if ((numSamplesLeft * remaining[size - 1]!) / nsubsets >= 1.0 - 1e-8) {
      numFullSubsets++;
      numSamplesLeft -= nsubsets;
      if (remaining[size - 1]! < 1.0) {
        const div = 1 - remaining[size - 1]!;
        for (let i = 0; i < remaining.length; i++) remaining[i]! /= div;
      }
      let w = weightVector[size - 1]! / binom(M, size);
      if (paired) w /= 2;
      // lexicographic combinations of `size` out of M
      for (let i = 0; i < size; i++) comb[i] = i;
      for (;;) {
        const o = added * M;
        for (let i = 0; i < size; i++) masks[o + comb[i]!] = 1;
        weights[added++] = w;
        if (paired) {
          const o2 = added * M;
          for (let j = 0; j < M; j++) masks[o2 + j] = masks[o + j] ? 0 : 1;
          weights[added++] = w;
        }
        let i = size - 1;
        while (i >= 0 && comb[i] === M - size + i) i--;
        if (i < 0) break;
        comb[i]!++;
        for (let j = i + 1; j < size; j++) comb[j] = comb[j - 1]! + 1;
      }
    } else {
      break;
    }
  }

  const nFixed = added;
  let samplesLeft = nsamples - added;
  if (numFullSubsets !== numSubsetSizes) {
    const nRem = numSubsetSizes - numFullSubsets;
    const cdf = new Float64Array(nRem);
    let total = 0;
    for (let i = 0; i < nRem; i++) {
      const s = numFullSubsets + i;
      let w = weightVector[s]!;
      if (s < numPairedSubsetSizes) w /= 2;
      total += w;
      cdf[i] = total;
    }
    const perm = new Int32Array(M);
    for (let i = 0; i < M; i++) perm[i] = i;
    const used = new Map<string, number>();
    const draws = 4 * samplesLeft;
    const keyChars = Math.ceil(M / 16);
    const codes = new Array<number>(keyChars);
    for (let draw = 0; draw < draws && samplesLeft > 0; draw++) {
      const u = rng.nextFloat() * total;
      let ind = 0;
      while (ind < nRem - 1 && u >= cdf[ind]!) ind++;
      const size = ind + numFullSubsets + 1;
      const o = added * M;
      masks.fill(0, o, o + M);
      // partial Fisher-Yates: the first `size` entries of a random permutation
      for (let i = 0; i < size; i++) {
        const j = i + rng.nextInt(M - i);
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
        masks[o + perm[i]!] = 1;
      }
      for (let c = 0; c < keyChars; c++) {
        let v = 0;
        for (let b = 0; b < 16; b++) {
          const j = c * 16 + b;
          if (j < M && masks[o + j]) v |= 1 << b;
        }
        codes[c] = v;
      }
      const key = String.fromCharCode.apply(null, codes);
      const prev = used.get(key);
      const paired = size <= numPairedSubsetSizes;
      if (prev === undefined) {
        used.set(key, added);
        weights[added++] = 1;
        samplesLeft--;
        if (samplesLeft > 0 && paired) {
          const o2 = added * M;
          for (let j = 0; j < M; j++) masks[o2 + j] = masks[o + j] ? 0 : 1;
          weights[added++] = 1;
          samplesLeft--;
        }
      } else {
        weights[prev]!++;
        if (samplesLeft > 0 && paired) weights[prev + 1]!++;
      }
    }
    let weightLeft = 0;
    for (let s = numFullSubsets; s < numSubsetSizes; s++) weightLeft += weightVector[s]!;
    let sampled = 0;
    for (let i = nFixed; i < added; i++) sampled += weights[i]!;
    if (sampled > 0) for (let i = nFixed; i < added; i++) weights[i]! *= weightLeft / sampled;
  }
  return {
    masks,
    weights,
    count: added,
    nsamples,
    fractionEvaluated: nsamples / maxSamples,
    complete: numFullSubsets === numSubsetSizes,
  };
}
