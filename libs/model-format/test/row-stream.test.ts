import t from 'tap';
import fc from 'fast-check';
import { Rng, rowStream, type StreamKey } from '../src/index.js';

// The documented mixing, written again with BigInt: the 32-bit-limb implementation must agree bit for bit.
const M64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;
function mix(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
const absorb = (h: bigint, w: bigint): bigint => mix(((h ^ w) + GAMMA) & M64);
const seed64 = (seed: number): bigint => BigInt.asUintN(64, BigInt(Math.trunc(seed)));
function refNumbers(seed: number, row: readonly number[]): bigint {
  let h = mix((seed64(seed) + GAMMA) & M64);
  const view = new DataView(new ArrayBuffer(8));
  for (const v of row) {
    view.setFloat64(0, Number.isNaN(v) ? NaN : v === 0 ? 0 : v, true);
    h = absorb(h, Number.isNaN(v) ? 0x7ff8000000000000n : view.getBigUint64(0, true));
  }
  return absorb(h, BigInt(row.length));
}
function refText(seed: number, text: string): bigint {
  let h = mix((seed64(seed) + 2n * GAMMA) & M64);
  const b = new TextEncoder().encode(text);
  for (let i = 0; i < b.length; i += 8) {
    let w = 0n;
    for (let k = 7; k >= 0; k--) w = (w << 8n) | BigInt(i + k < b.length ? b[i + k]! : 0);
    h = absorb(h, w);
  }
  return absorb(h, BigInt(b.length));
}
const key = (k: StreamKey): bigint => (BigInt(k.hi) << 32n) | BigInt(k.lo);

t.test('splitmix64 vector: a generator started from key 0 holds mix(γ) = 0xe220a8397b1dcdaf, mix(2γ)', async (t) => {
  t.equal(mix(GAMMA).toString(16), 'e220a8397b1dcdaf');
  // xoshiro128**'s first output is rotl(s1 * 5, 7) * 9, s1 = the high word of splitmix64's first output.
  const s1 = Number(mix(GAMMA) >> 32n);
  const x = Math.imul(s1, 5);
  t.equal(new Rng({ hi: 0, lo: 0 }).nextUint32(), Math.imul((x << 7) | (x >>> 25), 9) >>> 0);
});

t.test('numbers and texts follow the documented mixing (property, against BigInt)', async () => {
  const seed = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.maxSafeInteger(), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), fc.double({ min: -(2 ** 52), max: 2 ** 52, noNaN: true }));
  fc.assert(
    fc.property(seed, fc.array(fc.double(), { maxLength: 20 }), (s, row) => key(rowStream(s, row)) === refNumbers(s, row)),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(seed, fc.string({ unit: 'grapheme', maxLength: 30 }), (s, text) => key(rowStream(s, text)) === refText(s, text)),
    { numRuns: 500 },
  );
});

t.test('identity: the values, NaN and -0 canonicalised, any array type; texts by their UTF-8 bytes', async (t) => {
  const row = [1.5, -2, 0, 3e300, NaN];
  const k = rowStream(7, row);
  t.same(rowStream(7, Float64Array.from(row)), k, 'a Float64Array of the same values');
  t.same(rowStream(7, new Float64Array([9, ...row, 9]).subarray(1, 6)), k, 'a view inside a bigger matrix');
  t.same(rowStream(7, [1.5, -2, -0, 3e300, NaN]), k, '-0 is +0');
  const payload = new Float64Array(new BigUint64Array([0x7ff4000000000123n]).buffer)[0]!;
  t.ok(Number.isNaN(payload));
  t.same(rowStream(7, [1.5, -2, 0, 3e300, payload]), k, 'every NaN is the one NaN');
  t.same(rowStream(7, Float32Array.from([1.5, -2, 0])), rowStream(7, [1.5, -2, 0]), 'float32 pixels: their values');
  t.same(rowStream(7, Uint8Array.from([1, 2, 255])), rowStream(7, [1, 2, 255]), '8-bit pixels: their values');
  t.not(key(rowStream(8, row)), key(k), 'another seed');
  t.not(key(rowStream(7, [1.5, -2, 0, 3e300])), key(k), 'a prefix');
  t.not(key(rowStream(7, [1.5, -2, 0, 3e300, Infinity])), key(k), 'NaN is not Infinity');
  t.not(key(rowStream(7, [-2, 1.5, 0, 3e300, NaN])), key(k), 'order matters');
  t.not(key(rowStream(7, [0])), key(rowStream(7, [])), 'length matters');
  t.not(key(rowStream(7, 'ab')), key(rowStream(7, 'ab\u0000')), 'trailing zero bytes of a text matter');
  t.not(key(rowStream(7, '')), key(rowStream(7, [])), 'an empty text is not an empty row');
  t.same(rowStream(7, 'caf\u00e9'), rowStream(7, 'café'), 'UTF-8 of the same string');
  t.same(rowStream(2 ** 40 + 3, row), rowStream(2 ** 40 + 3, row), 'seeds above 2^32');
  t.not(key(rowStream(2 ** 40 + 3, row)), key(rowStream(3, row)), 'the seed\'s high bits matter');
  t.same(rowStream(-(2 ** 33) - 0.5, row), rowStream(-(2 ** 33), row), 'a fractional seed is truncated, also below -2^32');
  t.same(key(rowStream(-(2 ** 33) - 0.5, row)), refNumbers(-(2 ** 33), row));
});

t.test('a generator started from a key: deterministic, distinct per key, uniform', async (t) => {
  const draw = (k: StreamKey, n: number) => {
    const r = new Rng(k);
    return Array.from({ length: n }, () => r.nextUint32());
  };
  const k = rowStream(1, [1, 2, 3]);
  t.same(draw(k, 50), draw({ hi: k.hi, lo: k.lo }, 50), 'same key, same stream');
  t.not(JSON.stringify(draw(k, 50)), JSON.stringify(draw(rowStream(1, [1, 2, 4]), 50)), 'another row, another stream');
  const r = new Rng(rowStream(3, 'text'));
  let sum = 0;
  for (let i = 0; i < 100000; i++) sum += r.nextFloat();
  t.ok(Math.abs(sum / 100000 - 0.5) < 0.005, `mean ${sum / 100000}`);
  // Streams of nearby rows do not start alike: first draws of 1000 rows x, x+1e-12, ... are spread out.
  const firsts = new Set<number>();
  for (let i = 0; i < 1000; i++) firsts.add(new Rng(rowStream(0, [1 + i * 1e-12])).nextUint32() >>> 22);
  t.ok(firsts.size > 600, `${firsts.size} distinct leading 10 bits among 1000 neighbouring rows`);
});
