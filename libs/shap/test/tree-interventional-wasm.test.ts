/**
 * The WebAssembly interventional kernel (interventional-wasm.ts) against the TypeScript one (interventionalRange)
 * and brute force: fixture models (categorical splits, multiclass boosting, forest classifiers with one value per
 * class), raw and probability (logistic, softmax) output, background sizes around the 64- and 128-row word and
 * vector boundaries and past the specialised set widths, random ensembles with every split rule, `average`
 * aggregation, models and backgrounds switched inside one kernel instance, and the kernel's background routing.
 */
import t from 'tap';
import type { TreeEnsemble } from '@genome/model-format';
import { backgroundDirections, interventionalRange, marginsFromDirections, type Link } from '../src/tree/compute.js';
import {
  MAX_BACKGROUND,
  backgroundDirectionsWasm,
  interventionalWasmRange,
  interventionalWasmSupports,
} from '../src/tree/interventional-wasm.js';
import { prepareEnsemble, type PreparedEnsemble } from '../src/tree/prepared.js';
import { prepareBackground, probabilityLink, type PreparedBackground } from '../src/tree/tree-shap.js';
import {
  bruteShapley,
  interventionalValue,
  kernelFixtureModels,
  maxRelDiff,
  mulberry32,
  randomEnsemble,
  randomRows,
  rowsAroundSplits as rowsFor,
} from './tree-helpers.js';

/** Both kernels on rows [rowStart, n) of `rows` (out at offset 0, as interventionalRange writes it). */
function both(prep: PreparedEnsemble, rows: Float64Array, n: number, bg: PreparedBackground, link: Link, rowStart = 0) {
  const len = (n - rowStart) * prep.nFeatures * prep.nOutputs;
  const js = new Float64Array(len);
  const wasm = new Float64Array(len);
  interventionalRange(prep, rows, rowStart, n, bg.dirs, bg.margins, bg.nBackground, link, js, 'recursion');
  interventionalWasmRange(prep, rows, rowStart, n, bg.dirs, bg.margins, bg.nBackground, link, wasm);
  return { js, wasm, d: maxRelDiff(wasm, js) };
}

const models = kernelFixtureModels();

for (const [name, model] of models) {
  t.test(name, (t) => {
    const prep = prepareEnsemble(model);
    const links: Link[] = ['identity'];
    if (model.transform === 'logistic' || model.transform === 'softmax') links.push(probabilityLink(model));
    for (const nBg of [1, 63, 64, 65, 130]) {
      t.ok(interventionalWasmSupports(prep, nBg), `the kernel covers it with ${nBg} background rows`);
      const bg = prepareBackground(model, rowsFor(model, nBg, 1000 + nBg), nBg);
      const n = 9;
      const rows = rowsFor(model, n, nBg);
      for (const link of links) {
        const { d } = both(prep, rows, n, bg, link);
        t.ok(d < 1e-12, `${nBg} background rows, ${link}: equals interventionalRange (${d.toExponential(1)})`);
      }
    }
    t.end();
  });
}

t.test('a row range lands at offset 0 of out, as interventionalRange writes it', (t) => {
  const model = models.find(([n]) => n.includes('multiclass.model'))![1];
  const prep = prepareEnsemble(model);
  const bg = prepareBackground(model, rowsFor(model, 40, 5), 40);
  const rows = rowsFor(model, 12, 6);
  for (const link of ['identity', 'softmax'] as const) {
    const { d } = both(prep, rows, 12, bg, link, 5);
    t.ok(d < 1e-12, `${link}: rows 5..12 (${d.toExponential(1)})`);
  }
  t.end();
});

t.test('random ensembles: every split rule, sum and average, one or all values per node, links', (t) => {
  let worst = 0;
  let cases = 0;
  for (let seed = 1; seed <= 36; seed++) {
    const wide = seed % 2 === 0;
    const nOutputs = seed % 3 === 0 ? 1 : seed % 3 === 1 ? 2 : 3;
    const m = randomEnsemble(seed, {
      nFeatures: 7,
      nOutputs,
      valueWidth: wide ? 'all' : 1,
      nTrees: 5,
      maxDepth: 2 + (seed % 11),
      aggregate: seed % 4 < 2 ? 'average' : 'sum',
      zeroCover: 0.2,
    });
    const prep = prepareEnsemble(m);
    const link: Link = nOutputs === 1 ? 'logistic' : 'softmax';
    for (const nBg of [1, 63, 64, 65, 130, 257]) {
      const bg = prepareBackground(m, randomRows(seed * 31 + nBg, nBg, m.nFeatures), nBg);
      const rows = randomRows(seed, 11, m.nFeatures);
      for (const l of ['identity', link] as const) {
        const { d } = both(prep, rows, 11, bg, l);
        worst = Math.max(worst, d);
        cases++;
        if (!(d < 1e-12)) t.fail(`seed ${seed}, ${nBg} background rows, ${l}: ${d}`);
      }
    }
  }
  t.ok(worst < 1e-12, `${cases} cases equal interventionalRange (worst ${worst.toExponential(1)})`);
  t.end();
});

t.test('large backgrounds (generic set width) up to MAX_BACKGROUND', (t) => {
  const m = randomEnsemble(77, { nFeatures: 6, nOutputs: 2, valueWidth: 1, nTrees: 3, maxDepth: 6 });
  const prep = prepareEnsemble(m);
  for (const nBg of [300, 1000, MAX_BACKGROUND]) {
    t.ok(interventionalWasmSupports(prep, nBg), `${nBg} rows supported`);
    const bg = prepareBackground(m, randomRows(nBg, nBg, m.nFeatures), nBg);
    const rows = randomRows(3, 4, m.nFeatures);
    for (const link of ['identity', 'softmax'] as const) {
      const { d } = both(prep, rows, 4, bg, link);
      t.ok(d < 1e-12, `${nBg} background rows, ${link} (${d.toExponential(1)})`);
    }
  }
  t.end();
});

t.test('equals brute force over all subsets on small random trees', (t) => {
  let worst = 0;
  for (let seed = 100; seed < 160; seed++) {
    const rnd = mulberry32(seed);
    const nOutputs = 1 + Math.floor(rnd() * 3);
    const m = randomEnsemble(seed, {
      nFeatures: 1 + Math.floor(rnd() * 5),
      nOutputs,
      valueWidth: rnd() < 0.5 ? 1 : 'all',
      nTrees: 1 + Math.floor(rnd() * 4),
      maxDepth: Math.floor(rnd() * 6),
      aggregate: rnd() < 0.5 ? 'average' : 'sum',
      numericOnly: rnd() < 0.3,
    });
    const prep = prepareEnsemble(m);
    const nBg = [1, 2, 5, 64, 70][seed % 5];
    const bgFlat = randomRows(seed + 7, nBg, m.nFeatures);
    const bgList = Array.from({ length: nBg }, (_, b) => Array.from(bgFlat.subarray(b * m.nFeatures, (b + 1) * m.nFeatures)));
    const bg = prepareBackground(m, bgFlat, nBg);
    const nRows = 2;
    const rows = randomRows(seed, nRows, m.nFeatures);
    const out = new Float64Array(nRows * m.nFeatures * nOutputs);
    interventionalWasmRange(prep, rows, 0, nRows, bg.dirs, bg.margins, nBg, 'identity', out);
    for (let r = 0; r < nRows; r++) {
      const x = rows.subarray(r * m.nFeatures, (r + 1) * m.nFeatures);
      const ref = bruteShapley(m.nFeatures, nOutputs, (S) => interventionalValue(m, x, bgList, S));
      for (let f = 0; f < m.nFeatures; f++) {
        for (let o = 0; o < nOutputs; o++) worst = Math.max(worst, Math.abs(out[(r * m.nFeatures + f) * nOutputs + o] - ref[f][o]));
      }
    }
  }
  t.ok(worst < 1e-9, `60 random ensembles match brute force (worst ${worst.toExponential(1)})`);
  t.end();
});

t.test('switching models and backgrounds inside one kernel instance', (t) => {
  const [a, b] = [models[4][1], models[9][1]];
  const pa = prepareEnsemble(a);
  const pb = prepareEnsemble(b);
  const bgA1 = prepareBackground(a, rowsFor(a, 70, 1), 70);
  const bgA2 = prepareBackground(a, rowsFor(a, 20, 2), 20);
  const bgB = prepareBackground(b, rowsFor(b, 130, 3), 130);
  const ra = rowsFor(a, 6, 4);
  const rb = rowsFor(b, 6, 5);
  const first = both(pa, ra, 6, bgA1, 'identity').wasm;
  const steps: [PreparedEnsemble, Float64Array, PreparedBackground, string][] = [
    [pa, ra, bgA2, 'model A, background 2 (other size)'],
    [pb, rb, bgB, 'model B'],
    [pa, ra, bgA1, 'model A, background 1 again (cached bitsets)'],
    [pa, ra, bgA2, 'model A, background 2 again'],
    [pa, ra, bgA1, 'model A, background 1 once more'],
  ];
  for (const [p, r, bg, what] of steps) {
    const { d } = both(p, r, 6, bg, 'identity');
    t.ok(d < 1e-12, `${what}: equals interventionalRange (${d.toExponential(1)})`);
  }
  t.same(Array.from(both(pa, ra, 6, bgA1, 'identity').wasm), Array.from(first), 'same values as the first call');
  t.end();
});

t.test('backgroundDirectionsWasm routes as backgroundDirections', (t) => {
  for (const [name, model] of [...models, ['random', randomEnsemble(5, { nFeatures: 6, nOutputs: 2, valueWidth: 'all', nTrees: 4, maxDepth: 8 })] as [string, TreeEnsemble]]) {
    const prep = prepareEnsemble(model);
    for (const nBg of [1, 64, 130]) {
      const bgRows = rowsFor(model, nBg, 9 + nBg);
      const ts = backgroundDirections(prep, bgRows, nBg);
      const wasm = backgroundDirectionsWasm(prep, bgRows, nBg);
      let same = ts.length === wasm.length;
      for (let i = 0; same && i < ts.length; i++) same = ts[i] === wasm[i];
      if (!same) t.fail(`${name}, ${nBg} rows: routing differs`);
      const margins = new Float64Array(nBg * prep.nOutputs);
      marginsFromDirections(prep, wasm, nBg, margins);
      // The kernel kept the bitsets it built: explaining with this routing must not need them rebuilt.
      const { d } = both(prep, rowsFor(model, 5, 3), 5, { nBackground: nBg, dirs: wasm, margins }, 'identity');
      if (!(d < 1e-12)) t.fail(`${name}, ${nBg} rows: values differ (${d})`);
    }
  }
  t.pass('same routing bytes and values on every model');
  t.end();
});

t.test('what the kernel does not cover', (t) => {
  const m = randomEnsemble(3, { nFeatures: 3, nOutputs: 1, valueWidth: 1, nTrees: 2, maxDepth: 4 });
  const prep = prepareEnsemble(m);
  t.notOk(interventionalWasmSupports(prep, 0), 'no background');
  t.notOk(interventionalWasmSupports(prep, MAX_BACKGROUND + 1), 'more than MAX_BACKGROUND rows');
  t.notOk(interventionalWasmSupports(prep, 2.5), 'a fractional count');
  t.ok(interventionalWasmSupports(prep, MAX_BACKGROUND), 'MAX_BACKGROUND rows');
  // A chain 300 splits deep: past the kernel's depth limit.
  const depth = 300;
  const nNodes = 2 * depth + 1;
  const left = new Int32Array(nNodes).fill(-1);
  const right = new Int32Array(nNodes).fill(-1);
  for (let i = 0; i < depth; i++) {
    left[2 * i] = 2 * i + 1;
    right[2 * i] = 2 * i + 2;
  }
  const deep: TreeEnsemble = {
    ...m,
    nTrees: 1,
    treeOffsets: Int32Array.from([0, nNodes]),
    treeOutput: Int32Array.from([0]),
    treeDepth: Int32Array.from([depth]),
    left,
    right,
    feature: new Int32Array(nNodes).map((_, i) => (left[i] >= 0 ? i % 3 : -1)),
    threshold: new Float64Array(nNodes).map((_, i) => i / 100),
    decision: new Uint8Array(nNodes),
    defaultLeft: new Uint8Array(nNodes),
    missing: new Uint8Array(nNodes).fill(1),
    catStart: new Int32Array(nNodes),
    catLen: new Int32Array(nNodes),
    catBits: new Uint32Array(0),
    value: new Float64Array(nNodes).map((_, i) => i),
    cover: new Float64Array(nNodes).fill(1),
  };
  t.notOk(interventionalWasmSupports(prepareEnsemble(deep), 10), 'a tree 300 splits deep');
  t.end();
});
