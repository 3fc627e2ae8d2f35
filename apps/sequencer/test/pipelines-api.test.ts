// The sequencer hosted by the platform server, over the wire: the seed's REST paths (/v1.0/genome/compute/sequence)
// and the gRPC mirror (genome.sequencer.v1.Sequencer), with real steps (node processes) run by the local executor:
// runs now and on a schedule, records with steps and attempts, the environment each step gets, paging, logs,
// cancel, watch, validation errors naming the field path, and per-model grants.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import type { RunRecord, ScheduledPipelineRecord } from '@genome/sequencer';
import { defaultConfig, type PlatformConfig } from '../src/index.js';
import { grpcError } from './helpers/grpc.js';
import { scratch } from './helpers/packages.js';
import * as s from './helpers/sequencer.js';
import { platform } from './helpers/server.js';

const fast = (over: Partial<PlatformConfig['sequencer']> = {}): Pick<PlatformConfig, 'sequencer'> => ({
  sequencer: { ...defaultConfig().sequencer, retryBackoffMs: 20, scheduleTickMs: 200, ...over },
});

async function json<T>(r: Response): Promise<T> {
  return (await r.json()) as T;
}

async function waitFor(base: string, runId: string, done = (r: RunRecord) => ['succeeded', 'failed', 'cancelled'].includes(r.status)): Promise<RunRecord> {
  for (let i = 0; i < 600; i++) {
    const r = await json<RunRecord>(await fetch(`${base}/runs/${runId}`));
    if (done(r)) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${runId} did not reach the expected state`);
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('REST: the seed\'s run now, records, environment, logs, paging, cancel', async (t) => {
  const work = scratch(t, 'seq-rest-');
  const p = await platform(t, { ...fast({ stepCwd: work }) });
  const base = `http://127.0.0.1:${p.httpPort}/v1.0/genome/compute/sequence`;
  const envDump = `require('fs').writeFileSync(process.env.STEP_NAME + '.env.json', JSON.stringify(process.env)); console.log('hello from', process.env.STEP_NAME)`;
  const doc = s.pipeline('churn', [
    s.nodeStep('prepare', envDump, { parameters: { rows: 100, source: 's3://x' }, timeout: '60s' }),
    [s.nodeStep('train-a', envDump), s.nodeStep('train-b', `${envDump}; if (!require('fs').existsSync('flaky')) { require('fs').writeFileSync('flaky', ''); process.exit(3) }`, { retry: '2' })],
  ]);

  const started = await post(`${base}/run`, doc);
  t.equal(started.status, 201, 'POST /v1.0/genome/compute/sequence/run: 201');
  const first = await json<RunRecord>(started);
  t.match(first, { pipelineName: 'churn', canonicalName: 'churn-model', application: 'search', executor: 'local', trigger: 'manual' });
  t.match(first.runId, /^run-/);
  const run = await waitFor(base, first.runId);
  t.equal(run.status, 'succeeded', 'the run succeeds');
  t.same(run.steps.map((x) => [x.stepName, x.group, x.status, x.attempts.length]), [['prepare', 0, 'succeeded', 1], ['train-a', 1, 'succeeded', 1], ['train-b', 1, 'succeeded', 2]], 'steps, groups and attempts (train-b retried once)');
  t.equal(run.steps[2]!.attempts[0]!.exitCode, 3, 'the failed attempt keeps its exit code');

  const env = JSON.parse((await import('node:fs')).readFileSync(join(work, 'prepare.env.json'), 'utf8')) as Record<string, string>;
  t.match(env, {
    APPLICATION: 'search',
    PIPELINE_RUNID: first.runId,
    PIPELINE_NAME: 'churn',
    STEP_NAME: 'prepare',
    STEP_TYPE: 'script',
    GENOME_STORE_DIR: p.storeDir,
  }, 'the seed\'s step environment and the store connection');
  t.same(JSON.parse(env.TRANSFORM_PARAMETERS!), { rows: 100, source: 's3://x' }, 'TRANSFORM_PARAMETERS is the step\'s parameters as JSON');

  const logs = await fetch(`${base}/runs/${first.runId}/steps/train-a/logs`);
  t.equal(logs.status, 200);
  t.match(logs.headers.get('content-type'), /^text\/plain/);
  t.equal(await logs.text(), 'hello from train-a\n', 'a step\'s log as text');
  const firstAttempt = await fetch(`${base}/runs/${first.runId}/steps/train-b/logs?attempt=1`);
  t.equal(firstAttempt.headers.get('x-genome-attempt'), '1', 'the log of attempt 1');
  t.equal((await fetch(`${base}/runs/${first.runId}/steps/nope/logs`)).status, 404, 'an unknown step: 404');
  t.equal((await fetch(`${base}/runs/${first.runId}/steps/train-a/logs?tailLines=0`)).status, 400, 'tailLines 0: 400');

  // Paging: three more runs, pages of two, every run once.
  const ids = [first.runId];
  for (const n of [1, 2, 3]) {
    const r = await json<RunRecord>(await post(`${base}/run?runId=quick-${n}`, s.pipeline('quick', [s.nodeStep('only', '0')])));
    ids.push(r.runId);
    await waitFor(base, r.runId);
  }
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await json<{ runs: RunRecord[]; nextPageToken?: string }>(await fetch(`${base}/runs?pageSize=2${token ? `&pageToken=${token}` : ''}`));
    seen.push(...page.runs.map((r) => r.runId));
    token = page.nextPageToken;
  } while (token);
  t.same(seen, [...ids].reverse(), 'pages of 2 list every run once, newest first');
  t.same((await json<{ runs: RunRecord[] }>(await fetch(`${base}/runs?pipelineName=quick&status=succeeded`))).runs.map((r) => r.runId), ['quick-3', 'quick-2', 'quick-1'], 'filters');
  t.equal((await post(`${base}/run?runId=quick-1`, s.pipeline('quick', [s.nodeStep('only', '0')]))).status, 409, 'a taken run id: 409 ALREADY_EXISTS');
  t.equal((await fetch(`${base}/runs?status=sleeping`)).status, 400, 'an unknown status: 400');
  t.equal((await fetch(`${base}/runs?pageToken=zzz`)).status, 400, 'a forged page token: 400');

  // Cancel a running run: its process is stopped, the pending step skipped.
  const slow = await json<RunRecord>(await post(`${base}/run`, s.pipeline('slow', [s.nodeStep('sleep', 'setTimeout(() => {}, 60000)'), s.nodeStep('after', '0')])));
  await waitFor(base, slow.runId, (r) => r.steps[0]!.attempts.length === 1);
  const cancelled = await post(`${base}/runs/${slow.runId}:cancel`, { message: 'not needed' });
  t.equal(cancelled.status, 200);
  const c = await json<RunRecord>(cancelled);
  t.match(c, { status: 'cancelled', message: 'not needed' }, 'cancel answers the final record');
  t.same(c.steps.map((x) => x.status), ['cancelled', 'skipped']);
  const again = await fetch(`${base}/runs/${slow.runId}:cancel`, { method: 'POST' });
  t.equal(again.status, 400, 'cancelling an ended run: FAILED_PRECONDITION');
  t.match((await json<{ error: string }>(again)).error, /already ended/);
  t.equal((await fetch(`${base}/runs/run-nope`)).status, 404);
  t.equal((await fetch(`${base}/runs/Not_An_Id`)).status, 400, 'a malformed run id: 400');
});

t.test('REST: validation errors name the field path and nothing is recorded', async (t) => {
  const p = await platform(t, fast());
  const base = `http://127.0.0.1:${p.httpPort}/v1.0/genome/compute/sequence`;
  const bad = await post(`${base}/run`, s.pipeline('bad', [[s.nodeStep('ok', '0'), { stepName: 'x', stepType: 't', timeout: 'soon' }]]));
  t.equal(bad.status, 400);
  t.match((await json<{ error: string }>(bad)).error, /steps\[0\]\[1\]\.timeout/, 'the message names steps[0][1].timeout');
  const missing = await post(`${base}/run`, { canonicalName: 'c', application: 'a', steps: [] });
  t.match((await json<{ error: string }>(missing)).error, /pipelineName/);
  const notJson = await fetch(`${base}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"pipelineName": ' });
  t.equal(notJson.status, 400, 'a body that is not JSON: 400');
  const deep = await fetch(`${base}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '['.repeat(10_000) + ']'.repeat(10_000) });
  t.equal(deep.status, 400, '10,000-deep nesting: 400');
  const noSchedule = await post(base, s.pipeline('x', [s.nodeStep('a', '0')]));
  t.equal(noSchedule.status, 400);
  t.match((await json<{ error: string }>(noSchedule)).error, /schedule: is required/);
  t.same((await json<{ runs: unknown[] }>(await fetch(`${base}/runs`))).runs, [], 'no run was recorded');
});

t.test('REST: scheduled pipelines (the seed\'s POST /v1.0/genome/compute/sequence)', async (t) => {
  const work = scratch(t, 'seq-sched-');
  const p = await platform(t, fast({ stepCwd: work }));
  const base = `http://127.0.0.1:${p.httpPort}/v1.0/genome/compute/sequence`;
  const before = Date.now();
  const created = await post(`${base}?overlap=forbid&maxMissedRuns=1`, s.pipeline('nightly', [s.nodeStep('tick', '0')], { schedule: '1s' }));
  t.equal(created.status, 201);
  const rec = await json<ScheduledPipelineRecord>(created);
  t.match(rec, { pipelineName: 'nightly', schedule: '1s', overlap: 'forbid', maxMissedRuns: 1, skippedRuns: 0 });
  const next = Date.parse(rec.nextRunAt!);
  t.ok(next >= before + 1000 && next <= Date.now() + 1000, 'the first run comes one period later, as the seed says');
  t.equal((await post(base, s.pipeline('nightly', [s.nodeStep('tick', '0')], { schedule: '1s' }))).status, 409, 'the same name again: 409');
  t.equal((await post(`${base}?overlap=sometimes`, s.pipeline('n2', [s.nodeStep('tick', '0')], { schedule: '1h' }))).status, 400, 'a bad overlap: 400');
  t.equal((await post(`${base}?timezone=Mars/Olympus`, s.pipeline('n3', [s.nodeStep('tick', '0')], { schedule: '0 3 * * *' }))).status, 400, 'a bad timezone: 400');
  const cron = await json<ScheduledPipelineRecord>(await post(`${base}?timezone=Europe/Paris`, s.pipeline('n4', [s.nodeStep('tick', '0')], { schedule: '0 3 * * *' })));
  t.equal(new Date(cron.nextRunAt!).toLocaleString('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }), '03:00', 'cron in its timezone');

  // The scheduler starts the run when it is due.
  let runs: RunRecord[] = [];
  for (let i = 0; i < 100 && runs.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    runs = (await json<{ runs: RunRecord[] }>(await fetch(`${base}/runs?pipelineName=nightly`))).runs;
  }
  t.ok(runs.length >= 1, 'a scheduled run started');
  t.match(runs[runs.length - 1], { trigger: 'schedule', pipelineName: 'nightly' });
  t.ok(runs[runs.length - 1]!.scheduledFor, 'it records the time it stands for');

  const listed = await json<{ pipelines: ScheduledPipelineRecord[] }>(await fetch(base));
  t.same(listed.pipelines.map((x) => x.pipelineName).sort(), ['n4', 'nightly']);
  t.match(await json<ScheduledPipelineRecord>(await fetch(`${base}/pipelines/nightly`)), { pipelineName: 'nightly' });
  const del = await fetch(`${base}/pipelines/nightly`, { method: 'DELETE' });
  t.equal(del.status, 200, 'DELETE a scheduled pipeline');
  t.equal((await fetch(`${base}/pipelines/nightly`)).status, 404, 'then it is gone');
  t.ok((await json<{ runs: RunRecord[] }>(await fetch(`${base}/runs?pipelineName=nightly`))).runs.length >= 1, 'its runs stay');
});

t.test('gRPC mirror: RunPipeline, WatchRun, GetRun, ListRuns, GetStepLogs, CancelRun, scheduled pipelines', async (t) => {
  const work = scratch(t, 'seq-grpc-');
  const p = await platform(t, { ...fast({ stepCwd: work }), httpPort: -1 });
  const c = s.seqClient(p.grpcPort);
  t.teardown(() => c.close());
  const doc = s.pipeline('grpc', [s.nodeStep('one', 'console.log(process.env.PIPELINE_RUNID)'), [s.nodeStep('two', 'setTimeout(() => console.log("two"), 200)'), s.nodeStep('three', '0')]]);
  const run = await s.runPipeline(c, { pipelineJson: JSON.stringify(doc), runId: 'grpc-run-1' });
  t.match(run, { runId: 'grpc-run-1', pipelineName: 'grpc', executor: 'local' });
  t.same(JSON.parse(run.pipelineJson), doc, 'the pipeline as it was validated');
  const watched = await s.watchRun(c, run.runId, { deadlineMs: 20_000 });
  t.equal(watched.error, undefined, 'WatchRun ends with OK when the run ends');
  t.ok(watched.runs.length >= 3, `WatchRun sent each change (${watched.runs.length} records)`);
  t.equal(watched.runs[watched.runs.length - 1]!.status, 'succeeded', 'the last record is the final one');
  const updated = watched.runs.map((r) => r.updatedAt);
  t.same(updated, [...new Set(updated)], 'no record sent twice');
  const got = await s.getRun(c, { runId: run.runId });
  t.same(got.steps.map((x) => [x.stepName, x.status, x.attempts[0]?.exitCode]), [['one', 'succeeded', 0], ['two', 'succeeded', 0], ['three', 'succeeded', 0]]);
  t.match(await s.getStepLogs(c, { runId: run.runId, stepName: 'one' }), { attempt: 1, text: `${run.runId}\n` });
  const page = await s.listRuns(c, { pageSize: 1 });
  t.same(page.runs.map((r) => r.runId), ['grpc-run-1']);
  t.equal(page.nextPageToken, '', 'one run: no next page');

  const e = await grpcError(s.runPipeline(c, { pipelineJson: JSON.stringify({ ...doc, steps: [{ stepName: 'a b', stepType: 't' }] }) }));
  t.equal(e.code, status.INVALID_ARGUMENT);
  t.match(e.details, /steps\[0\]\.stepName/, 'the field path');
  t.equal((await grpcError(s.runPipeline(c, { pipelineJson: '' }))).code, status.INVALID_ARGUMENT, 'no pipeline: INVALID_ARGUMENT');
  t.equal((await grpcError(s.runPipeline(c, { pipelineJson: '{' }))).code, status.INVALID_ARGUMENT, 'not JSON: INVALID_ARGUMENT');
  t.equal((await grpcError(s.runPipeline(c, { pipelineJson: JSON.stringify(doc), runId: 'grpc-run-1' }))).code, status.ALREADY_EXISTS);
  t.equal((await grpcError(s.getRun(c, { runId: 'nope' }))).code, status.NOT_FOUND);
  t.equal((await grpcError(s.cancelRun(c, { runId: run.runId }))).code, status.FAILED_PRECONDITION, 'cancel of an ended run');
  t.equal((await grpcError(s.listRuns(c, { pageSize: 5000 }))).code, status.INVALID_ARGUMENT, 'page size over the bound');

  const slow = await s.runPipeline(c, { pipelineJson: JSON.stringify(s.pipeline('slow', [s.nodeStep('sleep', 'setTimeout(() => {}, 60000)')])) });
  const watching = s.watchRun(c, slow.runId, { deadlineMs: 20_000 });
  await new Promise((r) => setTimeout(r, 300));
  const cancelled = await s.cancelRun(c, { runId: slow.runId, message: 'stop' });
  t.match(cancelled, { status: 'cancelled', message: 'stop' });
  const w = await watching;
  t.equal(w.runs[w.runs.length - 1]?.status, 'cancelled', 'a watch of a cancelled run ends with its final record');

  const sched = await s.createPipeline(c, { pipelineJson: JSON.stringify(s.pipeline('hourly', [s.nodeStep('a', '0')], { schedule: '1h' })), overlap: 'allow', maxMissedRuns: 3 });
  t.match(sched, { pipelineName: 'hourly', schedule: '1h', overlap: 'allow', maxMissedRuns: 3 });
  t.same((await s.listPipelines(c, {})).pipelines.map((x) => x.pipelineName), ['hourly']);
  t.match(await s.getPipeline(c, { pipelineName: 'hourly' }), { nextRunAt: sched.nextRunAt });
  t.match(await s.deletePipeline(c, { pipelineName: 'hourly' }), { pipelineName: 'hourly' });
  t.equal((await grpcError(s.getPipeline(c, { pipelineName: 'hourly' }))).code, status.NOT_FOUND);
});

t.test('auth: pipelines:read / pipelines:write scopes and per-model grants', async (t) => {
  const dir = scratch(t, 'seq-auth-');
  const p = await platform(t, {
    ...fast({ stepCwd: dir }),
    authTokens: [
      { token: 'admin-token', subject: 'admin', scopes: ['pipelines:read', 'pipelines:write'], models: ['*'] },
      { token: 'reader-token', subject: 'reader', scopes: ['pipelines:read'], models: ['*'] },
      { token: 'churn-team-token', subject: 'churn', scopes: ['pipelines:read', 'pipelines:write'], models: ['churn-model'] },
      { token: 'store-only-token', subject: 'store', scopes: ['store:read'], models: ['*'] },
    ],
  });
  const base = `http://127.0.0.1:${p.httpPort}/v1.0/genome/compute/sequence`;
  const as = (token: string, init: RequestInit = {}) => ({ ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
  const body = (name: string) => JSON.stringify(s.pipeline(name, [s.nodeStep('a', '0')]));
  t.equal((await fetch(`${base}/runs`)).status, 401, 'no token: 401');
  t.equal((await fetch(`${base}/runs`, as('store-only-token'))).status, 403, 'a token without pipelines:read: 403');
  t.equal((await fetch(`${base}/run`, as('reader-token', { method: 'POST', body: body('churn') }))).status, 403, 'pipelines:read may not run');
  const mine = await fetch(`${base}/run`, as('churn-team-token', { method: 'POST', body: body('churn') }));
  t.equal(mine.status, 201, 'a grant for churn-model runs the churn pipeline');
  t.equal((await fetch(`${base}/run`, as('churn-team-token', { method: 'POST', body: body('fraud') }))).status, 403, 'but not another model\'s');
  const other = await json<RunRecord>(await fetch(`${base}/run`, as('admin-token', { method: 'POST', body: body('fraud') })));
  t.equal((await fetch(`${base}/runs/${other.runId}`, as('churn-team-token'))).status, 404, 'another model\'s run is invisible');
  const seen = await json<{ runs: RunRecord[] }>(await fetch(`${base}/runs`, as('churn-team-token')));
  t.same(seen.runs.map((r) => r.pipelineName), ['churn'], 'lists show only granted runs');
  const c = s.seqClient(p.grpcPort);
  t.teardown(() => c.close());
  t.equal((await grpcError(s.listRuns(c, {}))).code, status.UNAUTHENTICATED, 'gRPC without a token');
  t.equal((await grpcError(s.runPipeline(c, { pipelineJson: body('churn') }, { token: 'reader-token' }))).code, status.PERMISSION_DENIED, 'gRPC: pipelines:read may not run');
  t.equal((await s.listRuns(c, {}, { token: 'reader-token' })).runs.length, 2, 'gRPC: a reader lists');
});

t.test('store connection reaches the steps: a step saves a model with its run and step as lineage', async (t) => {
  const work = scratch(t, 'seq-lineage-');
  const p = await platform(t, fast({ stepCwd: work }));
  const base = `http://127.0.0.1:${p.httpPort}/v1.0/genome/compute/sequence`;
  const pkg = join(import.meta.dirname, '../../../examples/packages/california-housing-rf');
  const script = join(work, 'save.mjs');
  const storeLib = new URL(import.meta.resolve('@genome/model-store')).pathname;
  writeFileSync(
    script,
    `import { openModelStore } from ${JSON.stringify(storeLib)};
const e = process.env;
const store = await openModelStore();
const v = await store.saveModel(${JSON.stringify(pkg)}, { canonicalName: e.CANONICAL_NAME, application: e.APPLICATION, pipelineName: e.PIPELINE_NAME, pipelineRunId: e.PIPELINE_RUNID, pipelineStage: e.STEP_NAME, metrics: { rmse: JSON.parse(e.TRANSFORM_PARAMETERS).rmse } });
console.log('saved', v.name, v.version);
await store.close();
`,
  );
  const run = await json<RunRecord>(
    await post(`${base}/run`, s.pipeline('housing-train', [{ stepName: 'register', stepType: 'save', parameters: { rmse: 0.52 }, command: [process.execPath, `--import=${import.meta.resolve('tsx')}`, '--conditions=@genome/source', script] }])),
  );
  const done = await waitFor(base, run.runId);
  const log = await (await fetch(`${base}/runs/${run.runId}/steps/register/logs`)).text();
  t.equal(done.status, 'succeeded', `the saving step succeeded (log: ${log.slice(0, 500)})`);
  const v = await p.store.getVersion('housing-train-model');
  t.equal(v.name, 'housing-train-model', 'saved under the pipeline\'s canonicalName');
  t.match(v.metadata, { application: 'search', pipelineName: 'housing-train', pipelineRunId: run.runId, pipelineStage: 'register' }, 'the version names the run and the step');
  t.same(v.metrics, { rmse: 0.52 });
  const lineage = await p.store.runLineage(run.runId);
  t.same(lineage.produced.map((x) => `${x.name}/${x.version}`), ['housing-train-model/1'], 'the run\'s lineage lists what it produced');
});
