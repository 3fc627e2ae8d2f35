// The platform server killed with SIGKILL in the middle of a run: the step in flight goes on (its supervisor records
// its exit), a new server on the same store takes the run over, and the run completes with the right record: the
// step that ran before the kill is not run again, the step in flight is not launched twice, and the rest runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { RunRecord } from '@genome/sequencer';
import { scratch } from './helpers/packages.js';
import { startPlatformProcess } from './helpers/process.js';
import * as s from './helpers/sequencer.js';

async function getRun(port: number, runId: string): Promise<RunRecord> {
  const r = await fetch(`http://127.0.0.1:${port}/v1.0/genome/compute/sequence/runs/${runId}`);
  return (await r.json()) as RunRecord;
}

t.test('SIGKILL mid-run, restart on the same store: the run completes once, with the right record', async (t) => {
  const dir = scratch(t, 'seq-restart-');
  const work = join(dir, 'work');
  const args = ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--step-cwd', dir, '--retry-backoff-ms', '50', '--log-level', 'info'];
  const env = { GENOME_STORE_DIR: join(dir, 'store') };
  const first = await startPlatformProcess(args, env, join(dir, 'first.log'));
  t.teardown(() => first.kill());
  // Each step appends its name to a journal, so a step run twice shows.
  const journal = (name: string, extra = '') => `const fs = require('fs'); fs.mkdirSync('work', { recursive: true }); ${extra} fs.appendFileSync('work/journal', '${name}\\n');`;
  const doc = s.pipeline('restartable', [
    s.nodeStep('before', journal('before')),
    s.nodeStep('during', `fs0 = require('fs'); fs0.mkdirSync('work', { recursive: true }); fs0.writeFileSync('work/during-started', ''); setTimeout(() => { ${journal('during')} }, 2500)`),
    s.nodeStep('after', journal('after')),
  ]);
  const started = await fetch(`http://127.0.0.1:${first.httpPort}/v1.0/genome/compute/sequence/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  t.equal(started.status, 201);
  const { runId } = (await started.json()) as RunRecord;
  for (let i = 0; i < 200 && !existsSync(join(work, 'during-started')); i++) await new Promise((r) => setTimeout(r, 25));
  t.ok(existsSync(join(work, 'during-started')), 'the second step is running');
  const mid = await getRun(first.httpPort, runId);
  t.match(mid, { status: 'running' });
  first.child.kill('SIGKILL');
  t.equal(await first.exited, 'SIGKILL', 'the server died with SIGKILL');

  const second = await startPlatformProcess(args, env, join(dir, 'second.log'));
  t.teardown(() => second.kill());
  t.ok(second.tail(200).some((l) => l.includes('resumed unfinished runs') && l.includes(runId)), 'the new server says it resumed the run');
  const c = s.seqClient(second.grpcPort);
  t.teardown(() => c.close());
  const watched = await s.watchRun(c, runId, { deadlineMs: 30_000 });
  t.equal(watched.error, undefined, 'WatchRun on the new server follows the run to its end');
  const run = await getRun(second.httpPort, runId);
  t.equal(run.status, 'succeeded', 'the run completes');
  t.same(run.steps.map((x) => [x.stepName, x.status, x.attempts.length, x.attempts[0]?.exitCode]), [['before', 'succeeded', 1, 0], ['during', 'succeeded', 1, 0], ['after', 'succeeded', 1, 0]], 'one attempt per step, exit codes recorded');
  t.equal(run.steps[1]!.attempts[0]!.handle, mid.steps[1]!.attempts[0]!.handle, 'the step in flight was adopted through its handle, not launched again');
  t.equal(readFileSync(join(work, 'journal'), 'utf8'), 'before\nduring\nafter\n', 'every step ran exactly once');
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0, 'the new server drains and exits 0');
});
