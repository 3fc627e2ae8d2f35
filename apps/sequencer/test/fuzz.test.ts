// Seeded, time-bounded fuzzing of the real `genome-platform` CLI's whole network surface (REST on HTTP/1.1 and the
// gRPC ModelStore, Sequencer, Health and reflection) with the generic harness in tools/server-fuzz.ts: the process must stay
// up, never answer HTTP 500 / gRPC INTERNAL, UNKNOWN or DATA_LOSS (no blob is corrupted here, so none is
// deliberate), answer within the deadline (+ margin), keep errors short, and still serve health and valid calls at
// the end, then drain on SIGTERM and exit 0.
//
// Reproduce / explore (environment):
//   GENOME_FUZZ_SEED=n          seed (default below)
//   GENOME_FUZZ_BUDGET_MS=n     time budget (default 35000)
//   GENOME_FUZZ_CASES=12,57     replay only these case indices (from a failure's seedIndex)
//   GENOME_FUZZ_CONTINUE=1      after a crash is pinned to its case, restart the server and keep fuzzing
import { join } from 'node:path';
import t from 'tap';
import { sequencer, store } from '@genome/proto';
import { formatReport, fuzzServerProcess, standardGrpcSurfaces, within, type GrpcMethodSurface, type HttpSurface } from '../../../tools/server-fuzz.js';
import * as g from './helpers/grpc.js';
import { makePackage, packageFiles, scratch, sha256 } from './helpers/packages.js';
import { startPlatformProcess } from './helpers/process.js';
import { healthCheck } from '../../../tools/test-std-clients.js';
import { uploadGrpc } from './helpers/upload.js';

const SEED = Number(process.env.GENOME_FUZZ_SEED ?? 20_261_206);
const BUDGET_MS = Number(process.env.GENOME_FUZZ_BUDGET_MS ?? 35_000);
const CASES = process.env.GENOME_FUZZ_CASES ? process.env.GENOME_FUZZ_CASES.split(',').map(Number) : undefined;
const CONTINUE = process.env.GENOME_FUZZ_CONTINUE === '1';
const DEADLINE_MS = 5000;
const MARGIN_MS = 2000;
const SVC = '/genome.store.v1.ModelStore';
const P = '/v1.0/genome/modelstore';
const SEQ = '/genome.sequencer.v1.Sequencer';
const Q = '/v1.0/genome/compute/sequence';

type Msg<T> = { encode(m: T): { finish(): Uint8Array }; fromPartial(x: store.DeepPartial<T>): T };
const enc = <T>(m: Msg<T>, v: store.DeepPartial<T>) => Buffer.from(m.encode(m.fromPartial(v)).finish());

t.test('fuzz: REST and gRPC surface of genome-platform', async (t) => {
  const dir = scratch(t, 'platform-fuzz-');
  const logFile = join(dir, 'platform.log');
  const args = ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--log-level', 'info', '--step-cwd', dir, '--default-deadline-ms', String(DEADLINE_MS), '--transfer-deadline-ms', String(DEADLINE_MS), '--shutdown-grace-ms', '5000', '--watch-poll-ms', '100'];
  const env = { GENOME_STORE_DIR: join(dir, 'store') };
  const first = await startPlatformProcess(args, env, logFile);
  const all = [first];
  t.teardown(async () => {
    for (const p of all) await p.kill();
  });

  // A store with content: two versions of "housing", aliases, lineage.
  const pkg = makePackage(dir, 'a');
  const files = packageFiles(pkg);
  const c0 = g.client(first.grpcPort);
  await uploadGrpc(c0, pkg, { metadata: { canonicalName: 'housing', pipelineRunId: 'run-1' }, aliases: ['staging'] });
  await uploadGrpc(c0, makePackage(dir, 'b'), { metadata: { canonicalName: 'housing' }, aliases: ['production'], tags: { team: 'risk' } });
  await g.recordLineage(c0, { runId: 'run-2', consumed: ['housing@production'] });
  c0.close();
  // The sequencer: a finished run and a scheduled pipeline. Steps are `node -e 0`.
  const quick = JSON.stringify({ pipelineName: 'quick', canonicalName: 'housing', application: 'fuzz', steps: [{ stepName: 'only', stepType: 't', command: [process.execPath, '-e', '0'], timeout: '30s' }] });
  const hourly = JSON.stringify({ ...JSON.parse(quick), pipelineName: 'hourly', schedule: '1h' });
  const seeded = await fetch(`http://127.0.0.1:${first.httpPort}${Q}/run?runId=fuzz-run-1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: quick });
  if (seeded.status !== 201) throw new Error(`could not seed a run: ${seeded.status} ${await seeded.text()}`);
  await fetch(`http://127.0.0.1:${first.httpPort}${Q}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: hourly });
  const fileList = files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
  const blobBody = { any: 'json', n: 1 };
  const blobSha = sha256(JSON.stringify(blobBody));
  const empty = sha256('');

  const grpc: GrpcMethodSurface[] = [
    { path: `${SVC}/MissingBlobs`, seedRequests: [enc(store.MissingBlobsRequest, { sha256: files.map((f) => f.sha256) }), enc(store.MissingBlobsRequest, {})], stringFields: [[1]], cheap: true },
    { path: `${SVC}/PutBlob`, bidiStreaming: true, seedRequests: [enc(store.PutBlobRequest, { header: { sha256: empty, size: 0 } })], stringFields: [[1, 1]] },
    { path: `${SVC}/GetBlob`, serverStreaming: true, seedRequests: [enc(store.GetBlobRequest, { sha256: files[0]!.sha256 })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/CreateVersion`, seedRequests: [enc(store.CreateVersionRequest, { metadata: { canonicalName: 'fuzz' }, files: fileList, tags: { a: 'b' }, metrics: { m: 1 }, aliases: ['x'] })], stringFields: [[1, 1], [4], [5, 1], [5, 2]], seedsMustSucceed: false },
    { path: `${SVC}/GetVersion`, seedRequests: [enc(store.GetVersionRequest, { ref: 'housing' }), enc(store.GetVersionRequest, { ref: 'housing/1', includeDeleted: true })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/UpdateVersion`, seedRequests: [enc(store.UpdateVersionRequest, { ref: 'housing', setTags: { k: 'v' }, deleteTags: ['z'], setMetrics: { auc: 0.5 }, description: 'd' })], stringFields: [[1], [3], [6]], seedsMustSucceed: false },
    { path: `${SVC}/DeleteVersion`, seedRequests: [enc(store.VersionRequest, { ref: 'housing/1' })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/RestoreVersion`, seedRequests: [enc(store.VersionRequest, { ref: 'housing/1' })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/PurgeVersion`, seedRequests: [enc(store.VersionRequest, { ref: 'housing/1' })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/ListModels`, seedRequests: [enc(store.ListModelsRequest, {}), enc(store.ListModelsRequest, { namePrefix: 'h', pageSize: 1 })], stringFields: [[1], [3]], cheap: true },
    { path: `${SVC}/GetModel`, seedRequests: [enc(store.GetModelRequest, { name: 'housing' })], stringFields: [[1]], cheap: true },
    {
      path: `${SVC}/SearchVersions`,
      seedRequests: [
        enc(store.SearchVersionsRequest, { filter: "tags.team = 'risk' AND version >= 1" }),
        enc(store.SearchVersionsRequest, { where: [{ field: 'version', op: 'in', listValue: { strings: [], numbers: [1, 2] } }], orderBy: [{ field: 'version', direction: 'asc' }], latestOnly: true, pageSize: 5 }),
      ],
      stringFields: [[1], [2, 1], [2, 3], [3, 1], [7]],
      cheap: true,
    },
    { path: `${SVC}/SetAlias`, seedRequests: [enc(store.SetAliasRequest, { name: 'housing', alias: 'champion', version: 2 })], stringFields: [[1], [2]], seedsMustSucceed: false },
    { path: `${SVC}/DeleteAlias`, seedRequests: [enc(store.DeleteAliasRequest, { name: 'housing', alias: 'champion' })], stringFields: [[1], [2]], seedsMustSucceed: false },
    { path: `${SVC}/RecordLineage`, seedRequests: [enc(store.RecordLineageRequest, { runId: 'run-3', stage: 's', consumed: ['housing'] })], stringFields: [[1], [2], [3]], seedsMustSucceed: false },
    { path: `${SVC}/GetRunLineage`, seedRequests: [enc(store.GetRunLineageRequest, { runId: 'run-2' })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/GetVersionLineage`, seedRequests: [enc(store.VersionRequest, { ref: 'housing@production' })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SVC}/CollectGarbage`, seedRequests: [enc(store.CollectGarbageRequest, { dryRun: true }), enc(store.CollectGarbageRequest, { graceMs: 3_600_000 })] },
    { path: `${SVC}/WatchEvents`, serverStreaming: true, seedRequests: [enc(store.WatchEventsRequest, { sinceSeq: 0 }), enc(store.WatchEventsRequest, { sinceSeq: 3 })] },
    ...standardGrpcSurfaces('genome.store.v1.ModelStore', 'genome/store/v1/store.proto'),
    { path: `${SEQ}/RunPipeline`, seedRequests: [enc(sequencer.RunPipelineRequest, { pipelineJson: quick }), enc(sequencer.RunPipelineRequest, { pipelineJson: quick, runId: 'fuzz-run-2' })], stringFields: [[1], [2]], seedsMustSucceed: false },
    { path: `${SEQ}/CreatePipeline`, seedRequests: [enc(sequencer.CreatePipelineRequest, { pipelineJson: JSON.stringify({ ...JSON.parse(hourly), pipelineName: 'daily', schedule: '0 3 * * *' }), timezone: 'Europe/Paris', overlap: 'allow', maxMissedRuns: 2 })], stringFields: [[1], [2], [3]], seedsMustSucceed: false },
    { path: `${SEQ}/GetPipeline`, seedRequests: [enc(sequencer.PipelineRequest, { pipelineName: 'hourly' })], stringFields: [[1]], cheap: true },
    { path: `${SEQ}/ListPipelines`, seedRequests: [enc(sequencer.ListPipelinesRequest, {})], cheap: true },
    { path: `${SEQ}/DeletePipeline`, seedRequests: [enc(sequencer.PipelineRequest, { pipelineName: 'daily' })], stringFields: [[1]], seedsMustSucceed: false },
    { path: `${SEQ}/GetRun`, seedRequests: [enc(sequencer.RunRequest, { runId: 'fuzz-run-1' })], stringFields: [[1]], cheap: true },
    { path: `${SEQ}/ListRuns`, seedRequests: [enc(sequencer.ListRunsRequest, {}), enc(sequencer.ListRunsRequest, { pipelineName: 'quick', status: ['succeeded', 'running'], pageSize: 1 })], stringFields: [[1], [2], [4]], cheap: true },
    { path: `${SEQ}/CancelRun`, seedRequests: [enc(sequencer.CancelRunRequest, { runId: 'fuzz-run-1', message: 'stop' })], stringFields: [[1], [2]], seedsMustSucceed: false },
    { path: `${SEQ}/GetStepLogs`, seedRequests: [enc(sequencer.GetStepLogsRequest, { runId: 'fuzz-run-1', stepName: 'only', attempt: 1, tailLines: 10 })], stringFields: [[1], [2]], seedsMustSucceed: false },
    { path: `${SEQ}/WatchRun`, serverStreaming: true, seedRequests: [enc(sequencer.RunRequest, { runId: 'fuzz-run-1' })], stringFields: [[1]], seedsMustSucceed: false },
  ];

  const http: Omit<HttpSurface, 'port'> = {
    routes: [
      { method: 'GET', pathTemplate: `${P}/models` },
      { method: 'GET', pathTemplate: `${P}/models/{name}` },
      { method: 'GET', pathTemplate: `${P}/models/{name}/versions` },
      { method: 'POST', pathTemplate: `${P}/models/{name}/versions` },
      { method: 'GET', pathTemplate: `${P}/models/{name}/versions/{version}` },
      { method: 'PATCH', pathTemplate: `${P}/models/{name}/versions/{version}` },
      { method: 'DELETE', pathTemplate: `${P}/models/{name}/versions/{version}` },
      { method: 'POST', pathTemplate: `${P}/models/{name}/versions/{version}:restore` },
      { method: 'POST', pathTemplate: `${P}/models/{name}/versions/{version}:purge` },
      { method: 'GET', pathTemplate: `${P}/models/{name}/versions/{version}/files/{path}` },
      { method: 'GET', pathTemplate: `${P}/models/{name}/versions/{version}/lineage` },
      { method: 'GET', pathTemplate: `${P}/models/{name}/aliases/{alias}` },
      { method: 'PUT', pathTemplate: `${P}/models/{name}/aliases/{alias}` },
      { method: 'DELETE', pathTemplate: `${P}/models/{name}/aliases/{alias}` },
      { method: 'POST', pathTemplate: `${P}/search` },
      { method: 'POST', pathTemplate: `${P}/blobs:missing` },
      { method: 'PUT', pathTemplate: `${P}/blobs/{sha256}` },
      { method: 'POST', pathTemplate: `${P}/lineage/runs/{runId}` },
      { method: 'GET', pathTemplate: `${P}/lineage/runs/{runId}` },
      { method: 'POST', pathTemplate: `${P}/gc` },
      { method: 'GET', pathTemplate: `${P}/events` },
      { method: 'POST', pathTemplate: `${Q}/run` },
      { method: 'POST', pathTemplate: Q },
      { method: 'GET', pathTemplate: Q },
      { method: 'GET', pathTemplate: `${Q}/pipelines/{pipeline}` },
      { method: 'DELETE', pathTemplate: `${Q}/pipelines/{pipeline}` },
      { method: 'GET', pathTemplate: `${Q}/runs` },
      { method: 'GET', pathTemplate: `${Q}/runs/{runId}` },
      { method: 'POST', pathTemplate: `${Q}/runs/{runId}:cancel` },
      { method: 'GET', pathTemplate: `${Q}/runs/{runId}/steps/{step}/logs` },
      { method: 'GET', pathTemplate: '/v2/health/live' },
      { method: 'GET', pathTemplate: '/v2/health/ready' },
    ],
    params: { name: ['housing'], version: ['1', '2'], path: files.map((f) => f.path), alias: ['production', 'staging'], sha256: [files[0]!.sha256, blobSha], runId: ['run-2', 'fuzz-run-1'], pipeline: ['hourly'], step: ['only'] },
    seedBodies: [
      { path: `${P}/search`, body: {} },
      { path: `${P}/search`, body: { filter: "tags.team = 'risk'", orderBy: [{ field: 'version', direction: 'asc' }], latestOnly: true, pageSize: 10 } },
      { path: `${P}/search`, body: { where: [{ field: 'version', op: 'in', value: [1, 2] }, { field: 'name', op: 'prefix', value: 'hou' }] } },
      { path: `${P}/blobs:missing`, body: { sha256: files.map((f) => f.sha256) } },
      { path: `${P}/blobs/${blobSha}`, method: 'PUT', body: blobBody },
      { path: `${P}/models/fuzz-rest/versions`, body: { files: fileList, application: 'fuzz', tags: { a: 'b' }, metrics: { m: 1 }, aliases: ['latest-fuzz'] } },
      { path: `${P}/gc`, body: { dryRun: true, graceMs: 3_600_000 } },
      { path: `${Q}/run`, body: JSON.parse(quick) },
    ],
    bodylessErrorStatuses: [400, 408, 413, 414, 417, 431, 503, 505],
  };

  t.comment(`platform pid ${first.child.pid}, gRPC ${first.grpcPort}, REST ${first.httpPort}; seed ${SEED}, budget ${BUDGET_MS} ms`);
  const { report, last } = await fuzzServerProcess({
    first,
    start: () => startPlatformProcess(args, env, logFile),
    started: (p) => all.push(p),
    seed: SEED,
    timeBudgetMs: BUDGET_MS,
    deadlineMs: DEADLINE_MS,
    marginMs: MARGIN_MS,
    http,
    grpc,
    continueAfterCrash: CONTINUE,
    ...(CASES ? { cases: CASES } : {}),
    log: (line) => t.comment(line),
  });
  const proc = last;

  for (const line of formatReport(report)) t.comment(line);
  t.comment(`reproduce one case: GENOME_FUZZ_SEED=${SEED} GENOME_FUZZ_CASES=<seedIndex> npx tap test/fuzz.test.ts`);
  t.ok(report.cases > 0, `${report.cases} cases run`);
  t.equal(report.deaths, 0, 'the server process never exited during the run');
  t.ok(first.alive(), 'the first server process is still running');
  const ok = t.same(report.failures, [], `no failures (${report.failures.length + report.failuresDropped} in ${Object.keys(report.failureCounts).length} signatures)`);
  if (!ok) t.comment(`last lines of the server log:\n${first.tail(30).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n')}`);

  if (!proc.alive()) {
    t.fail('no live server for the final checks');
    return;
  }
  t.equal(await within(healthCheck(proc.grpcPort, ''), 10_000, 'no answer within 10 s').catch((e: Error) => `error: ${e.message}`), 'SERVING', 'health Check is SERVING');
  const c = g.client(proc.grpcPort);
  try {
    const models = await g.listModels(c, {}, { deadlineMs: 10_000 });
    t.ok(models.models.some((m) => m.name === 'housing'), 'ListModels still answers');
    const up = await uploadGrpc(c, makePackage(dir, 'c'), { metadata: { canonicalName: 'after-fuzz' } }, { deadlineMs: 10_000 });
    t.equal(up.version.version, 1, 'a full upload still works');
  } catch (err) {
    t.fail(`a valid call fails after the run: ${(err as Error).message}`);
  } finally {
    c.close();
  }
  proc.child.kill('SIGTERM');
  t.equal(await within<number | string | null>(proc.exited, 20_000, 'still running 20 s after SIGTERM'), 0, 'SIGTERM: drains and exits with code 0');
});
