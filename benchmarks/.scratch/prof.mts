import { loadOnnxTreeEnsemble, withCovers } from '@genome/model-format';
import { treeShapPathDependent } from '@genome/shap';
import { readFixture, readNumericCsv } from '../../tools/fixtures.js';
const name = process.argv[2] ?? 'perf-gbm-500x6-reg';
const onnx = loadOnnxTreeEnsemble(new Uint8Array(readFixture('bench', name, 'model.onnx')));
const csv = readNumericCsv('bench', name, 'data.csv');
const nF = onnx.nFeatures;
const all = Float64Array.from(csv.rows.flatMap((r) => r.slice(0, nF)));
const model = withCovers(onnx, all, csv.rows.length);
const n = 300;
const rows = all.slice(0, n * nF);
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  treeShapPathDependent(model, rows, n, { algorithm: 'quadrature' });
  console.log('quadrature', ((performance.now() - t0) / n).toFixed(3), 'ms/row');
}
