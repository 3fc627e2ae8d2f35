// `genome models` and `genome health` against a real sidecar (the example package plus a remote model whose server
// is down, so it is listed as not ready), a closed port, a silent port, and a fake server that is NOT_SERVING.
import t from 'tap';
import { health } from '@genome/proto';
import { DEFAULT_MODEL_DIR } from '@genome/explainer-sidecar';
import { exits, STACK } from './helpers/assertions.js';
import { startFakeExplainer } from './helpers/fake-explainer.js';
import { genome } from './helpers/genome.js';
import { closedPort, silentServer } from './helpers/ports.js';
import { FEATURES, HOUSING, housingSidecar } from './helpers/sidecar.js';

t.test('models and health', async (t) => {
  const down = await closedPort();
  const s = await housingSidecar({
    models: [
      { kind: 'package', path: DEFAULT_MODEL_DIR },
      { kind: 'remote', name: 'offline', host: `127.0.0.1:${down}`, protocol: 'grpc-v2', featureNames: ['a', 'b'] },
    ],
    remoteStartupWaitMs: 200,
  });
  t.teardown(() => s.close(100));
  const addr = ['--address', `127.0.0.1:${s.grpcPort}`];

  t.test('models: a table with one line per model, not-ready models marked and explained', async (t) => {
    const r = await genome([...addr, 'models']);
    exits(t, r, 0);
    t.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    t.match(lines[0], /^NAME\s+VERSION\s+KIND\s+FEATURES\s+OUTPUTS\s+METHODS\s+READY$/, 'header');
    const housing = lines.find((l) => l.startsWith(HOUSING))!;
    t.ok(housing, 'the example model has a line');
    t.match(housing, /\s1\.0\.0\s+tabular\s/);
    t.match(housing, FEATURES.join(','), 'features in model order');
    t.match(housing, /\sMedHouseVal\s/, 'output name');
    t.match(housing, /\stree_shap,kernel_shap,/, 'methods, default first');
    t.match(housing, /\syes$/, 'ready');
    const offline = lines.find((l) => l.startsWith('offline '))!;
    t.match(offline, /\sno$/, 'the remote model whose server is down is not ready');
    t.ok(lines.some((l) => /^offline: not ready: /.test(l)), 'and why it is not ready');
  });

  t.test('models --json: every field, ready false for the model that is not ready', async (t) => {
    const r = await genome([...addr, 'models', '--json']);
    exits(t, r, 0);
    const models = JSON.parse(r.stdout) as { name: string; version: string; kind: string; featureNames: string[]; outputNames: string[]; methods: string[]; ready: boolean }[];
    t.same(models.map((m) => m.name), [HOUSING, 'offline']);
    const m = models[0]!;
    t.same(m.featureNames, FEATURES);
    t.same(m.outputNames, ['MedHouseVal']);
    t.equal(m.version, '1.0.0');
    t.equal(m.kind, 'tabular');
    t.equal(m.methods[0], 'tree_shap');
    t.equal(m.ready, true);
    t.equal(models[1]!.ready, false, 'ready: false is printed, not left out');
    t.same(models[1]!.methods, []);
  });

  t.test('GENOME_ADDRESS sets the address', async (t) => {
    const r = await genome(['models', '--json'], { env: { GENOME_ADDRESS: `127.0.0.1:${s.grpcPort}` } });
    exits(t, r, 0);
    t.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
  });

  t.test('health: SERVING, exit 0, for the server and for the Explainer service', async (t) => {
    const r = await genome([...addr, 'health']);
    exits(t, r, 0);
    t.equal(r.stdout, 'SERVING\n');
    const svc = await genome([...addr, 'health', '--service', 'genome.explain.v1.Explainer']);
    exits(t, svc, 0);
    t.equal(svc.stdout, 'SERVING\n');
  });

  t.test('health of an unknown service: the server answers NOT_FOUND, exit 1', async (t) => {
    const r = await genome([...addr, 'health', '--service', 'no.such.Service']);
    exits(t, r, 1);
    t.match(r.stderr, /^error: NOT_FOUND: /);
  });

  t.test('health of a server that is NOT_SERVING: printed, exit 1', async (t) => {
    const fake = await startFakeExplainer(FEATURES, health.HealthCheckResponse_ServingStatus.NOT_SERVING);
    t.teardown(() => fake.close());
    const r = await genome(['--address', `127.0.0.1:${fake.port}`, 'health']);
    exits(t, r, 1);
    t.equal(r.stdout, 'NOT_SERVING\n');
    t.equal(r.stderr, '');
  });
});

t.test('a server that cannot be reached: exit 3', async (t) => {
  t.test('closed port: connection refused', async (t) => {
    const port = await closedPort();
    for (const cmd of [['health'], ['models'], ['explain', '--model', HOUSING, '--row', '1,2,3,4,5,6,7,8']]) {
      const r = await genome(['--address', `127.0.0.1:${port}`, ...cmd]);
      exits(t, r, 3, cmd[0]);
      t.match(r.stderr, /^error: UNAVAILABLE: could not reach 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      t.equal(r.stdout, '');
      t.notMatch(r.stderr, STACK, 'no stack trace');
    }
  });

  t.test('a port that accepts TCP but never answers: DEADLINE_EXCEEDED while connecting', async (t) => {
    const silent = await silentServer();
    t.teardown(() => silent.close());
    const t0 = Date.now();
    const r = await genome(['--address', `127.0.0.1:${silent.port}`, '--deadline-ms', '700', 'health']);
    exits(t, r, 3);
    t.match(r.stderr, /^error: DEADLINE_EXCEEDED: could not reach 127\.0\.0\.1:\d+: no connection within 700 ms \(--deadline-ms\)\n$/);
    t.ok(Date.now() - t0 < 20_000, 'gave up at the deadline');
  });
});
