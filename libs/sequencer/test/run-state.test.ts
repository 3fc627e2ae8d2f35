import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { KvBackend } from '@genome/model-store';
import { Engine, KvRunState, LocalExecutor, MemoryRunState, type RunRecord, type RunState } from '@genome/sequencer';
import { node, tempDir } from './helpers/local.js';

function record(runId: string, createdAt: string, pipelineName = 'p', status: RunRecord['status'] = 'running'): RunRecord {
  return {
    runId,
    pipelineName,
    canonicalName: 'c',
    application: 'a',
    executor: 'local',
    pipeline: { pipelineName, canonicalName: 'c', application: 'a', steps: [{ stepName: 's', stepType: 't' }] },
    status,
    trigger: 'manual',
    createdAt,
    updatedAt: createdAt,
    steps: [{ stepName: 's', stepType: 't', group: 0, status: 'pending', attempts: [] }],
  };
}

// The servers CI starts (.ci/run); GENOME_TEST_POSTGRES_URL / GENOME_TEST_REDIS_URL override them, as in model-store.
const POSTGRES_URL = process.env.GENOME_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.GENOME_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A KvRunState on a namespace of its own, cleared when it is closed. */
async function server(_t: Test, url: string): Promise<RunState> {
  const state = await KvRunState.open(url, { namespace: `seqt-${randomBytes(4).toString('hex')}`, connectTimeoutMs: 5000 });
  const close = state.close.bind(state);
  state.close = async () => {
    await (state.kv as KvBackend).clear();
    await close();
  };
  return state;
}

const backends: Array<[string, (t: Test) => Promise<RunState>]> = [
  ['memory', async () => new MemoryRunState()],
  ['kv memory:', async () => KvRunState.open('memory:')],
  ['kv sqlite', async (t) => KvRunState.open(`sqlite://${join(tempDir(t), 'runs.sqlite')}`)],
  ['kv postgres', (t) => server(t, POSTGRES_URL)],
  ['kv redis', (t) => server(t, REDIS_URL)],
];

for (const [name, open] of backends) {
  t.test(`run state contract: ${name}`, async (t) => {
    const s = await open(t);
    t.teardown(() => s.close());
    t.same(await s.list(), []);
    t.equal(await s.get('run-x'), undefined);
    const times = ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z'];
    await s.create(record('run-a', times[0]!));
    await s.create(record('run-b', times[1]!, 'other'));
    await s.create(record('run-c', times[2]!, 'p', 'succeeded'));
    await t.rejects(s.create(record('run-a', times[2]!)), { code: 'ALREADY_EXISTS' });
    t.same((await s.list()).map((r) => r.runId), ['run-c', 'run-b', 'run-a'], 'newest first');
    t.same((await s.list({ pipelineName: 'p' })).map((r) => r.runId), ['run-c', 'run-a']);
    t.same((await s.list({ status: ['running'] })).map((r) => r.runId), ['run-b', 'run-a']);
    t.same((await s.list({ limit: 1 })).map((r) => r.runId), ['run-c']);
    await t.rejects(s.list({ limit: 0 }), { code: 'INVALID_ARGUMENT' });
    // Pages: every run once, in order, across pages of 1 and 2; the last page has no token.
    for (const limit of [1, 2]) {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const p = await s.page({ limit, ...(token === undefined ? {} : { pageToken: token }) });
        seen.push(...p.runs.map((r) => r.runId));
        token = p.nextPageToken;
        pages++;
      } while (token !== undefined && pages < 10);
      t.same(seen, ['run-c', 'run-b', 'run-a'], `pages of ${limit}: every run once, newest first`);
    }
    const filtered = await s.page({ pipelineName: 'p', limit: 1 });
    t.same(filtered.runs.map((r) => r.runId), ['run-c']);
    t.same((await s.page({ pipelineName: 'p', limit: 1, pageToken: filtered.nextPageToken! })).runs.map((r) => r.runId), ['run-a'], 'a filtered second page');
    t.equal((await s.page({ limit: 3 })).nextPageToken, undefined, 'one full page: no token');
    await t.rejects(s.page({ pageToken: 'not-a-token' }), { code: 'INVALID_ARGUMENT', message: /pageToken: .* is not a page token/ });
    const a = (await s.get('run-a'))!;
    a.status = 'failed';
    a.steps[0]!.attempts.push({ attempt: 1, status: 'failed', handle: 'h', startedAt: times[0]!, reason: 'Error', message: 'x' });
    await s.put(a);
    t.same(await s.get('run-a'), a);
    a.status = 'cancelled';
    t.equal((await s.get('run-a'))!.status, 'failed', 'records are copies');
    t.same((await s.list({ status: ['failed'] })).map((r) => r.runId), ['run-a']);
  });
}

t.test('kv state: listing pages past 100 runs, two openings of one SQLite file see each other', async (t) => {
  const url = `sqlite://${join(tempDir(t), 'shared.sqlite')}`;
  const one = await KvRunState.open(url);
  const two = await KvRunState.open(url);
  t.teardown(async () => {
    await one.close();
    await two.close();
  });
  const ids: string[] = [];
  for (let i = 0; i < 130; i++) {
    const id = `run-${String(i).padStart(3, '0')}`;
    ids.push(id);
    await (i % 2 ? one : two).create(record(id, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()));
  }
  const all = await one.list({ limit: 1000 });
  t.equal(all.length, 130);
  t.same(all.map((r) => r.runId), [...ids].reverse());
  t.same((await two.list({ limit: 5 })).map((r) => r.runId), ids.slice(-5).reverse());
  const racers = await Promise.allSettled([one.create(record('run-race', '2026-02-01T00:00:00.000Z')), two.create(record('run-race', '2026-02-01T00:00:00.000Z'))]);
  t.same(racers.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'an id is taken once');
  t.equal((await one.list({ limit: 1000 })).filter((r) => r.runId === 'run-race').length, 1);
  await t.rejects(KvRunState.open('ftp://x'), { code: 'INVALID_ARGUMENT', message: /sqlite:/ });
});

t.test('a sequencer killed with SIGKILL in the middle of a run: a new engine on the same SQLite state completes it with the right record', async (t) => {
  const dir = tempDir(t);
  const stateUrl = `sqlite://${join(dir, 'runs.sqlite')}`;
  const logDir = join(dir, 'logs');
  const trace = join(dir, 'trace');
  const step = (name: string, ms: number, code = 0): unknown => ({
    stepName: name,
    stepType: 't',
    command: node(`const fs = require('node:fs'); fs.appendFileSync(${JSON.stringify(trace)}, '${name} start\\n'); setTimeout(() => { fs.appendFileSync(${JSON.stringify(trace)}, '${name} end\\n'); process.exit(${code}) }, ${ms})`),
  });
  const pipeline = { pipelineName: 'crash', canonicalName: 'genome.crash', application: 'test', steps: [step('first', 0), [step('second', 1200), step('third', 100)], step('fourth', 0)] };
  const script = fileURLToPath(new URL('./helpers/engine-and-hang.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', script, stateUrl, logDir, JSON.stringify(pipeline), 'run-crash', 'second'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res, rej) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('running second')) res();
    });
    child.once('exit', (c) => rej(new Error(`the engine process exited early (${c})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const state = await KvRunState.open(stateUrl);
  const executor = new LocalExecutor({ logDir, pollMs: 50 });
  const engine = new Engine({ executor, state });
  t.teardown(async () => {
    await engine.close();
    await executor.close();
    await state.close();
  });
  const before = (await state.get('run-crash'))!;
  t.equal(before.status, 'running');
  t.equal(before.steps.find((s) => s.stepName === 'second')!.status, 'running');
  t.same(await engine.resume(), ['run-crash']);
  const r = await engine.wait('run-crash');
  t.equal(r.status, 'succeeded');
  t.same(
    r.steps.map((s) => [s.stepName, s.status, s.attempts.length, s.attempts[0]!.exitCode]),
    [
      ['first', 'succeeded', 1, 0],
      ['second', 'succeeded', 1, 0],
      ['third', 'succeeded', 1, 0],
      ['fourth', 'succeeded', 1, 0],
    ],
  );
  const lines = readFileSync(trace, 'utf8').trim().split('\n');
  t.equal(lines.filter((l) => l === 'second start').length, 1, 'the running step was not started again');
  t.equal(lines.filter((l) => l === 'first start').length, 1);
  t.ok(lines.indexOf('fourth start') > lines.indexOf('second end'), 'the next group waited for the resumed step');
  t.same(await state.get('run-crash'), r);
});
