import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesExecutor } from '@genome/sequencer/kubernetes';
import { NS, launch, setup } from './fake-kube/setup.js';
import { FakeKube } from './fake-kube/index.js';

t.test('success: the Job carries the labels, env, image, command, backoffLimit 0, deadline and TTL; logs are read', async (t) => {
  const { fake, ex } = await setup(t, { images: { 'python:3.12': { logs: 'epoch 1\nepoch 2\nsaved model\n' } } });
  const handle = await ex.launch(launch({ timeoutMs: 90_500 }));
  t.match(handle, /^churn-model-train-[0-9a-f]{10}-1$/);
  const job = fake.get('jobs', NS, handle)!;
  t.match(job.metadata.labels, {
    'app.kubernetes.io/managed-by': 'genome-sequencer',
    'genome.ai/run-id': 'run-20261206-abc123',
    'genome.ai/step': 'train',
    'genome.ai/attempt': '1',
  });
  t.same(Object.keys(job.metadata.labels).sort(), ['app.kubernetes.io/managed-by', 'genome.ai/attempt', 'genome.ai/pipeline', 'genome.ai/run-id', 'genome.ai/step']);
  t.match(job.metadata.labels['genome.ai/pipeline'], /^churn-model-[0-9a-f]{10}$/, 'a label value made of a name with a space');
  t.equal(job.metadata.annotations['genome.ai/pipeline'], 'Churn Model');
  t.equal(job.spec.backoffLimit, 0);
  t.equal(job.spec.activeDeadlineSeconds, 91);
  t.equal(job.spec.ttlSecondsAfterFinished, 3600);
  t.equal(job.spec.template.spec.restartPolicy, 'Never');
  const c = job.spec.template.spec.containers[0];
  t.equal(c.name, 'step');
  t.equal(c.image, 'python:3.12');
  t.same(c.command, ['python', '-c', 'print("hi")']);
  const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  t.match(env, { APPLICATION: 'retail', PIPELINE_RUNID: 'run-20261206-abc123', PIPELINE_NAME: 'Churn Model', STEP_NAME: 'train', STEP_TYPE: 'transform', TRANSFORM_PARAMETERS: '{"depth":4}', GENOME_STORE_DIR: '/store' });
  t.same(await ex.wait(handle), { status: 'succeeded', exitCode: 0 });
  t.equal(await ex.logs(handle), 'epoch 1\nepoch 2\nsaved model\n');
  t.equal(await ex.logs(handle, { tailLines: 1 }), 'saved model\n');
  t.equal(await ex.logs(handle, { tailLines: 0 }), '');
  const stats = ex.watchStats();
  t.equal(stats.jobs?.lists, 1);
  t.equal(stats.pods?.lists, 1);
});

t.test('a non-zero exit code fails with reason Error and the code', async (t) => {
  const { fake, ex } = await setup(t);
  fake.onImage('python:3.12', { exitCode: 3, logs: 'Traceback: boom\n' });
  const handle = await ex.launch(launch());
  const o = await ex.wait(handle);
  t.match(o, { status: 'failed', reason: 'Error', exitCode: 3, message: /exited with code 3/ });
  t.equal(await ex.logs(handle), 'Traceback: boom\n');
  t.equal(fake.get('jobs', NS, handle)!.status.failed, 1, 'one pod, no retry by the Job: backoffLimit 0');
  t.equal(fake.list('pods', NS).length, 1);
});

t.test('an image that cannot be pulled fails the attempt with ErrImagePull and deletes the Job', async (t) => {
  const { fake, ex } = await setup(t, { images: { 'registry.invalid/nope:1': { imagePullFailure: true } } });
  const handle = await ex.launch(launch({ image: 'registry.invalid/nope:1' }));
  const o = await ex.wait(handle);
  t.match(o, { status: 'failed', reason: 'ErrImagePull', message: /registry\.invalid\/nope:1/ });
  await fake.until(() => !fake.get('jobs', NS, handle) && fake.list('pods', NS).length === 0);
  t.match(fake.deletions, [{ plural: 'jobs', name: handle, propagationPolicy: 'Background' }]);
});

t.test('with a grace period, ImagePullBackOff is what the attempt reports', async (t) => {
  const { fake, ex } = await setup(t, { images: { 'registry.invalid/nope:2': { imagePullFailure: 'pull access denied' } } }, { stuckGraceMs: 15 });
  const handle = await ex.launch(launch({ image: 'registry.invalid/nope:2' }));
  await fake.until(() => fake.list('pods', NS).some((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull'));
  const o = await ex.wait(handle);
  t.match(o, { status: 'failed', reason: /^(ImagePullBackOff|ErrImagePull)$/, message: /pull access denied/ });
  t.ok(fake.requests.some((r) => r.method === 'DELETE' && r.path.endsWith(`/jobs/${handle}`)));
});

t.test('an unschedulable pod fails the attempt with the scheduler message', async (t) => {
  const { fake, ex } = await setup(t, { images: { 'big:1': { unschedulable: true } } });
  const handle = await ex.launch(launch({ image: 'big:1' }));
  const o = await ex.wait(handle);
  t.match(o, { status: 'failed', reason: 'Unschedulable', message: /Insufficient memory/ });
  await fake.until(() => !fake.get('jobs', NS, handle));
});

t.test('OOMKilled is reported with exit code 137', async (t) => {
  const { ex, fake } = await setup(t);
  fake.onImage('python:3.12', { oomKilled: true });
  const o = await ex.wait(await ex.launch(launch()));
  t.match(o, { status: 'failed', reason: 'OOMKilled', exitCode: 137, message: /memory limit/ });
});

t.test('the timeout becomes activeDeadlineSeconds; the Job fails with DeadlineExceeded', async (t) => {
  const { fake, ex } = await setup(t, { defaultScenario: { runMs: Infinity } });
  const handle = await ex.launch(launch({ timeoutMs: 1000 }));
  t.equal(fake.get('jobs', NS, handle)!.spec.activeDeadlineSeconds, 1);
  const o = await ex.wait(handle);
  t.match(o, { status: 'failed', reason: 'DeadlineExceeded', message: /timeout/ });
  await fake.until(() => fake.get('jobs', NS, handle)?.status.conditions?.some((c: { type: string }) => c.type === 'Failed'));
  t.equal(fake.list('pods', NS).length, 0, 'the running pod was deleted by the Job controller');
});

t.test('cancel deletes the Job with Background propagation and wait() says Cancelled', async (t) => {
  const { fake, ex } = await setup(t, { defaultScenario: { runMs: Infinity } });
  const handle = await ex.launch(launch());
  const waiting = ex.wait(handle);
  await fake.until(() => fake.list('pods', NS).some((p) => p.status.phase === 'Running'));
  await ex.cancel(handle);
  t.match(await waiting, { status: 'failed', reason: 'Cancelled' });
  t.same(fake.deletions, [{ plural: 'jobs', namespace: NS, name: handle, propagationPolicy: 'Background' }]);
  const del = fake.requests.find((r) => r.method === 'DELETE')!;
  t.equal(del.query.propagationPolicy ?? del.body?.propagationPolicy, 'Background');
  await fake.until(() => fake.list('pods', NS).length === 0);
  t.pass('the garbage collector removed the pod');
  await ex.cancel(handle); // already gone: no error
  t.match(await ex.wait(handle), { status: 'failed', reason: 'Cancelled' });
});

for (const dropMode of ['end', 'destroy'] as const) {
  t.test(`watches dropped mid-run (${dropMode}) are resumed from the last resourceVersion and the end is seen`, async (t) => {
    const { fake, ex } = await setup(t, { defaultScenario: { runMs: 30, dropWatchesWhen: 'running', dropMode } });
    await ex.start();
    await fake.until(() => fake.openWatches() === 2);
    const handle = await ex.launch(launch());
    t.same(await ex.wait(handle), { status: 'succeeded', exitCode: 0 });
    const stats = ex.watchStats();
    t.equal(stats.jobs!.lists, 1, 'no relist');
    t.ok(stats.jobs!.watches >= 2 && stats.pods!.watches >= 2, 'watched again');
    const jobWatches = fake.requests.filter((r) => r.path === `/apis/batch/v1/namespaces/${NS}/jobs` && r.query.watch === 'true');
    t.ok(jobWatches.length >= 2);
    for (const w of jobWatches) {
      t.match(w.query, { allowWatchBookmarks: 'true', labelSelector: 'app.kubernetes.io/managed-by=genome-sequencer' });
      t.match(w.query.resourceVersion, /^\d+$/, 'every watch starts from a resourceVersion');
    }
    t.ok(Number(jobWatches[1]!.query.resourceVersion) >= Number(jobWatches[0]!.query.resourceVersion));
  });
}

for (const goneMode of ['event', 'status'] as const) {
  t.test(`410 Gone (${goneMode === 'event' ? 'ERROR event' : 'HTTP 410'}) makes the executor list again`, async (t) => {
    const { fake, ex } = await setup(t, { goneMode, defaultScenario: { runMs: 60 } });
    const handle = await ex.launch(launch());
    const waiting = ex.wait(handle);
    await fake.until(() => fake.list('pods', NS).some((p) => p.status.phase === 'Running') && fake.openWatches() === 2);
    fake.expireWatches();
    t.same(await waiting, { status: 'succeeded', exitCode: 0 });
    const stats = ex.watchStats();
    t.ok(stats.jobs!.gone >= 1 && stats.pods!.gone >= 1, 'both watches got 410');
    t.ok(stats.jobs!.lists >= 2 && stats.pods!.lists >= 2, 'both listed again');
  });
}

t.test('bookmarks move the resourceVersion forward between changes of our objects', async (t) => {
  const { fake, ex } = await setup(t, { defaultScenario: { runMs: Infinity }, bookmarkIntervalMs: 10 });
  const handle = await ex.launch(launch());
  const waiting = ex.wait(handle);
  await fake.until(() => fake.openWatches() === 2 && fake.list('pods', NS).some((p) => p.status.phase === 'Running'));
  const before = Number(ex.watchStats().jobs!.resourceVersion);
  for (let i = 0; i < 5; i++) fake.createNamespace(`other-${i}`); // changes the watches do not see
  const rv = fake.store.rv;
  t.ok(rv > before);
  await fake.until(() => Number(ex.watchStats().jobs!.resourceVersion) >= rv && Number(ex.watchStats().pods!.resourceVersion) >= rv);
  t.pass('bookmarks carried both watches past changes they do not see');
  const seen = fake.requests.length;
  fake.dropWatches();
  await fake.until(() => fake.openWatches() === 2);
  const again = fake.requests.slice(seen).filter((r) => r.query.watch === 'true');
  t.equal(again.length, 2);
  for (const w of again) t.ok(Number(w.query.resourceVersion) >= rv, `re-watch from the bookmark's resourceVersion (${w.query.resourceVersion} >= ${rv})`);
  await ex.cancel(handle);
  t.match(await waiting, { reason: 'Cancelled' });
});

t.test('failed watch requests are retried with backoff', async (t) => {
  const { fake, ex } = await setup(t, { defaultScenario: { runMs: 40, dropWatchesWhen: 'running' } });
  await ex.start();
  await fake.until(() => fake.openWatches() === 2);
  const handle = await ex.launch(launch());
  const waiting = ex.wait(handle);
  await fake.until(() => fake.list('pods', NS).some((p) => p.status.phase === 'Pending'));
  fake.failNextWatches(4, 503);
  t.same(await waiting, { status: 'succeeded', exitCode: 0 });
  const stats = ex.watchStats();
  t.ok(stats.jobs!.errors + stats.pods!.errors >= 1, 'errors were counted');
});

t.test('a new executor resumes wait() on a Job an earlier one created (restart)', async (t) => {
  const { fake, ex, kc } = await setup(t, { defaultScenario: { runMs: 80, logs: 'resumed\n' } });
  const handle = await ex.launch(launch());
  const done = await ex.launch(launch({ stepName: 'prepare' }));
  t.same(await ex.wait(done), { status: 'succeeded', exitCode: 0 });
  await ex.close();
  await t.rejects(ex.launch(launch({ stepName: 'again' })), { code: 'FAILED_PRECONDITION' });
  const ex2 = await KubernetesExecutor.create({ kubeConfig: kc });
  t.teardown(() => ex2.close());
  t.equal(ex2.namespace, NS, 'the namespace comes from the kubeconfig context');
  const { env: _env, ...unrecorded } = launch();
  t.equal(await ex2.findAttempt(unrecorded), handle, 'findAttempt: the Job of an attempt whose handle was never recorded');
  t.equal(await ex2.findAttempt({ ...unrecorded, attempt: 7 }), undefined, 'findAttempt: no Job for an attempt never launched');
  t.same(await ex2.wait(handle), { status: 'succeeded', exitCode: 0 });
  t.same(await ex2.wait(done), { status: 'succeeded', exitCode: 0 }, 'a Job that finished while nobody watched');
  t.equal(await ex2.logs(handle), 'resumed\n');
  await t.rejects(ex2.wait('churn-model-nope-0000000000-1'), { code: 'NOT_FOUND' });
  await t.rejects(ex2.logs('churn-model-nope-0000000000-1'), { code: 'NOT_FOUND' });
  await t.rejects(ex2.wait('Not A Job'), { code: 'INVALID_ARGUMENT' });
  t.ok(fake.get('jobs', NS, handle));
});

t.test('launch: the same attempt twice is refused, a step without an image is refused', async (t) => {
  const { ex } = await setup(t);
  await ex.launch(launch());
  await t.rejects(ex.launch(launch()), { code: 'ALREADY_EXISTS', message: /already launched/ });
  await t.rejects(ex.launch({ ...launch(), step: { stepName: 'x', stepType: 't' } }), { code: 'INVALID_ARGUMENT', message: /no image/ });
  const other = await ex.launch(launch({ attempt: 2 }));
  t.match(other, /-2$/);
});

t.test('options: image pull policy, resources, service account, TTL, default image', async (t) => {
  const { fake, ex } = await setup(t, {}, {
    imagePullPolicy: 'IfNotPresent',
    resources: { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi', cpu: '500m' } },
    serviceAccountName: 'genome-steps',
    ttlSecondsAfterFinished: 60,
    defaultImage: 'ghcr.io/genome/step:1',
  });
  const handle = await ex.launch({ ...launch(), step: { stepName: 'score', stepType: 'predict' } });
  const job = fake.get('jobs', NS, handle)!;
  const spec = job.spec.template.spec;
  t.equal(spec.serviceAccountName, 'genome-steps');
  t.equal(spec.containers[0].image, 'ghcr.io/genome/step:1');
  t.equal(spec.containers[0].imagePullPolicy, 'IfNotPresent');
  t.same(spec.containers[0].resources, { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi', cpu: '500m' } });
  t.equal(job.spec.ttlSecondsAfterFinished, 60);
  t.notOk('activeDeadlineSeconds' in job.spec, 'no timeout, no deadline');
  t.same(await ex.wait(handle), { status: 'succeeded', exitCode: 0 });
  // 60 simulated seconds of 20 ms: the cluster deletes the finished Job and its pod.
  await fake.until(() => !fake.get('jobs', NS, handle) && fake.list('pods', NS).length === 0);
  t.same(await ex.wait(handle), { status: 'succeeded', exitCode: 0 }, 'the outcome outlives the TTL in this executor');
});

t.test('a Job deleted by someone else fails the attempt; an aborted signal stops waiting', async (t) => {
  const { fake, ex } = await setup(t, { defaultScenario: { runMs: Infinity } });
  const handle = await ex.launch(launch());
  const waiting = ex.wait(handle);
  await fake.until(() => fake.list('pods', NS).some((p) => p.status.phase === 'Running'));
  fake.controller.deleteJob(NS, handle, 'Background');
  t.match(await waiting, { status: 'failed', reason: 'Deleted' });

  const h2 = await ex.launch(launch({ stepName: 'other' }));
  const ac = new AbortController();
  const w2 = ex.wait(h2, ac.signal);
  setTimeout(() => ac.abort(), 20);
  await t.rejects(w2, { code: 'CANCELLED' });
  t.ok(fake.get('jobs', NS, h2), 'aborting a wait leaves the Job alone');
});

t.test('bearer-token auth from the kubeconfig; a wrong token is UNAVAILABLE with a hint', async (t) => {
  const { ex, fake } = await setup(t, { token: 's3cret' });
  t.same(await ex.wait(await ex.launch(launch())), { status: 'succeeded', exitCode: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig({ namespace: NS, token: 'wrong' }));
  const bad = await KubernetesExecutor.create({ kubeConfig: kc });
  t.teardown(() => bad.close());
  await t.rejects(bad.launch(launch({ stepName: 'x' })), { code: 'UNAVAILABLE', message: /401/ });
});

t.test('an unreachable API server: launch is UNAVAILABLE; wait ends with its signal or with close()', async (t) => {
  const fake = await FakeKube.start();
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig({ namespace: NS }));
  await fake.stop();
  const ex = await KubernetesExecutor.create({ kubeConfig: kc, watchBackoffMs: { initial: 10, max: 20 } });
  await t.rejects(ex.launch(launch()), { code: 'UNAVAILABLE', message: /cannot reach the API server/ });
  const ac = new AbortController();
  const w1 = ex.wait('churn-model-train-0000000000-1', ac.signal);
  const w2 = ex.wait('churn-model-train-0000000000-2');
  await new Promise((r) => setTimeout(r, 50));
  t.ok((ex.watchStats().jobs?.errors ?? 0) >= 1, 'the reflector keeps retrying');
  ac.abort();
  await t.rejects(w1, { code: 'CANCELLED', message: /signal/ });
  await ex.close();
  await t.rejects(w2, { code: 'CANCELLED', message: /closed/ });
});
