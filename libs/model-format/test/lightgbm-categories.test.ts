/**
 * LightGBM's `pandas_categorical` trailer -> featureCategories, and category names routed by encodeRows exactly as
 * their codes. No fixture has a categorical *split* together with the trailer (ankane/categorical.txt has the
 * trailer but never splits on its categorical column), so this test writes a small LightGBM text model by hand, in
 * LightGBM's v4 text format: one categorical split (decision_type 9 = categorical, missing type NaN) whose
 * cat_threshold bitset 5 sends categories 0 and 2 left, then a numeric split.
 */
import t from 'tap';
import { encodeRows, loadLightGBMModel, loadTreeModel, predict, predictRaw } from '../src/index.js';
import { readFixtureText, readNumericCsv } from '../../../tools/fixtures.js';

const MODEL = `tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=2
objective=regression
feature_names=colour size shape
feature_infos=0:1:2 [0:10] 0:1
tree_sizes=400

Tree=0
num_leaves=3
num_cat=1
split_feature=0 1
split_gain=1 1
threshold=0 4.5000000000000009
decision_type=9 2
left_child=-1 -2
right_child=1 -3
leaf_value=10 20 30
leaf_weight=5 5 5
leaf_count=5 5 5
internal_value=20 25
internal_weight=15 10
internal_count=15 10
cat_boundaries=0 1
cat_threshold=5
is_linear=0
shrinkage=1


end of trees

feature_importances:
colour=1
size=1

parameters:
[boosting: gbdt]
[objective: regression]
end of parameters

pandas_categorical:[["red", "green", "blue"], [1, 2]]
`;

t.test('a hand-written LightGBM model: pandas_categorical names route as their codes', async (t) => {
  const model = loadLightGBMModel(MODEL);
  t.same(model.featureTypes, ['categorical', 'float', 'categorical']);
  t.same(model.featureCategories, [['red', 'green', 'blue'], undefined, ['1', '2']], 'lists go to the categorical features in order');
  const byName = encodeRows(model, [
    ['red', 3, 1],
    ['green', 3, 1],
    ['green', 7, 2],
    { colour: 'blue', size: 9, shape: 2 },
    [null, 1, null],
  ]);
  const byCode = encodeRows(model, [
    [0, 3, 1],
    [1, 3, 1],
    [1, 7, 2],
    [2, 9, 2],
    [NaN, 1, NaN],
  ]);
  t.same(Array.from(byName), Array.from(byCode), 'names and codes encode alike ("1" of [1, 2] is code 0)');
  t.same(Array.from(byName).filter((_, i) => i % 3 === 2), [0, 0, 1, 1, NaN], 'numeric categories look up by value');
  // red, blue in the bitset -> left leaf 10; green -> size <= 4.5 ? 20 : 30; missing colour (NaN type) -> right.
  t.same(Array.from(predict(model, byName, 5)), [10, 20, 30, 10, 20]);
  t.throws(() => encodeRows(model, [['purple', 3, 1]]), { code: 'INVALID_INPUT', message: /row 0, feature "colour": "purple" .*"red", "green", "blue"/ });
  // One list per pandas category column: when the counts disagree the columns cannot be matched, so no names.
  const unmatched = loadLightGBMModel(MODEL.replace('[["red", "green", "blue"], [1, 2]]', '[["red", "green", "blue"]]'));
  t.equal(unmatched.featureCategories, undefined);
  t.equal(loadLightGBMModel(MODEL.replace(/pandas_categorical:.*/, 'pandas_categorical:null')).featureCategories, undefined);
  t.throws(() => loadLightGBMModel(MODEL.replace(/pandas_categorical:.*/, 'pandas_categorical:[["a",')), { code: 'INVALID_MODEL', message: /pandas_categorical/ });
});

t.test('ankane/categorical.txt: the pandas_categorical names of x3 encode to the codes the model was trained on', async (t) => {
  const text = readFixtureText('models', 'lightgbm', 'ankane', 'categorical.txt');
  const model = loadTreeModel(new TextEncoder().encode(text));
  t.same(
    model.featureCategories,
    [undefined, undefined, undefined, Array.from({ length: 10 }, (_, i) => `cat${i}`)],
  );
  // data.csv holds x3 as the digit; the model was trained on 'cat' + digit (pandas codes = the digit).
  const rows = readNumericCsv('models', 'lightgbm', 'ankane', 'data.csv').rows.map((r) => r.slice(0, 4));
  const named = encodeRows(model, rows.map(([a, b, c, d]) => ({ x0: a!, x1: b!, x2: c!, x3: `cat${d}` })));
  const coded = Float64Array.from(rows.flat());
  t.same(Array.from(named), Array.from(coded));
  t.same(Array.from(predictRaw(model, named, rows.length)), Array.from(predictRaw(model, coded, rows.length)));
});
