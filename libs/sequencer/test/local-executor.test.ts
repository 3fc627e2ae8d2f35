import t from 'tap';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalExecutor, stepEnvironment, SequencerError } from '@genome/sequencer';
import { alive, launchOf, localExecutor, node, sleep, tempDir } from './helpers/local.js';

t.test('runs argv without a shell, with the step environment, output in one log per attempt', async (t) => {
  const ex = localExecutor(t);
  const step = {
    stepName: 'hello',
    stepType: 'transform',
    parameters: { alpha: 0.5, name: 'x y' },
    command: node(
      "console.log(JSON.stringify({app: process.env.APPLICATION, run: process.env.PIPELINE_RUNID, p: process.env.PIPELINE_NAME, s: process.env.STEP_NAME, ty: process.env.STEP_TYPE, tp: JSON.parse(process.env.TRANSFORM_PARAMETERS), arg: process.argv[1], secret: process.env.SEQ_TEST_SECRET ?? null})); console.error('to stderr')",
    ).concat(['$HOME; rm -rf /']),
  };
  process.env.SEQ_TEST_SECRET = 'do-not-leak';
  t.teardown(() => delete process.env.SEQ_TEST_SECRET);
  const handle = await ex.launch(launchOf(step));
  t.equal(handle, 'run-test.hello.1');
  t.same(await ex.wait(handle), { status: 'succeeded', exitCode: 0 });
  const log = await ex.logs(handle);
  const [first, second] = log.trim().split('\n');
  t.same(JSON.parse(first!), { app: 'app', run: 'run-test', p: 'p', s: 'hello', ty: 'transform', tp: { alpha: 0.5, name: 'x y' }, arg: '$HOME; rm -rf /', secret: null });
  t.equal(second, 'to stderr');
  t.equal(await ex.logs(handle, { tailLines: 1 }), 'to stderr\n');
  t.equal(await ex.logs(handle, { tailLines: 0 }), '');
  t.equal(readFileSync(ex.logPath(handle), 'utf8'), log);
});

t.test('the model store connection reaches the step', async (t) => {
  const env = stepEnvironment(
    { runId: 'r', pipelineName: 'p', canonicalName: 'c', application: 'a', step: { stepName: 's', stepType: 't' }, attempt: 2 },
    { GENOME_STORE_DIR: '/data/store', GENOME_STORE_METADATA: 'sqlite:///data/m.sqlite', GENOME_STORE_BLOBS: '', OTHER: 'x' },
  );
  t.same(env, {
    APPLICATION: 'a',
    PIPELINE_RUNID: 'r',
    PIPELINE_NAME: 'p',
    CANONICAL_NAME: 'c',
    STEP_NAME: 's',
    STEP_TYPE: 't',
    STEP_ATTEMPT: '2',
    TRANSFORM_PARAMETERS: '{}',
    GENOME_STORE_DIR: '/data/store',
    GENOME_STORE_METADATA: 'sqlite:///data/m.sqlite',
  });
});

t.test('a non-zero exit fails with reason Error and the exit code', async (t) => {
  const ex = localExecutor(t);
  const h = await ex.launch(launchOf({ stepName: 'bad', stepType: 't', command: node('console.log("boom"); process.exit(3)') }));
  t.same(await ex.wait(h), { status: 'failed', reason: 'Error', message: 'the command exited with code 3', exitCode: 3 });
  t.equal(await ex.logs(h), 'boom\n');
});

t.test('a missing program fails with StartError, a missing command is refused', async (t) => {
  const ex = localExecutor(t);
  const h = await ex.launch(launchOf({ stepName: 'nope', stepType: 't', command: ['/no/such/program-xyz'] }));
  const o = await ex.wait(h);
  t.match(o, { status: 'failed', reason: 'StartError', message: /could not start "\/no\/such\/program-xyz".*ENOENT.*PATH/ });
  t.match(await ex.logs(h), /ENOENT/);
  await t.rejects(ex.launch(launchOf({ stepName: 'empty', stepType: 't' })), { code: 'INVALID_ARGUMENT', message: /has no command/ });
  await t.rejects(ex.launch(launchOf({ stepName: 'nope', stepType: 't', command: ['x'] })), { code: 'ALREADY_EXISTS' });
});

t.test('a timeout kills the whole process group', async (t) => {
  const dir = tempDir(t);
  const ex = localExecutor(t);
  // The step starts a grandchild that would outlive it; both must die. The parent ignores SIGTERM, so SIGKILL is needed.
  const code = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    require('node:fs').writeFileSync(${JSON.stringify(`${dir}/grandchild.pid`)}, String(g.pid));
    process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
    console.log('started');
    setInterval(() => {}, 1000);`;
  const started = Date.now();
  const h = await ex.launch(launchOf({ stepName: 'slow', stepType: 't', command: node(code) }, { timeoutMs: 800 }));
  const o = await ex.wait(h);
  t.match(o, { status: 'failed', reason: 'DeadlineExceeded', message: /timeout \(800 ms\)/, exitCode: 137 });
  const took = Date.now() - started;
  t.ok(took >= 800 && took < 5000, `ended after the timeout and the grace (${took} ms)`);
  const grandchild = Number(readFileSync(`${dir}/grandchild.pid`, 'utf8'));
  for (let i = 0; i < 40 && alive(grandchild); i++) await sleep(50);
  t.notOk(alive(grandchild), 'the grandchild is gone too');
  t.match(await ex.logs(h), /started\nignoring SIGTERM/);
});

t.test('cancel sends SIGTERM to the group and resolves once the attempt ended', async (t) => {
  const ex = localExecutor(t);
  const h = await ex.launch(
    launchOf({ stepName: 'c', stepType: 't', command: node("process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0) }); console.log('up'); setInterval(() => {}, 1000)") }),
  );
  for (let i = 0; i < 100 && !(await ex.logs(h)).includes('up'); i++) await sleep(20);
  const waiting = ex.wait(h);
  await ex.cancel(h);
  t.match(await waiting, { status: 'failed', reason: 'Cancelled', exitCode: 0 });
  t.match(await ex.logs(h), /got SIGTERM/);
  await ex.cancel(h); // idempotent
});

t.test('wait() stops on its signal without touching the process', async (t) => {
  const ex = localExecutor(t);
  const h = await ex.launch(launchOf({ stepName: 'w', stepType: 't', command: node('setTimeout(() => {}, 400)') }));
  const ac = new AbortController();
  const p = ex.wait(h, ac.signal);
  ac.abort();
  await t.rejects(p, { code: 'CANCELLED' });
  t.same(await ex.wait(h), { status: 'succeeded', exitCode: 0 });
});

t.test('a new executor on the same folder: logs, recorded outcomes, and processes it did not start', async (t) => {
  const logDir = `${tempDir(t)}/logs`;
  const first = new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 });
  const done = await first.launch(launchOf({ stepName: 'done', stepType: 't', command: node("console.log('hi'); process.exit(2)") }));
  await first.wait(done);
  const running = await first.launch(launchOf({ stepName: 'running', stepType: 't', command: node('setTimeout(() => {}, 600)') }));
  const orphan = await first.launch(launchOf({ stepName: 'orphan', stepType: 't', command: node('setInterval(() => {}, 1000)') }));

  const second = new LocalExecutor({ logDir, killGraceMs: 200, pollMs: 50 });
  t.teardown(() => second.close());
  t.same(await second.wait(done), { status: 'failed', reason: 'Error', message: 'the command exited with code 2', exitCode: 2 });
  t.equal(await second.logs(done), 'hi\n');
  // `first` still watches `running` and writes its outcome when it ends; `second` sees it.
  t.same(await second.wait(running), { status: 'succeeded', exitCode: 0 });
  // `orphan`: cancelled through the second executor, which only knows its pid.
  await second.cancel(orphan);
  t.match(await second.wait(orphan), { status: 'failed', reason: 'Cancelled' });
  t.match(await first.wait(orphan), { status: 'failed', reason: 'Error', message: /code 143 \(killed by SIGTERM\)/, exitCode: 143 });
  await first.close();
  await t.rejects(second.wait('run-test.never.1'), { code: 'NOT_FOUND' });
  await t.rejects(second.logs('run-test.never.1'), { code: 'NOT_FOUND' });
  await t.rejects(second.logs('../../etc/passwd'), { code: 'INVALID_ARGUMENT' });
  t.ok(existsSync(`${logDir}/run-test.done.1.exit`));
});

t.test('an unobserved process that ended is reported as Lost', async (t) => {
  const logDir = `${tempDir(t)}/logs`;
  const { writeFileSync, mkdirSync } = await import('node:fs');
  mkdirSync(logDir, { recursive: true });
  // A pid record of a process that ended while no executor watched it (the exit file was never written).
  const { spawnSync } = await import('node:child_process');
  const gone = spawnSync(process.execPath, ['-e', '']);
  t.ok(gone.pid > 0 && gone.status === 0, 'the short-lived process ran');
  writeFileSync(`${logDir}/run-x.s.1.pid`, `${gone.pid}\n`);
  const ex = new LocalExecutor({ logDir, pollMs: 20 });
  t.teardown(() => ex.close());
  t.match(await ex.wait('run-x.s.1'), { status: 'failed', reason: 'Lost', message: /exit status is unknown/ });
  t.ok(new SequencerError('NOT_FOUND', 'x') instanceof Error);
});

t.test('close() cancels what still runs and refuses new launches', async (t) => {
  const ex = localExecutor(t);
  const h = await ex.launch(launchOf({ stepName: 'long', stepType: 't', command: node('setInterval(() => {}, 1000)') }));
  await ex.close();
  t.match(await ex.wait(h), { status: 'failed', reason: 'Cancelled' });
  await t.rejects(ex.launch(launchOf({ stepName: 'x', stepType: 't', command: node('') })), { code: 'FAILED_PRECONDITION' });
});

t.test('a sequencer killed with SIGKILL mid-step: the step goes on and a new executor reads its real exit code', async (t) => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const logDir = `${tempDir(t)}/logs`;
  const script = fileURLToPath(new URL('./helpers/launch-and-hang.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', script, logDir, "setTimeout(() => { console.log('finished'); process.exit(5) }, 700)"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const handle = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) res(out.trim());
    });
    child.once('exit', (c) => rej(new Error(`the child exited early (${c})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const ex = new LocalExecutor({ logDir, pollMs: 50 });
  t.teardown(() => ex.close());
  t.equal(ex.outcome(handle), undefined, 'still running after its sequencer died');
  t.same(await ex.wait(handle), { status: 'failed', reason: 'Error', message: 'the command exited with code 5', exitCode: 5 });
  t.equal(await ex.logs(handle), 'finished\n');
  t.same(ex.outcome(handle), { status: 'failed', reason: 'Error', message: 'the command exited with code 5', exitCode: 5 });
});

t.test('leaveRunningOnClose: close() lets the step run on, and a new executor on the folder gets its outcome', async (t) => {
  const logDir = join(tempDir(t), 'logs');
  const first = new LocalExecutor({ logDir, pollMs: 50, leaveRunningOnClose: true });
  const handle = await first.launch(launchOf({ stepName: 's', stepType: 't', command: node('setTimeout(() => { console.log("done"); process.exit(4) }, 400)') }));
  await first.close();
  await t.rejects(first.launch(launchOf({ stepName: 'x', stepType: 't', command: node('0') })), { code: 'FAILED_PRECONDITION' }, 'closed for new launches');
  const second = new LocalExecutor({ logDir, pollMs: 50 });
  t.teardown(() => second.close());
  t.same(await second.wait(handle), { status: 'failed', reason: 'Error', message: 'the command exited with code 4', exitCode: 4 }, 'the step ran to its own end');
  t.equal(await second.logs(handle), 'done\n');
});

t.test('a log folder removed under a running step: the executor reports it and its process survives', async (t) => {
  const root = tempDir(t);
  const logDir = join(root, 'logs');
  const ex = new LocalExecutor({ logDir, pollMs: 50 });
  t.teardown(() => ex.close());
  const handle = await ex.launch(launchOf({ stepName: 's', stepType: 't', command: node('setTimeout(() => {}, 300)') }));
  rmSync(logDir, { recursive: true, force: true });
  const outcome = await ex.wait(handle);
  t.match(outcome, { status: 'failed', reason: 'Lost', exitCode: 0 }, 'the outcome could not be recorded: Lost, with the real exit code');
  t.match((outcome as { message: string }).message, /could not be recorded/);
});
