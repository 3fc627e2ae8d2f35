/**
 * The WebAssembly quadrature kernel (algorithm 'quadrature') against the TypeScript one ('quadrature-js') and the
 * classic recursion: every batch shape (1 row, odd counts that need a padding lane, exactly one full batch, one
 * more), models switched back and forth inside one instance, NaN and categorical routing, multi-output boosting;
 * and its interaction values (conditioned passes) against the classic recursion's.
 */
import t from 'tap';
import { withCovers, type TreeEnsemble } from '@genome/model-format';
import { treeShapInteractions, treeShapPathDependent } from '../src/tree/tree-shap.js';
import { prepareEnsemble } from '../src/tree/prepared.js';
import { quadratureWasmInteractionsSupports, quadratureWasmSupports } from '../src/tree/quadrature-wasm.js';
import { kernelFixtureModels, maxRelDiff, randomEnsemble, rowsAroundSplits as rowsFor } from './tree-helpers.js';

// Path-dependent TreeSHAP needs covers: models without them get covers from rows around their splits.
const models = kernelFixtureModels().map(([name, m]): [string, TreeEnsemble] => [name, m.hasCovers ? m : withCovers(m, rowsFor(m, 300, 7), 300)]);

for (const [name, model] of models) {
  t.test(name, (t) => {
    t.ok(quadratureWasmSupports(prepareEnsemble(model)), `the WebAssembly kernel covers this model (${model.valueWidth} values per node)`);
    for (const n of [1, 2, 3, 63, 64, 65, 129]) {
      const rows = rowsFor(model, n, n);
      const wasm = treeShapPathDependent(model, rows, n, { algorithm: 'quadrature' }).values;
      const js = treeShapPathDependent(model, rows, n, { algorithm: 'quadrature-js' }).values;
      const classic = treeShapPathDependent(model, rows, n, { algorithm: 'classic' }).values;
      t.ok(maxRelDiff(wasm, js) < 1e-12, `${n} rows: equals the TypeScript kernel (${maxRelDiff(wasm, js).toExponential(1)})`);
      t.ok(maxRelDiff(wasm, classic) < 1e-12, `${n} rows: equals the classic recursion (${maxRelDiff(wasm, classic).toExponential(1)})`);
    }
    t.end();
  });
}

t.test('switching models inside one kernel instance reloads them', (t) => {
  const [a, b] = [models[0][1], models[1][1]];
  const ra = rowsFor(a, 5, 1);
  const rb = rowsFor(b, 5, 2);
  const first = treeShapPathDependent(a, ra, 5).values;
  treeShapPathDependent(b, rb, 5);
  const again = treeShapPathDependent(a, ra, 5).values;
  t.same(Array.from(again), Array.from(first), 'same values after another model ran');
  t.end();
});

t.test('random ensembles with every split rule, zero covers, deep trees, one or three values per node', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const m = randomEnsemble(seed, {
      nFeatures: 7,
      nOutputs: seed % 2 ? 2 : 3,
      valueWidth: seed % 2 ? 1 : 'all',
      nTrees: 4,
      maxDepth: 3 + (seed % 12),
      zeroCover: 0.2,
    });
    const rows = rowsFor(m, 37, seed);
    const wasm = treeShapPathDependent(m, rows, 37, { algorithm: 'quadrature' }).values;
    const classic = treeShapPathDependent(m, rows, 37, { algorithm: 'classic' }).values;
    if (!(maxRelDiff(wasm, classic) < 1e-11)) t.fail(`seed ${seed}: ${maxRelDiff(wasm, classic)}`);
  }
  t.pass('30 random ensembles match the classic recursion');
  t.end();
});

t.test('interaction values equal the classic recursion', (t) => {
  for (const [name, model] of models) {
    t.ok(quadratureWasmInteractionsSupports(prepareEnsemble(model)), `${name}: covered`);
    for (const n of [1, 3, 66]) {
      const rows = rowsFor(model, n, 100 + n);
      const wasm = treeShapInteractions(model, rows, n).values;
      const classic = treeShapInteractions(model, rows, n, { algorithm: 'classic' }).values;
      t.ok(maxRelDiff(wasm, classic) < 1e-12, `${name}, ${n} rows: ${maxRelDiff(wasm, classic).toExponential(1)}`);
    }
  }
  for (let seed = 1; seed <= 20; seed++) {
    const m = randomEnsemble(seed, {
      nFeatures: 6,
      nOutputs: seed % 2 ? 2 : 3,
      valueWidth: seed % 2 ? 1 : 'all',
      nTrees: 3,
      maxDepth: 3 + (seed % 8),
      zeroCover: 0.2,
    });
    const rows = rowsFor(m, 9, seed);
    const d = maxRelDiff(treeShapInteractions(m, rows, 9).values, treeShapInteractions(m, rows, 9, { algorithm: 'classic' }).values);
    if (!(d < 1e-11)) t.fail(`random ensemble ${seed}: ${d}`);
  }
  t.pass('20 random ensembles match');
  t.end();
});
