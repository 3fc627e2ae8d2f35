// Split gains in the tree IR: XGBoost's loss_changes and LightGBM's split_gain, node for node, read back from the
// files independently of the parsers; ONNX-ML carries none.
import t from 'tap';
import { loadLightGBMModel, loadOnnxTreeEnsemble, loadXGBoostModel, type TreeEnsemble } from '../src/index.js';
import { readFixture, readFixtureText } from '../../../tools/fixtures.js';

/** Gains of the split nodes in file order (tree by tree, node ids as the file numbers them). */
function irSplitGains(m: TreeEnsemble): number[] {
  const out: number[] = [];
  for (let i = 0; i < m.left.length; i++) if (m.left[i]! >= 0) out.push(m.gain![i]!);
  return out;
}

t.test('XGBoost JSON: gain = loss_changes of every split node (float32), NaN at leaves', async (t) => {
  const bytes = readFixture('models', 'xgboost', 'ankane-regression', 'model.json');
  const m = loadXGBoostModel(bytes);
  t.ok(m.gain instanceof Float64Array, 'the ensemble carries gains');
  const json = JSON.parse(new TextDecoder().decode(bytes)) as { learner: { gradient_booster: { model: { trees: { left_children: number[]; loss_changes: number[] }[] } } } };
  const want: number[] = [];
  for (const tree of json.learner.gradient_booster.model.trees) tree.left_children.forEach((l, i) => l !== -1 && want.push(Math.fround(tree.loss_changes[i]!)));
  // The IR keeps reachable nodes in pre-order; compare as multisets per model.
  t.same(irSplitGains(m).sort((a, b) => a - b), want.sort((a, b) => a - b));
  let leavesNaN = true;
  for (let i = 0; i < m.left.length; i++) if (m.left[i]! < 0 && !Number.isNaN(m.gain![i]!)) leavesNaN = false;
  t.ok(leavesNaN, 'leaves have no gain');
});

t.test('LightGBM text: gain = split_gain of every split node', async (t) => {
  const text = readFixtureText('models', 'lightgbm', 'ankane', 'model.txt');
  const m = loadLightGBMModel(text);
  t.ok(m.gain instanceof Float64Array);
  const want = [...text.matchAll(/^split_gain=(.*)$/gm)].flatMap((x) => x[1]!.trim().split(/\s+/).map(Number));
  t.same(irSplitGains(m).sort((a, b) => a - b), want.sort((a, b) => a - b));
});

t.test('ONNX-ML stores no gains', async (t) => {
  const m = loadOnnxTreeEnsemble(readFixture('models', 'onnx-trees', 'onnxmltools_xgboost_regressor.onnx'));
  t.equal(m.gain, undefined);
});
