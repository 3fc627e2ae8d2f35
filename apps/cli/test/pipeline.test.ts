// `genome pipeline` against a real Genome platform server started in this process (apps/sequencer, local executor:
// the steps are real `node -e` processes): run --wait (success, failure), run then status / logs / list with paging,
// cancel of a running run, scheduled pipelines (create, list, delete), the server's errors as exit codes (2, 3, 4),
// the address defaults, and a progress bar on a terminal. Most runs are in process (runCli); one spawns the real
// executable (its exit code for a failed run).
import t from 'tap';
import { runCli } from '../src/cli.js';
import { exits, STACK } from './helpers/assertions.js';
import { captureIo } from './helpers/capture-io.js';
import { genome, genomeInProcess, type Run } from './helpers/genome.js';
import { nodeStep, pipelineDoc, PRINT_ENV, scratchDir, startTestPlatform, writePipeline } from './helpers/platform.js';
import { closedPort } from './helpers/ports.js';

interface RunJson {
  runId: string;
  pipelineName: string;
  status: string;
  reason?: string;
  trigger: string;
  steps: { stepName: string; status: string; reason?: string; message?: string; attempts: { attempt: number; status: string; exitCode?: number }[] }[];
  pipeline: { pipelineName: string };
}

const parse = <T>(r: Run): T => JSON.parse(r.stdout) as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('genome pipeline against a platform server', async (t) => {
  const server = await startTestPlatform(t);
  const dir = scratchDir(t);
  const pipeline = (...args: string[]) => genomeInProcess(['pipeline', ...args, '--address', server.address]);

  const twoSteps = writePipeline(dir, 'two.json', pipelineDoc('two-steps', [nodeStep('prepare', PRINT_ENV, { parameters: { rows: 10 } }), nodeStep('train', PRINT_ENV)]));
  const failing = writePipeline(
    dir,
    'failing.json',
    pipelineDoc('failing', [nodeStep('ok', 'console.log("fine")'), nodeStep('boom', 'console.error("bad input"); process.exit(3)'), nodeStep('never', 'console.log("no")')]),
  );
  const logLines = writePipeline(dir, 'lines.json', pipelineDoc('lines', [nodeStep('talk', 'for (const n of [1, 2, 3]) console.log("line " + n)')]));
  const sleeper = writePipeline(dir, 'sleeper.json', pipelineDoc('sleeper', [nodeStep('nap', 'setTimeout(() => {}, 60000)'), nodeStep('after', 'console.log("no")')]));

  t.test('run --wait: a two-step pipeline succeeds; exit 0, the run printed, each step change on stderr', async (t) => {
    const r = await pipeline('run', twoSteps, '--wait', '--run-id', 'two-1');
    exits(t, r, 0);
    t.match(r.stdout, /^run two-1\n/);
    t.match(r.stdout, /\n {2}pipeline +two-steps\n {2}status +succeeded\n/);
    t.match(r.stdout, /\nsteps:\n {2}STEP +STATUS +ATTEMPTS +EXIT CODE +REASON +STARTED +DURATION\n {2}prepare +succeeded +1 +0 +- +\S+Z +\S+\n {2}train +succeeded +1 +0 /);
    t.match(r.stderr, /^step prepare: running\nstep prepare: succeeded \(exit 0, [^)]+\)\nstep train: running\nstep train: succeeded \(exit 0, [^)]+\)\nrun two-1: succeeded \([^)]+\)\n$/);

    const logs = await pipeline('logs', 'two-1', 'prepare');
    exits(t, logs, 0);
    const env = JSON.parse(logs.stdout) as Record<string, string | null>;
    t.same(env, {
      APPLICATION: 'cli-tests',
      PIPELINE_RUNID: 'two-1',
      PIPELINE_NAME: 'two-steps',
      STEP_NAME: 'prepare',
      STEP_TYPE: 'script',
      TRANSFORM_PARAMETERS: '{"rows":10}',
      GENOME_STORE_DIR: server.dir,
    }, 'the step saw the sequencer\'s environment');
    t.equal((JSON.parse((await pipeline('logs', 'two-1', 'train')).stdout) as { TRANSFORM_PARAMETERS: string }).TRANSFORM_PARAMETERS, '{}');

    const again = await pipeline('run', twoSteps, '--run-id', 'two-1');
    exits(t, again, 1, 'a taken run id');
    t.match(again.stderr, /^error: ALREADY_EXISTS: .*two-1/);
  });

  t.test('run --wait: a failing step exits 1 naming the step, its reason and message; the real executable', async (t) => {
    const r = await genome(['pipeline', 'run', failing, '--wait', '--run-id', 'failing-1'], { env: { GENOME_PLATFORM_ADDR: server.address } });
    exits(t, r, 1);
    t.match(r.stdout, /\n {2}status +failed \(StepFailed\)\n/);
    t.match(r.stdout, /\n {2}boom +failed +1 +3 +Error /);
    t.match(r.stdout, /\n {2}never +skipped +0 +- /);
    t.match(r.stderr, /step boom: failed \(Error: the command exited with code 3\)\n/);
    t.match(r.stderr, /\nerror: run failing-1 failed: step boom failed \(Error: the command exited with code 3\)\n$/);
    t.notMatch(r.stderr, STACK);

    const j = await pipeline('status', 'failing-1', '--json');
    exits(t, j, 0, 'status without --watch reports, whatever the run\'s status');
    const run = parse<RunJson>(j);
    t.match(run, { runId: 'failing-1', status: 'failed', reason: 'StepFailed', trigger: 'manual', pipeline: { pipelineName: 'failing' } });
    t.match(run.steps.find((s) => s.stepName === 'boom'), { status: 'failed', reason: 'Error', attempts: [{ attempt: 1, status: 'failed', exitCode: 3 }] });
    t.equal((await pipeline('logs', 'failing-1', 'boom')).stdout, 'bad input\n');

    const watched = await pipeline('status', 'failing-1', '--watch', '--json', '--quiet');
    exits(t, watched, 1, 'status --watch of a failed run');
    t.equal(parse<RunJson>(watched).status, 'failed');
    t.match(watched.stderr, /^error: run failing-1 failed: step boom failed/);
  });

  t.test('run without --wait prints the run id; status --json, --watch; logs --tail', async (t) => {
    const r = await pipeline('run', logLines);
    exits(t, r, 0);
    const runId = r.stdout.trim();
    t.match(runId, /^run-[a-z0-9-]+$/, 'only the run id on stdout');
    t.match(r.stderr, new RegExp(`^started run ${runId} of lines; follow it: genome pipeline status ${runId} --watch\\n$`));
    const first = parse<RunJson>(await pipeline('status', runId, '--json'));
    t.equal(first.runId, runId);
    t.ok(['pending', 'running', 'succeeded'].includes(first.status), `status ${first.status}`);
    const done = await pipeline('status', runId, '--watch');
    exits(t, done, 0);
    t.match(done.stdout, /\n {2}status +succeeded\n/);
    t.match(done.stderr, new RegExp(`run ${runId}: succeeded`));

    exits(t, await pipeline('logs', runId, 'talk'), 0);
    t.equal((await pipeline('logs', runId, 'talk')).stdout, 'line 1\nline 2\nline 3\n');
    t.equal((await pipeline('logs', runId, 'talk', '--tail', '2')).stdout, 'line 2\nline 3\n');
    t.same(parse(await pipeline('logs', runId, 'talk', '--attempt', '1', '--tail', '1', '--json')), { runId, stepName: 'talk', attempt: 1, text: 'line 3\n' });

    const json = await pipeline('run', logLines, '--json', '--run-id', 'lines-json');
    exits(t, json, 0);
    t.match(parse<RunJson>(json), { runId: 'lines-json', pipelineName: 'lines', trigger: 'manual' }, '--json prints the first record');
    exits(t, await pipeline('status', 'lines-json', '--watch', '-q'), 0);
  });

  t.test('list --runs: a table; filters; --limit pages; --limit 1 --all gives every run once', async (t) => {
    const table = await pipeline('list', '--runs');
    exits(t, table, 0);
    t.match(table.stdout, /^RUN ID +PIPELINE +STATUS +TRIGGER +CREATED +DURATION +FAILING STEP\n/);
    t.match(table.stdout, /\nfailing-1 +failing +failed +manual +\S+Z +\S+ +boom\n/);
    t.match(table.stdout, /\ntwo-1 +two-steps +succeeded +manual +\S+Z +\S+ +-\n/);

    const all = parse<{ runs: RunJson[] }>(await pipeline('list', '--runs', '--all', '--json')).runs.map((r) => r.runId);
    t.ok(all.length >= 4, `${all.length} runs`);
    const paged = await pipeline('list', '--runs', '--limit', '1', '--all', '--json');
    exits(t, paged, 0);
    const ids = parse<{ runs: RunJson[]; nextPageToken?: string }>(paged);
    t.same(ids.runs.map((r) => r.runId), all, 'page by page, every run once, newest first');
    t.notOk('nextPageToken' in ids);

    const one = await pipeline('list', '--runs', '--limit', '1');
    exits(t, one, 0);
    t.equal(one.stdout.trim().split('\n').length, 2, 'a header and one run');
    const token = /^more results: add --page-token (\S+) \(or --all\)\n$/.exec(one.stderr)?.[1];
    t.ok(token, 'the next page token on stderr');
    const next = parse<{ runs: RunJson[]; nextPageToken?: string }>(await pipeline('list', '--runs', '--limit', '2', '--page-token', token!, '--json'));
    t.same(next.runs.map((r) => r.runId), all.slice(1, 3), '--page-token continues after the first page');
    t.ok(next.nextPageToken, 'nextPageToken in --json when more follow');

    const failed = parse<{ runs: RunJson[] }>(await pipeline('list', '--runs', '--status', 'failed,cancelled', '--json')).runs;
    t.same(failed.map((r) => r.runId), ['failing-1'], '--status filters');
    const byName = parse<{ runs: RunJson[] }>(await pipeline('list', '--runs', '--pipeline', 'two-steps', '--json')).runs;
    t.same(byName.map((r) => r.runId), ['two-1'], '--pipeline filters');

    const bad = await pipeline('list', '--runs', '--status', 'sleeping');
    exits(t, bad, 2, 'an unknown status is refused locally');
    const badToken = await pipeline('list', '--runs', '--page-token', 'not-a-token');
    exits(t, badToken, 2, "the server's INVALID_ARGUMENT");
    t.match(badToken.stderr, /^error: INVALID_ARGUMENT: /);
    exits(t, await pipeline('list', '--pipeline', 'x'), 2, 'run filters without --runs');
  });

  t.test('cancel: a running run stops; its final status is printed; a run that ended cannot be cancelled', async (t) => {
    const r = await pipeline('run', sleeper, '--run-id', 'sleepy');
    exits(t, r, 0);
    for (let i = 0; i < 100; i++) {
      const s = parse<RunJson>(await pipeline('status', 'sleepy', '--json'));
      if (s.steps[0]!.status === 'running') break;
      await sleep(50);
    }
    const started = Date.now();
    const c = await pipeline('cancel', 'sleepy', '--message', 'not today');
    exits(t, c, 0);
    t.equal(c.stdout, 'run sleepy: cancelled (not today)\n');
    t.ok(Date.now() - started < 10_000, 'the sleeping step was stopped');
    const s = parse<RunJson>(await pipeline('status', 'sleepy', '--json'));
    t.match(s, { status: 'cancelled', steps: [{ stepName: 'nap', status: 'cancelled' }, { stepName: 'after', status: 'skipped' }] });
    const again = await pipeline('cancel', 'sleepy');
    exits(t, again, 1);
    t.match(again.stderr, /^error: FAILED_PRECONDITION: /);
    const watched = await pipeline('status', 'sleepy', '--watch', '--quiet');
    exits(t, watched, 1, 'status --watch of a cancelled run');
    t.match(watched.stderr, /^error: run sleepy cancelled/);
  });

  t.test('create, list, delete a scheduled pipeline', async (t) => {
    const hourly = writePipeline(dir, 'hourly.json', pipelineDoc('hourly', [nodeStep('tick', 'console.log("tick")')], { schedule: '1h' }));
    const before = Date.now();
    const c = await pipeline('create', hourly);
    exits(t, c, 0);
    const next = /^created scheduled pipeline hourly \(schedule 1h\); next run at (\S+)\n$/.exec(c.stdout)?.[1];
    t.ok(next, 'prints the next run time');
    const inMs = Date.parse(next!) - before;
    t.ok(inMs > 3_590_000 && inMs < 3_610_000, `one period from now (${inMs} ms)`);

    const list = await pipeline('list');
    exits(t, list, 0);
    t.match(list.stdout, /^NAME +SCHEDULE +NEXT RUN +LAST RUN +SKIPPED\nhourly +1h +\S+Z +- +0\n$/);
    const j = parse<{ pipelines: { pipelineName: string; schedule: string; overlap: string; nextRunAt: string; pipeline: { steps: unknown[] } }[] }>(await pipeline('list', '--json'));
    t.match(j.pipelines, [{ pipelineName: 'hourly', schedule: '1h', overlap: 'forbid' }]);

    const taken = await pipeline('create', hourly);
    exits(t, taken, 1, 'a taken name');
    t.match(taken.stderr, /^error: ALREADY_EXISTS: /);
    const noSchedule = await pipeline('create', twoSteps);
    exits(t, noSchedule, 2, 'a pipeline without schedule');
    t.match(noSchedule.stderr, /schedule: is required/);

    const d = await pipeline('delete', 'hourly');
    exits(t, d, 0);
    t.equal(d.stdout, 'deleted scheduled pipeline hourly (its runs stay)\n');
    t.equal((await pipeline('list')).stdout, 'no scheduled pipelines\n');
    const gone = await pipeline('delete', 'hourly');
    exits(t, gone, 4, 'deleting it again: NOT_FOUND');
    t.match(gone.stderr, /^error: NOT_FOUND: /);
  });

  t.test('errors: unknown run 4, invalid file 2 before any call, unreachable 3, GENOME_PLATFORM_ADDR', async (t) => {
    for (const args of [['status', 'no-such-run'], ['logs', 'no-such-run', 'x'], ['cancel', 'no-such-run'], ['logs', 'two-1', 'no-such-step'], ['logs', 'two-1', 'prepare', '--attempt', '9']]) {
      const r = await pipeline(...args);
      exits(t, r, 4, args.join(' '));
      t.match(r.stderr, /^error: NOT_FOUND: .+\n$/);
    }

    const closed = `127.0.0.1:${await closedPort()}`;
    const invalid = writePipeline(dir, 'invalid.json', pipelineDoc('invalid', [nodeStep('a', '1', { timeout: '5x' }), [nodeStep('b', '1', { retry: 3 })]]));
    const r = await genomeInProcess(['pipeline', 'run', invalid, '--wait', '--address', closed]);
    exits(t, r, 2, 'an invalid pipeline, with a server that cannot be reached: nothing was sent');
    t.match(r.stderr, /^error: INVALID_ARGUMENT: .*invalid\.json is not a valid pipeline: .*steps\[0\]\.timeout: .*steps\[1\]\[0\]\.retry: /);
    const notJson = writePipeline(dir, 'not.json', '{"pipelineName": ');
    const nj = await genomeInProcess(['pipeline', 'create', notJson, '--address', closed]);
    exits(t, nj, 2, 'not JSON');
    t.match(nj.stderr, /not\.json is not JSON/);
    exits(t, await genomeInProcess(['pipeline', 'run', `${dir}/missing.json`, '--address', closed]), 2, 'a missing file');

    const unreachable = await genomeInProcess(['pipeline', 'list', '--runs', '--address', closed]);
    exits(t, unreachable, 3);
    t.match(unreachable.stderr, new RegExp(`^error: UNAVAILABLE: could not reach ${closed}`));
    const watch = await genomeInProcess(['pipeline', 'run', twoSteps, '--wait'], { env: { GENOME_PLATFORM_ADDR: closed } });
    exits(t, watch, 3, 'GENOME_PLATFORM_ADDR names the server');

    const env = await genomeInProcess(['pipeline', 'status', 'two-1', '--json'], { env: { GENOME_PLATFORM_ADDR: server.address, GENOME_ADDRESS: closed } });
    exits(t, env, 0, 'GENOME_PLATFORM_ADDR is used, GENOME_ADDRESS (the sidecar\'s) is not');
    const flag = await genomeInProcess(['--address', server.address, 'pipeline', 'status', 'two-1'], { env: { GENOME_PLATFORM_ADDR: closed } });
    exits(t, flag, 0, '--address (before the subcommand too) wins over GENOME_PLATFORM_ADDR');
  });

  t.test('on a terminal, run --wait draws a progress bar of the steps', async (t) => {
    const io = captureIo(true, 100);
    const code = await runCli(['pipeline', 'run', twoSteps, '--wait', '--address', server.address], io);
    t.equal(code, 0, 'exit 0', { stderr: io.stderr.text });
    t.match(io.stderr.text, /run run-[a-z0-9-]+ \[[█░]+\] \d\/2 steps/, 'the bar counts steps');
    t.match(io.stderr.text, /step train: succeeded/, 'the step lines are printed above it');
    t.match(io.stdout.text, /\n {2}status +succeeded\n/);
  });
});
