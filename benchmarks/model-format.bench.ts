/**
 * Parse time and IR predict throughput on the ../shared/fixtures/bench ONNX tree ensembles.
 * Run: node --import=tsx --conditions=@genome/source benchmarks/model-format.bench.ts
 */
import { Bench } from 'tinybench';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeOnnxModel, loadOnnxTreeEnsemble, predictRaw } from '@genome/model-format';
import { fixturesDir, readFixture, readNumericCsv } from '../tools/fixtures.js';

const rowsPerCall = 1000;
const table: Record<string, string | number>[] = [];
for (const name of readdirSync(join(fixturesDir, 'bench')).sort()) {
  const bytes = readFixture('bench', name, 'model.onnx');
  const model = loadOnnxTreeEnsemble(bytes);
  const { rows } = readNumericCsv('bench', name, 'data.csv');
  const F = model.nFeatures;
  const data = new Float64Array(rowsPerCall * F);
  for (let r = 0; r < rowsPerCall; r++) for (let f = 0; f < F; f++) data[r * F + f] = rows[r % rows.length]![f]!;
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench
    .add('decode', () => void decodeOnnxModel(bytes))
    .add('load', () => void loadOnnxTreeEnsemble(bytes))
    .add('predict', () => void predictRaw(model, data, rowsPerCall));
  await bench.run();
  const ms = (task: string) => bench.tasks.find((t) => t.name === task)!.result!.latency.mean;
  table.push({
    model: name,
    'file KiB': Math.round(statSync(join(fixturesDir, 'bench', name, 'model.onnx')).size / 1024),
    trees: model.nTrees,
    nodes: model.left.length,
    'decode ms': +ms('decode').toFixed(2),
    'load ms (decode+IR)': +ms('load').toFixed(2),
    'predict rows/s': Math.round((rowsPerCall / ms('predict')) * 1000),
  });
}
console.table(table);
