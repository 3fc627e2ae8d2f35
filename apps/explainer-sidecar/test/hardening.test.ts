// One test per finding of the adversarial review (issue 17), over real sockets against an in-process sidecar: no
// request ends the process or reaches a 500 by bad input; every parameter that scales work is bounded and checked
// up front; a hung, slow or absent model server costs only its own calls; authorization comes before anything
// else; errors never echo internal addresses or large caller input; and the smaller edges (Infinity, "3", BOM,
// content types, oversized URLs). The seeded fuzz test (fuzz.test.ts) and the event-loop test (event-loop.test.ts)
// cover the rest.
import { createServer } from 'node:net';
import t from 'tap';
import { status, type ServiceError } from '@grpc/grpc-js';
import { explain } from '@genome/proto';
import { httpExchange, pb } from '../../../tools/server-fuzz.js';
import { fixture } from '../../../tools/fixtures.js';
import type { ExplainMethod } from '../src/index.js';
import { client, describeModel, explainCall, explainStream, grpcError, type Client, type ExplainRequestInit } from './helpers/client.js';
import { LINEAR, linearSetup } from './helpers/linear.js';
import { startFakeOip } from './helpers/oip-server.js';
import { sidecar } from './helpers/sidecar.js';
import { healthCheck } from '../../../tools/test-std-clients.js';

const EXAMPLE = new URL('../../../examples/packages/california-housing-rf', import.meta.url).pathname;
const rfRow = [8.3252, 41, 6.9841, 1.0238, 322, 2.5556, 37.88, -122.23];
const tab = (rows: number[][]) => ({ tabular: { rows: rows.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] } });
const until = async (cond: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A raw HTTP/1.1 request, sent as-is; returns the status line (or how the connection ended). */
async function raw(port: number, head: string, body = ''): Promise<string> {
  const o = await httpExchange('127.0.0.1', port, { parts: [Buffer.from(head + body, 'latin1')], methods: [head.split(' ')[0]!], responses: 1, limitMs: 5000 });
  return o.responses[0]?.statusLine ?? o.end;
}

/** A method with a bug: it throws a TypeError (not a typed error). */
const buggy: ExplainMethod = {
  name: 'buggy',
  description: 'test method that throws like a bug would',
  inputs: ['tabular'],
  parameters: ['async'],
  unsupportedReason: () => null,
  async explain(_m, _d, params) {
    if (params.async) await new Promise((r) => setTimeout(r, 5));
    return (null as unknown as { x: () => never }).x();
  },
};

t.test('1. no request ends the process: malformed URLs are 400s, a bug is a 500 with an error id', async (t) => {
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }] }, { methods: [buggy] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const post = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n`;
  t.match(await raw(s.httpPort, 'GET /v1/models/%ZZ HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n'), /^HTTP\/1\.1 400/, 'GET /v1/models/%ZZ');
  t.match(await raw(s.httpPort, post('/v1/models/%:explain'), '{}'), /^HTTP\/1\.1 400/, 'POST /v1/models/%:explain');
  t.match(await raw(s.httpPort, 'GET // HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n'), /^HTTP\/1\.1 404/, 'GET // as is');
  t.match(await raw(s.httpPort, 'GET http:// HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n'), /^HTTP\/1\.1 200/, 'GET http:// (absolute form, empty path = "/": the explorer page)');
  t.match(await raw(s.httpPort, 'GET http://x/v2/health/live HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n'), /^HTTP\/1\.1 200/, 'absolute form is routed by its path');

  for (const async of [false, true]) {
    const e = await grpcError(explainCall(c, { methodName: 'buggy', parameters: { async }, ...tab([rfRow]) }));
    t.equal(e.code, status.INTERNAL, `a bug (${async ? 'async' : 'sync'}) is INTERNAL`);
    t.match(e.details, /^internal error \(error id [0-9a-f-]{36}; see the server log\)$/, 'with an error id and nothing else');
    const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/rf:explain`, { method: 'POST', body: JSON.stringify({ instances: [rfRow], method: 'buggy', parameters: { async } }) });
    t.equal(r.status, 500);
    t.match(((await r.json()) as { error: string }).error, /error id/);
  }
  t.equal(await healthCheck(s.grpcPort, ''), 'SERVING', 'still serving');
  t.same((await explainCall(c, tab([rfRow]))).shape, [1, 8, 1], 'still explaining');
});

t.test('2. every parameter that scales work is bounded, and a call over the budget is refused before it starts', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }, lin.spec] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const cases: [string, ExplainRequestInit, RegExp][] = [
    ['permutation_shap max_evals 1e6', { methodName: 'permutation_shap', parameters: { max_evals: 1_000_000 }, ...tab([rfRow]) }, /"max_evals" must be an integer in \[1, 100000\] \(this server's limit; its operator can raise it with --max-samples\), got 1000000/],
    ['kernel_shap nsamples 2^53', { methodName: 'kernel_shap', parameters: { nsamples: 2 ** 53 }, ...tab([rfRow]) }, /--max-samples/],
    ['lime num_samples 1e6', { methodName: 'lime', parameters: { num_samples: 1e6 }, ...tab([rfRow]) }, /--max-samples/],
    ['anchors coverage_samples 1e9', { model: { name: 'linear', version: '' }, methodName: 'anchors', parameters: { coverage_samples: 1e9 }, ...tab([[1, 2, 3]]) }, /--max-samples/],
    ['permutation_shap over the model-row budget', { methodName: 'permutation_shap', parameters: { max_evals: 100_000 }, ...tab([rfRow, rfRow]) }, /would evaluate the model on about .* rows \(2 rows × 100000 evaluations × 100 background rows\); the limit is .* per call \(--max-model-rows\)/],
    ['anchors over the per-row work budget', { model: { name: 'linear', version: '' }, methodName: 'anchors', parameters: { batch_size: 100_000 }, ...tab([[1, 2, 3]]) }, /would need about .* operations for one row .*--max-row-ops/],
    ['tree_shap interactions over the answer size', { methodName: 'tree_shap', parameters: { interactions: true, feature_perturbation: 'tree_path_dependent' }, ...tab(Array.from({ length: 20_000 }, () => rfRow)) }, /the answer would hold about .* values .* over the 4\.0 MiB message limit/],
  ];
  for (const [what, req, msg] of cases) {
    const t0 = performance.now();
    const e = await grpcError(explainCall(c, req));
    t.equal(e.code, status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
    t.match(e.details, msg, `${what}: says which bound and how to change it`);
    t.ok(performance.now() - t0 < 1000, `${what}: refused up front (${(performance.now() - t0).toFixed(0)} ms)`);
  }
  const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/rf:explain`, { method: 'POST', body: JSON.stringify({ instances: [rfRow], method: 'permutation_shap', parameters: { max_evals: 1e6 } }) });
  t.equal(r.status, 400, 'REST: 400');

  const raised = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }], maxSamples: 2_000_000, maxModelRows: 1e9, maxRowOps: 1e9 });
  t.teardown(() => raised.close(100));
  const c2 = client(raised.grpcPort);
  t.teardown(() => c2.close());
  const e = await grpcError(explainCall(c2, cases[0]![1], { deadlineMs: 500 }));
  t.equal(e.code, status.DEADLINE_EXCEEDED, 'the operator raised --max-samples, --max-model-rows and --max-row-ops: the call runs (until its deadline)');
});

t.test('3. bad input is a 400 that names the field, whatever its shape', async (t) => {
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const bodies: [string, string, RegExp][] = [
    ['outputs.indices an object', JSON.stringify({ instances: [rfRow], outputs: { indices: { a: 1 } } }), /outputs\.indices must be a list, got \{"a":1\}/],
    ['outputs.names a number', JSON.stringify({ instances: [rfRow], outputs: { names: 5 } }), /outputs\.names must be a list, got 5/],
    ['outputs.indices a string in the list', JSON.stringify({ instances: [rfRow], outputs: { indices: ['0'] } }), /outputs\.indices\[0\] must be an integer output index, got "0"/],
    ['a row cell nested 10,000 deep', `{"instances":[[${deep(10_000)},1,1,1,1,1,1,1]]}`, /nests lists\/objects more than 64 levels deep/],
    ['parameters nested 10,000 deep', `{"instances":[${JSON.stringify(rfRow)}],"method":"kernel_shap","parameters":{"nsamples":${deep(10_000)}}}`, /nests lists\/objects more than 64 levels deep/],
    ['a row cell nested 20 deep', `{"instances":[[${deep(20)},1,1,1,1,1,1,1]]}`, /instances\[0\]\.MedInc must be a number or null, got an array of 1 item/],
  ];
  for (const [what, body, msg] of bodies) {
    const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/rf:explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    t.equal(r.status, 400, `${what}: 400`);
    t.match(((await r.json()) as { error: string }).error, msg, `${what}: names the field`);
  }
  // gRPC: a Struct parameter nested deep (google.protobuf.Struct in ExplainRequest.parameters, field 4).
  const valid = Buffer.from(explain.ExplainRequest.encode(explain.ExplainRequest.fromPartial({ methodName: 'kernel_shap', ...tab([rfRow]) })).finish());
  const nested = async (depth: number) => {
    let value = pb.len(6, Buffer.alloc(0)); // Value.list_value = []
    for (let i = 0; i < depth; i++) value = pb.len(6, pb.len(1, value)); // Value.list_value { values: [value] }
    const struct = pb.len(1, Buffer.concat([pb.str(1, 'nsamples'), pb.len(2, value)])); // Struct.fields map entry
    return new Promise<ServiceError>((resolve) =>
      c.makeUnaryRequest('/genome.explain.v1.Explainer/Explain', (b: Buffer) => b, (b: Buffer) => b, Buffer.concat([valid, pb.len(4, struct)]), (err) => resolve(err as ServiceError)),
    );
  };
  let e = await nested(20);
  t.equal(e.code, status.INVALID_ARGUMENT, 'gRPC: a parameter nested 20 deep is INVALID_ARGUMENT');
  t.match(e.details, /parameter "nsamples" nests more than 8 levels/, 'naming the parameter');
  e = await nested(10_000);
  t.equal(e.code, status.INVALID_ARGUMENT, 'gRPC: nested 10,000 deep, past the decoder\'s own recursion limit: INVALID_ARGUMENT');
  t.match(e.details, /not a valid protobuf message .*recursion limit/);
});

t.test('4a. a hung model server holds its calls only until their deadlines, and only its share of the slots', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }, lin.spec], maxConcurrency: 2, treeWorkers: 0 });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const toLinear = { model: { name: 'linear', version: '' }, methodName: 'kernel_shap', ...tab([[1, 2, 3]]) };
  t.same((await explainCall(c, toLinear)).shape, [1, 3, 1], 'the remote model answers');
  lin.oip.hang = true;
  const t0 = Date.now();
  const hung = [0, 1, 2].map(() => grpcError(explainCall(c, toLinear, { deadlineMs: 800 })));
  await new Promise((r) => setTimeout(r, 100));
  t.equal(s.limiter.runningFor('linear'), 1, 'the hung model holds one slot (half of --max-concurrency 2); its other calls wait');
  const local = await explainCall(c, tab([rfRow]), { deadlineMs: 2000 });
  t.same(local.shape, [1, 8, 1], `a local model's call runs meanwhile (${Date.now() - t0} ms)`);
  for (const e of await Promise.all(hung)) t.equal(e.code, status.DEADLINE_EXCEEDED, 'the hung calls end at their deadline');
  t.ok(Date.now() - t0 < 1500, `at their deadline (${Date.now() - t0} ms), not the predictor's 30 s timeout`);
  await until(async () => s.limiter.stats.inFlight === 0, 2000);
  t.pass('their slots are free again: the model-server requests were cancelled');
  lin.oip.hang = false;
  t.same((await explainCall(c, toLinear)).shape, [1, 3, 1], 'the model answers again');
});

t.test('4b. a model server that is down at start: the sidecar serves the rest, reports the model not ready, and picks it up', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const spec = { ...lin.spec, host: `127.0.0.1:${port}` } as typeof lin.spec;
  const t0 = Date.now();
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }, spec] });
  t.teardown(() => s.close(100));
  t.ok(Date.now() - t0 < 20_000, 'the sidecar started');
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const base = `http://127.0.0.1:${s.httpPort}`;
  t.equal((await fetch(`${base}/v2/health/ready`)).status, 200, 'the server is ready (its other models serve)');
  t.same((await explainCall(c, tab([rfRow]))).shape, [1, 8, 1], 'the local model explains');
  const ready = await fetch(`${base}/v2/models/linear/ready`);
  t.equal(ready.status, 503, 'per-model readiness: 503 (KServe V2)');
  const readyText = await ready.text();
  t.match(readyText, /not ready/);
  t.notMatch(readyText, new RegExp(String(port)), 'without the model server address');
  t.equal((await fetch(`${base}/v1/models/linear`)).status, 503, 'KServe V1 model status: 503');
  const info = (await describeModel(c, 'linear')).model!;
  t.equal(info.ready, false, 'DescribeModel: ready false');
  t.same(info.featureNames, ['a', 'b', 'c'], 'with what is known (names from the background CSV)');
  const e = await grpcError(explainCall(c, { model: { name: 'linear', version: '' }, methodName: 'kernel_shap', ...tab([[1, 2, 3]]) }));
  t.equal(e.code, status.UNAVAILABLE, 'calls to it: UNAVAILABLE');
  const oip = await startFakeOip(LINEAR, { grpcPort: port });
  t.teardown(() => oip.close());
  await until(async () => (await fetch(`${base}/v2/models/linear/ready`)).status === 200, 15_000);
  t.pass('the background retry loaded it once its server came up');
  t.equal((await describeModel(c, 'linear')).model!.ready, true);
  t.same((await explainCall(c, { model: { name: 'linear', version: '' }, methodName: 'kernel_shap', ...tab([[1, 2, 3]]) })).shape, [1, 3, 1], 'and it explains');
});

t.test('4c. a model server outage is UNAVAILABLE / 503 through every method, without the server address', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [lin.spec] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  await lin.oip.close();
  const port = String(lin.oip.grpcPort);
  for (const method of ['kernel_shap', 'permutation_shap', 'exact_shap', 'lime', 'anchors']) {
    const e = await grpcError(explainCall(c, { methodName: method, ...tab([[1, 2, 3]]) }));
    t.equal(e.code, status.UNAVAILABLE, `${method}: UNAVAILABLE`);
    t.notMatch(e.details, port, `${method}: the message does not name the model server (${e.details.slice(0, 120)})`);
    const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/linear:explain`, { method: 'POST', body: JSON.stringify({ instances: [[1, 2, 3]], method }) });
    t.equal(r.status, 503, `${method}: 503 over REST`);
    t.notMatch(await r.text(), port);
  }
  t.notMatch((await describeModel(c, 'linear')).model!.source, port, 'DescribeModel: the source names no address');
});

t.test('5. authorization before anything else', async (t) => {
  const s = await sidecar({
    models: [{ kind: 'package', name: 'rf', path: EXAMPLE }, { kind: 'file', name: 'squares', path: fixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx') }],
    authTokens: [{ token: 'rf-reader-token', models: ['rf'], subject: 'reader' }],
  });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const token = 'rf-reader-token';
  const gradcam = { model: { name: 'squares', version: '' }, methodName: 'gradcam', ...tab([rfRow]) };
  let e = await grpcError(explainCall(c, gradcam, { token }));
  t.equal(e.code, status.PERMISSION_DENIED, 'a model the token may not use: 403 before "takes image input"');
  e = await grpcError(explainCall(c, { model: { name: 'nope', version: '' }, ...tab([rfRow]) }, { token }));
  t.equal(e.code, status.NOT_FOUND);
  t.match(e.details, /available: rf$/, 'a 404 lists only the models the caller may use');
  const noToken = await Promise.all(['nope', 'rf', 'squares'].map((name) => grpcError(explainCall(c, { model: { name, version: '' }, ...tab([rfRow]) }))));
  t.same(noToken.map((x) => [x.code, x.details]), noToken.map(() => [status.UNAUTHENTICATED, noToken[0]!.details]), 'without a token, unknown and known models answer alike');
  t.equal((await grpcError(describeModel(c, 'squares', { token }))).code, status.PERMISSION_DENIED, 'DescribeModel: 403');

  const base = `http://127.0.0.1:${s.httpPort}`;
  const auth = { authorization: `Bearer ${token}` };
  t.equal((await fetch(`${base}/v1/models/squares:explain`, { method: 'POST', headers: auth, body: '{"instances": [[1]]}' })).status, 403, 'REST explain: 403');
  t.equal((await fetch(`${base}/v1/models/squares:explain`, { method: 'POST', headers: auth, body: '{not json' })).status, 403, 'REST: 403 before the body is read');
  const nf = await fetch(`${base}/v1/models/nope`, { headers: auth });
  t.equal(nf.status, 404);
  t.notMatch(await nf.text(), /squares/, 'REST 404 lists no model the caller may not use');
  const statuses = await Promise.all(['nope', 'rf'].map(async (n) => [(await fetch(`${base}/v1/models/${n}:explain`, { method: 'POST', body: '{}' })).status, (await fetch(`${base}/v1/models/${n}`)).status]));
  t.same(statuses, [[401, 401], [401, 401]], 'REST without a token: 401 alike');
  t.same(((await (await fetch(`${base}/v1/models`, { headers: auth })).json()) as { models: string[] }).models, ['rf'], 'the model list shows what the caller may use');
});

t.test('6. errors never echo more than a little of what the caller sent', async (t) => {
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort, undefined, { 'grpc.max_send_message_length': 8 << 20 });
  t.teardown(() => c.close());
  const big = 'x'.repeat(1 << 20);
  const bodies = [
    { instances: [rfRow], method: big },
    { instances: [rfRow], parameters: { [big]: 1 } },
    { instances: [[big, 1, 1, 1, 1, 1, 1, 1]] },
    { instances: [rfRow], method: 'kernel_shap', parameters: { nsamples: big } },
  ];
  for (const b of bodies) {
    const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/rf:explain`, { method: 'POST', body: JSON.stringify(b) });
    const text = await r.text();
    t.equal(r.status, 400);
    t.ok(text.length < 1200, `a 1 MB value comes back as ${text.length} characters: ${text.slice(0, 140)}`);
  }
  const e = await grpcError(explainCall(c, { model: { name: big, version: '' }, ...tab([rfRow]) }));
  t.equal(e.code, status.NOT_FOUND);
  t.ok(e.details.length < 1200, `gRPC: ${e.details.length} characters`);
});

t.test('7. the smaller edges', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [{ kind: 'package', name: 'rf', path: EXAMPLE }, lin.spec], maxRows: 10 });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const base = `http://127.0.0.1:${s.httpPort}`;
  const post = (model: string, body: string, headers: Record<string, string> = {}) => fetch(`${base}/v1/models/${model}:explain`, { method: 'POST', headers, body });

  // Infinity is refused alike by every method (XGBoost refuses it too); NaN / null stays "missing".
  for (const [model, method, row] of [['rf', 'tree_shap', '[1e309,41,7,1,322,2.5,37.9,-122.2]'], ['linear', 'kernel_shap', '[1e309,2,3]']] as const) {
    const r = await post(model, `{"instances":[${row}],"method":"${method}"}`);
    t.equal(r.status, 400, `1e309 through ${method}: 400`);
    t.match(((await r.json()) as { error: string }).error, /is Infinity, not a finite number/);
  }
  for (const [name, method, values] of [['rf', 'tree_shap', [Infinity, ...rfRow.slice(1)]], ['linear', 'kernel_shap', [1, -Infinity, 3]]] as const) {
    const e = await grpcError(explainCall(c, { model: { name, version: '' }, methodName: method, ...tab([[...values]]) }));
    t.equal(e.code, status.INVALID_ARGUMENT, `gRPC Infinity through ${method}: INVALID_ARGUMENT`);
  }
  t.equal((await post('rf', `{"instances":[[null,41,7,1,322,2.5,37.9,-122.2]]}`)).status, 200, 'null is a missing value');

  const k = await post('rf', JSON.stringify({ instances: [rfRow], outputs: { top_k: '3' } }));
  t.match(((await k.json()) as { error: string }).error, /top_k must be a non-negative integer, got "3"/, 'top_k "3" is reported as the string it is');

  const over = Array.from({ length: 11 }, () => rfRow);
  const u = await grpcError(explainCall(c, tab(over)));
  t.match(u.details, /11 rows in one request; the limit is 10: split the request/, 'unary over --max-rows');
  const st = await grpcError(explainStream(c, tab(over), 2));
  t.match(st.details, /the limit is 10: split it into several streams, or ask the operator to raise --max-rows/, 'ExplainStream over --max-rows');
  t.notMatch(st.details, /ExplainStream/, 'does not send a streaming caller to ExplainStream');

  const longUrl = await raw(s.httpPort, `GET /v1/models/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  t.match(longUrl, /^HTTP\/1\.1 431/, 'a 100 KB URL: 431, not a reset');

  t.equal((await post('rf', `\ufeff${JSON.stringify({ instances: [rfRow] })}`)).status, 200, 'a UTF-8 BOM is accepted (RFC 8259 lets parsers ignore it)');
  t.equal((await post('rf', JSON.stringify({ instances: [rfRow] }), { 'content-type': 'application/x-www-form-urlencoded' })).status, 200, "curl -d's content type is accepted, as KServe does");
  const csv = await post('rf', '1,2,3', { 'content-type': 'text/csv' });
  t.equal(csv.status, 415, 'text/csv: 415');
  t.match(((await csv.json()) as { error: string }).error, /content type "text\/csv" is not JSON/);
  t.equal((await post('rf', JSON.stringify({ instances: [rfRow] }), { 'content-type': 'application/json; charset=iso-8859-1' })).status, 415, 'a charset other than UTF-8: 415');
  t.equal((await post('rf', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) as unknown as string)).status, 400, 'invalid UTF-8: 400');
});
