import t from 'tap';
import fc from 'fast-check';
import { treeShapInteractions, treeShapInterventional, treeShapPathDependent } from '../src/tree/tree-shap.js';
import { PATH_KERNELS, pathDependentBy } from './oracles/fast-v2.js';
import {
  bruteInteractions,
  bruteShapley,
  interventionalValue,
  pathValue,
  predictRawRef,
  randomEnsemble,
  randomRows,
  type RandomTreeOptions,
} from './tree-helpers.js';

const TOL = 1e-9;

const optionsArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nFeatures: fc.integer({ min: 1, max: 5 }),
  nOutputs: fc.integer({ min: 1, max: 3 }),
  wide: fc.boolean(),
  nTrees: fc.integer({ min: 1, max: 4 }),
  maxDepth: fc.integer({ min: 0, max: 5 }),
  average: fc.boolean(),
  zeroCover: fc.constantFrom(0, 0.15),
  numericOnly: fc.boolean(),
});

type Opts = typeof optionsArb extends fc.Arbitrary<infer T> ? T : never;

function build(o: Opts) {
  const opts: RandomTreeOptions = {
    nFeatures: o.nFeatures,
    nOutputs: o.nOutputs,
    valueWidth: o.wide ? 'all' : 1,
    nTrees: o.nTrees,
    maxDepth: o.maxDepth,
    aggregate: o.average ? 'average' : 'sum',
    zeroCover: o.zeroCover,
    numericOnly: o.numericOnly,
  };
  return randomEnsemble(o.seed, opts);
}

function maxDiff3(flat: Float64Array, rowOff: number, ref: number[][], nOut: number): number {
  let d = 0;
  for (let f = 0; f < ref.length; f++) for (let k = 0; k < nOut; k++) d = Math.max(d, Math.abs(flat[rowOff + f * nOut + k]! - ref[f]![k]!));
  return d;
}

for (const algorithm of PATH_KERNELS) {
  t.test(`path-dependent (${algorithm}) equals brute force over all subsets`, async (t) => {
    fc.assert(
      fc.property(optionsArb, (o) => {
        const m = build(o);
        const nRows = 3;
        const rows = randomRows(o.seed, nRows, m.nFeatures);
        const res = pathDependentBy(algorithm, m, rows, nRows);
        const ev = pathValue(m, [], 0);
        for (let k = 0; k < m.nOutputs; k++) if (Math.abs(ev[k]! - res.expectedValue[k]!) > TOL) return false;
        for (let r = 0; r < nRows; r++) {
          const x = rows.subarray(r * m.nFeatures, (r + 1) * m.nFeatures);
          const ref = bruteShapley(m.nFeatures, m.nOutputs, (S) => pathValue(m, x, S));
          if (maxDiff3(res.values, r * m.nFeatures * m.nOutputs, ref, m.nOutputs) > TOL) return false;
          // additivity against an independent prediction
          const p = predictRawRef(m, x);
          for (let k = 0; k < m.nOutputs; k++) {
            let s = res.expectedValue[k]!;
            for (let f = 0; f < m.nFeatures; f++) s += res.values[(r * m.nFeatures + f) * m.nOutputs + k]!;
            if (Math.abs(s - p[k]!) > TOL) return false;
          }
        }
        return true;
      }),
      { numRuns: 150 },
    );
    t.pass('ok');
  });
}

for (const algorithm of ['auto', 'recursion'] as const) {
  t.test(`interventional (${algorithm}) equals brute force mean over background of f(x_S, z_notS)`, async (t) => {
    fc.assert(
      fc.property(optionsArb, fc.integer({ min: 1, max: 4 }), (o, nBg) => {
        const m = build(o);
        const nRows = 2;
        const rows = randomRows(o.seed, nRows, m.nFeatures);
        const bgFlat = randomRows(o.seed + 7, nBg, m.nFeatures);
        const bg = Array.from({ length: nBg }, (_, b) => Array.from(bgFlat.subarray(b * m.nFeatures, (b + 1) * m.nFeatures)));
        const res = treeShapInterventional(m, rows, nRows, bgFlat, nBg, { algorithm });
        const ev = interventionalValue(m, [], bg, 0);
        for (let k = 0; k < m.nOutputs; k++) if (Math.abs(ev[k]! - res.expectedValue[k]!) > TOL) return false;
        for (let r = 0; r < nRows; r++) {
          const x = rows.subarray(r * m.nFeatures, (r + 1) * m.nFeatures);
          const ref = bruteShapley(m.nFeatures, m.nOutputs, (S) => interventionalValue(m, x, bg, S));
          if (maxDiff3(res.values, r * m.nFeatures * m.nOutputs, ref, m.nOutputs) > TOL) return false;
        }
        return true;
      }),
      { numRuns: 150 },
    );
    t.pass('ok');
  });
}

t.test('path-dependent interactions equal the brute-force Shapley interaction index', async (t) => {
  fc.assert(
    fc.property(optionsArb, (o) => {
      const m = build(o);
      const nRows = 2;
      const rows = randomRows(o.seed, nRows, m.nFeatures);
      const res = treeShapInteractions(m, rows, nRows);
      const nF = m.nFeatures;
      const nO = m.nOutputs;
      for (let r = 0; r < nRows; r++) {
        const x = rows.subarray(r * nF, (r + 1) * nF);
        const ref = bruteInteractions(nF, nO, (S) => pathValue(m, x, S));
        for (let i = 0; i < nF; i++)
          for (let j = 0; j < nF; j++)
            for (let k = 0; k < nO; k++) {
              const got = res.values[((r * nF + i) * nF + j) * nO + k]!;
              if (Math.abs(got - ref[i]![j]![k]!) > TOL) return false;
            }
      }
      return true;
    }),
    { numRuns: 100 },
  );
  t.pass('ok');
});

t.test('path-dependent (quadrature) stays exact on deep trees with many distinct and repeated features', async (t) => {
  const deepArb = fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    nFeatures: fc.integer({ min: 6, max: 9 }),
    nOutputs: fc.integer({ min: 1, max: 2 }),
    wide: fc.boolean(),
    nTrees: fc.integer({ min: 1, max: 2 }),
    maxDepth: fc.integer({ min: 6, max: 11 }),
    average: fc.constant(false),
    zeroCover: fc.constantFrom(0, 0.15),
    numericOnly: fc.boolean(),
  });
  fc.assert(
    fc.property(deepArb, (o) => {
      const m = build(o);
      const rows = randomRows(o.seed, 2, m.nFeatures);
      const res = treeShapPathDependent(m, rows, 2, { algorithm: 'quadrature' });
      const classic = treeShapPathDependent(m, rows, 2, { algorithm: 'classic' });
      for (let r = 0; r < 2; r++) {
        const x = rows.subarray(r * m.nFeatures, (r + 1) * m.nFeatures);
        const ref = bruteShapley(m.nFeatures, m.nOutputs, (S) => pathValue(m, x, S));
        if (maxDiff3(res.values, r * m.nFeatures * m.nOutputs, ref, m.nOutputs) > TOL) return false;
      }
      for (let i = 0; i < res.values.length; i++) if (Math.abs(res.values[i]! - classic.values[i]!) > TOL) return false;
      return true;
    }),
    { numRuns: 40 },
  );
  t.pass('ok');
});
