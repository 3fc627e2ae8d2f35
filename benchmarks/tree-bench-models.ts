/**
 * The three ../shared/fixtures/bench tree models (ONNX) as every TreeSHAP benchmark loads them: covers from all
 * data.csv rows (withCovers), rows as one row-major Float64Array.
 */
import { loadOnnxTreeEnsemble, withCovers } from '@genome/model-format';
import { readFixture, readFixtureJson, readNumericCsv } from '../tools/fixtures.js';

export const TREE_BENCH_MODELS = ['perf-gbm-500x6-reg', 'perf-rf-100x10-reg', 'perf-gbm-200x6-binary'] as const;

export function loadTreeBenchModel(name: string) {
  const meta = readFixtureJson<{ trees: number; leaves: number; max_depth: number; features: number }>('bench', name, 'meta.json');
  const onnx = loadOnnxTreeEnsemble(new Uint8Array(readFixture('bench', name, 'model.onnx')));
  const csv = readNumericCsv('bench', name, 'data.csv');
  const nF = meta.features;
  const all = Float64Array.from(csv.rows.flatMap((r) => r.slice(0, nF)));
  const model = withCovers(onnx, all, csv.rows.length);
  return { meta, model, all, nRowsAll: csv.rows.length };
}
