// KServe-compatible REST on the second port, with a real HTTP client (fetch).
import t from 'tap';
import { linearSetup, LINEAR } from './helpers/linear.js';
import { sidecar } from './helpers/sidecar.js';

t.test('REST endpoint', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [lin.spec], maxMessageBytes: 256 * 1024 });
  t.teardown(() => s.close(100));
  const base = `http://127.0.0.1:${s.httpPort}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  t.test('explain: instances in, one explanation per instance out', async (t) => {
    const res = await post('/v1/models/linear:explain', { instances: [[1, 2, 3], { b: 0, c: 1, a: 4 }] });
    t.equal(res.status, 200);
    const j = (await res.json()) as { model_name: string; explanations: { schema: string; values: number[][][]; baseValues: number[][]; featureNames: string[] }[] };
    t.equal(j.model_name, 'linear');
    t.equal(j.explanations.length, 2);
    t.equal(j.explanations[0]!.schema, 'genome.explanation/v1');
    t.same(j.explanations[1]!.featureNames, ['a', 'b', 'c']);
    const x = [4, 0, 1];
    const sum = j.explanations[1]!.values[0]!.reduce((a, v) => a + v[0]!, 0) + j.explanations[1]!.baseValues[0]![0]!;
    const y = LINEAR.bias + x.reduce((a, v, f) => a + v * LINEAR.weights[f]!, 0);
    t.ok(Math.abs(sum - y) < 1e-9, 'object instance keyed by feature name, additive');
  });

  t.test('method and parameters in the body', async (t) => {
    const res = await post('/v1/models/linear:explain', { instances: [[1, 2, 3]], method: 'permutation_shap', parameters: { seed: 3 } });
    t.equal(res.status, 200);
    const j = (await res.json()) as { method: string };
    t.match(j.method, /permutation/);
  });

  t.test('errors: status + {"error"}', async (t) => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/v1/models/linear:explain', '{not json', 400, /not valid JSON/],
      ['/v1/models/linear:explain', { instances: [[1, 2]] }, 400, /instances\[0\] has 2 values; model "linear" expects 3/],
      ['/v1/models/linear:explain', { instances: 'x' }, 400, /"instances" must be an array/],
      ['/v1/models/linear:explain', { instances: [[1, 2, 3]], foo: 1 }, 400, /unknown field\(s\) foo/],
      ['/v1/models/linear:explain', { instances: [{ a: 1, b: 2 }] }, 400, /missing feature "c"/],
      ['/v1/models/linear:explain', { instances: [[1, 'x', 3]] }, 400, /must be a number or null/],
      ['/v1/models/linear:explain', { instances: [[1, 2, 3]], method: 'nope' }, 400, /unknown method "nope"/],
      ['/v1/models/zzz:explain', { instances: [[1, 2, 3]] }, 404, /no model named "zzz"/],
    ];
    for (const [path, body, code, msg] of cases) {
      const res = await post(path, body);
      t.equal(res.status, code, `${JSON.stringify(body)} -> ${code}`);
      t.match(((await res.json()) as { error: string }).error, msg);
    }
    const big = await post('/v1/models/linear:explain', { instances: Array.from({ length: 200_000 }, () => [1, 2, 3]) });
    t.equal(big.status, 413, 'body over the size limit');
    const get = await fetch(`${base}/v1/models/linear:explain`);
    t.equal(get.status, 405);
  });

  t.test('models, health, metrics', async (t) => {
    t.same(await (await fetch(`${base}/v1/models`)).json(), { models: ['linear'] });
    t.same(await (await fetch(`${base}/v1/models/linear`)).json(), { name: 'linear', ready: true });
    t.equal((await fetch(`${base}/v1/models/nope`)).status, 404);
    const live = await fetch(`${base}/v2/health/live`);
    t.equal(live.status, 200);
    t.equal(await live.text(), '', 'empty health body (OIP)');
    t.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
    const m = await (await fetch(`${base}/metrics`)).text();
    t.match(m, /genome_sidecar_requests_total\{transport="rest",rpc="explain",method="kernel_shap",status="OK"\} \d+/);
    t.match(m, /genome_sidecar_requests_total\{transport="rest",rpc="explain",method="",status="INVALID_ARGUMENT"\} \d+/);
    t.match(m, /genome_sidecar_request_duration_seconds_bucket\{le="0.005",transport="rest",rpc="explain",method="kernel_shap"\}/);
    t.match(m, /genome_sidecar_queue_depth 0/);
    t.match(m, /genome_sidecar_in_flight 0/);
    t.match(m, /genome_sidecar_rows_explained_total\{method="kernel_shap"\} 2/);
  });
});
