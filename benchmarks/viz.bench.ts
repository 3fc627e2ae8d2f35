/**
 * @genome/viz: time and size of each chart from real fixture explanations (300 California rows of path-dependent
 * TreeSHAP with interactions, one Audit row with category names), a 1000 x 20 synthetic beeswarm, one tree and the
 * ensemble summary of the Audit XGBoost model, and PNG rasterisation (resvg, scale 1 and 2).
 *
 *   node --import=tsx --conditions=@genome/source benchmarks/viz.bench.ts
 */
import { Bench } from 'tinybench';
import { loadTreeModel } from '@genome/model-format';
import {
  barSvg,
  beeswarmSvg,
  decisionSvg,
  dependenceSvg,
  ensembleSvg,
  forceStackedSvg,
  forceSvg,
  svgToPng,
  treeSvg,
  waterfallSvg,
} from '@genome/viz';
import { readFixture } from '../tools/fixtures.js';
import { auditExplanation, californiaExplanation, syntheticExplanation } from '../libs/viz/test/shap-fixtures.js';

const cal = await californiaExplanation(300, true);
const audit = await auditExplanation(1);
const rnd = (i: number) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
const big = syntheticExplanation(
  Array.from({ length: 1000 }, (_, r) => Array.from({ length: 20 }, (_, f) => [(rnd(r * 20 + f) - 0.5) * (f + 1)])),
  [0.5],
  Array.from({ length: 1000 }, (_, r) => Array.from({ length: 20 }, (_, f) => rnd(r * 31 + f))),
);
const auditModel = loadTreeModel(readFixture('models', 'xgboost', 'jpmml-AGPL', 'BinomialClassificationAudit.json'));

const charts: [string, () => string][] = [
  ['waterfall (1 row, Audit, categories)', () => waterfallSvg(audit)],
  ['force (1 row)', () => forceSvg(audit)],
  ['beeswarm 300 x 8', () => beeswarmSvg(cal)],
  ['beeswarm 1000 x 20', () => beeswarmSvg(big, { maxDisplay: 20 })],
  ['bar 300 x 8', () => barSvg(cal)],
  ['dependence 300 rows (interactions)', () => dependenceSvg(cal, { feature: 'MedInc' })],
  ['decision 300 rows', () => decisionSvg(cal)],
  ['force stacked 300 rows (similarity)', () => forceStackedSvg(cal)],
  ['tree (Audit tree 0, depth 6)', () => treeSvg(auditModel, { tree: 0 })],
  ['ensemble summary (Audit, 71 trees)', () => ensembleSvg(auditModel)],
];
const sizes = new Map<string, number>();
const bench = new Bench({ time: 500 });
for (const [name, draw] of charts) {
  sizes.set(name, draw().length);
  bench.add(name, () => {
    draw();
  });
}
const waterfall = waterfallSvg(audit);
const beeswarm = beeswarmSvg(cal);
bench
  .add('PNG: waterfall, scale 1', async () => {
    await svgToPng(waterfall);
  })
  .add('PNG: waterfall, scale 2', async () => {
    await svgToPng(waterfall, { scale: 2 });
  })
  .add('PNG: beeswarm 300 x 8, scale 1', async () => {
    await svgToPng(beeswarm);
  });
await bench.run();
console.table(
  bench.tasks.map((task) => {
    const r = task.result as { latency?: { mean: number; p99?: number } } | undefined;
    const mean = r?.latency?.mean ?? NaN;
    return { chart: task.name, 'mean ms': Number(mean.toFixed(2)), 'p99 ms': Number((r?.latency?.p99 ?? NaN).toFixed(2)), 'SVG KiB': sizes.has(task.name) ? Number((sizes.get(task.name)! / 1024).toFixed(1)) : null };
  }),
);
