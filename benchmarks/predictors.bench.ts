/**
 * Predictor throughput: onnxruntime vs the tree IR on the California housing forest (120 trees, depth 5), and
 * remote Open Inference Protocol predictors (gRPC typed / raw contents, REST JSON) against local fake servers
 * computing a 4-feature linear model (so the figure is protocol overhead).
 * Run: node --import=tsx --conditions=@genome/source benchmarks/predictors.bench.ts
 */
import { readFileSync, statSync } from 'node:fs';
import { Bench } from 'tinybench';
import { loadOnnxTreeEnsemble, onnxPredictor, remotePredictor, treePredictor } from '@genome/model-format';
import { fixture } from '../tools/fixtures.js';
import { NF, startGrpcServer, startRestServer } from '../libs/model-format/test/helpers/oip-servers.js';

const onnxPath = fixture('oracles/trees/california-housing-rf-seed/model.onnx');
const N = 10000;
const rows = new Float64Array(N * 8).map((_, i) => ((i * 7919) % 1000) / 100);
const ort = await onnxPredictor(onnxPath);
const tree = treePredictor(loadOnnxTreeEnsemble(readFileSync(onnxPath)));
const grpcSrv = await startGrpcServer();
const restSrv = await startRestServer();
const R = 4096;
const rrows = new Float64Array(R * NF).map((_, i) => (i % 13) / 3);
const g = await remotePredictor({ protocol: 'grpc', url: grpcSrv.url, model: 'linear', maxBatch: 1024 });
const gRaw = await remotePredictor({ protocol: 'grpc', url: grpcSrv.url, model: 'linear', maxBatch: 1024, raw: true });
const r = await remotePredictor({ protocol: 'rest', url: restSrv.url, model: 'linear', maxBatch: 1024 });

const bench = new Bench({ time: 1500 });
bench
  .add(`onnxruntime  ${N} rows`, async () => void (await ort.predict(rows, N)))
  .add(`tree IR      ${N} rows`, async () => void (await tree.predict(rows, N)))
  .add(`gRPC typed   ${R} rows`, async () => void (await g.predict(rrows, R)))
  .add(`gRPC raw     ${R} rows`, async () => void (await gRaw.predict(rrows, R)))
  .add(`REST JSON    ${R} rows`, async () => void (await r.predict(rrows, R)));
await bench.run();
console.log(`model: california-housing-rf model.onnx, ${statSync(onnxPath).size} bytes, 120 trees, 8 features`);
console.table(
  bench.tasks.map((t) => {
    const n = Number(/(\d+) rows/.exec(t.name)![1]);
    const mean = (t.result as { latency?: { mean: number } }).latency?.mean ?? NaN;
    return { task: t.name, 'ms/call': mean.toFixed(2), 'rows/s': Math.round((n / mean) * 1000).toLocaleString('en') };
  }),
);
await Promise.all([ort.close!(), g.close!(), gRaw.close!(), r.close!()]);
await grpcSrv.close();
await restSrv.close();
