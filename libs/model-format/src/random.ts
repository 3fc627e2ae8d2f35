/**
 * A small, fast, seeded pseudo-random generator (xoshiro128**, seeded through splitmix32, or started from a row's
 * {@link StreamKey}) shared by the sampling explainers, so every explanation is reproducible across runs and
 * platforms: the same seed gives the same numbers everywhere (pure 32-bit integer math).
 */
import { streamState, type StreamKey } from './row-stream.js';

/** Default seed used when the caller does not pass one (explanations record the seed they used). */
export const DEFAULT_SEED = 20240607;

function splitmix32(state: number): number {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** generator. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** A seed (one 32-bit stream per seed), or a row's key from `rowStream(seed, row)` (a 128-bit state from it). */
  constructor(seed: number | StreamKey = DEFAULT_SEED) {
    if (typeof seed === 'object') {
      [this.s0, this.s1, this.s2, this.s3] = streamState(seed);
    } else {
      const lo = seed >>> 0;
      const hi = Math.floor(seed / 4294967296) >>> 0;
      let x = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1));
      this.s0 = x;
      x = splitmix32(x);
      this.s1 = x;
      x = splitmix32(x);
      this.s2 = x;
      x = splitmix32(x);
      this.s3 = x;
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n): without modulo bias for n <= 2^32, from {@link nextFloat} above. */
  nextInt(n: number): number {
    if (n <= 1) return 0;
    if (n > 4294967296) return Math.floor(this.nextFloat() * n);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Fisher-Yates shuffle of the whole array, in place. */
  shuffle(a: Int32Array | Uint32Array | Float64Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }

  /** Standard normal draw (Box-Muller, one value per call). */
  nextNormal(): number {
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
