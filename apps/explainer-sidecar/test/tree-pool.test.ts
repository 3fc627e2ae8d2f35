// TreeSHAP on the worker pool (--tree-workers) gives the same values as on the event-loop thread, over gRPC and
// REST, path-dependent and interventional; small calls stay in-process below --tree-pool-min-rows; the pool is
// closed on graceful shutdown; a model is registered with the pool when it loads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_MODEL_DIR, loadConfig } from '../src/index.js';
import { client, explainCall } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';

// 200 real rows of the example package's data (the first 100 are its background).
const lines = readFileSync(join(DEFAULT_MODEL_DIR, 'background.csv'), 'utf8').trim().split('\n').slice(1);
const xs = lines.map((l) => l.split(',').map(Number));
const pkg = { models: [{ kind: 'package' as const, path: DEFAULT_MODEL_DIR }] };
const tabular = { rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] };

t.test('pool and in-process TreeSHAP give equal values', async (t) => {
  const pooled = await sidecar({ ...pkg, treeWorkers: 2, treePoolMinRows: 8, chunkRows: 64 });
  const inline = await sidecar({ ...pkg, treeWorkers: 0, chunkRows: 64 });
  t.teardown(() => Promise.all([pooled.close(100), inline.close(100)]));
  t.equal(pooled.treePool?.threads, 2, 'pool of 2 threads');
  t.equal(pooled.treePool?.heldModels, 1, 'the model was registered with (and prepared on) every worker when it loaded, before any call');
  t.equal(inline.treePool, undefined, 'no pool with treeWorkers 0');
  const cp = client(pooled.grpcPort);
  const ci = client(inline.grpcPort);
  t.teardown(() => (cp.close(), ci.close()));

  for (const fp of ['tree_path_dependent', 'interventional']) {
    const req = { methodName: 'tree_shap', parameters: { feature_perturbation: fp }, tabular };
    const [a, b] = await Promise.all([explainCall(cp, req), explainCall(ci, req)]);
    t.same(a.shape, [xs.length, 8, 1], `${fp}: shape`);
    t.same(a.values, b.values, `${fp}: ${a.values.length} SHAP values equal`);
    t.same(a.baseValues, b.baseValues, `${fp}: base values equal`);
    t.same(a.predictions, b.predictions, `${fp}: predictions equal`);
    const pa = JSON.parse(a.explanationJson) as { parameters: { threads: number } };
    const pb = JSON.parse(b.explanationJson) as { parameters: { threads: number } };
    t.equal(pa.parameters.threads, 2, `${fp}: computed on the pool`);
    t.equal(pb.parameters.threads, 1, `${fp}: computed in-process`);
  }

  // Below the threshold a call stays on the event-loop thread (and still agrees).
  const one = { methodName: 'tree_shap', tabular: { rows: tabular.rows.slice(0, 3), featureNames: [], values: [] } };
  const [s1, s2] = await Promise.all([explainCall(cp, one), explainCall(ci, one)]);
  t.equal((JSON.parse(s1.explanationJson) as { parameters: { threads: number } }).parameters.threads, 1, '3 rows < 8: in-process');
  t.same(s1.values, s2.values);

  // Many concurrent calls over both transports share the pool.
  const restCalls = Array.from({ length: 6 }, (_, i) =>
    fetch(`http://127.0.0.1:${pooled.httpPort}/v1/models/california-housing-rf:explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: xs.slice(i * 20, i * 20 + 20), method: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent' } }),
    }).then(async (r) => (await r.json()) as { explanations: { values: number[][][]; parameters: { threads: number } }[] }),
  );
  const grpcCalls = Array.from({ length: 6 }, (_, i) =>
    explainCall(ci, { methodName: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent' }, tabular: { rows: tabular.rows.slice(i * 20, i * 20 + 20), featureNames: [], values: [] } }),
  );
  const [rest, grpc] = await Promise.all([Promise.all(restCalls), Promise.all(grpcCalls)]);
  rest.forEach((j, i) => {
    t.equal(j.explanations.length, 20);
    t.equal(j.explanations[0]!.parameters.threads, 2, `REST call ${i} on the pool`);
    t.same(j.explanations.flatMap((e) => e.values.flat(2)), grpc[i]!.values, `REST call ${i} (pool) equals gRPC in-process`);
  });
});

t.test('pool is closed on graceful shutdown', async (t) => {
  const s = await sidecar({ ...pkg, treeWorkers: 1, treePoolMinRows: 1 });
  const c = client(s.grpcPort);
  const r = await explainCall(c, { methodName: 'tree_shap', tabular: { rows: tabular.rows.slice(0, 2), featureNames: [], values: [] } });
  t.equal((JSON.parse(r.explanationJson) as { parameters: { threads: number } }).parameters.threads, 1);
  const ensemble = s.models.list()[0]!.ensemble!;
  c.close();
  await s.close(100);
  await t.rejects(s.treePool!.pathDependent(ensemble, new Float64Array(8), 1), /closed/, 'pool refuses work after close');
});

t.test('--tree-workers / --tree-pool-min-rows and env', async (t) => {
  const c = loadConfig(['--tree-workers', '3', '--tree-pool-min-rows', '32'], {});
  t.equal(c.treeWorkers, 3);
  t.equal(c.treePoolMinRows, 32);
  const e = loadConfig([], { GENOME_SIDECAR_TREE_WORKERS: '0' });
  t.equal(e.treeWorkers, 0);
  t.throws(() => loadConfig(['--tree-workers', '-1'], {}), /tree-workers/);
});
