// Output formats on a synthetic two-output result (the example model has one output), no server needed.
import t from 'tap';
import type { ExplainResult } from '../src/index.js';
import { explainCsv } from '../src/output/explain-csv.js';
import { explainJson } from '../src/output/explain-json.js';
import { explainTable } from '../src/output/explain-table.js';

// 2 rows x 3 features x 2 outputs, no predictions (a method that does not compute them).
const res: ExplainResult = {
  modelName: 'iris',
  modelVersion: '2',
  method: 'lime.tabular',
  outputSpace: 'probability',
  featureNames: ['a', 'b, c', 'd'],
  outputNames: ['setosa', 'versi"color'],
  rows: 2,
  values: [0.1, -0.2, 0.3, 0.05, -0.4, 0, 1, 2, 3, 4, 5, 6],
  baseValues: [0.5, 0.25, 0, 1],
  predictions: [],
  documents: [{ row: 0 }, { row: 1 }],
};

t.test('table: one block per row and output, features by |attribution|, input values matched by name', async (t) => {
  const out = explainTable(res, { featureNames: ['d', 'a', 'b, c'], rows: [[3, 1, 'x'], [null, 4, 5]], source: 'f.csv' });
  const blocks = out.trimEnd().split('\n\n');
  t.equal(blocks[0], 'model iris 2 · method lime.tabular · output space probability');
  t.equal(blocks.length, 5, 'a header and 2 rows x 2 outputs');
  t.match(blocks[1], /^row 0 · output setosa: base \+ sum 0\.5 = base value 0\.5 \+ 0\n/, 'no prediction: base + sum shown');
  const table = (b: string) => b.split('\n').slice(2).map((l) => l.trim().split(/\s{2,}/));
  t.same(table(blocks[1]!), [['d', '3', '-0.4'], ['b, c', 'x', '+0.3'], ['a', '1', '+0.1']], 'row 0, setosa: by |attribution|, values by name');
  t.same(table(blocks[2]!), [['a', '1', '-0.2'], ['b, c', 'x', '+0.05'], ['d', '3', '0']], 'row 0, versi"color');
  t.match(blocks[3], /^row 1 · output setosa:/);
  t.match(blocks[3], /\n\s+d\s+\(missing\)\s+\+5\n/, 'a missing input shown as (missing)');
});

t.test('csv: quoted where needed, one line per row and output', async (t) => {
  t.equal(
    explainCsv(res),
    ['row,output,base_value,a,"b, c",d', '0,setosa,0.5,0.1,0.3,-0.4', '0,"versi""color",0.25,-0.2,0.05,0', '1,setosa,0,1,3,5', '1,"versi""color",1,2,4,6', ''].join('\n'),
  );
});

t.test('json: an array, one document per line', async (t) => {
  t.equal(explainJson(res), '[\n{"row":0},\n{"row":1}\n]\n');
  t.same(JSON.parse(explainJson({ ...res, documents: [] })), []);
});
