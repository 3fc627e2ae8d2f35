import t from 'tap';
import { Rng } from '../src/index.js';

t.test('same seed, same stream; different seeds differ', async (t) => {
  const a = new Rng(123);
  const b = new Rng(123);
  const c = new Rng(124);
  const sa = Array.from({ length: 100 }, () => a.nextUint32());
  t.same(sa, Array.from({ length: 100 }, () => b.nextUint32()));
  t.not(JSON.stringify(sa), JSON.stringify(Array.from({ length: 100 }, () => c.nextUint32())));
  t.ok(sa.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32));
  t.not(new Rng(2 ** 40).nextUint32(), new Rng(0).nextUint32(), 'high seed bits matter');
});

t.test('uniform floats and unbiased integers', async (t) => {
  const r = new Rng(7);
  const n = 200000;
  let sum = 0;
  const bins = new Array(10).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.nextFloat();
    t.ok(u >= 0 && u < 1);
    sum += u;
    bins[Math.floor(u * 10)]++;
    if (i > 10) break;
  }
  for (let i = 0; i < n; i++) {
    const u = r.nextFloat();
    sum += u;
    bins[Math.floor(u * 10)]++;
  }
  const mean = sum / (n + 12);
  t.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  const chi = bins.reduce((s, b) => s + (b - (n + 12) / 10) ** 2 / ((n + 12) / 10), 0);
  t.ok(chi < 30, `chi2(9) = ${chi}`);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70000; i++) counts[r.nextInt(7)]++;
  t.ok(counts.every((c) => Math.abs(c - 10000) < 500), counts.join(','));
  const perm = Int32Array.from({ length: 20 }, (_, i) => i);
  r.shuffle(perm);
  t.same([...perm].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i), 'shuffle is a permutation');
});

t.test('integers above 2^32 and degenerate ranges do not hang', async (t) => {
  const r = new Rng(3);
  for (let i = 0; i < 100; i++) {
    const v = r.nextInt(2 ** 40);
    t.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 40);
  }
  t.equal(r.nextInt(1), 0);
  t.equal(r.nextInt(0), 0);
});
