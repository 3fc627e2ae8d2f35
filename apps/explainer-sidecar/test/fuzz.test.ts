// Seeded, time-bounded fuzzing of the real sidecar CLI's whole network surface (REST on HTTP/1.1 and gRPC), with
// the generic harness in tools/server-fuzz.ts: the process must stay up, never answer HTTP 500 / gRPC INTERNAL or
// UNKNOWN, answer within the deadline (+ margin), keep errors short, and still serve health and a valid Explain
// at the end, then drain on SIGTERM and exit 0. Two configurations: the default (the embedded example package,
// what `npm start` serves) and a remote Open Inference Protocol model (a fake linear model in this process).
//
// Reproduce / explore (environment):
//   GENOME_FUZZ_SEED=n          seed (default below)
//   GENOME_FUZZ_BUDGET_MS=n     time budget per configuration (default 30000)
//   GENOME_FUZZ_CONFIG=default|remote   run one configuration
//   GENOME_FUZZ_CASES=12,57     replay only these case indices (from a failure's seedIndex)
//   GENOME_FUZZ_CONTINUE=1      after a crash is pinned to its case, restart the server and keep fuzzing
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { explain } from '@genome/proto';
import { formatReport, fuzzServerProcess, standardGrpcSurfaces, within, type GrpcMethodSurface, type HttpSurface } from '../../../tools/server-fuzz.js';
import { client, explainCall, type ExplainRequestInit } from './helpers/client.js';
import { FEATURES, LINEAR } from './helpers/linear.js';
import { startFakeOip } from './helpers/oip-server.js';
import { startSidecarProcess } from './helpers/sidecar-process.js';
import { healthCheck } from '../../../tools/test-std-clients.js';

const SEED = Number(process.env.GENOME_FUZZ_SEED ?? 20_240_611);
const BUDGET_MS = Number(process.env.GENOME_FUZZ_BUDGET_MS ?? 30_000);
const ONLY = process.env.GENOME_FUZZ_CONFIG;
const CASES = process.env.GENOME_FUZZ_CASES ? process.env.GENOME_FUZZ_CASES.split(',').map(Number) : undefined;
const CONTINUE = process.env.GENOME_FUZZ_CONTINUE === '1';
const DEADLINE_MS = 5000; // gRPC calls carry it; REST calls get it from --default-deadline-ms
const MARGIN_MS = 2000;

type Req = ExplainRequestInit;
const enc = (r: Req) => Buffer.from(explain.ExplainRequest.encode(explain.ExplainRequest.fromPartial(r)).finish());
const encStream = (r: Req, chunkSize: number) => Buffer.from(explain.ExplainStreamRequest.encode(explain.ExplainStreamRequest.fromPartial({ request: r, chunkSize })).finish());
const rows = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });

const EXPLAINER = '/genome.explain.v1.Explainer';
// ExplainRequest field numbers: model 1 (ModelRef: name 1, version 2), method_name 3, parameters 4 (Struct), request_id 9.
const EXPLAIN_STRINGS = [[3], [9], [1, 1], [1, 2]];

/** gRPC surface shared by both configurations; `explainSeeds` are valid ExplainRequests for the model. */
const encViz = (r: explain.DeepPartial<explain.VisualizeRequest>) => Buffer.from(explain.VisualizeRequest.encode(explain.VisualizeRequest.fromPartial(r)).finish());

function grpcMethods(model: string, explainSeeds: Req[], streamSeed: Req, visualizeSeeds: explain.DeepPartial<explain.VisualizeRequest>[]): GrpcMethodSurface[] {
  return [
    { path: `${EXPLAINER}/Explain`, seedRequests: explainSeeds.map(enc), structFields: [[4]], stringFields: EXPLAIN_STRINGS },
    { path: `${EXPLAINER}/ExplainStream`, serverStreaming: true, seedRequests: [encStream(streamSeed, 2), encStream(streamSeed, 0)], structFields: [[1, 4]], stringFields: EXPLAIN_STRINGS.map((p) => [1, ...p]) },
    { path: `${EXPLAINER}/ListModels`, seedRequests: [Buffer.alloc(0)], cheap: true },
    { path: `${EXPLAINER}/DescribeModel`, seedRequests: [Buffer.from(explain.DescribeModelRequest.encode({ model: { name: model, version: '' } }).finish()), Buffer.alloc(0)], stringFields: [[1, 1], [1, 2]], cheap: true },
    {
      path: `${EXPLAINER}/Visualize`,
      // Explain and plot (an ExplainRequest in field 5), a model chart (ModelRef in 6), a chart of an explanation.
      seedRequests: visualizeSeeds.map(encViz),
      structFields: [[4], [5, 4]],
      stringFields: [[1], [2], [3], [5, 3], [6, 1]],
    },
    ...standardGrpcSurfaces('genome.explain.v1.Explainer', 'genome/explain/v1/explainer.proto'),
  ];
}

function httpSurface(model: string, seedBodies: unknown[], visualizeBodies: unknown[]): Omit<HttpSurface, 'port'> {
  return {
    routes: [
      { method: 'POST', pathTemplate: '/v1/models/{name}:explain' },
      { method: 'POST', pathTemplate: '/v1/models/{name}:visualize' },
      { method: 'GET', pathTemplate: '/v2/models/{name}' },
      { method: 'GET', pathTemplate: '/' },
      { method: 'GET', pathTemplate: '/ui/app.js' },
      { method: 'GET', pathTemplate: '/v1/models' },
      { method: 'GET', pathTemplate: '/v1/models/{name}' },
      { method: 'GET', pathTemplate: '/v2/health/live' },
      { method: 'GET', pathTemplate: '/v2/health/ready' },
      { method: 'GET', pathTemplate: '/metrics' },
      { method: 'GET', pathTemplate: '/v2/models/{name}/ready' },
    ],
    params: { name: [model] },
    seedBodies: [
      ...seedBodies.map((body) => ({ path: `/v1/models/${model}:explain`, body })),
      ...visualizeBodies.map((body) => ({ path: `/v1/models/${model}:visualize`, body })),
    ],
    // /v2/health/ready answers 503 with an empty body when not ready (OIP health semantics).
    bodylessErrorStatuses: [400, 408, 413, 414, 417, 431, 503, 505],
  };
}

interface Config {
  name: string;
  args: string[];
  model: string;
  grpc: GrpcMethodSurface[];
  http: Omit<HttpSurface, 'port'>;
  validExplain: Req;
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function fuzzConfig(t: Tap, cfg: Config): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `sidecar-fuzz-${cfg.name}-`));
  const logFile = join(dir, 'sidecar.log');
  const args = ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--log-level', 'info', '--tree-workers', '1', '--default-deadline-ms', String(DEADLINE_MS), '--shutdown-grace-ms', '5000', ...cfg.args];
  const start = () => startSidecarProcess(args, {}, logFile);
  const first = await start();
  const all = [first];
  let keepLog = false;
  t.teardown(async () => {
    for (const p of all) await p.kill();
    if (keepLog) t.comment(`sidecar log kept at ${logFile}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  t.comment(`${cfg.name}: sidecar pid ${first.child.pid}, gRPC ${first.grpcPort}, REST ${first.httpPort}; seed ${SEED}, budget ${BUDGET_MS} ms`);

  const { report, last } = await fuzzServerProcess({
    first,
    start,
    started: (p) => all.push(p),
    seed: SEED,
    timeBudgetMs: BUDGET_MS,
    deadlineMs: DEADLINE_MS,
    marginMs: MARGIN_MS,
    http: cfg.http,
    grpc: cfg.grpc,
    continueAfterCrash: CONTINUE,
    ...(CASES ? { cases: CASES } : {}),
    log: (line) => t.comment(`${cfg.name}: ${line}`),
  });
  const proc = last;

  for (const line of formatReport(report)) t.comment(line);
  t.comment(`reproduce one case: GENOME_FUZZ_SEED=${SEED} GENOME_FUZZ_CONFIG=${cfg.name} GENOME_FUZZ_CASES=<seedIndex> npx tap test/fuzz.test.ts`);
  t.ok(report.cases > 0, `${report.cases} cases run`);
  t.equal(report.deaths, 0, 'the sidecar process never exited during the run');
  t.ok(first.alive(), 'the first sidecar process is still running');
  const total = report.failures.length + report.failuresDropped;
  const ok = t.same(report.failures, [], `no failures (${total} in ${Object.keys(report.failureCounts).length} signatures; up to 5 examples each below, with the case index to replay)`);
  if (!ok || report.deaths > 0) {
    keepLog = true;
    t.comment(`last lines of the (first) sidecar's log:\n${first.tail(30).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n')}`);
  }

  // The server (the first one, or the fresh one after a crash) still serves health and a valid request, then drains.
  if (proc !== first) t.comment('the checks below run on the restarted sidecar');
  if (!proc.alive()) {
    t.fail('no live sidecar for the final checks');
    return;
  }
  const health = await within(healthCheck(proc.grpcPort, ''), 10_000, 'no answer within 10 s').catch((e: Error) => `error: ${e.message}`);
  t.equal(health, 'SERVING', 'health Check is SERVING');
  const c = client(proc.grpcPort);
  try {
    const res = await explainCall(c, cfg.validExplain, { deadlineMs: 30_000 });
    t.ok(res.shape.length === 3 && res.values.length > 0, `a valid Explain still answers OK (shape ${res.shape.join('x')})`);
  } catch (err) {
    t.fail(`a valid Explain fails after the run: ${(err as Error).message}`);
  } finally {
    c.close();
  }
  proc.child.kill('SIGTERM');
  const code = await within<number | string | null>(proc.exited, 20_000, 'still running 20 s after SIGTERM');
  t.equal(code, 0, 'SIGTERM: drains and exits with code 0');
}

const CA_ROW = [8.3252, 41, 6.9841, 1.0238, 322, 2.5556, 37.88, -122.23];
const CA_ROW2 = [2.5, 20, 5, 1, 900, 3, 34.1, -118.3];

t.test('fuzz: default configuration (embedded example package)', { skip: ONLY && ONLY !== 'default' ? 'GENOME_FUZZ_CONFIG' : false }, async (t) => {
  const model = 'california-housing-rf';
  const m = { name: model, version: '' };
  const explainSeeds: Req[] = [
    { model: m, method: explain.Method.METHOD_TREE_SHAP, tabular: rows([CA_ROW]) },
    { model: m, tabular: rows([CA_ROW, CA_ROW2]), requestId: 'seed-default-method' },
    { model: m, methodName: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent' }, tabular: rows([CA_ROW]) },
    { model: m, methodName: 'kernel_shap', parameters: { nsamples: 64, seed: 1 }, tabular: rows([CA_ROW]) },
    { model: m, methodName: 'lime', parameters: { num_samples: 200, seed: 1 }, tabular: rows([CA_ROW]) },
    { model: m, methodName: 'permutation_shap', parameters: { max_evals: 100, seed: 1 }, tabular: rows([CA_ROW]) },
    { model: m, method: explain.Method.METHOD_TREE_SHAP, tabular: { rows: [], values: [...CA_ROW, ...CA_ROW2], featureNames: [] }, outputs: { indices: [], names: [], topK: 1 } },
  ];
  await fuzzConfig(t, {
    name: 'default',
    args: [],
    model,
    grpc: grpcMethods(model, explainSeeds, { model: m, method: explain.Method.METHOD_TREE_SHAP, tabular: rows([CA_ROW, CA_ROW2, CA_ROW, CA_ROW2]) }, [
      { kind: 'waterfall', explain: { model: m, tabular: rows([CA_ROW]) } },
      { kind: 'beeswarm', format: 'png', explain: { model: m, tabular: rows([CA_ROW, CA_ROW2]) } },
      { kind: 'tree', model: m, options: { tree: 1, max_depth: 3 }, row: { values: CA_ROW } },
      { kind: 'ensemble', model: m },
    ]),
    http: httpSurface(model, [
      { instances: [CA_ROW] },
      { instances: [CA_ROW, CA_ROW2], method: 'tree_shap' },
      { instances: [{ MedInc: 8.3, HouseAge: 41, AveRooms: 7, AveBedrms: 1, Population: 322, AveOccup: 2.5, Latitude: 37.9, Longitude: -122.2 }] },
      { instances: [CA_ROW], method: 'kernel_shap', parameters: { nsamples: 64 } },
      { instances: [CA_ROW], method: 'lime', parameters: { num_samples: 200 }, outputs: { top_k: 1 } },
    ], [
      { kind: 'force', instances: [CA_ROW] },
      { kind: 'decision', instances: [CA_ROW, CA_ROW2], format: 'html', options: { max_display: 5 } },
      { kind: 'tree', row: CA_ROW, options: { tree: 2 } },
    ]),
    validExplain: { model: m, method: explain.Method.METHOD_TREE_SHAP, tabular: rows([CA_ROW]) },
  });
});

t.test('fuzz: remote OIP model (grpc-v2, fake linear model)', { skip: ONLY && ONLY !== 'remote' ? 'GENOME_FUZZ_CONFIG' : false }, async (t) => {
  const oip = await startFakeOip(LINEAR);
  t.teardown(() => oip.close());
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-fuzz-bg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'bg.csv');
  writeFileSync(csv, `${FEATURES.join(',')}\n0,0,0\n1,2,3\n4,-2,1\n2,5,-3\n`);
  const model = 'linear';
  const m = { name: model, version: '' };
  const explainSeeds: Req[] = [
    { model: m, methodName: 'kernel_shap', parameters: { nsamples: 64, seed: 1 }, tabular: rows([[1, 2, 3]]) },
    { methodName: 'kernel_shap', tabular: rows([[1, 2, 3], [3, -4, 2]]), requestId: 'seed' },
    { model: m, methodName: 'permutation_shap', parameters: { max_evals: 100, seed: 1 }, tabular: rows([[1, 2, 3]]) },
    { model: m, methodName: 'exact_shap', tabular: rows([[1, 2, 3]]) },
    { model: m, methodName: 'lime', parameters: { num_samples: 200, seed: 1 }, tabular: rows([[1, 2, 3]]) },
    { model: m, methodName: 'kernel_shap', parameters: { nsamples: 64 }, tabular: { featureNames: ['c', 'a', 'b'], rows: [{ values: [3, 1, 2] }], values: [] } },
  ];
  await fuzzConfig(t, {
    name: 'remote',
    args: ['--predictor-host', `127.0.0.1:${oip.grpcPort}`, '--predictor-protocol', 'grpc-v2', '--model-name', LINEAR.name, '--background', csv],
    model,
    grpc: grpcMethods(model, explainSeeds, { model: m, methodName: 'kernel_shap', parameters: { nsamples: 64 }, tabular: rows([[1, 2, 3], [0, 0, 0], [3, -4, 2], [1, 1, 1]]) }, [
      { kind: 'waterfall', explain: { model: m, methodName: 'exact_shap', tabular: rows([[1, 2, 3]]) } },
      { kind: 'bar', format: 'svg', explain: { model: m, methodName: 'kernel_shap', parameters: { nsamples: 64, seed: 1 }, tabular: rows([[1, 2, 3], [3, -4, 2]]) } },
    ]),
    http: httpSurface(model, [
      { instances: [[1, 2, 3]], method: 'kernel_shap', parameters: { nsamples: 64 } },
      { instances: [{ a: 1, b: 2, c: 3 }], method: 'permutation_shap', parameters: { max_evals: 100 } },
      { instances: [[1, 2, 3], [3, -4, 2]], method: 'exact_shap' },
      { instances: [[1, 2, 3]], method: 'lime', parameters: { num_samples: 200 } },
    ], [
      { kind: 'lime_bar', instances: [[1, 2, 3]], method: 'lime', parameters: { num_samples: 200 } },
      { kind: 'force', instances: [[1, 2, 3]], method: 'exact_shap', format: 'png' },
    ]),
    validExplain: { model: m, methodName: 'kernel_shap', parameters: { nsamples: 64 }, tabular: rows([[1, 2, 3]]) },
  });
});
