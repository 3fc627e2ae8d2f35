/**
 * The fake API server follows the real API, not the executor's assumptions: the real kubectl, pointed at it by a
 * kubeconfig, shows the Jobs and pods the executor created (get with server-side Tables, describe with events, logs
 * through the Job, delete with its own propagation policy).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NS, launch, setup } from './fake-kube/setup.js';

const run = promisify(execFile);

async function hasKubectl(): Promise<boolean> {
  try {
    await run('kubectl', ['version', '--client'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

t.test('kubectl get, describe, logs and delete against the fake show what the executor created', async (t) => {
  if (!(await hasKubectl())) {
    t.pass('kubectl is not installed: skipped', { skip: true });
    return;
  }
  const { fake, ex } = await setup(t, {
    images: {
      'python:3.12': { logs: 'loading data\nfitting\nsaved model churn/7\n' },
      'python:3.12-oom': { oomKilled: true, logs: 'allocating\n' },
      'python:3.12-long': { runMs: Infinity, logs: 'still going\n' },
    },
  });
  const ok = await ex.launch(launch({ timeoutMs: 600_000 }));
  const oom = await ex.launch(launch({ stepName: 'features', image: 'python:3.12-oom' }));
  const long = await ex.launch(launch({ stepName: 'serve', image: 'python:3.12-long' }));
  t.same(await ex.wait(ok), { status: 'succeeded', exitCode: 0 });
  t.match(await ex.wait(oom), { reason: 'OOMKilled' });
  await fake.until(() => fake.list('pods', NS).some((p) => p.metadata.labels['genome.ai/step'] === 'serve' && p.status.phase === 'Running'));

  const home = t.testdir({});
  const kubeconfig = fake.writeKubeconfig(home, { namespace: NS });
  const kubectl = async (...args: string[]): Promise<string> => {
    const r = await run('kubectl', [...args, '--cache-dir', `${home}/cache`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig },
      timeout: 60_000,
      encoding: 'utf8',
    });
    return r.stdout;
  };

  const get = await kubectl('get', 'jobs,pods', '-n', NS);
  const line = (name: string): string => get.split('\n').find((l) => l.includes(name)) ?? '';
  t.match(line(`job.batch/${ok}`), /\bComplete\s+1\/1\b/, 'the finished Job');
  t.match(line(`job.batch/${oom}`), /\bFailed\s+0\/1\b/, 'the OOMKilled Job');
  t.match(line(`job.batch/${long}`), /\bRunning\s+0\/1\b/, 'the running Job');
  t.match(get, /NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE/);
  t.match(get, /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
  const pods = fake.list('pods', NS);
  const podOf = (job: string): string => pods.find((p) => p.metadata.labels['job-name'] === job)!.metadata.name;
  t.match(line(`pod/${podOf(ok)}`), /0\/1\s+Completed\s+0\b/);
  t.match(line(`pod/${podOf(oom)}`), /0\/1\s+OOMKilled\s+0\b/);
  t.match(line(`pod/${podOf(long)}`), /1\/1\s+Running\s+0\b/);

  const labels = await kubectl('get', 'jobs', '-n', NS, '--show-labels');
  t.match(labels, new RegExp(`${ok}.*genome\\.ai/attempt=1,genome\\.ai/pipeline=churn-model-[0-9a-f]+,genome\\.ai/run-id=run-20261206-abc123,genome\\.ai/step=train`));
  const selected = await kubectl('get', 'jobs', '-n', NS, '-l', 'genome.ai/step in (train,serve)', '-o', 'name');
  t.same(selected.trim().split('\n').sort(), [`job.batch/${long}`, `job.batch/${ok}`].sort());
  const wide = await kubectl('get', 'pods', '-n', NS, '-o', 'wide', '-l', 'genome.ai/step=serve');
  t.match(wide, /IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/);
  t.match(wide, /10\.244\.0\.\d+\s+fake-node/);
  const json = JSON.parse(await kubectl('get', 'job', ok, '-n', NS, '-o', 'json'));
  t.equal(json.spec.backoffLimit, 0);
  t.equal(json.metadata.labels['app.kubernetes.io/managed-by'], 'genome-sequencer');

  const describe = await kubectl('describe', 'job', ok, '-n', NS);
  t.match(describe, new RegExp(`Name:\\s+${ok}`));
  t.match(describe, new RegExp(`Namespace:\\s+${NS}`));
  t.match(describe, /genome\.ai\/run-id=run-20261206-abc123/);
  t.match(describe, /Backoff Limit:\s+0/);
  t.match(describe, /Active Deadline Seconds:\s+600s/);
  t.match(describe, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/);
  t.match(describe, /Image:\s+python:3\.12/);
  t.match(describe, /PIPELINE_RUNID:\s+run-20261206-abc123/);
  t.match(describe, /Completed At:/);
  t.match(describe, new RegExp(`Normal\\s+SuccessfulCreate\\s+\\S+\\s+job-controller\\s+Created pod: ${podOf(ok)}`));
  t.match(describe, /Normal\s+Completed\s+\S+\s+job-controller\s+Job completed/);
  const describeOom = await kubectl('describe', 'job', oom, '-n', NS);
  t.match(describeOom, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 0 Succeeded \/ 1 Failed/);
  t.match(describeOom, /Warning\s+BackoffLimitExceeded\s+\S+\s+job-controller\s+Job has reached the specified backoff limit/);

  const events = await kubectl('get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${podOf(oom)}`);
  t.match(events, /LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/);
  t.match(events, new RegExp(`Normal\\s+Started\\s+pod/${podOf(oom)}\\s+Started container step`));
  const describePod = await kubectl('describe', 'pod', podOf(oom), '-n', NS);
  t.match(describePod, /Status:\s+Failed/);
  t.match(describePod, /State:\s+Terminated\s+Reason:\s+OOMKilled\s+Exit Code:\s+137/);
  t.match(describePod, new RegExp(`Controlled By:\\s+Job/${oom}`));

  t.equal(await kubectl('logs', `job/${ok}`, '-n', NS), 'loading data\nfitting\nsaved model churn/7\n');
  t.equal(await kubectl('logs', `job/${ok}`, '-n', NS, '--tail', '1'), 'saved model churn/7\n');
  t.equal(await kubectl('logs', podOf(oom), '-n', NS), 'allocating\n');
  t.equal(await ex.logs(long), 'still going\n');

  const deleted = await kubectl('delete', 'job', long, '-n', NS, '--wait=false');
  t.match(deleted, new RegExp(`job.batch "${long}" deleted`));
  t.match(fake.deletions.at(-1), { plural: 'jobs', name: long, propagationPolicy: 'Background' }, 'kubectl asks for Background too');
  await fake.until(() => !fake.list('pods', NS).some((p) => p.metadata.labels['job-name'] === long));
  t.notMatch(await kubectl('get', 'jobs', '-n', NS), long);
});
