import t from 'tap';
import { kmeansBackground, makeBackground, sampleBackground } from '../src/index.js';
import { randomRows, testRandom } from './kernel-helpers.js';

t.test('makeBackground normalises weights and checks shapes', async (t) => {
  const b = makeBackground([[1, 2], [3, 4]], { weights: [1, 3] });
  t.same(Array.from(b.weights), [0.25, 0.75]);
  t.equal(b.rows, 2);
  t.equal(b.cols, 2);
  t.same(Array.from(makeBackground({ data: new Float64Array([1, 2, 3, 4]), rows: 2, cols: 2 }).weights), [0.5, 0.5]);
  t.throws(() => makeBackground([[1, 2], [3]]), { code: 'INVALID_INPUT' });
  t.throws(() => makeBackground([]), { code: 'INVALID_INPUT' });
  t.throws(() => makeBackground([[1, 2]], { weights: [1, 2] }), { code: 'INVALID_INPUT' });
  t.throws(() => makeBackground([[1, 2]], { weights: [-1] }), { code: 'INVALID_INPUT' });
  t.throws(() => makeBackground([[1, Number.NaN]]), { code: 'INVALID_INPUT', message: /NaN/ });
  t.equal(makeBackground([[1, Number.NaN]], { allowNaN: true }).rows, 1);
});

t.test('sampleBackground: seeded subset of distinct rows', async (t) => {
  const rows = randomRows(100, 3, 1);
  const a = sampleBackground(rows, 10, { seed: 4 });
  const b = sampleBackground(rows, 10, { seed: 4 });
  t.same(a.data, b.data);
  t.equal(a.rows, 10);
  const keys = new Set(rows.map((r) => r.join(',')));
  const picked = new Set<string>();
  for (let i = 0; i < 10; i++) picked.add(Array.from(a.data.subarray(i * 3, i * 3 + 3)).join(','));
  t.equal(picked.size, 10);
  t.ok([...picked].every((k) => keys.has(k)));
  t.equal(sampleBackground(rows, 500).rows, 100);
});

t.test('kmeansBackground recovers separated clusters, weights by size, snaps to data values', async (t) => {
  const r = testRandom(3);
  const centres = [
    [0, 0],
    [10, 10],
    [-10, 5],
  ];
  const sizes = [50, 30, 20];
  const rows: number[][] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < sizes[k]!; i++) rows.push([c[0]! + r() - 0.5, c[1]! + r() - 0.5]);
  });
  const bg = kmeansBackground(rows, 3, { seed: 1 });
  t.equal(bg.rows, 3);
  const found = Array.from({ length: 3 }, (_, i) => ({ x: bg.data[2 * i]!, y: bg.data[2 * i + 1]!, w: bg.weights[i]! }));
  for (let k = 0; k < 3; k++) {
    const m = found.find((f) => Math.abs(f.x - centres[k]![0]!) < 1 && Math.abs(f.y - centres[k]![1]!) < 1);
    t.ok(m, `cluster ${k} found`);
    t.ok(m && Math.abs(m.w - sizes[k]! / 100) < 1e-12, `weight ${m?.w}`);
  }
  const xs = new Set(rows.map((q) => q[0]));
  t.ok(found.every((f) => xs.has(f.x)), 'rounded to values present in the data');
  t.same(kmeansBackground(rows, 3, { seed: 1 }).data, bg.data, 'seeded');
  const unrounded = kmeansBackground(rows, 3, { seed: 1, roundValues: false });
  t.ok(Array.from({ length: 3 }, (_, i) => unrounded.data[2 * i]!).some((x) => !xs.has(x)), 'roundValues false keeps means');
  t.throws(() => kmeansBackground(rows, 0), { code: 'INVALID_OPTION' });
});
