// Reading rows and parameters, and cutting explanation documents per row (no server needed).
import t from 'tap';
import { parseCell, parseCsv, parseInstances, parseParams, splitDocument, toRow, CliError } from '../src/index.js';

const usage = (fn: () => unknown, message: RegExp) => {
  try {
    fn();
  } catch (err) {
    return err instanceof CliError && err.code === 'USAGE' && message.test(err.message);
  }
  return false;
};

t.test('cells', async (t) => {
  t.equal(parseCell('3.5'), 3.5);
  t.equal(parseCell(' -1e3 '), -1000);
  t.equal(parseCell('.5'), 0.5);
  t.equal(parseCell(''), null, 'empty = missing');
  t.equal(parseCell('NaN'), null, 'NaN = missing');
  t.equal(parseCell('0x10'), '0x10', 'hex is not a decimal number: a category name');
  t.equal(parseCell('NEAR BAY'), 'NEAR BAY');
  t.same(toRow([1, null, 2]), { values: [1, Number.NaN, 2], cells: [] });
  t.same(toRow([1, null, 'a']), { values: [], cells: [{ number: 1 }, { missing: true }, { category: 'a' }] });
});

t.test('CSV', async (t) => {
  const r = parseCsv('\uFEFFb,a\n1,\n"x, y",2\n\n', 'f.csv');
  t.same(r.featureNames, ['b', 'a'], 'header, BOM dropped');
  t.same(r.rows, [[1, null], ['x, y', 2]], 'quoted cells, empty cell missing, blank lines skipped');
  t.ok(usage(() => parseCsv('', 'f.csv'), /f\.csv is empty/));
  t.ok(usage(() => parseCsv('a,b\n', 'f.csv'), /header but no rows/));
  t.ok(usage(() => parseCsv('a,a\n1,2\n', 'f.csv'), /"a" appears twice/));
  t.ok(usage(() => parseCsv('a,b\n1,2,3\n', 'f.csv'), /bad CSV in f\.csv/));
});

t.test('JSON instances', async (t) => {
  t.same(parseInstances([[1, null, 'c', '2']], 'j'), { featureNames: undefined, rows: [[1, null, 'c', 2]], source: 'j' });
  t.same(parseInstances({ instances: [{ a: 1, b: 2 }, { b: 3, c: 'x' }] }, 'j'), {
    featureNames: ['a', 'b', 'c'],
    rows: [[1, 2, null], [null, 3, 'x']],
    source: 'j',
  }, 'objects: names in order of appearance, absent = missing');
  t.ok(usage(() => parseInstances({ rows: [] }, 'j'), /expected a JSON array of instances/));
  t.ok(usage(() => parseInstances([], 'j'), /no instances/));
  t.ok(usage(() => parseInstances([[1, true]], 'j'), /instance 0, value 1: true is not a cell/));
  t.ok(usage(() => parseInstances([[1, 2], [1]], 'j'), /instance 1 has 1 values/));
});

t.test('parameters', async (t) => {
  t.same(parseParams(['n=64', 'b=true', 's=interventional', 'x=0.5', 'l=[1,2]', 'q="7"', 'e=']), { n: 64, b: true, s: 'interventional', x: 0.5, l: [1, 2], q: '7', e: '' });
  t.ok(usage(() => parseParams(['n']), /expected key=value/));
  t.ok(usage(() => parseParams(['n=1', 'n=2']), /given twice/));
});

t.test('per-row documents', async (t) => {
  const doc = {
    schema: 'genome.explanation/v1',
    values: [[[1], [2]], [[3], [4]]],
    baseValues: [[0], [0.5]],
    predictions: [[3], [7.5]],
    data: [[1, 2], [3, 4]],
    featureNames: ['a', 'b'],
    parameters: { n: 2 },
    details: { intercept: [0.1, 0.2], kernel: 'rbf' },
  };
  const rows = splitDocument(doc, 2);
  t.equal(rows.length, 2);
  t.same(rows[1], { ...doc, values: [[[3], [4]]], baseValues: [[0.5]], predictions: [[7.5]], data: [[3, 4]], details: { intercept: [0.2], kernel: 'rbf' } });
  t.same(rows[0]!.featureNames, ['a', 'b'], 'per-call fields kept');
});
