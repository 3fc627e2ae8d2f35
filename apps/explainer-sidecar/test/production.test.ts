// Production behaviour over real sockets: bearer auth, bounded queue (RESOURCE_EXHAUSTED), deadlines and client
// cancels that stop the work, graceful shutdown (drain, then cancel), all with a cancellable test method
// plugged into the method registry.
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { explain } from '@genome/proto';
import { client, explainCall, grpcError, listModels } from './helpers/client.js';
import { linearSetup, sleepLog, sleepMethod } from './helpers/linear.js';
import { sidecar } from './helpers/sidecar.js';
import { healthCheck } from '../../../tools/test-std-clients.js';

const one = { rows: [{ values: [1, 2, 3] }], featureNames: [] as string[], values: [] as number[] };
const sleepReq = (ms: number) => ({ methodName: 'sleep', parameters: { ms }, tabular: one });
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

t.test('bearer-token auth', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const other = await linearSetup('other');
  t.teardown(() => other.close());
  const s = await sidecar({
    models: [lin.spec, other.spec],
    authTokens: [
      { token: 'linear-reader-token', models: ['linear'], subject: 'reader' },
      { token: 'admin-token-0000', models: ['*'] },
    ],
  });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const req = { model: { name: 'other', version: '' }, methodName: 'kernel_shap', tabular: one };

  let e = await grpcError(explainCall(c, req));
  t.equal(e.code, status.UNAUTHENTICATED, 'no token');
  t.match(e.details, /missing bearer token/);
  e = await grpcError(explainCall(c, req, { token: 'wrong-token-xyz' }));
  t.equal(e.code, status.UNAUTHENTICATED, 'unknown token');
  e = await grpcError(explainCall(c, req, { token: 'linear-reader-token' }));
  t.equal(e.code, status.PERMISSION_DENIED, 'token without access to the model');
  t.match(e.details, /token "reader" may not use model "other"/);
  t.same((await explainCall(c, { ...req, model: { name: 'linear', version: '' } }, { token: 'linear-reader-token' })).shape, [1, 3, 1], 'allowed model');
  t.same((await explainCall(c, req, { token: 'admin-token-0000' })).shape, [1, 3, 1], '"*" grants every model');
  t.same((await listModels(c, { token: 'linear-reader-token' })).models.map((m) => m.name), ['linear'], 'ListModels shows only allowed models');
  t.equal((await grpcError(listModels(c))).code, status.UNAUTHENTICATED);
  t.equal(await healthCheck(s.grpcPort, ''), 'SERVING', 'health needs no token');

  const base = `http://127.0.0.1:${s.httpPort}`;
  const post = (token?: string) =>
    fetch(`${base}/v1/models/other:explain`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: '{"instances": [[1, 2, 3]]}' });
  t.equal((await post()).status, 401, 'REST: no token');
  t.equal((await post('linear-reader-token')).status, 403, 'REST: no access');
  t.equal((await post('admin-token-0000')).status, 200, 'REST: allowed');
  t.equal((await fetch(`${base}/v2/health/ready`)).status, 200, 'REST health needs no token');
});

t.test('bounded queue -> RESOURCE_EXHAUSTED; deadlines stop the work', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [lin.spec], maxConcurrency: 1, maxQueue: 1 }, { methods: [sleepMethod] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());

  const aborted0 = sleepLog.aborted;
  const running = grpcError(explainCall(c, sleepReq(10_000), { deadlineMs: 1500 }));
  await until(() => s.limiter.stats.inFlight === 1);
  const queued = grpcError(explainCall(c, sleepReq(10_000), { deadlineMs: 800 }));
  await until(() => s.limiter.stats.queued === 1);
  const t0 = Date.now();
  const full = await grpcError(explainCall(c, sleepReq(10), { deadlineMs: 5000 }));
  t.equal(full.code, status.RESOURCE_EXHAUSTED, 'third call is refused at once');
  t.match(full.details, /server busy: 1 calls running and 1 queued/);
  t.ok(Date.now() - t0 < 1000, 'refused without waiting');
  const metrics = await s.metrics.registry.getSingleMetricAsString('genome_sidecar_queue_depth');
  t.match(metrics, /genome_sidecar_queue_depth 1/, 'queue depth gauge');

  const [r1, r2] = await Promise.all([running, queued]);
  t.equal(r1.code, status.DEADLINE_EXCEEDED, 'running call hits its deadline');
  t.equal(r2.code, status.DEADLINE_EXCEEDED, 'queued call hits its deadline');
  await until(() => s.limiter.stats.inFlight === 0 && s.limiter.stats.queued === 0);
  t.equal(sleepLog.aborted - aborted0, 1, 'the running work was cancelled (the queued one never started)');
  const cancelled = await s.metrics.registry.getSingleMetricAsString('genome_sidecar_cancelled_total');
  t.match(cancelled, /reason="deadline"\} 2/);
  t.same((await explainCall(c, sleepReq(5))).shape, [1, 3, 1], 'serving again after the overload');
});

t.test('a client cancel stops the work', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [lin.spec] }, { methods: [sleepMethod] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const aborted0 = sleepLog.aborted;
  const stream = c.explainStream(explain.ExplainStreamRequest.fromPartial({ request: sleepReq(10_000), chunkSize: 1 }));
  stream.on('error', () => {});
  await until(() => s.limiter.stats.inFlight === 1);
  stream.cancel();
  await until(() => sleepLog.aborted === aborted0 + 1);
  await until(() => s.limiter.stats.inFlight === 0);
  t.pass('cancelled stream released its slot and its work stopped');
  const m = await s.metrics.registry.getSingleMetricAsString('genome_sidecar_cancelled_total');
  t.match(m, /reason="client"\} 1/);
});

t.test('graceful shutdown: drains in-flight calls, refuses new ones, then cancels after the grace period', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());

  const s = await sidecar({ models: [lin.spec] }, { methods: [sleepMethod] });
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const inflight = explainCall(c, sleepReq(700));
  await until(() => s.limiter.stats.inFlight === 1);
  const t0 = Date.now();
  const closed = s.close(10_000);
  await new Promise((r) => setTimeout(r, 50));
  const late = await grpcError(explainCall(c, sleepReq(5)));
  t.equal(late.code, status.UNAVAILABLE, 'new call during drain: UNAVAILABLE (listener closed / GOAWAY)');
  t.same((await inflight).shape, [1, 3, 1], 'in-flight call completed');
  await closed;
  t.ok(Date.now() - t0 >= 600 && Date.now() - t0 < 5000, 'close waited for the in-flight call, not the whole grace period');

  const s2 = await sidecar({ models: [lin.spec] }, { methods: [sleepMethod] });
  const c2 = client(s2.grpcPort);
  t.teardown(() => c2.close());
  const stuck = grpcError(explainCall(c2, sleepReq(60_000)));
  await until(() => s2.limiter.stats.inFlight === 1);
  const t1 = Date.now();
  await s2.close(200);
  const e = await stuck;
  t.equal(e.code, status.UNAVAILABLE, 'call still running after the grace period is cancelled');
  t.match(e.details, /shutting down/);
  t.ok(Date.now() - t1 < 3000, 'shutdown bounded by the grace period');
});
