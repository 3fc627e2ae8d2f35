import t from 'tap';
import fc from 'fast-check';
import { decodeOnnxModel, decodeUbjson, loadLightGBMModel, loadOnnxTreeEnsemble, loadTreeModel, loadXGBoostModel, ModelFormatError, predictRaw } from '../src/index.js';
import { readFixture } from '../../../tools/fixtures.js';
import { encodeUbjson } from './ubjson-encode.js';
import { parseLenientJson } from '../src/xgboost/json.js';

const RUNS = 150;

/** The call must either succeed (and then predict finitely-shaped output) or throw a ModelFormatError. */
function safely(fn: () => unknown): boolean {
  try {
    const m = fn() as { nFeatures?: number; nTrees?: number } | undefined;
    if (m && typeof m.nTrees === 'number') predictRaw(m as never, new Float64Array(m.nFeatures!).fill(Number.NaN), 1);
    return true;
  } catch (e) {
    if (e instanceof ModelFormatError) return true;
    throw e;
  }
}

const files: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
  ['onnx tree', readFixture('models', 'onnx-trees', 'skl2onnx_treecl3.onnx'), (b) => loadOnnxTreeEnsemble(b)],
  ['onnx opset5', readFixture('models', 'onnx-trees', 'opset5-tree-ensemble', 'set_membership', 'model.onnx'), (b) => loadOnnxTreeEnsemble(b)],
  ['onnx cnn decode', readFixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx'), (b) => decodeOnnxModel(b)],
  ['xgboost json', readFixture('models', 'xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical_model.json'), (b) => loadXGBoostModel(b)],
  ['xgboost ubjson', encodeUbjson(parseLenientJson(readFixture('models', 'xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical_model.json').toString())), (b) => loadXGBoostModel(b)],
  ['lightgbm', readFixture('models', 'lightgbm', 'lleaves', 'mixed_categorical.model.txt'), (b) => loadLightGBMModel(b)],
  ['sniffing loader', readFixture('models', 'lightgbm', 'ankane', 'categorical.txt'), (b) => loadTreeModel(b)],
];

for (const [name, bytes, load] of files) {
  t.test(`fuzz ${name}`, async (t) => {
    t.ok(safely(() => load(bytes)), 'the valid file loads');
    fc.assert(fc.property(fc.nat(bytes.length), (n) => safely(() => load(bytes.subarray(0, n)))), { numRuns: RUNS });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const b = Uint8Array.from(bytes);
        for (const [i, v] of edits) b[i] = v;
        return safely(() => load(b));
      }),
      { numRuns: RUNS },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => safely(() => load(b))), { numRuns: RUNS });
  });
}

t.test('hostile sizes: huge declared lengths and counts are rejected quickly', async (t) => {
  // protobuf: graph field with a 2^31-1 length
  const huge = Uint8Array.from([0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00]);
  t.throws(() => decodeOnnxModel(huge), { code: 'INVALID_MODEL' });
  // UBJSON: typed float array claiming 2^62 elements
  const ubj = Uint8Array.from([0x5b, 0x24, 0x64, 0x23, 0x4c, 0x40, 0, 0, 0, 0, 0, 0, 0]);
  t.throws(() => decodeUbjson(ubj), { code: 'INVALID_MODEL' });
  // UBJSON: deep nesting
  t.throws(() => decodeUbjson(new Uint8Array(10000).fill(0x5b)), { code: 'INVALID_MODEL' });
  // LightGBM: num_leaves in the billions
  t.throws(() => loadLightGBMModel('tree\nmax_feature_idx=1\n\nTree=0\nnum_leaves=2000000000\n'), { code: 'INVALID_MODEL' });
});

t.test('child-pointer cycles and out-of-range features in random XGBoost trees', async (t) => {
  const base = parseLenientJson(readFixture('models', 'xgboost', 'xgboost-1.0-compat', 'xgboost-1.0.0-SNAPSHOT.reg.json').toString()) as any;
  fc.assert(
    fc.property(fc.nat(6), fc.integer({ min: -2, max: 8 }), fc.boolean(), fc.integer({ min: -1, max: 10 }), (node, child, isLeft, feat) => {
      const m = structuredClone(base);
      const tr = m.learner.gradient_booster.model.trees[0];
      (isLeft ? tr.left_children : tr.right_children)[node] = child;
      tr.split_indices[node] = feat;
      return safely(() => loadXGBoostModel(m));
    }),
    { numRuns: RUNS },
  );
});

t.test('a cycle in ONNX tree child pointers is a typed error, not a stack overflow (fuzz counterexample)', async (t) => {
  // One byte of skl2onnx_treecl3.onnx set to 0 makes node 104 its own descendant (found by the edit property above).
  const b = Uint8Array.from(readFixture('models', 'onnx-trees', 'skl2onnx_treecl3.onnx'));
  b[7110] = 0;
  t.throws(() => loadOnnxTreeEnsemble(b), { code: 'INVALID_MODEL', message: /form a cycle/ });
});
