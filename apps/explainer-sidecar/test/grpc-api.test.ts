// The gRPC contract end to end: ListModels, DescribeModel, Explain (enum and string methods, output selection),
// ExplainStream with progress, Visualize (argument errors), grpc.health.v1.Health and server reflection.
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { explain } from '@genome/proto';
import { client, describeModel, explainCall, explainStream, grpcError, listModels, visualize } from './helpers/client.js';
import { FEATURES, LINEAR, linearSetup } from './helpers/linear.js';
import { sidecar } from './helpers/sidecar.js';
import { healthCheck, reflect } from '../../../tools/test-std-clients.js';

const rows = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });

t.test('gRPC API', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [lin.spec], chunkRows: 2 });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());

  t.test('ListModels / DescribeModel', async (t) => {
    const l = await listModels(c);
    t.same(l.models.map((m) => m.name), ['linear']);
    const d = (await describeModel(c, 'linear')).model!;
    t.same(d.featureNames, FEATURES);
    t.equal(d.kind, 'tabular');
    t.equal(d.ready, true);
    t.equal(d.methods[0], 'kernel_shap', 'default method first');
    const e = await grpcError(describeModel(c, 'nope'));
    t.equal(e.code, status.NOT_FOUND);
    t.match(e.details, /no model named "nope".*available: linear/);
  });

  t.test('Explain with the method enum, reordered columns and the default model', async (t) => {
    const x = [
      [1, 2, 3],
      [0, 1, 0],
      [5, 5, 5],
    ];
    const byEnum = await explainCall(c, { method: explain.Method.METHOD_KERNEL_SHAP, tabular: rows(x), requestId: 'abc' });
    t.equal(byEnum.requestId, 'abc');
    t.equal(byEnum.modelName, 'linear');
    t.same(byEnum.shape, [3, 3, 1], 'three rows explained across two internal chunks (chunkRows=2)');
    // Columns sent as c, a, b must be reordered to a, b, c.
    const perm = await explainCall(c, {
      methodName: 'KERNEL_SHAP',
      tabular: { featureNames: ['c', 'a', 'b'], rows: x.map((r) => ({ values: [r[2]!, r[0]!, r[1]!] })), values: [] },
    });
    t.same(perm.values, byEnum.values, 'feature_names reorder columns');
    const flat = await explainCall(c, { model: { name: '', version: '' }, methodName: 'kernel_shap', tabular: { values: x.flat(), rows: [], featureNames: [] } });
    t.same(flat.values, byEnum.values, 'flat values equal rows');
    t.ok(byEnum.elapsedMs > 0);
    // additivity: base + sum(values) = model output
    x.forEach((r, i) => {
      const sum = byEnum.values.slice(i * 3, i * 3 + 3).reduce((a, b) => a + b, 0) + byEnum.baseValues[i]!;
      const y = LINEAR.bias + r.reduce((a, v, f) => a + v * LINEAR.weights[f]!, 0);
      t.ok(Math.abs(sum - y) < 1e-9, `row ${i} adds up to the model output`);
    });
  });

  t.test('output selection by name and top_k', async (t) => {
    const r = await explainCall(c, { methodName: 'kernel_shap', tabular: rows([[1, 2, 3]]), outputs: { names: ['y'], indices: [], topK: 1 } });
    t.same(r.outputNames, ['y']);
    const e = await grpcError(explainCall(c, { methodName: 'kernel_shap', tabular: rows([[1, 2, 3]]), outputs: { names: [], indices: [4], topK: 0 } }));
    t.equal(e.code, status.INVALID_ARGUMENT);
    t.match(e.details, /output index 4 is out of range/);
  });

  t.test('ExplainStream sends a result and a progress message per chunk', async (t) => {
    const x = Array.from({ length: 7 }, (_, i) => [i, -i, i / 2]);
    const msgs = await explainStream(c, { methodName: 'kernel_shap', tabular: rows(x) }, 3);
    const results = msgs.filter((m) => m.result);
    const progress = msgs.filter((m) => m.progress);
    t.same(results.map((m) => m.rowOffset), [0, 3, 6]);
    t.same(results.map((m) => m.result!.shape[0]), [3, 3, 1]);
    t.same(progress.map((m) => m.progress!.rowsDone), [3, 6, 7]);
    t.same(progress.map((m) => m.progress!.done), [false, false, true]);
    t.equal(progress[0]!.progress!.rowsTotal, 7);
    const unary = await explainCall(c, { methodName: 'kernel_shap', tabular: rows(x) });
    t.same(results.flatMap((m) => m.result!.values), unary.values, 'streamed values equal the unary call');
  });

  t.test('Visualize needs something to draw (the full surface is in visualize.test.ts)', async (t) => {
    const e = await grpcError(visualize(c, { kind: 'force' }));
    t.equal(e.code, status.INVALID_ARGUMENT);
    t.match(e.details, /nothing to draw/);
  });

  t.test('health and reflection', async (t) => {
    t.equal(await healthCheck(s.grpcPort, ''), 'SERVING');
    t.equal(await healthCheck(s.grpcPort, 'genome.explain.v1.Explainer'), 'SERVING');
    const r = await reflect(s.grpcPort, 'genome.explain.v1.Explainer');
    t.ok(r.services.includes('genome.explain.v1.Explainer'), 'reflection lists the Explainer');
    t.ok(r.services.includes('grpc.health.v1.Health'), 'reflection lists Health');
    const all = Buffer.concat(r.descriptors).toString('latin1');
    for (const sym of ['ExplainRequest', 'ExplainStreamResponse', 'ModelInfo', 'VisualizeRequest', 'Struct']) {
      t.ok(all.includes(sym), `reflection serves the descriptor of ${sym}`);
    }
  });
});
