/**
 * The fake API server on its own, through the real @kubernetes/client-node: the API behaviours the executor and
 * kubectl rely on (validation, Status errors, deletion propagation, list paging and selectors, watch replay from a
 * resourceVersion, Tables, pod logs and their errors, the Job controller's backoffLimit).
 */
import t, { type Test } from 'tap';
import { BatchV1Api, CoreV1Api, KubeConfig, Watch, type V1Job } from '@kubernetes/client-node';
import { FakeKube, type FakeKubeOptions } from './fake-kube/index.js';

const NS = 'api';

function job(name: string, image = 'busybox:1.36', extra: Partial<NonNullable<V1Job['spec']>> = {}): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { app: 'demo', tier: name.startsWith('b') ? 'batch' : 'web' } },
    spec: { backoffLimit: 0, ...extra, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] } } },
  };
}

async function start(t: Test, options: FakeKubeOptions = {}) {
  const fake = await FakeKube.start({ namespaces: ['default', NS], secondMs: 20, bookmarkIntervalMs: 30, ...options });
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfig({ namespace: NS }));
  t.teardown(() => fake.stop());
  return { fake, kc, batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api) };
}

function statusOf(e: unknown): { code?: number; reason?: string; message?: string; details?: { causes?: { field: string }[] } } {
  const body = (e as { body?: unknown }).body;
  const parsed = typeof body === 'string' ? JSON.parse(body) : body;
  return { code: (e as { code?: number }).code, ...(parsed as object) };
}

t.test('create: defaults, generated selector and labels; 422 with causes; 409; 404 for a missing namespace', async (t) => {
  const { batch, fake } = await start(t);
  const created = await batch.createNamespacedJob({ namespace: NS, body: job('web-1') });
  const uid = created.metadata!.uid!;
  t.equal(created.spec!.completions, 1);
  t.equal(created.spec!.parallelism, 1);
  t.same(created.spec!.selector!.matchLabels, { 'batch.kubernetes.io/controller-uid': uid });
  t.match(created.spec!.template.metadata!.labels, { 'batch.kubernetes.io/job-name': 'web-1', 'job-name': 'web-1', 'controller-uid': uid });
  t.equal(created.spec!.template.spec!.containers[0]!.imagePullPolicy, 'IfNotPresent');
  t.match(created.metadata!.resourceVersion, /^\d+$/);

  const bad = job('Bad_Name');
  bad.spec!.template.spec!.restartPolicy = 'Always';
  bad.spec!.template.spec!.containers[0]!.image = '';
  const e = statusOf(await batch.createNamespacedJob({ namespace: NS, body: bad }).catch((x: unknown) => x));
  t.equal(e.code, 422);
  t.equal(e.reason, 'Invalid');
  t.match(e.message, /^Job\.batch "Bad_Name" is invalid: \[/);
  t.same(e.details!.causes!.map((c) => c.field).sort(), ['metadata.name', 'spec.template.spec.containers[0].image', 'spec.template.spec.restartPolicy']);
  const tooLong = statusOf(await batch.createNamespacedJob({ namespace: NS, body: job('x'.repeat(64)) }).catch((x: unknown) => x));
  t.match(tooLong, { code: 422, message: /must be no more than 63 characters/ });

  t.match(statusOf(await batch.createNamespacedJob({ namespace: NS, body: job('web-1') }).catch((x: unknown) => x)), { code: 409, reason: 'AlreadyExists' });
  t.match(statusOf(await batch.createNamespacedJob({ namespace: 'nope', body: job('web-2') }).catch((x: unknown) => x)), { code: 404, message: 'namespaces "nope" not found' });
  t.match(statusOf(await batch.readNamespacedJob({ namespace: NS, name: 'missing' }).catch((x: unknown) => x)), { code: 404, reason: 'NotFound', message: 'jobs.batch "missing" not found' });
  t.equal(fake.list('jobs', NS).length, 1);
});

t.test('list: label and field selectors, limit and continue', async (t) => {
  const { batch } = await start(t, { defaultScenario: { runMs: Infinity } });
  for (const n of ['a-1', 'b-1', 'b-2', 'c-1']) await batch.createNamespacedJob({ namespace: NS, body: job(n) });
  const names = (l: { items: V1Job[] }) => l.items.map((j) => j.metadata!.name);
  t.same(names(await batch.listNamespacedJob({ namespace: NS, labelSelector: 'tier=batch' })), ['b-1', 'b-2']);
  t.same(names(await batch.listNamespacedJob({ namespace: NS, labelSelector: 'tier!=batch,app in (demo)' })), ['a-1', 'c-1']);
  t.same(names(await batch.listNamespacedJob({ namespace: NS, labelSelector: '!tier' })), []);
  t.same(names(await batch.listNamespacedJob({ namespace: NS, fieldSelector: 'metadata.name=c-1' })), ['c-1']);
  const p1 = await batch.listNamespacedJob({ namespace: NS, limit: 3 });
  t.same(names(p1), ['a-1', 'b-1', 'b-2']);
  t.equal(p1.metadata!.remainingItemCount, 1);
  const p2 = await batch.listNamespacedJob({ namespace: NS, limit: 3, _continue: p1.metadata!._continue! });
  t.same(names(p2), ['c-1']);
  t.notOk(p2.metadata!._continue);
  const bad = statusOf(await batch.listNamespacedJob({ namespace: NS, fieldSelector: 'spec.parallelism=1' }).catch((x: unknown) => x));
  t.match(bad, { code: 400, message: /field label not supported: spec.parallelism/ });
});

t.test('delete: batch/v1 orphans by default, Foreground waits for the pods, Background removes at once', async (t) => {
  const { batch, fake } = await start(t, { defaultScenario: { runMs: Infinity } });
  for (const n of ['orphan', 'fg', 'bg']) await batch.createNamespacedJob({ namespace: NS, body: job(n) });
  await fake.until(() => fake.list('pods', NS).filter((p) => p.status.phase === 'Running').length === 3);
  const podOf = (n: string) => fake.list('pods', NS).find((p) => p.metadata.labels['job-name'] === n);

  await batch.deleteNamespacedJob({ namespace: NS, name: 'orphan' });
  await fake.until(() => !fake.get('jobs', NS, 'orphan'));
  t.ok(podOf('orphan'), 'the pod is left running');
  t.notOk(podOf('orphan')!.metadata.ownerReferences, 'without an owner');

  const fg = await batch.deleteNamespacedJob({ namespace: NS, name: 'fg', propagationPolicy: 'Foreground' });
  t.ok(fg, 'answered');
  const marked = fake.get('jobs', NS, 'fg');
  t.ok(marked?.metadata.deletionTimestamp, 'marked for deletion');
  t.same(marked?.metadata.finalizers, ['foregroundDeletion']);
  await fake.until(() => !fake.get('jobs', NS, 'fg'));
  t.notOk(podOf('fg'), 'its pod went first');

  const st = await batch.deleteNamespacedJob({ namespace: NS, name: 'bg', propagationPolicy: 'Background' });
  t.match(st, { status: 'Success', details: { name: 'bg', kind: 'jobs' } });
  t.notOk(fake.get('jobs', NS, 'bg'), 'gone at once');
  await fake.until(() => !podOf('bg'));
  t.same(fake.deletions.map((d) => d.propagationPolicy), [undefined, 'Foreground', 'Background']);
});

t.test('watch: replay from a resourceVersion, bookmarks, 410 for a compacted one', async (t) => {
  const { batch, fake, kc } = await start(t);
  const list = await batch.listNamespacedJob({ namespace: NS });
  const rv = list.metadata!.resourceVersion!;
  await batch.createNamespacedJob({ namespace: NS, body: job('w-1') });
  await fake.until(() => fake.get('jobs', NS, 'w-1')?.status.conditions?.some((c: { type: string }) => c.type === 'Complete'));
  const events: { type: string; name?: string; phase?: string }[] = [];
  const watch = new Watch(kc);
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  const ctl = await watch.watch(
    `/apis/batch/v1/namespaces/${NS}/jobs`,
    { resourceVersion: rv, allowWatchBookmarks: true },
    (type, obj) => events.push({ type, name: obj?.metadata?.name }),
    () => ended(),
  );
  await fake.until(() => events.some((e) => e.type === 'BOOKMARK'));
  ctl.abort();
  await done;
  const changes = events.filter((e) => e.type !== 'BOOKMARK');
  t.equal(changes[0]!.type, 'ADDED', 'replayed from the list: the creation');
  t.ok(changes.length >= 3 && changes.slice(1).every((e) => e.type === 'MODIFIED' && e.name === 'w-1'), 'then its status changes');

  fake.store.compact();
  const gone: { type: string; code?: number }[] = [];
  await new Promise<void>((resolve) => {
    void watch.watch(`/apis/batch/v1/namespaces/${NS}/jobs`, { resourceVersion: rv }, (type, obj) => gone.push({ type, code: obj?.code }), () => resolve());
  });
  t.same(gone, [{ type: 'ERROR', code: 410 }]);
});

t.test('pods: phases and container states of each scenario; the Job controller honours backoffLimit', async (t) => {
  const { batch, core, fake } = await start(t, { images: { 'fail:1': { exitCode: 2, logs: 'bad\n' }, 'pull:1': { imagePullFailure: true }, 'never:1': { unschedulable: 'no nodes' } } });
  await batch.createNamespacedJob({ namespace: NS, body: job('retry', 'fail:1', { backoffLimit: 2 }) });
  await fake.until(() => fake.get('jobs', NS, 'retry')?.status.conditions?.some((c: { type: string }) => c.type === 'Failed'));
  const retry = fake.get('jobs', NS, 'retry')!;
  t.equal(retry.status.failed, 3, 'backoffLimit 2: three pods');
  t.same(retry.status.conditions.map((c: { type: string; reason: string }) => `${c.type}/${c.reason}`), ['FailureTarget/BackoffLimitExceeded', 'Failed/BackoffLimitExceeded']);
  const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'job-name=retry' })).items;
  t.equal(pods.length, 3);
  t.ok(pods.every((p) => p.status!.phase === 'Failed' && p.status!.containerStatuses![0]!.state!.terminated!.exitCode === 2));
  t.equal(await core.readNamespacedPodLog({ namespace: NS, name: pods[0]!.metadata!.name!, container: 'main' }), 'bad\n');

  await batch.createNamespacedJob({ namespace: NS, body: job('pull', 'pull:1') });
  await batch.createNamespacedJob({ namespace: NS, body: job('never', 'never:1') });
  await fake.until(() => fake.list('pods', NS).some((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff'));
  const pull = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'job-name=pull' })).items[0]!;
  const e = statusOf(await core.readNamespacedPodLog({ namespace: NS, name: pull.metadata!.name! }).catch((x: unknown) => x));
  t.match(e, { code: 400, message: /is waiting to start: trying and failing to pull image/ });
  const never = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'job-name=never' })).items[0]!;
  t.match(never.status!.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' }]);
  t.equal(await core.readNamespacedPodLog({ namespace: NS, name: never.metadata!.name! }), '', 'no node: no log yet');
  const events = (await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${never.metadata!.name}` })).items;
  t.match(events.map((x) => x.reason), ['FailedScheduling']);
  t.equal(fake.get('jobs', NS, 'pull')!.status.active, 1, 'a stuck pod keeps its Job active');
});

t.test('auth, unknown paths and discovery', async (t) => {
  const { fake } = await start(t, { token: 'tok' });
  const res = await fetch(`${fake.url}/apis/batch/v1/namespaces/${NS}/jobs`);
  t.equal(res.status, 401);
  const ok = await fetch(`${fake.url}/apis/batch/v1`, { headers: { authorization: 'Bearer tok' } });
  const doc = (await ok.json()) as { resources: { name: string }[] };
  t.same(doc.resources.map((r) => r.name), ['jobs', 'jobs/status']);
  const missing = await fetch(`${fake.url}/apis/apps/v1/deployments`, { headers: { authorization: 'Bearer tok' } });
  t.equal(missing.status, 404);
  const table = await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods`, { headers: { authorization: 'Bearer tok', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
  t.match(await table.json(), { kind: 'Table', columnDefinitions: [{ name: 'Name' }, { name: 'Ready' }, { name: 'Status' }, { name: 'Restarts' }, { name: 'Age' }], rows: [] });
});
