// The remote path: the sidecar explains a model served by an Open Inference Protocol server (gRPC and REST),
// here a fake linear model whose Shapley values are known in closed form: w_i * (x_i - mean_bg(x_i)).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startFakeOip } from './helpers/oip-server.js';
import { client, describeModel, explainCall } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';

const model = { name: 'linear', weights: [2, -1, 0.5], bias: 3 };
const background = [
  [0, 0, 0],
  [1, 2, 3],
  [4, -2, 1],
  [2, 5, -3],
];
const names = ['a', 'b', 'c'];
const mean = names.map((_, f) => background.reduce((s, r) => s + r[f]!, 0) / background.length);

t.test('remote OIP model over gRPC and REST: kernel_shap equals the closed form', async (t) => {
  const oip = await startFakeOip(model);
  t.teardown(() => oip.close());
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-remote-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'bg.csv');
  writeFileSync(csv, `${names.join(',')}\n${background.map((r) => r.join(',')).join('\n')}\n`);

  for (const protocol of ['grpc-v2', 'v2'] as const) {
    const host = `127.0.0.1:${protocol === 'grpc-v2' ? oip.grpcPort : oip.httpPort}`;
    const s = await sidecar({ models: [{ kind: 'remote', name: 'linear', host, protocol, backgroundPath: csv }] });
    t.teardown(() => s.close(100));
    const c = client(s.grpcPort);
    t.teardown(() => c.close());

    const info = (await describeModel(c, 'linear')).model!;
    t.same(info.featureNames, names, `${protocol}: feature names from the background CSV`);
    t.equal(info.format, 'oip');
    t.ok(info.methods.includes('kernel_shap'), `${protocol}: kernel_shap applies`);
    t.match(info.source, protocol === 'grpc-v2' ? /^oip\+grpc:\/\// : /^oip\+rest:\/\//);

    const rows = [
      [1, 1, 1],
      [3, -4, 2],
    ];
    const before = oip.calls;
    const res = await explainCall(c, { methodName: 'kernel_shap', tabular: { rows: rows.map((values) => ({ values })), featureNames: [], values: [] } });
    t.ok(oip.calls > before, `${protocol}: the remote model was called`);
    t.same(res.shape, [2, 3, 1]);
    t.equal(res.method, 'kernel_shap');
    rows.forEach((x, r) => {
      x.forEach((v, f) => {
        const want = model.weights[f]! * (v - mean[f]!);
        t.ok(Math.abs(res.values[r * 3 + f]! - want) < 1e-9, `${protocol}: row ${r} feature ${f}: ${res.values[r * 3 + f]} vs ${want}`);
      });
      const base = model.bias + model.weights.reduce((s, w, f) => s + w * mean[f]!, 0);
      t.ok(Math.abs(res.baseValues[r]! - base) < 1e-9, `${protocol}: base value`);
    });
    const json = JSON.parse(res.explanationJson) as { schema: string; values: number[][][] };
    t.equal(json.schema, 'genome.explanation/v1');
    t.equal(json.values[1]![1]![0], res.values[4], 'JSON and flat values agree');
  }
});
