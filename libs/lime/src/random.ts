/**
 * LIME's and Anchors' draws on top of the shared seeded generator of @genome/model-format (xoshiro128**):
 * categorical draws, sampling without replacement and truncated normals. Every explained row (a tabular row, a
 * text, an image) draws from its own stream, `new Rng(rowStream(seed, row))`: a function of the call's seed and the
 * row's content only, so a row's explanation does not depend on the other rows of a call. The same seed gives the
 * same stream on every platform (pure 32-bit integer math).
 */
import { Rng as SeededRng, type StreamKey } from '@genome/model-format';
import { LimeError } from './errors.js';

/** Checks a user seed: a finite number. */
export function checkSeed(seed: number): number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new LimeError('INVALID_INPUT', `seed must be a finite number, got ${seed}.`);
  return seed;
}

export class Rng extends SeededRng {
  /** A seed, or one row's stream (`rowStream(seed, row)` of @genome/model-format). */
  constructor(seed: number | StreamKey) {
    super(typeof seed === 'object' ? seed : checkSeed(seed));
  }

  /** Next raw 32-bit unsigned integer (same as `nextUint32`). */
  nextU32(): number {
    return this.nextUint32();
  }

  /** Uniform double in [0, 1) with 53 random bits (same as `nextFloat`). */
  random(): number {
    return this.nextFloat();
  }

  /** Uniform integer in [0, n) (same as `nextInt`). */
  int(n: number): number {
    return this.nextInt(n);
  }

  /** Standard normal draw (same as `nextNormal`). */
  normal(): number {
    return this.nextNormal();
  }

  /** Index drawn from a cumulative distribution `cdf` (last entry = total mass). */
  categorical(cdf: Float64Array): number {
    const n = cdf.length;
    const u = this.nextFloat() * cdf[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Writes `k` distinct integers from [0, n) into `out[0..k)` (partial Fisher-Yates over `scratch`, which must
   * have length >= n and is left permuted).
   */
  sampleWithoutReplacement(n: number, k: number, out: Int32Array, scratch: Int32Array): void {
    for (let i = 0; i < n; i++) scratch[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(n - i);
      const tmp = scratch[i]!;
      scratch[i] = scratch[j]!;
      scratch[j] = tmp;
      out[i] = scratch[i]!;
    }
  }

  /** Draw from N(mean, std) truncated to [lo, hi] by inverse-CDF sampling (stable in both tails). */
  truncatedNormal(mean: number, std: number, lo: number, hi: number): number {
    if (!(std > 0) || !(hi > lo)) return Math.min(Math.max(mean, lo), hi);
    let a = (lo - mean) / std;
    let b = (hi - mean) / std;
    let flip = false;
    if (a > 0) {
      // Sample the mirrored interval in the left tail where the CDF has precision.
      const t = a;
      a = -b;
      b = -t;
      flip = true;
    }
    const pa = normalCdf(a);
    const pb = normalCdf(b);
    let z: number;
    if (pb - pa <= 1e-300) z = a;
    else {
      const u = pa + this.nextFloat() * (pb - pa);
      z = normalPpf(u);
      if (z < a) z = a;
      if (z > b) z = b;
    }
    if (flip) z = -z;
    return mean + z * std;
  }
}

/** Standard normal CDF via erfc (W. J. Cody's rational approximation through Math functions). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Complementary error function, relative error < 1.2e-7 (Numerical Recipes erfcc), refined enough for sampling. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Inverse standard normal CDF (Acklam's algorithm, relative error 1.15e-9). */
export function normalPpf(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a1 = -3.969683028665376e1, a2 = 2.209460984245205e2, a3 = -2.759285104469687e2;
  const a4 = 1.38357751867269e2, a5 = -3.066479806614716e1, a6 = 2.506628277459239;
  const b1 = -5.447609879822406e1, b2 = 1.615858368580409e2, b3 = -1.556989798598866e2;
  const b4 = 6.680131188771972e1, b5 = -1.328068155288572e1;
  const c1 = -7.784894002430293e-3, c2 = -3.223964580411365e-1, c3 = -2.400758277161838;
  const c4 = -2.549732539343734, c5 = 4.374664141464968, c6 = 2.938163982698783;
  const d1 = 7.784695709041462e-3, d2 = 3.224671290700398e-1, d3 = 2.445134137142996, d4 = 3.754408661907416;
  const plow = 0.02425;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / ((((d1 * q + d2) * q + d3) * q + d4) * q + 1);
  }
  if (p > 1 - plow) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / ((((d1 * q + d2) * q + d3) * q + d4) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a1 * r + a2) * r + a3) * r + a4) * r + a5) * r + a6) * q) / (((((b1 * r + b2) * r + b3) * r + b4) * r + b5) * r + 1);
}
