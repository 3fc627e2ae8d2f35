/**
 * Per-row random streams for the sampling explainers: the stream a row's samples are drawn from is a function of
 * the call's seed and of the row's content only, never of its position in a batch, of the other rows, of how a
 * server chunks a request or of the worker that runs it. The same seed and the same row therefore give the same
 * explanation whether the row is explained alone or anywhere in any batch, and two equal rows of one batch get
 * the same explanation.
 *
 * A row's identity:
 * - numbers (a tabular row, an image's pixel values): the values in order as IEEE-754 float64, every NaN read as
 *   the one quiet NaN `0x7ff8000000000000` and -0 read as +0 (no model comparison and no JSON text tells them
 *   apart, so a row read back from an explanation's `data` finds its stream again);
 * - text: its UTF-8 bytes (a lone surrogate encodes as U+FFFD, as on the wire).
 *
 * The mixing, in wrapping 64-bit arithmetic, with γ = 0x9e3779b97f4a7c15 and `mix` = splitmix64's output function
 * (Stafford's Mix13: `z ^= z >>> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >>> 27; z *= 0x94d049bb133111eb; z ^= z >>> 31`):
 *
 *     h = mix(seed + tag·γ)        seed truncated to an integer, as 64-bit two's complement; tag 1 for numbers,
 *                                  2 for text
 *     h = mix((h ^ w) + γ)         for each 64-bit word w: one per value (its bits), or 8 UTF-8 bytes, little-endian,
 *                                  the last word zero-padded
 *     h = mix((h ^ n) + γ)         n = the number of values, or of bytes
 *
 * `h` is the row's {@link StreamKey}; `new Rng(key)` starts the generator's 128-bit state at the next two outputs of
 * splitmix64 from `h`. Pure 32-bit integer math: the same on every platform.
 */

/** A row's stream: the 64-bit key `hi * 2^32 + lo` a generator starts from (`new Rng(key)`). */
export interface StreamKey {
  readonly hi: number;
  readonly lo: number;
}

// γ, the golden-ratio increment of splitmix64.
const GH = 0x9e3779b9;
const GL = 0x7f4a7c15;
// The 64-bit register every helper below works on (all of them are synchronous, so one register serves every call).
let hi = 0;
let lo = 0;

/** register += (h:l) */
function add(h: number, l: number): void {
  const s = lo + l;
  lo = s >>> 0;
  hi = (hi + h + (s > 0xffffffff ? 1 : 0)) >>> 0;
}

/** register *= (bh:bl), the low 64 bits (16-bit limbs for the low words' full product). */
function mul(bh: number, bl: number): void {
  const al = lo;
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const h = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(hi, bl) + Math.imul(al, bh);
  lo = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  hi = h >>> 0;
}

/** register ^= register >>> k, for 0 < k < 32 */
function shiftXor(k: number): void {
  lo = (lo ^ ((lo >>> k) | (hi << (32 - k)))) >>> 0;
  hi = (hi ^ (hi >>> k)) >>> 0;
}

/** register = mix(register) */
function mix(): void {
  shiftXor(30);
  mul(0xbf58476d, 0x1ce4e5b9);
  shiftXor(27);
  mul(0x94d049bb, 0x133111eb);
  shiftXor(31);
}

/** register = mix((register ^ w) + γ) */
function absorb(wh: number, wl: number): void {
  hi = (hi ^ wh) >>> 0;
  lo = (lo ^ wl) >>> 0;
  add(GH, GL);
  mix();
}

/** register = mix(seed + tag·γ) */
function start(seed: number, tag: number): void {
  const s = Math.trunc(seed);
  lo = s >>> 0;
  hi = Math.floor(s / 4294967296) >>> 0;
  for (let t = 0; t < tag; t++) add(GH, GL);
  mix();
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = 1 - LO;
const utf8 = new TextEncoder();

/**
 * The stream of one explained row under `seed`: a tabular row or an image's pixel values (`ArrayLike<number>`), or
 * a text (`string`). See the module documentation for the identity and the mixing.
 */
export function rowStream(seed: number, row: ArrayLike<number> | string): StreamKey {
  if (typeof row === 'string') {
    const b = utf8.encode(row);
    const n = b.length;
    start(seed, 2);
    const full = n - (n % 8);
    for (let i = 0; i < full; i += 8) {
      absorb((b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24)) >>> 0, (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
    }
    if (full < n) {
      let wh = 0;
      let wl = 0;
      for (let i = full; i < n; i++) {
        const s = (i - full) * 8;
        if (s < 32) wl |= b[i]! << s;
        else wh |= b[i]! << (s - 32);
      }
      absorb(wh >>> 0, wl >>> 0);
    }
    absorb(0, n);
  } else {
    const n = row.length;
    start(seed, 1);
    for (let i = 0; i < n; i++) {
      const v = row[i]!;
      if (v !== v) absorb(0x7ff80000, 0);
      else if (v === 0) absorb(0, 0);
      else {
        f64[0] = v;
        absorb(u32[HI]!, u32[LO]!);
      }
    }
    absorb(0, n);
  }
  return { hi, lo };
}

/** The first four 32-bit words of splitmix64 started at `key` (low word first): a generator's 128-bit state. */
export function streamState(key: StreamKey): [number, number, number, number] {
  hi = key.hi >>> 0;
  lo = key.lo >>> 0;
  add(GH, GL);
  const sh = hi;
  const sl = lo;
  mix();
  const a = lo;
  const b = hi;
  hi = sh;
  lo = sl;
  add(GH, GL);
  mix();
  return [a, b, lo, hi];
}
