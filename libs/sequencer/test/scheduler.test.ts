import t, { type Test } from 'tap';
import { join } from 'node:path';
import { Engine, KvRunState, LocalExecutor, MemoryRunState, Scheduler, scheduledRunId, type PipelineSpec } from '@genome/sequencer';
import { localExecutor, node, sleep, tempDir } from './helpers/local.js';

function scheduled(schedule: string, ms = 0, name = 'nightly'): PipelineSpec {
  return {
    pipelineName: name,
    canonicalName: `genome.${name}`,
    application: 'test',
    schedule,
    steps: [{ stepName: 'work', stepType: 't', command: node(`setTimeout(() => console.log(process.env.PIPELINE_RUNID), ${ms})`) }],
  };
}

function setup(t: Test, state = new MemoryRunState()): { engine: Engine; scheduler: Scheduler; state: MemoryRunState } {
  const engine = new Engine({ executor: localExecutor(t), state });
  const scheduler = new Scheduler({ engine, pipelines: state, tickMs: 200 });
  t.teardown(async () => {
    await scheduler.stop();
    await engine.close();
  });
  return { engine, scheduler, state };
}

const at = (s: string): Date => new Date(s);

t.test('create: a schedule is required, the first run is one period later, names are unique', async (t) => {
  const { scheduler } = setup(t);
  const created = await scheduler.create(scheduled('6h'), { now: at('2026-01-01T00:00:00.000Z') });
  t.match(created, { pipelineName: 'nightly', schedule: '6h', overlap: 'forbid', maxMissedRuns: 1, nextRunAt: '2026-01-01T06:00:00.000Z', skippedRuns: 0 });
  t.same(await scheduler.get('nightly'), created);
  await t.rejects(scheduler.create(scheduled('1h')), { code: 'ALREADY_EXISTS' });
  const { schedule: _drop, ...unscheduled } = scheduled('1h', 0, 'adhoc');
  await t.rejects(scheduler.create(unscheduled), { code: 'INVALID_ARGUMENT', message: /schedule: is required/ });
  await t.rejects(scheduler.create(scheduled('every day', 0, 'bad')), { code: 'INVALID_ARGUMENT', message: /^invalid pipeline: schedule: / });
  await t.rejects(scheduler.create(scheduled('1h', 0, 'x'), { maxMissedRuns: 0 }), { code: 'INVALID_ARGUMENT', message: /maxMissedRuns/ });
  const cron = await scheduler.create(scheduled('0 3 * * *', 0, 'cron'), { now: at('2026-01-01T10:00:00.000Z'), timezone: 'Europe/Paris' });
  t.equal(cron.nextRunAt, '2026-01-02T02:00:00.000Z');
  t.same((await scheduler.list()).map((p) => p.pipelineName).sort(), ['cron', 'nightly']);
  await scheduler.delete('cron');
  await t.rejects(scheduler.delete('cron'), { code: 'NOT_FOUND' });
  await t.rejects(scheduler.get('cron'), { code: 'NOT_FOUND' });
});

t.test('ticks: on time, no double start, at most one missed run after downtime, no overlap', async (t) => {
  const { engine, scheduler } = setup(t);
  await scheduler.create(scheduled('1h'), { now: at('2026-01-01T00:00:00.000Z') });
  t.same(await scheduler.tick(at('2026-01-01T00:59:59.000Z')), [], 'nothing before one period');
  const [first, ...more] = await scheduler.tick(at('2026-01-01T01:00:01.000Z'));
  t.same(more, []);
  t.match(first, { runId: scheduledRunId('nightly', at('2026-01-01T01:00:00.000Z')), trigger: 'schedule', scheduledFor: '2026-01-01T01:00:00.000Z' });
  t.same(await scheduler.tick(at('2026-01-01T01:00:02.000Z')), [], 'the same time does not start twice');
  t.equal((await engine.wait(first!.runId)).status, 'succeeded');
  t.equal((await engine.logs(first!.runId, 'work')).trim(), first!.runId, 'the step saw its run id');

  // Down from 01:00:02 to 05:00:30: 02:00, 03:00, 04:00 and 05:00 passed; only 05:00 runs.
  const late = await scheduler.tick(at('2026-01-01T05:00:30.000Z'));
  t.same(late.map((r) => r.scheduledFor), ['2026-01-01T05:00:00.000Z']);
  let p = await scheduler.get('nightly');
  t.match(p, { lastScheduledAt: '2026-01-01T05:00:00.000Z', nextRunAt: '2026-01-01T06:00:00.000Z', skippedRuns: 3, lastRunId: late[0]!.runId });
  await engine.wait(late[0]!.runId);

  // A run still active at the next time: that time is skipped, not queued.
  await scheduler.delete('nightly');
  await scheduler.create(scheduled('1h', 3000, 'slow'), { now: at('2026-01-01T00:00:00.000Z') });
  const [slow] = await scheduler.tick(at('2026-01-01T01:00:00.000Z'));
  t.ok(slow);
  t.same(await scheduler.tick(at('2026-01-01T02:00:00.000Z')), [], 'no overlapping run');
  p = await scheduler.get('slow');
  t.match(p, { skippedRuns: 1, lastScheduledAt: '2026-01-01T02:00:00.000Z', nextRunAt: '2026-01-01T03:00:00.000Z' });
  await engine.cancel(slow!.runId);
});

t.test('overlap allowed and more missed runs when configured', async (t) => {
  const { engine, scheduler } = setup(t);
  await scheduler.create(scheduled('1h', 2000, 'busy'), { now: at('2026-01-01T00:00:00.000Z'), overlap: 'allow', maxMissedRuns: 2 });
  const runs = await scheduler.tick(at('2026-01-01T03:30:00.000Z'));
  t.same(runs.map((r) => r.scheduledFor), ['2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
  t.equal((await scheduler.get('busy')).skippedRuns, 1);
  await Promise.all(runs.map((r) => engine.cancel(r.runId)));
});

t.test('two replicas on one SQLite state start a scheduled run once', async (t) => {
  const dir = tempDir(t);
  const url = `sqlite://${join(dir, 'state.sqlite')}`;
  const replicas = await Promise.all(
    [1, 2].map(async (i) => {
      const state = await KvRunState.open(url);
      const executor = new LocalExecutor({ logDir: join(dir, `logs-${i}`) });
      const engine = new Engine({ executor, state });
      const scheduler = new Scheduler({ engine, pipelines: state });
      t.teardown(async () => {
        await engine.close();
        await executor.close();
        await state.close();
      });
      return { state, engine, scheduler };
    }),
  );
  await replicas[0]!.scheduler.create(scheduled('1h', 500, 'shared'), { now: at('2026-01-01T00:00:00.000Z') });
  await t.rejects(replicas[1]!.scheduler.create(scheduled('1h', 0, 'shared')), { code: 'ALREADY_EXISTS' });
  const now = at('2026-01-01T01:00:05.000Z');
  const started = (await Promise.all(replicas.map((r) => r.scheduler.tick(now)))).flat();
  t.equal(started.length, 1, 'one replica started it');
  const runs = await replicas[1]!.state.list({ pipelineName: 'shared' });
  t.same(runs.map((r) => r.runId), [scheduledRunId('shared', at('2026-01-01T01:00:00.000Z'))]);
  const owners = replicas.filter((r) => r.engine.activeRuns().includes(started[0]!.runId));
  t.equal(owners.length, 1, 'driven by one engine');
  t.equal((await owners[0]!.engine.wait(started[0]!.runId)).status, 'succeeded');
  t.equal((await replicas[0]!.state.get(started[0]!.runId))!.status, 'succeeded', 'both replicas see the record');
});

t.test('the background loop runs a "1s" schedule one period after creation, then every second', async (t) => {
  const { engine, scheduler } = setup(t);
  scheduler.start();
  const created = await scheduler.create(scheduled('1s', 0, 'fast'));
  const t0 = Date.now();
  while ((await engine.list({ pipelineName: 'fast' })).length < 2 && Date.now() - t0 < 10_000) await sleep(100);
  await scheduler.stop();
  const elapsed = Date.now() - t0;
  const runs = (await engine.list({ pipelineName: 'fast' })).reverse();
  t.ok(runs.length >= 2, `${runs.length} runs after ${elapsed} ms`);
  t.ok(runs.length <= Math.ceil(elapsed / 1000) + 1, 'not more than one per second');
  const c = Date.parse(created.createdAt);
  t.equal(Date.parse(runs[0]!.scheduledFor!), c + 1000, 'the first run is one period after creation');
  runs.forEach((r, i) => {
    const offset = Date.parse(r.scheduledFor!) - c;
    t.ok(offset > 0 && offset % 1000 === 0, `run ${i + 1} is on the 1 s grid (${offset} ms)`);
    if (i > 0) t.ok(offset > Date.parse(runs[i - 1]!.scheduledFor!) - c, 'later than the previous one');
    t.ok(Date.parse(r.createdAt) >= Date.parse(r.scheduledFor!), 'not started early');
  });
  await Promise.all(runs.map((r) => engine.wait(r.runId).catch(() => undefined)));
});
