/**
 * Model-internals charts on real fixture models: linear coefficients (ONNX LinearClassifier / LinearRegressor and a
 * MatMul+Add+Sigmoid graph), tree diagrams (XGBoost JSON/UBJSON with category names, LightGBM text, ONNX-ML trees) with
 * the path of a row checked against model-format's own prediction, and ensemble summaries checked against counts
 * taken independently from the IR arrays.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import t from 'tap';
import {
  Decision,
  encodeRows,
  loadOnnxLinearModel,
  loadTreeModel,
  predictLeaves,
  predictRaw,
  type RawCell,
  type TreeEnsemble,
} from '@genome/model-format';
import { coefficientsSvg, ensembleSummary, ensembleSvg, treeRowPath, treeSvg } from '../src/internals/index.js';
import { pngPixels, svgToPng } from '../src/core/png.js';
import { escapeXml } from '../src/core/svg.js';
import { VizError } from '../src/errors.js';
import { readFixture, readFixtureText } from '../../../tools/fixtures.js';
import { buildModel } from '../../../tools/onnx-build.js';

type T = Pick<typeof t, 'ok' | 'equal' | 'fail' | 'match' | 'same' | 'notMatch'>;
const OUT = '/tmp/viz-internals';
mkdirSync(OUT, { recursive: true });

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Tag balance and attribute syntax of an SVG document (no XML dependency): every open tag closed in order. */
function wellFormed(svg: string): string | null {
  if (!svg.startsWith('<svg ')) return 'does not start with <svg';
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) {
    const between = svg.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) return `stray markup before offset ${m.index}: ${between.slice(0, 60)}`;
    if (/&(?!(amp|lt|gt|quot|#39);)/.test(between)) return `unescaped & in text near ${m.index}`;
    last = re.lastIndex;
    const [, close, tag, , self] = m;
    if (close) {
      if (stack.pop() !== tag) return `</${tag}> closes the wrong element at ${m.index}`;
    } else if (!self) stack.push(tag!);
  }
  if (last !== svg.length) return `trailing text after the last tag: ${svg.slice(last, last + 60)}`;
  return stack.length === 0 ? null : `unclosed: ${stack.join(' > ')}`;
}

const countClass = (svg: string, cls: string) => svg.split(`class="${cls}"`).length - 1;

/** Attributes of every element whose class is exactly `cls`. */
function elements(svg: string, cls: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(/<\w+((?:\s+[\w:-]+="[^"]*")*)\s*\/?>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if (attrs.class === cls) out.push(attrs);
  }
  return out;
}

/** Bars (rect class="bar") of one series, with their attributes. */
function bars(svg: string, series: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(/<rect ([^>]*class="bar"[^>]*)\/>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if (attrs['data-series'] === series) out.push(attrs);
  }
  return out;
}

const written = new Set<string>();
/** Rasterises the chart, checks it is not blank and writes it once to /tmp/viz-internals/<name>.png. */
async function checkPng(t: T, name: string, svg: string): Promise<void> {
  const png = await svgToPng(svg);
  const { width, height, pixels } = await pngPixels(png.png);
  t.ok(width > 100 && height > 100, `${name}: ${width} x ${height} px`);
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i]! < 200 || pixels[i + 1]! < 200 || pixels[i + 2]! < 200) ink++;
    if (colours.size < 64) colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
  }
  t.ok(ink > (width * height) / 400, `${name}: not blank (${ink} dark pixels)`);
  t.ok(colours.size > 3, `${name}: more than a few colours`);
  if (!written.has(name)) {
    written.add(name);
    writeFileSync(`${OUT}/${name}.png`, png.png);
  }
}

function throwsViz(t: T, fn: () => unknown, code: string, pattern: RegExp, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (e) {
    t.ok(e instanceof VizError, `${what}: a VizError (${(e as Error).name})`);
    t.equal((e as VizError).code, code, `${what}: code ${code}`);
    t.match((e as Error).message, pattern, `${what}: message`);
  }
}

/** Node ids of tree `t` in the IR (global ids), and its internal / leaf counts. */
function treeNodes(m: TreeEnsemble, tree: number): { nodes: number; internal: number; leaves: number } {
  let internal = 0;
  let leaves = 0;
  for (let n = m.treeOffsets[tree]!; n < m.treeOffsets[tree + 1]!; n++) {
    if (m.left[n]! >= 0) internal++;
    else leaves++;
  }
  return { nodes: internal + leaves, internal, leaves };
}

/** What model-format's prediction gives for tree `tree` and encoded row `x`: the value of the leaf predictLeaves reports. */
function treeValue(m: TreeEnsemble, x: Float64Array, tree: number): number[] {
  const leaf = predictLeaves(m, x, 1)[tree]!;
  return Array.from(m.value.subarray(leaf * m.valueWidth, (leaf + 1) * m.valueWidth));
}

/** Checks the highlighted path of `row` in every tree (up to `maxTrees`) against model-format's prediction. */
function checkPaths(t: T, m: TreeEnsemble, row: readonly RawCell[] | Record<string, RawCell>, what: string, maxTrees = Infinity): void {
  const x = encodeRows(m, [row]);
  const raw = predictRaw(m, x, 1);
  const sums = new Float64Array(m.nOutputs);
  let mismatches = 0;
  let badPaths = 0;
  const nTrees = Math.min(m.nTrees, maxTrees);
  for (let tree = 0; tree < nTrees; tree++) {
    const svg = treeSvg(m, { tree, row, maxDepth: 3 });
    const leaf = elements(svg, 'path-leaf');
    if (leaf.length !== 1) {
      mismatches++;
      continue;
    }
    const shown = leaf[0]!['data-value']!.split(',').map(Number);
    const expected = treeValue(m, x, tree);
    if (shown.length !== expected.length || shown.some((v, i) => v !== expected[i])) mismatches++;
    if (m.valueWidth === 1) sums[m.treeOutput[tree]!]! += shown[0]!;
    else shown.forEach((v, k) => (sums[k]! += v));
    // The highlighted edges run from the root to that leaf, one per step, as treeRowPath reports it.
    const p = treeRowPath(m, tree, row);
    const edges = elements(svg, 'path').map((e) => [Number(e['data-from']), Number(e['data-to'])]);
    const want = p.nodes.slice(1).map((n, i) => [p.nodes[i]!, n]);
    if (JSON.stringify(edges) !== JSON.stringify(want) || Number(leaf[0]!['data-node']) !== p.leaf || p.nodes[0] !== m.treeOffsets[tree]) badPaths++;
    if (wellFormed(svg) !== null) t.fail(`${what}, tree ${tree}: ${wellFormed(svg)}`);
  }
  t.equal(mismatches, 0, `${what}: the highlighted leaf's value equals model-format's leaf value in each of ${nTrees} trees`);
  t.equal(badPaths, 0, `${what}: highlighted edges run root -> leaf along treeRowPath`);
  if (nTrees === m.nTrees && (m.aggregate === 'sum' || m.aggregate === 'average')) {
    const div = m.aggregate === 'average' ? m.nTrees / (m.valueWidth === 1 ? m.nOutputs : 1) : 1;
    for (let k = 0; k < m.nOutputs; k++) {
      const total = sums[k]! / div + m.baseScore[k]!;
      t.ok(Math.abs(total - raw[k]!) <= 1e-9 * Math.max(1, Math.abs(raw[k]!)), `${what}: highlighted leaves + base score = predictRaw (output ${k}: ${total} vs ${raw[k]})`);
    }
  }
}

const csvCell = (s: string): RawCell => {
  if (s === '') return null;
  if (s === 'TRUE') return 1;
  if (s === 'FALSE') return 0;
  const x = Number(s);
  return Number.isFinite(x) ? x : s;
};

/** Rows of a jpmml data set as objects keyed by the model's feature names. */
function jpmmlRows(m: TreeEnsemble, dataset: string, n: number): Record<string, RawCell>[] {
  const lines = readFixtureText('models', 'xgboost', 'jpmml-AGPL', `${dataset}.csv`).split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  return lines.slice(1, n + 1).map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(m.featureNames.map((name) => [name, csvCell(cells[header.indexOf(name)]!)]));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Coefficients

t.test('coefficients: ONNX LinearClassifier (iris, 3 classes, logistic)', async (t) => {
  const model = loadOnnxLinearModel(readFixture('models', 'onnx-trees', 'linear_classifier_logreg_iris.onnx'));
  const names = ['sepal length', 'sepal width', 'petal length', 'petal width'].slice(0, model.nFeatures);
  for (let k = 0; k < model.nOutputs; k++) {
    const svg = coefficientsSvg(model, { output: k, featureNames: names });
    t.equal(wellFormed(svg), null, `output ${k}: well-formed`);
    t.match(svg, /data-chart="coefficients"/);
    const b = bars(svg, 'coefficients');
    t.equal(b.length, model.nFeatures, `output ${k}: one bar per feature`);
    const F = model.nFeatures;
    for (const bar of b) {
      const f = Number(bar['data-index']);
      t.equal(Number(bar['data-value']), model.coefficients[k * F + f], `output ${k}: bar of ${names[f]} is its coefficient`);
      t.equal(bar['data-feature'], names[f]);
    }
    const mags = b.map((bar) => Math.abs(Number(bar['data-value'])));
    t.same(mags, [...mags].sort((a, c) => c - a), 'sorted by |coefficient|');
    for (const bar of b) t.equal(bar.fill, Number(bar['data-value']) >= 0 ? '#D55E00' : '#0072B2', 'signed colour');
    t.match(svg, 'logistic', 'link named');
    t.match(svg, /intercept [+−]\d/, 'intercept in the subtitle');
  }
  const byName = coefficientsSvg(model, { output: model.outputNames[1]! });
  t.equal(byName, coefficientsSvg(model, { output: 1 }), 'output by name');
  t.match(byName, '>x0<', 'default feature names');
  t.equal(coefficientsSvg(model), coefficientsSvg(model, { output: model.nOutputs - 1 }), 'default: the last output');
  throwsViz(t, () => coefficientsSvg(model, { output: 'no-such-class' }), 'INVALID_INPUT', /no-such-class.*outputs/, 'unknown output name');
  throwsViz(t, () => coefficientsSvg(model, { output: 3 }), 'INVALID_INPUT', /\[0, 2\]/, 'output index out of range');
  throwsViz(t, () => coefficientsSvg(model, { featureNames: ['a'] }), 'INVALID_INPUT', new RegExp(`${model.nFeatures} strings`), 'featureNames of the wrong length');
  throwsViz(t, () => coefficientsSvg(model, { maxDisplay: 0 }), 'INVALID_INPUT', /maxDisplay/, 'maxDisplay 0');
  throwsViz(t, () => coefficientsSvg({} as never), 'INVALID_INPUT', /LinearModel/, 'not a model');
  await checkPng(t, 'coefficients', coefficientsSvg(model, { output: 1, featureNames: names }));
});

t.test('coefficients: ONNX LinearRegressor (identity) and a 30-feature MatMul+Add+Sigmoid graph with maxDisplay', async (t) => {
  const reg = loadOnnxLinearModel(readFixture('models', 'onnx-trees', 'onnxmltools-1.3.1', 'SklearnLinearRegression-Dec4.model.onnx'));
  const svg = coefficientsSvg(reg);
  t.equal(wellFormed(svg), null);
  t.match(svg, 'identity');
  t.same(
    bars(svg, 'coefficients').map((b) => Number(b['data-value'])).sort((a, b) => a - b),
    Array.from(reg.coefficients).sort((a, b) => a - b),
    'every coefficient drawn',
  );

  const F = 30;
  const W = Float32Array.from({ length: F }, (_, i) => Math.fround((i % 2 ? -1 : 1) * (0.05 + ((i * 37) % 29) / 10)));
  const bytes = buildModel(
    [
      { op: 'MatMul', inputs: ['X', 'W'], outputs: ['z0'] },
      { op: 'Add', inputs: ['z0', 'B'], outputs: ['z'] },
      { op: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
    ],
    ['X', ['N', F]],
    ['p', ['N', 1]],
    [
      { name: 'W', dims: [F, 1], data: W },
      { name: 'B', dims: [1], data: Float32Array.from([-0.75]) },
    ],
  );
  const logit = loadOnnxLinearModel(bytes);
  t.equal(logit.link, 'logistic');
  const names = Array.from({ length: F }, (_, i) => `feature_${String(i).padStart(2, '0')}_with_a_long_name`);
  const chart = coefficientsSvg(logit, { maxDisplay: 12, featureNames: names });
  t.equal(wellFormed(chart), null);
  const b = bars(chart, 'coefficients');
  t.equal(b.length, 12, 'maxDisplay bars');
  const top = Array.from(W, (w, i) => [Math.abs(w), i] as const).sort((a, c) => c[0] - a[0] || a[1] - c[1]).slice(0, 12).map(([, i]) => i);
  t.same(b.map((x) => Number(x['data-index'])), top, 'the 12 largest |coefficients|, largest first');
  for (const x of b) t.equal(Number(x['data-value']), W[Number(x['data-index'])], 'bar = coefficient');
  t.match(chart, '18 other features', 'the rest counted');
  t.match(chart, 'intercept −0.75');
  await checkPng(t, 'coefficients-logistic', chart);
});

// ---------------------------------------------------------------------------------------------------------------
// Trees

t.test('tree: small XGBoost trees are drawn whole (node, leaf and edge counts equal the IR)', async (t) => {
  const iris = loadTreeModel(readFixture('models', 'xgboost', 'jpmml-AGPL', 'MultinomialClassificationIris.json'));
  let checked = 0;
  for (let tree = 0; tree < iris.nTrees; tree++) {
    const svg = treeSvg(iris, { tree });
    const c = treeNodes(iris, tree);
    if (wellFormed(svg) !== null) t.fail(`tree ${tree}: ${wellFormed(svg)}`);
    if (countClass(svg, 'node') !== c.internal || countClass(svg, 'leaf') !== c.leaves || countClass(svg, 'edge') !== c.nodes - 1 || countClass(svg, 'collapsed') !== 0) {
      t.fail(`tree ${tree}: ${countClass(svg, 'node')}/${countClass(svg, 'leaf')}/${countClass(svg, 'edge')} drawn, IR has ${c.internal}/${c.leaves}/${c.nodes - 1}`);
    }
    checked++;
  }
  t.equal(checked, iris.nTrees, `all ${iris.nTrees} trees drawn with the IR's counts`);
  const svg = treeSvg(iris, { tree: 4 });
  t.match(svg, /data-chart="tree"/);
  t.match(svg, /Petal\.(Length|Width) &lt; \d/, 'split label: feature name < threshold');
  t.match(svg, /(yes|no), missing/, 'XGBoost default direction on an edge label');
  t.match(svg, 'missing → ', 'and in the node');
  t.match(svg, /cover \d/, 'covers');
  for (const leaf of elements(svg, 'leaf')) t.ok(Number.isFinite(Number(leaf['data-value'])), 'leaf value');
  await checkPng(t, 'tree-iris', svg);

  const toy = loadTreeModel(readFixture('models', 'xgboost', 'treelite-toy-categorical', 'xgb_toy_categorical_model.json'));
  for (let tree = 0; tree < toy.nTrees; tree++) {
    const s = treeSvg(toy, { tree });
    const c = treeNodes(toy, tree);
    t.equal(wellFormed(s), null);
    t.same([countClass(s, 'node'), countClass(s, 'leaf'), countClass(s, 'edge')], [c.internal, c.leaves, c.nodes - 1], `toy categorical tree ${tree}: counts`);
  }
  t.match(treeSvg(toy, { tree: 0 }), /f\d ∈ \{\d/, 'categorical split without names shows codes');
});

t.test('tree: XGBoost with category names (jpmml Audit, JSON and UBJSON): labels and the path of real rows', async (t) => {
  for (const ext of ['json', 'ubj']) {
    const m = loadTreeModel(readFixture('models', 'xgboost', 'jpmml-AGPL', `BinomialClassificationAudit.${ext}`));
    t.ok(m.featureCategories, 'category names loaded');
    // A tree with a categorical split: its label lists category names from featureCategories.
    let catTree = -1;
    let catNode = -1;
    for (let n = 0; n < m.left.length && catTree < 0; n++) {
      if (m.left[n]! >= 0 && m.decision[n] === Decision.IN_SET) {
        catNode = n;
        for (let tree = 0; tree < m.nTrees; tree++) if (n >= m.treeOffsets[tree]! && n < m.treeOffsets[tree + 1]!) catTree = tree;
      }
    }
    t.ok(catTree >= 0, 'the model has categorical splits');
    const svg = treeSvg(m, { tree: catTree, maxDepth: 10 });
    t.equal(wellFormed(svg), null);
    const f = m.feature[catNode]!;
    const name = m.featureNames[f]!;
    const start = m.catStart[catNode]!;
    let firstCode = -1;
    for (let c = 0; c < 32 * m.catLen[catNode]! && firstCode < 0; c++) if ((m.catBits[start + (c >> 5)]! >>> (c & 31)) & 1) firstCode = c;
    const catName = m.featureCategories![f]![firstCode]!;
    t.match(svg, `${escapeXml(name)} ∈ {${escapeXml(catName)}`, `categorical split labelled with names: ${name} ∈ {${catName}, …}`);
    const c = treeNodes(m, catTree);
    t.same([countClass(svg, 'node'), countClass(svg, 'leaf'), countClass(svg, 'edge')], [c.internal, c.leaves, c.nodes - 1], 'whole tree drawn');
    if (ext === 'json') await checkPng(t, 'tree', treeSvg(m, { tree: catTree, row: jpmmlRows(m, 'Audit', 1)[0]! }));

    // Real rows (category names as text), a row with missing cells and an all-missing row, through every tree.
    const rows = jpmmlRows(m, 'Audit', 4);
    rows.push({ ...rows[0]!, Age: null, Employment: null, Income: null });
    rows.push(Object.fromEntries(m.featureNames.map((n) => [n, null])));
    for (const [i, row] of rows.entries()) checkPaths(t, m, row, `${ext} row ${i}`);
  }
});

t.test('tree: the path panel and marked leaf for a row with a missing value', async (t) => {
  const m = loadTreeModel(readFixture('models', 'xgboost', 'jpmml-AGPL', 'BinomialClassificationAudit.json'));
  const row = { ...jpmmlRows(m, 'Audit', 1)[0]!, Age: null };
  const svg = treeSvg(m, { tree: 0, row });
  t.equal(countClass(svg, 'path-leaf'), 1, 'one marked leaf');
  t.match(svg, 'Path of this row');
  const p = treeRowPath(m, 0, row);
  t.equal(countClass(svg, 'step'), p.nodes.length, 'one step per node on the path');
  t.equal(countClass(svg, 'path'), p.nodes.length - 1, 'one highlighted edge per step');
  t.match(svg, /stroke="#E69F00"/, 'highlight colour');
  if (m.featureNames.includes('Age') && p.nodes.some((n) => m.feature[n] === m.featureNames.indexOf('Age'))) t.match(svg, 'Age = missing');
  t.equal(wellFormed(svg), null);
});

t.test('tree: LightGBM (missing as zero / NaN, categorical bitsets with and without pandas names)', async (t) => {
  const reg = loadTreeModel(readFixture('models', 'lightgbm', 'ankane', 'model.txt'));
  t.ok(Array.from(reg.missing).includes(0), 'has Missing.AS_ZERO nodes');
  const rows: (number | null)[][] = [
    [1, 2, 3, 4],
    [null, 0.5, null, -1],
    [null, null, null, null],
    [0, 0, 0, 0],
    [-3, 7, 1e-36, 2],
  ];
  for (const [i, row] of rows.entries()) checkPaths(t, reg, row, `lightgbm regression row ${i}`);
  t.match(treeSvg(reg, { tree: 0 }), /missing as 0 → (yes|no)/, 'missing-as-zero nodes say so');

  const mixed = loadTreeModel(readFixture('models', 'lightgbm', 'lleaves', 'mixed_categorical.model.txt'));
  const catF = mixed.featureTypes.findIndex((ty) => ty === 'categorical');
  t.ok(catF >= 0, 'a categorical feature');
  for (const code of [0, 1, 2, 3, 5, 9, null]) {
    const row = Array.from({ length: mixed.nFeatures }, (_, f) => (f === catF ? code : mixed.featureTypes[f] === 'categorical' ? (code ?? 0) % 3 : f === 0 ? null : 0.3 * f));
    checkPaths(t, mixed, row, `mixed_categorical code ${code}`);
  }
  const svgMixed = treeSvg(mixed, { tree: 0, maxDepth: 10 });
  t.match(svgMixed, /∈ \{/, 'categorical split drawn');
  const c = treeNodes(mixed, 0);
  t.same([countClass(svgMixed, 'node'), countClass(svgMixed, 'leaf'), countClass(svgMixed, 'edge')], [c.internal, c.leaves, c.nodes - 1]);

  const named = loadTreeModel(readFixture('models', 'lightgbm', 'ankane', 'categorical.txt'));
  t.ok(named.featureCategories?.some((x) => x !== undefined), 'pandas category names');
  const catCol = named.featureCategories!.findIndex((x) => x !== undefined);
  for (const cat of [...named.featureCategories![catCol]!.slice(0, 4), null]) {
    const row = Array.from({ length: named.nFeatures }, (_, f): RawCell => (f === catCol ? cat : f + 0.5));
    checkPaths(t, named, row, `lightgbm categorical ${String(cat)}`);
  }
  const toy = loadTreeModel(readFixture('models', 'lightgbm', 'treelite-toy-categorical', 'toy_categorical_model.txt'));
  for (const row of [[1, 0], [5, null], [null, 2], [100, 3]]) checkPaths(t, toy, row, `lightgbm toy categorical ${JSON.stringify(row)}`);
  await checkPng(t, 'tree-lightgbm', treeSvg(reg, { tree: 3, row: rows[1]! }));
});

t.test('tree: ONNX-ML trees (value vectors, averaged forest, no covers)', async (t) => {
  const rf = loadTreeModel(readFixture('models', 'onnx-trees', 'skl2onnx_randomforest_iris.onnx'));
  t.equal(rf.valueWidth, 3);
  for (const row of [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [null, 3, null, 1]]) checkPaths(t, rf, row, `onnx forest ${JSON.stringify(row)}`);
  const svg = treeSvg(rf, { tree: 2, row: [6.7, 3.0, 5.2, 2.3] });
  t.equal(wellFormed(svg), null);
  t.match(svg, /leaf \[/, 'value vectors');
  t.notMatch(svg, /cover \d/, 'no covers drawn');
  t.match(svg, 'cover: not stored by this format');
  const leaf = elements(svg, 'path-leaf')[0]!;
  t.equal(leaf['data-value']!.split(',').length, 3);
  await checkPng(t, 'tree-onnx', svg);
  const xgbOnnx = loadTreeModel(readFixture('models', 'onnx-trees', 'onnxmltools_xgboost_regressor.onnx'));
  checkPaths(t, xgbOnnx, [1, 2, 3, 4], 'onnx xgboost regressor');
  checkPaths(t, xgbOnnx, [null, -2, 0.5, null], 'onnx xgboost regressor, missing');
});

t.test('tree: deep trees collapse below maxDepth, except the path of the row', async (t) => {
  const m = loadTreeModel(readFixture('models', 'lightgbm', 'ankane', 'model.txt'));
  // The deepest tree.
  let tree = 0;
  for (let i = 1; i < m.nTrees; i++) if (m.treeDepth[i]! > m.treeDepth[tree]!) tree = i;
  t.ok(m.treeDepth[tree]! >= 8, `tree ${tree} has depth ${m.treeDepth[tree]}`);
  const c = treeNodes(m, tree);
  const plain = treeSvg(m, { tree, maxDepth: 2 });
  t.equal(wellFormed(plain), null);
  const collapsed = elements(plain, 'collapsed');
  t.ok(collapsed.length > 0, 'collapsed boxes');
  const hidden = collapsed.reduce((s, e) => s + Number(e['data-hidden']), 0);
  t.equal(countClass(plain, 'node') + countClass(plain, 'leaf') + hidden, c.nodes, 'drawn + hidden = every node');
  t.match(plain, /… \d+ more nodes/);

  // A row reaching the deepest leaf: its path is drawn to the leaf although it is deeper than maxDepth.
  let deepLeaf = -1;
  const depthOf = (n: number): number => {
    let d = 0;
    for (let k = n; k !== m.treeOffsets[tree]; d++) {
      let parent = -1;
      for (let q = m.treeOffsets[tree]!; q < m.treeOffsets[tree + 1]!; q++) if (m.left[q] === k || m.right[q] === k) parent = q;
      k = parent;
    }
    return d;
  };
  const rows: number[][] = [];
  for (let i = 0; i < 400; i++) rows.push([Math.sin(i) * 4, Math.cos(i * 1.3) * 4, ((i * 7) % 13) - 6, ((i * 3) % 11) - 5]);
  const leaves = predictLeaves(m, Float64Array.from(rows.flat()), rows.length);
  let best = -1;
  for (let r = 0; r < rows.length; r++) {
    const d = depthOf(leaves[r * m.nTrees + tree]!);
    if (d > best) {
      best = d;
      deepLeaf = r;
    }
  }
  t.ok(best > 2, `a row reaches depth ${best}`);
  const svg = treeSvg(m, { tree, maxDepth: 2, row: rows[deepLeaf]! });
  t.equal(wellFormed(svg), null);
  t.equal(countClass(svg, 'path'), best, 'every edge of the path highlighted');
  t.equal(Number(elements(svg, 'path-leaf')[0]!['data-node']), leaves[deepLeaf * m.nTrees + tree], 'the leaf model-format reaches is marked');
  const hidden2 = elements(svg, 'collapsed').reduce((s, e) => s + Number(e['data-hidden']), 0);
  t.equal(countClass(svg, 'node') + countClass(svg, 'leaf') + hidden2, c.nodes, 'drawn + hidden = every node (with the path)');
  await checkPng(t, 'tree-collapsed', svg);
});

t.test('tree: at most ~2,000 boxes for a huge tree', async (t) => {
  // A complete tree of depth 13 (16,383 nodes) in the IR, splitting on x[d % 3] < 0 at depth d.
  const D = 13;
  const N = 2 ** (D + 1) - 1;
  const left = new Int32Array(N).fill(-1);
  const right = new Int32Array(N).fill(-1);
  const feature = new Int32Array(N).fill(-1);
  const threshold = new Float64Array(N);
  const value = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const d = Math.floor(Math.log2(n + 1));
    if (d < D) {
      left[n] = 2 * n + 1;
      right[n] = 2 * n + 2;
      feature[n] = d % 3;
    } else value[n] = n / N;
  }
  const m: TreeEnsemble = {
    nFeatures: 3,
    featureNames: ['a', 'b', 'c'],
    featureTypes: ['float', 'float', 'float'],
    nOutputs: 1,
    outputNames: ['y'],
    baseScore: new Float64Array(1),
    aggregate: 'sum',
    transform: 'identity',
    nTrees: 1,
    treeOffsets: Int32Array.from([0, N]),
    valueWidth: 1,
    treeOutput: new Int32Array(1),
    treeDepth: Int32Array.from([D]),
    left,
    right,
    feature,
    threshold,
    decision: new Uint8Array(N),
    defaultLeft: new Uint8Array(N).fill(1),
    missing: new Uint8Array(N).fill(1),
    catStart: new Int32Array(N),
    catLen: new Int32Array(N),
    catBits: new Uint32Array(0),
    value,
    cover: new Float64Array(N).fill(Number.NaN),
    hasCovers: false,
    source: { format: 'ir' },
  };
  const svg = treeSvg(m, { maxDepth: 20, row: [1, -1, 1] });
  t.equal(wellFormed(svg), null);
  const boxes = countClass(svg, 'node') + countClass(svg, 'leaf') + countClass(svg, 'collapsed');
  t.ok(boxes <= 2000, `${boxes} boxes drawn`);
  t.ok(boxes > 500, 'still a useful number');
  t.equal(countClass(svg, 'path'), D, 'the path still reaches its leaf');
  t.equal(Number(elements(svg, 'path-leaf')[0]!['data-value']), treeValue(m, Float64Array.from([1, -1, 1]), 0)[0]);
  const s = ensembleSummary(m);
  t.equal(s.nodes, N);
  t.same(s.depthHistogram.map((b) => b.trees), [...new Array(D).fill(0), 1]);
});

t.test('tree: bad options are VizErrors', async (t) => {
  const m = loadTreeModel(readFixture('models', 'xgboost', 'jpmml-AGPL', 'BinomialClassificationAudit.json'));
  throwsViz(t, () => treeSvg(m, { tree: m.nTrees }), 'INVALID_INPUT', new RegExp(`\\[0, ${m.nTrees - 1}\\]`), 'tree index past the end');
  throwsViz(t, () => treeSvg(m, { tree: -1 }), 'INVALID_INPUT', /tree/, 'negative tree index');
  throwsViz(t, () => treeSvg(m, { tree: 1.5 }), 'INVALID_INPUT', /integer/, 'fractional tree index');
  throwsViz(t, () => treeSvg(m, { maxDepth: -1 }), 'INVALID_INPUT', /maxDepth/, 'negative maxDepth');
  const row = jpmmlRows(m, 'Audit', 1)[0]!;
  throwsViz(t, () => treeSvg(m, { row: { ...row, Employment: 'Astronaut' } }), 'INVALID_INPUT', /Astronaut.*not a category/, 'unknown category');
  throwsViz(t, () => treeSvg(m, { row: [1, 2] }), 'INVALID_INPUT', /row 0 has 2 values/, 'short row');
  throwsViz(t, () => treeSvg({} as never), 'INVALID_INPUT', /TreeEnsemble/, 'not a model');
  throwsViz(t, () => treeRowPath(m, m.nTrees, row), 'INVALID_INPUT', /tree/, 'treeRowPath tree index');
  throwsViz(t, () => treeSvg(m, { fontSize: 0 }), 'INVALID_INPUT', /fontSize/, 'fontSize 0');
});

// ---------------------------------------------------------------------------------------------------------------
// Ensembles

/** Counts taken straight from the IR arrays, per node index (no tree walk). */
function irCounts(m: TreeEnsemble) {
  const lo = m.treeOffsets[0]!;
  const hi = m.treeOffsets[m.nTrees]!;
  const splits = new Array<number>(m.nFeatures).fill(0);
  const cover = new Array<number>(m.nFeatures).fill(0);
  const gain = new Array<number>(m.nFeatures).fill(0);
  let leaves = 0;
  let cat = 0;
  for (let n = lo; n < hi; n++) {
    if (m.left[n]! < 0) leaves++;
    else {
      splits[m.feature[n]!]!++;
      cover[m.feature[n]!]! += m.cover[n]!;
      if (m.gain) gain[m.feature[n]!]! += m.gain[n]!;
      if (m.decision[n] === Decision.IN_SET) cat++;
    }
  }
  const hist = new Map<number, number>();
  for (const d of m.treeDepth) hist.set(d, (hist.get(d) ?? 0) + 1);
  return { nodes: hi - lo, leaves, splits, cover, gain, cat, hist };
}

const ensembleCases: [string, string[]][] = [
  ['xgboost audit (categorical)', ['models', 'xgboost', 'jpmml-AGPL', 'BinomialClassificationAudit.json']],
  ['xgboost iris multiclass', ['models', 'xgboost', 'jpmml-AGPL', 'MultinomialClassificationIris.ubj']],
  ['lightgbm regression', ['models', 'lightgbm', 'ankane', 'model.txt']],
  ['lightgbm multiclass', ['models', 'lightgbm', 'lleaves', 'multiclass.model.txt']],
  ['onnx forest', ['models', 'onnx-trees', 'skl2onnx_randomforest_iris.onnx']],
  ['onnx xgboost', ['models', 'onnx-trees', 'onnxmltools_xgboost_regressor.onnx']],
];

for (const [what, file] of ensembleCases) {
  t.test(`ensemble: ${what}: summary counts equal the IR's`, async (t) => {
    const m = loadTreeModel(readFixture(...file));
    const s = ensembleSummary(m);
    const ir = irCounts(m);
    t.equal(s.trees, m.nTrees);
    t.equal(s.outputs, m.nOutputs);
    t.equal(s.nodes, ir.nodes, 'nodes');
    t.equal(s.leaves, ir.leaves, 'leaves');
    t.equal(s.splits, ir.nodes - ir.leaves, 'splits');
    t.equal(s.categoricalSplits, ir.cat, 'categorical splits');
    t.same(s.features.map((f) => f.splits), ir.splits, 'splits per feature');
    if (m.hasCovers) {
      s.features.forEach((f, i) => t.ok(Math.abs(f.cover! - ir.cover[i]!) <= 1e-9 * Math.max(1, Math.abs(ir.cover[i]!)), `cover of ${f.name}`));
    } else t.ok(s.features.every((f) => f.cover === null), 'no covers: null');
    if (m.gain) {
      // XGBoost (loss_changes) and LightGBM (split_gain) store split gains; ONNX-ML does not.
      t.ok(s.hasGain, 'the IR stores gains');
      s.features.forEach((f, i) => t.ok(Math.abs(f.gain! - ir.gain[i]!) <= 1e-9 * Math.max(1, Math.abs(ir.gain[i]!)), `gain of ${f.name}`));
    } else t.ok(s.features.every((f) => f.gain === null) && !s.hasGain, 'the IR stores no gain');
    t.equal(Boolean(m.gain), file[1] !== 'onnx-trees', 'gains come with XGBoost and LightGBM files');
    t.equal(s.maxDepth, Math.max(...m.treeDepth), 'max depth = the IR treeDepth');
    t.same(
      s.depthHistogram.filter((b) => b.trees > 0).map((b) => [b.depth, b.trees]),
      [...ir.hist.entries()].sort((a, b) => a[0] - b[0]),
      'depth histogram = histogram of the IR treeDepth',
    );
    t.equal(s.treesPerOutput.reduce((a, b) => a + b, 0), m.valueWidth === 1 ? m.nTrees : m.nTrees * m.nOutputs);
    t.same(JSON.parse(JSON.stringify(s)), s, 'plain JSON');

    const svg = ensembleSvg(m, { maxDisplay: 3 });
    t.equal(wellFormed(svg), null, 'well-formed');
    t.match(svg, /data-chart="ensemble"/);
    if (m.gain) {
      const gainBars = bars(svg, 'gain');
      t.equal(gainBars.length, Math.min(3, s.features.filter((f) => f.splits > 0).length), 'gain bars');
      const vals = gainBars.map((b) => Number(b['data-value']));
      t.same(vals, [...vals].sort((a, b) => b - a), 'gain bars sorted');
    } else t.match(svg, 'gain not stored by this format');
    const depthBars = bars(svg, 'depth');
    t.equal(depthBars.length, s.maxDepth + 1, 'one bar per depth');
    t.same(depthBars.map((b) => Number(b['data-value'])), s.depthHistogram.map((b) => b.trees));
    const splitBars = bars(svg, 'splits');
    const used = s.features.filter((f) => f.splits > 0).sort((a, b) => b.splits - a.splits || a.index - b.index);
    t.same(splitBars.map((b) => [b['data-feature'], Number(b['data-value'])]), used.slice(0, 3).map((f) => [escapeXml(f.name), f.splits]), 'top split counts, sorted');
    if (m.hasCovers) {
      const coverBars = bars(svg, 'cover');
      t.equal(coverBars.length, Math.min(3, used.length));
      const vals = coverBars.map((b) => Number(b['data-value']));
      t.same(vals, [...vals].sort((a, b) => b - a), 'cover bars sorted');
    } else t.match(svg, 'cover not stored by this format');
    const kind = file[1] === 'xgboost' ? 'ensemble' : `ensemble-${file[1]}`;
    await checkPng(t, kind, ensembleSvg(m));
  });
}

t.test('ensemble: bad options', async (t) => {
  const m = loadTreeModel(readFixture('models', 'lightgbm', 'ankane', 'model.txt'));
  throwsViz(t, () => ensembleSvg(m, { maxDisplay: 0 }), 'INVALID_INPUT', /maxDisplay/, 'maxDisplay 0');
  throwsViz(t, () => ensembleSvg(m, { width: -5 }), 'INVALID_INPUT', /width/, 'negative width');
  throwsViz(t, () => ensembleSummary(null as never), 'INVALID_INPUT', /TreeEnsemble/, 'no model');
});
