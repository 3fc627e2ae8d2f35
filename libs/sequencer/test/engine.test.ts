import t, { type Test } from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, LocalExecutor, MemoryRunState, type Executor, type PipelineSpec, type RunRecord, type StepSpec } from '@genome/sequencer';
import { alive, localExecutor, node, sleep, tempDir } from './helpers/local.js';

function pipeline(steps: PipelineSpec['steps'], name = 'demo'): PipelineSpec {
  return { pipelineName: name, canonicalName: `genome.${name}`, application: 'genome-test', steps };
}

function engine(t: Test, executor: Executor = localExecutor(t), extra: Partial<ConstructorParameters<typeof Engine>[0]> = {}): Engine {
  const e = new Engine({ executor, backoff: { initialMs: 100, factor: 2, maxMs: 1000 }, timeoutGraceMs: 300, ...extra });
  t.teardown(() => e.close());
  return e;
}

/** A step that appends "<name> start|end <ms>" lines to `file`, sleeping `ms` in between. */
function traced(file: string, stepName: string, ms = 0, extra: Partial<StepSpec> = {}): StepSpec {
  const code = `const fs = require('node:fs'); const f = ${JSON.stringify(file)};
    fs.appendFileSync(f, ${JSON.stringify(stepName)} + ' start ' + Date.now() + '\\n');
    setTimeout(() => fs.appendFileSync(f, ${JSON.stringify(stepName)} + ' end ' + Date.now() + '\\n'), ${ms});`;
  return { stepName, stepType: 'transform', command: node(code), ...extra };
}

function events(file: string): Array<{ step: string; kind: string; at: number }> {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [step, kind, at] = l.split(' ');
      return { step: step!, kind: kind!, at: Number(at) };
    });
}

const steps = (r: RunRecord): Record<string, string> => Object.fromEntries(r.steps.map((s) => [s.stepName, s.status]));

t.test('steps run in order; a parallel group ends when all its steps end', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'trace');
  const e = engine(t);
  const started = await e.start(pipeline([traced(trace, 'a', 50), [traced(trace, 'b1', 600), traced(trace, 'b2', 100)], traced(trace, 'c')]));
  t.equal(started.status, 'pending');
  t.match(started.runId, /^run-[0-9a-z]+-[0-9a-f]{8}$/);
  const r = await e.wait(started.runId);
  t.equal(r.status, 'succeeded');
  t.same(steps(r), { a: 'succeeded', b1: 'succeeded', b2: 'succeeded', c: 'succeeded' });
  t.same(r.steps.map((s) => s.group), [0, 1, 1, 2]);
  const ev = events(trace);
  const at = (step: string, kind: string): number => ev.find((x) => x.step === step && x.kind === kind)!.at;
  t.ok(at('b1', 'start') >= at('a', 'end') && at('b2', 'start') >= at('a', 'end'), 'the group starts after a ends');
  t.ok(at('b1', 'start') < at('b2', 'end') && at('b2', 'start') < at('b1', 'end'), 'b1 and b2 overlap');
  t.ok(at('c', 'start') >= at('b1', 'end'), 'c waits for the slower step of the group');
  for (const s of r.steps) {
    t.equal(s.attempts.length, 1);
    t.match(s.attempts[0], { attempt: 1, status: 'succeeded', exitCode: 0, handle: `${r.runId}.${s.stepName}.1`, startedAt: String, finishedAt: String });
  }
  t.ok(r.startedAt! >= r.createdAt && r.finishedAt! >= r.startedAt!);
  t.same(await e.state.get(r.runId), r, 'the state holds the final record');
  t.same((await e.list({ pipelineName: 'demo' })).map((x) => x.runId), [r.runId]);
});

t.test('every step sees the seed environment, its parameters and the model store connection', async (t) => {
  const e = engine(t, localExecutor(t), { storeEnv: { GENOME_STORE_DIR: '/tmp/store-x', GENOME_STORE_METADATA: 'sqlite:///tmp/store-x/m.sqlite' } });
  const show = node(
    "const k = ['APPLICATION','PIPELINE_RUNID','PIPELINE_NAME','STEP_NAME','STEP_TYPE','TRANSFORM_PARAMETERS','GENOME_STORE_DIR','GENOME_STORE_METADATA','GENOME_STORE_BLOBS']; console.log(JSON.stringify(Object.fromEntries(k.map((x) => [x, process.env[x] ?? null]))))",
  );
  const r = await e.wait(
    (await e.start(pipeline([{ stepName: 'train', stepType: 'train', parameters: { depth: 6, features: ['a', 'b'], nested: { lr: 0.1 } }, command: show }], 'env-demo'))).runId,
  );
  t.equal(r.status, 'succeeded');
  t.same(JSON.parse(await e.logs(r.runId, 'train')), {
    APPLICATION: 'genome-test',
    PIPELINE_RUNID: r.runId,
    PIPELINE_NAME: 'env-demo',
    STEP_NAME: 'train',
    STEP_TYPE: 'train',
    TRANSFORM_PARAMETERS: JSON.stringify({ depth: 6, features: ['a', 'b'], nested: { lr: 0.1 } }),
    GENOME_STORE_DIR: '/tmp/store-x',
    GENOME_STORE_METADATA: 'sqlite:///tmp/store-x/m.sqlite',
    GENOME_STORE_BLOBS: null,
  });
});

t.test('a failing step is retried with exponential backoff and can then succeed', async (t) => {
  const dir = tempDir(t);
  const counter = join(dir, 'count');
  const flaky = node(`const fs = require('node:fs'); const f = ${JSON.stringify(counter)};
    const n = (fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0) + 1; fs.writeFileSync(f, String(n));
    console.log('attempt ' + n + ' at ' + Date.now()); process.exit(n < 3 ? 1 : 0);`);
  const updates: string[] = [];
  const e = engine(t, localExecutor(t), { onUpdate: (r) => updates.push(r.steps[0]!.status) });
  const r = await e.wait((await e.start(pipeline([{ stepName: 'flaky', stepType: 't', retry: '3', command: flaky }]))).runId);
  t.equal(r.status, 'succeeded');
  const s = r.steps[0]!;
  t.equal(s.status, 'succeeded');
  t.same(s.attempts.map((a) => [a.attempt, a.status, a.exitCode, a.reason ?? null]), [
    [1, 'failed', 1, 'Error'],
    [2, 'failed', 1, 'Error'],
    [3, 'succeeded', 0, null],
  ]);
  t.ok(updates.includes('retrying'), 'the step was recorded as retrying between attempts');
  const times = await Promise.all([1, 2, 3].map(async (n) => Number(/at (\d+)/.exec(await e.logs(r.runId, 'flaky', { attempt: n }))![1])));
  t.ok(times[1]! - times[0]! >= 100, `first backoff >= 100 ms (${times[1]! - times[0]!})`);
  t.ok(times[2]! - times[1]! >= 200, `second backoff >= 200 ms (${times[2]! - times[1]!})`);
  t.match(await e.logs(r.runId, 'flaky'), /^attempt 3/);
  await t.rejects(e.logs(r.runId, 'flaky', { attempt: 4 }), { code: 'NOT_FOUND', message: /no attempt 4 \(it has 3\)/ });
  await t.rejects(e.logs(r.runId, 'nope'), { code: 'NOT_FOUND', message: /its steps are flaky/ });
});

t.test('a step failing after its retries fails the run, cancels its running siblings and skips the rest', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'sibling.pid');
  const e = engine(t);
  const sibling = node(`require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`);
  const failing = node(`setTimeout(() => { console.error('bad input'); process.exit(4) }, 300)`);
  const r = await e.wait(
    (await e.start(pipeline([[{ stepName: 'fails', stepType: 't', retry: '1', command: failing }, { stepName: 'sibling', stepType: 't', command: sibling }], { stepName: 'after', stepType: 't', command: node('') }]))).runId,
  );
  t.equal(r.status, 'failed');
  t.equal(r.reason, 'StepFailed');
  t.equal(r.message, 'step fails failed after 2 attempts: Error: the command exited with code 4');
  t.same(steps(r), { fails: 'failed', sibling: 'cancelled', after: 'skipped' });
  t.match(r.steps[1], { reason: 'Cancelled', message: /parallel group failed/ });
  t.match(r.steps[1]!.attempts, [{ status: 'cancelled', reason: 'Cancelled' }]);
  t.same(r.steps[2]!.attempts, []);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.notOk(alive(pid), 'the sibling process is gone');
  t.equal(await e.logs(r.runId, 'fails', { attempt: 1 }), 'bad input\n');
});

t.test('timeouts: the executor gets timeoutMs, and the engine enforces it for executors that ignore it', async (t) => {
  const e = engine(t);
  const forever = node("console.log('working'); setInterval(() => {}, 1000)");
  const r = await e.wait((await e.start(pipeline([{ stepName: 'slow', stepType: 't', timeout: '500ms', command: forever }]))).runId);
  t.equal(r.status, 'failed');
  t.match(r.steps[0], { status: 'failed', reason: 'DeadlineExceeded', message: /timeout \(500 ms\)/ });

  // An executor that drops timeoutMs: the engine cancels the attempt at the timeout plus its grace.
  const inner = localExecutor(t);
  const seen: Array<number | undefined> = [];
  const deaf: Executor = {
    kind: 'deaf',
    launch: (l) => {
      seen.push(l.timeoutMs);
      return inner.launch({ ...l, timeoutMs: undefined });
    },
    wait: (h, s) => inner.wait(h, s),
    cancel: (h) => inner.cancel(h),
    logs: (h, o) => inner.logs(h, o),
    close: () => inner.close(),
  };
  const e2 = engine(t, deaf);
  const t0 = Date.now();
  const r2 = await e2.wait((await e2.start(pipeline([{ stepName: 'slow', stepType: 't', timeout: '400ms', retry: '1', command: forever }]))).runId);
  const took = Date.now() - t0;
  t.same(seen, [400, 400], 'the executor was told the timeout');
  t.match(r2.steps[0]!.attempts, [
    { status: 'failed', reason: 'DeadlineExceeded', message: /the sequencer cancelled it/ },
    { status: 'failed', reason: 'DeadlineExceeded' },
  ]);
  t.ok(took >= 2 * 700 && took < 10_000, `two attempts of 400 ms + 300 ms grace (${took} ms)`);
  t.equal(r2.executor, 'deaf');
});

t.test('cancel a run: running steps are stopped, the rest skipped; a finished run cannot be cancelled', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'pid');
  const e = engine(t);
  const long = node(`require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`);
  const { runId } = await e.start(pipeline([[{ stepName: 'long', stepType: 't', command: long }, { stepName: 'quick', stepType: 't', command: node('') }], { stepName: 'next', stepType: 't', command: node('') }]));
  for (let i = 0; i < 200 && !(existsSync(pidFile) && steps(await e.get(runId)).quick === 'succeeded'); i++) await sleep(20);
  t.same(e.activeRuns(), [runId]);
  const r = await e.cancel(runId, 'no longer needed');
  t.equal(r.status, 'cancelled');
  t.equal(r.message, 'no longer needed');
  t.same(steps(r), { long: 'cancelled', quick: 'succeeded', next: 'skipped' });
  t.notOk(alive(Number(readFileSync(pidFile, 'utf8'))), 'the process is gone');
  t.same(await e.wait(runId), r);
  t.same(e.activeRuns(), []);
  await t.rejects(e.cancel(runId), { code: 'FAILED_PRECONDITION', message: /already ended \(cancelled\)/ });
  await t.rejects(e.get('run-none'), { code: 'NOT_FOUND' });
});

t.test('a step that cannot launch fails with LaunchError; invalid pipelines and ids are refused', async (t) => {
  const e = engine(t);
  const r = await e.wait((await e.start(pipeline([{ stepName: 'no-cmd', stepType: 't', retry: '1' }]))).runId);
  t.equal(r.status, 'failed');
  t.match(r.steps[0]!.attempts, [{ reason: 'LaunchError', message: /has no command/ }, { reason: 'LaunchError' }]);
  t.match(await e.logs(r.runId, 'no-cmd'), /has no command/);
  await t.rejects(e.start({ pipelineName: 'x', steps: [] }), { code: 'INVALID_ARGUMENT', message: /canonicalName/ });
  await t.rejects(e.start(pipeline([{ stepName: 'a', stepType: 't', command: node('') }]), { runId: 'Bad_Id' }), { code: 'INVALID_ARGUMENT', message: /runId/ });
  await e.start(pipeline([{ stepName: 'a', stepType: 't', command: node('') }]), { runId: 'run-fixed' });
  await t.rejects(e.start(pipeline([{ stepName: 'a', stepType: 't', command: node('') }]), { runId: 'run-fixed' }), { code: 'ALREADY_EXISTS' });
  t.equal((await e.wait('run-fixed')).status, 'succeeded');
});

t.test('a restarted engine resumes unfinished runs from the state: done steps are not rerun, a running attempt is awaited', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'trace');
  const logDir = join(dir, 'logs');
  const state = new MemoryRunState();
  const ex1 = new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 });
  const e1 = new Engine({ executor: ex1, state });
  const { runId } = await e1.start(pipeline([traced(trace, 'first'), traced(trace, 'second', 800), traced(trace, 'third')]));
  for (let i = 0; i < 200 && !(existsSync(trace) && readFileSync(trace, 'utf8').includes('second start')); i++) await sleep(20);
  await e1.close(); // the engine stops driving; the attempt goes on
  t.equal((await state.get(runId))!.status, 'running');

  const ex2 = new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 });
  const e2 = new Engine({ executor: ex2, state });
  t.teardown(async () => {
    await e2.close();
    await ex2.close();
    await ex1.close();
  });
  t.same(await e2.resume(), [runId]);
  const r = await e2.wait(runId);
  t.equal(r.status, 'succeeded');
  t.same(steps(r), { first: 'succeeded', second: 'succeeded', third: 'succeeded' });
  t.same(r.steps.map((s) => s.attempts.length), [1, 1, 1], 'nothing ran twice');
  t.same(events(trace).map((x) => `${x.step} ${x.kind}`), ['first start', 'first end', 'second start', 'second end', 'third start', 'third end']);
  t.same(await e2.resume(), [], 'nothing left to resume');
});

t.test('cancelling a run that no engine drives cancels what it left running', async (t) => {
  const dir = tempDir(t);
  const logDir = join(dir, 'logs');
  const state = new MemoryRunState();
  const ex1 = new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 });
  const e1 = new Engine({ executor: ex1, state });
  const pidFile = join(dir, 'pid');
  const { runId } = await e1.start(pipeline([{ stepName: 'long', stepType: 't', command: node(`require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`) }, { stepName: 'later', stepType: 't', command: node('') }]));
  for (let i = 0; i < 200 && !existsSync(pidFile); i++) await sleep(20);
  await e1.close();
  const e2 = new Engine({ executor: new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 }), state });
  t.teardown(async () => {
    await e2.executor.close();
    await ex1.close();
  });
  await t.rejects(e2.wait(runId), { code: 'FAILED_PRECONDITION', message: /resume/ });
  const r = await e2.cancel(runId);
  t.equal(r.status, 'cancelled');
  t.same(steps(r), { long: 'cancelled', later: 'skipped' });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(20);
  t.notOk(alive(pid));
  t.same(await state.get(runId), r);
});

t.test('resuming an attempt recorded without a handle: adopted when the executor finds it, else Lost and retried', async (t) => {
  const dir = tempDir(t);
  const logDir = join(dir, 'logs');
  const ex = new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 });
  t.teardown(() => ex.close());
  const spec = pipeline([{ stepName: 's', stepType: 't', retry: '1', command: node("console.log('ran')") }], 'adopt');
  // The state a sequencer leaves when it dies right after launching attempt 1 and before recording its handle.
  const state = new MemoryRunState();
  const now = new Date().toISOString();
  const stuck = (runId: string): RunRecord => ({
    runId,
    pipelineName: 'adopt',
    canonicalName: 'genome.adopt',
    application: 'genome-test',
    executor: 'local',
    pipeline: spec,
    status: 'running',
    trigger: 'manual',
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    steps: [{ stepName: 's', stepType: 't', group: 0, status: 'running', startedAt: now, attempts: [{ attempt: 1, status: 'running', startedAt: now }] }],
  });
  await state.create(stuck('run-adopt'));
  await state.create(stuck('run-lost'));
  const launched = await ex.launch({ runId: 'run-adopt', pipelineName: 'adopt', canonicalName: 'genome.adopt', application: 'genome-test', step: spec.steps[0] as StepSpec, attempt: 1, env: {} });
  const e = new Engine({ executor: ex, state, backoff: { initialMs: 10 } });
  t.teardown(() => e.close());
  t.same((await e.resume()).sort(), ['run-adopt', 'run-lost']);
  const adopted = await e.wait('run-adopt');
  t.equal(adopted.status, 'succeeded');
  t.match(adopted.steps[0]!.attempts, [{ attempt: 1, status: 'succeeded', handle: launched }]);
  t.equal(adopted.steps[0]!.attempts.length, 1, 'not launched twice');
  const lost = await e.wait('run-lost');
  t.equal(lost.status, 'succeeded');
  t.match(lost.steps[0]!.attempts, [
    { attempt: 1, status: 'failed', reason: 'Lost' },
    { attempt: 2, status: 'succeeded', handle: 'run-lost.s.2' },
  ]);
});

t.test('a minimal executor works; state write failures are reported and the run goes on', async (t) => {
  const minimal: Executor = {
    kind: 'minimal',
    launch: async () => 'h',
    wait: async () => ({ status: 'succeeded' }),
    cancel: async () => undefined,
    logs: async () => '',
    close: async () => undefined,
  };
  const state = new MemoryRunState();
  const e = engine(t, minimal, { state, onUpdate: () => undefined });
  // A state whose writes fail: the engine reports it and the run goes on.
  const errors: string[] = [];
  const failing = new MemoryRunState();
  const e2 = new Engine({ executor: minimal, state: failing, onStateError: (err) => errors.push((err as Error).message) });
  t.teardown(() => e2.close());
  failing.put = async () => {
    throw new Error('disk full');
  };
  const r2 = await e2.wait((await e2.start(pipeline([{ stepName: 's', stepType: 't' }]))).runId);
  t.equal(r2.status, 'succeeded');
  t.ok(errors.length > 0 && errors.every((m) => m === 'disk full'), 'state errors are reported');
  const r = await e.wait((await e.start(pipeline([{ stepName: 's', stepType: 't' }]))).runId);
  t.equal(r.status, 'succeeded');
});
