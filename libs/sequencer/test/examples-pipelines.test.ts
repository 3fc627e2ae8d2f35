// The example pipelines of examples/pipelines: they parse, they run for real through the engine and the local executor
// (their steps save a model whose lineage names the run and the step), the Kubernetes manifests' Role grants exactly
// what the Kubernetes executor asks of the API server, and the Deployment matches the server's ports, probes and grace.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { parseAllDocuments } from 'yaml';
import { openModelStore } from '@genome/model-store';
import {
  Engine,
  LocalExecutor,
  allSteps,
  parsePipeline,
  parseSchedule,
  stepGroups,
  type PipelineSpec,
  type RunRecord,
  type StepRecord,
} from '@genome/sequencer';
import { NS, setup } from './fake-kube/setup.js';
import type { RecordedRequest } from './fake-kube/index.js';

const root = resolve(import.meta.dirname, '../../..');
const examples = join(root, 'examples/pipelines');
const manifestsDir = join(examples, 'kubernetes');

function readPipeline(file: string): PipelineSpec {
  return parsePipeline(readFileSync(join(examples, file), 'utf8'));
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The step that saves into the model store: the one running register.mjs. */
function saveStep(p: PipelineSpec): string {
  const s = allSteps(p).filter((x) => x.command?.some((a) => a.endsWith('/register.mjs')));
  if (s.length !== 1) throw new Error(`${p.pipelineName}: expected one step running register.mjs, found ${s.length}`);
  return s[0]!.stepName;
}

const pipelineFiles = readdirSync(examples).filter((f) => f.endsWith('.json')).sort();

t.test('every example pipeline parses; the scheduled one has a schedule parseSchedule accepts', async (t) => {
  t.same(pipelineFiles, ['parallel.json', 'scheduled.json', 'sequential.json']);
  for (const f of pipelineFiles) {
    const p = readPipeline(f);
    t.ok(p.pipelineName && p.canonicalName && p.application, `${f}: names`);
    for (const s of allSteps(p)) {
      t.match(s.image, /^[\w.-]+(\/[\w.-]+)+:[\w.-]+$/, `${f}: ${s.stepName} has an image for Kubernetes`);
      t.equal(s.command?.[0], 'node', `${f}: ${s.stepName} runs node`);
      const script = s.command?.[1] ?? '';
      t.match(script, /^examples\/pipelines\/steps\/[a-z-]+\.mjs$/, `${f}: ${s.stepName}: a script path relative to the repository root`);
      t.doesNotThrow(() => readFileSync(join(root, script)), `${f}: ${s.stepName}: ${script} exists`);
    }
    t.ok(saveStep(p), `${f}: one step saves into the model store`);
  }
  const scheduled = readPipeline('scheduled.json');
  t.equal(scheduled.schedule, '6h');
  t.match(parseSchedule(scheduled.schedule!), { kind: 'interval', periodMs: 6 * 3600 * 1000 });
  t.same(scheduled.steps, readPipeline('parallel.json').steps, 'the scheduled pipeline is the parallel one on a schedule');
  t.equal(readPipeline('sequential.json').schedule, undefined);
  t.equal(readPipeline('parallel.json').schedule, undefined);
  t.ok(stepGroups(readPipeline('parallel.json')).some((g) => g.length >= 2), 'parallel.json has a parallel group');
  t.ok(stepGroups(readPipeline('sequential.json')).every((g) => g.length === 1), 'sequential.json has no parallel group');
});

/** Runs an example pipeline through Engine + LocalExecutor (cwd: the repository root) into a fresh model store. */
async function runLocally(t: Test, file: string): Promise<{ pipeline: PipelineSpec; run: RunRecord; storeDir: string; tmp: string }> {
  const dir = tempDir(t, 'genome-example-pipelines-');
  const tmp = join(dir, 'tmp'); // the steps' os.tmpdir(): their work directories land in this test's folder
  const storeDir = join(dir, 'store');
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TMPDIR: tmp,
    // The steps import @genome/model-store: from source here, like the rest of the tests (dist works as well).
    NODE_OPTIONS: '--conditions=@genome/source --import=tsx',
  };
  if (process.env.HOME) baseEnv.HOME = process.env.HOME;
  mkdirSync(tmp, { recursive: true });
  const executor = new LocalExecutor({ logDir: join(dir, 'logs'), cwd: root, baseEnv, killGraceMs: 500, pollMs: 50 });
  const engine = new Engine({ executor, storeEnv: { GENOME_STORE_DIR: storeDir }, backoff: { initialMs: 50, factor: 2, maxMs: 200 } });
  t.teardown(async () => {
    await engine.close();
    await executor.close();
  });
  const pipeline = readPipeline(file);
  const { runId } = await engine.start(pipeline);
  const run = await engine.wait(runId);
  if (run.status !== 'succeeded') {
    for (const s of run.steps) {
      const log = await engine.logs(runId, s.stepName).catch((e: Error) => `(no log: ${e.message})`);
      t.comment(`${s.stepName} ${s.status}: ${log}`);
    }
  }
  return { pipeline, run, storeDir, tmp };
}

function checkSteps(t: Test, pipeline: PipelineSpec, run: RunRecord): void {
  t.equal(run.status, 'succeeded', run.message ?? '');
  t.equal(run.executor, 'local');
  const groups = stepGroups(pipeline);
  t.same(
    run.steps.map((s) => [s.stepName, s.group]),
    groups.flatMap((g, i) => g.map((s) => [s.stepName, i])),
    'one record per step, in order, with its group',
  );
  for (const s of run.steps) {
    t.equal(s.status, 'succeeded', `${s.stepName} succeeded`);
    t.equal(s.attempts.length, 1, `${s.stepName}: one attempt`);
    t.match(s.attempts[0], { attempt: 1, status: 'succeeded', exitCode: 0, handle: `${run.runId}.${s.stepName}.1` });
  }
  // Groups run in order: every step of a group starts after every step of the group before has finished.
  const byGroup = groups.map((_, i) => run.steps.filter((s) => s.group === i));
  for (let i = 1; i < byGroup.length; i++) {
    const prevEnd = Math.max(...byGroup[i - 1]!.map((s) => Date.parse(s.finishedAt!)));
    for (const s of byGroup[i]!) t.ok(Date.parse(s.startedAt!) >= prevEnd, `${s.stepName} starts after group ${i - 1} ended`);
  }
}

async function checkStore(t: Test, pipeline: PipelineSpec, run: RunRecord, storeDir: string, tmp: string): Promise<void> {
  const stage = saveStep(pipeline);
  const evaluation = JSON.parse(readFileSync(join(tmp, 'genome-pipelines', run.runId, 'evaluation.json'), 'utf8')) as {
    best: { step: string; rmse: number; r2: number };
    candidates: { step: string }[];
  };
  const store = await openModelStore({ dir: storeDir });
  t.teardown(() => store.close());
  const lineage = await store.runLineage(run.runId);
  t.same(lineage, { runId: run.runId, produced: [{ name: pipeline.canonicalName, version: 1, stage }], consumed: [] }, 'the run produced one version, by its save step');
  const v = await store.getVersion(`${pipeline.canonicalName}/1`);
  t.equal(v.name, pipeline.canonicalName, 'saved under the pipeline\'s canonicalName');
  t.match(v.metadata, {
    application: pipeline.application,
    pipelineName: pipeline.pipelineName,
    pipelineRunId: run.runId,
    pipelineStage: stage,
    framework: 'onnx',
  });
  t.same(v.metrics, { rmse: evaluation.best.rmse, r2: evaluation.best.r2 }, 'the metrics are the evaluation step\'s best candidate');
  t.equal(v.tags.candidate, evaluation.best.step);
  t.same(
    v.files.map((f) => f.path).sort(),
    readdirSync(join(root, 'examples/packages/california-housing-rf')).sort(),
    'the example package was saved',
  );
  t.same(await store.versionLineage(`${pipeline.canonicalName}/1`), {
    consumedBy: [],
    producedBy: { runId: run.runId, pipelineName: pipeline.pipelineName, stage },
  });
  t.same(
    evaluation.candidates.map((c) => c.step).sort(),
    allSteps(pipeline).filter((s) => s.command?.some((a) => a.endsWith('/train.mjs'))).map((s) => s.stepName).sort(),
    'every training step\'s model was evaluated',
  );
}

t.test('sequential.json runs to succeeded, step after step, and saves a version whose lineage names the run and the step', async (t) => {
  const { pipeline, run, storeDir, tmp } = await runLocally(t, 'sequential.json');
  checkSteps(t, pipeline, run);
  await checkStore(t, pipeline, run, storeDir, tmp);
});

t.test('parallel.json runs its training steps at the same time, picks the better one and saves it', async (t) => {
  const { pipeline, run, storeDir, tmp } = await runLocally(t, 'parallel.json');
  checkSteps(t, pipeline, run);
  const parallel = stepGroups(pipeline).findIndex((g) => g.length >= 2);
  const group = run.steps.filter((s) => s.group === parallel);
  t.equal(group.length, 2);
  const [a, b] = group as [StepRecord, StepRecord];
  const span = (s: StepRecord) => [Date.parse(s.startedAt!), Date.parse(s.finishedAt!)] as const;
  const [a0, a1] = span(a);
  const [b0, b1] = span(b);
  t.ok(a0 < b1 && b0 < a1, `${a.stepName} [${a.startedAt}, ${a.finishedAt}] and ${b.stepName} [${b.startedAt}, ${b.finishedAt}] overlap`);
  await checkStore(t, pipeline, run, storeDir, tmp);
});

// ---- the Role is least privilege ----------------------------------------------------------------------------------

/** The RBAC (apiGroup, resource[/subresource], verb) a request is authorized as, the way the API server names it. */
function rbacOf(r: RecordedRequest): string {
  const seg = r.path.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (seg[0] === 'api' && seg[1] === 'v1') {
    group = '';
    rest = seg.slice(2);
  } else if (seg[0] === 'apis' && seg.length >= 3) {
    group = seg[1]!;
    rest = seg.slice(3);
  } else return `non-resource ${r.method} ${r.path}`;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  const watch = r.query.watch === 'true' || r.query.watch === '1';
  const verb =
    r.method === 'GET' ? (name !== undefined ? 'get' : watch ? 'watch' : 'list')
    : r.method === 'POST' ? 'create'
    : r.method === 'PUT' ? 'update'
    : r.method === 'PATCH' ? 'patch'
    : r.method === 'DELETE' ? (name !== undefined ? 'delete' : 'deletecollection')
    : r.method.toLowerCase();
  return `${group}|${resource}${sub ? `/${sub}` : ''}|${verb}`;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

function manifests(): { file: string; obj: K8sObject }[] {
  const out: { file: string; obj: K8sObject }[] = [];
  for (const file of readdirSync(manifestsDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(manifestsDir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj) out.push({ file, obj });
    }
  }
  return out;
}

function one<T = K8sObject>(kind: string): T {
  const found = manifests().filter((m) => m.obj.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in ${manifestsDir}, found ${found.length}`);
  return found[0]!.obj as unknown as T;
}

interface Role extends K8sObject {
  rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[];
}

/** What the executor's source calls: API client methods mapped to RBAC, plus the reflectors' list+watch. */
function rbacOfSource(): Set<string> {
  const src = readFileSync(join(import.meta.dirname, '../src/executors/kubernetes/executor.ts'), 'utf8');
  const kinds: Record<string, string> = { Job: 'batch|jobs', Pod: '|pods', PodLog: '|pods/log' };
  const verbs: Record<string, string> = { create: 'create', read: 'get', list: 'list', delete: 'delete', replace: 'update', patch: 'patch' };
  const out = new Set<string>();
  for (const m of src.matchAll(/this\.(?:batch|core)\s*\.\s*(\w+)\(/g)) {
    const call = /^(create|read|list|delete|replace|patch)Namespaced([A-Za-z]+)$/.exec(m[1]!);
    const kind = call && kinds[call[2]!];
    if (!call || !kind) throw new Error(`the executor calls ${m[1]}: teach this test its RBAC verb and resource`);
    out.add(`${kind}|${verbs[call[1]!]}`);
  }
  for (const m of src.matchAll(/resource:\s*'(\w+)',\s*path:\s*`\/(?:api|apis\/([\w.]+))\/v1\//g)) {
    out.add(`${m[2] ?? ''}|${m[1]}|list`);
    out.add(`${m[2] ?? ''}|${m[1]}|watch`);
  }
  return out;
}

t.test('the Role grants exactly what the Kubernetes executor asks of the API server', async (t) => {
  const base = readPipeline('sequential.json');
  const first = allSteps(base)[0]!;
  const image = first.image!;
  const { fake, ex } = await setup(t, { images: { [image]: { runMs: 20, logs: 'prepared 150 training and 50 test rows\n' } } });
  const engine = new Engine({ executor: ex, storeEnv: { GENOME_STORE_DIR: '/var/cache/genome-store' }, backoff: { initialMs: 10, factor: 2, maxMs: 50 } });
  t.teardown(() => engine.close());
  const pipeline = parsePipeline({ ...base, steps: [first] });

  // One step of an example pipeline, to the end; then its logs.
  const done = await engine.wait((await engine.start(pipeline)).runId);
  t.equal(done.status, 'succeeded', done.message ?? '');
  const handle = done.steps[0]!.attempts[0]!.handle!;
  t.match(fake.get('jobs', NS, handle)?.spec.template.spec.containers[0], { image, command: first.command });
  t.equal(await engine.logs(done.runId, first.stepName), 'prepared 150 training and 50 test rows\n');

  // A step cancelled while it runs; then a logs read of its Job, gone with its pods (a get of the Job says so).
  fake.onImage(image, { runMs: Infinity });
  const started = await engine.start(pipeline);
  await fake.until(() => fake.list('pods', NS).some((p) => p.status.phase === 'Running'));
  await engine.cancel(started.runId);
  const cancelled = await engine.wait(started.runId);
  t.equal(cancelled.status, 'cancelled');
  const gone = cancelled.steps[0]!.attempts[0]!.handle!;
  await fake.until(() => !fake.get('jobs', NS, gone) && fake.list('pods', NS).every((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] !== gone));
  await t.rejects(ex.logs(gone), { code: 'NOT_FOUND' });

  const used = new Set(fake.requests.map(rbacOf));
  t.comment(`requests as RBAC (apiGroup|resource|verb): ${[...used].sort().join(', ')}`);
  t.same([...used].filter((u) => u.startsWith('non-resource')), [], 'no discovery or other non-resource request');
  const granted = new Set<string>();
  const role = one<Role>('Role');
  for (const r of role.rules) {
    t.notOk(r.resourceNames ?? r.nonResourceURLs, 'no resourceNames or nonResourceURLs');
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) granted.add(`${g}|${res}|${v}`);
  }
  t.notOk([...granted].some((g) => g.includes('*')), 'no wildcards');
  const sorted = (s: Set<string>) => [...s].sort();
  t.same(sorted(granted), sorted(used), 'the Role grants exactly the (apiGroup|resource|verb) the executor used');
  t.same(sorted(rbacOfSource()), sorted(used), 'and exactly what the executor\'s source can call (API methods and reflectors)');
});

// ---- the Deployment matches the server ------------------------------------------------------------------------------

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName?: string;
        terminationGracePeriodSeconds?: number;
        securityContext?: { runAsNonRoot?: boolean };
        containers: Container[];
      };
    };
  };
}
interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] };
}
interface RoleBinding extends K8sObject {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

/** The server's configuration module (apps/sequencer), loaded at run time so that this project's types do not include it. */
interface ServerConfigModule {
  loadConfig(argv: readonly string[], env: Record<string, string>): { httpPort: number; grpcPort: number; shutdownGraceMs: number; sequencer?: { executor: string; kubeNamespace?: string } };
  OPTIONS: { flags: string[]; env?: string }[];
}

t.test('the manifests parse; the Deployment runs as the bound account, with the server\'s ports, probes and a longer grace', async (t) => {
  const all = manifests();
  t.same(all.map((m) => m.obj.kind).sort(), ['Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  for (const { file, obj } of all) t.notOk(obj.metadata.namespace, `${file}: ${obj.kind} takes the namespace it is applied to`);

  const sa = one('ServiceAccount');
  const role = one<Role>('Role');
  const binding = one<RoleBinding>('RoleBinding');
  const dep = one<Deployment>('Deployment');
  const svc = one<Service>('Service');
  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name }]);
  const pod = dep.spec.template.spec;
  t.equal(pod.serviceAccountName, sa.metadata.name, 'the Deployment runs as the bound ServiceAccount');
  t.match(dep.spec.template.metadata.labels, dep.spec.selector.matchLabels);
  t.match(dep.spec.template.metadata.labels, svc.spec.selector, 'the Service selects the pods');
  t.equal(dep.spec.replicas, 1, 'one server drives the runs of its state');

  t.equal(pod.containers.length, 1);
  const c = pod.containers[0]!;
  const args = c.args ?? [];
  const env = new Map((c.env ?? []).map((e) => [e.name, e]));
  t.equal(env.get('GENOME_SEQUENCER_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace', 'the namespace from the downward API');

  const server = (await import(pathToFileURL(join(root, 'apps/sequencer/src/config.ts')).href)) as ServerConfigModule;
  // Only flags and variables the server knows (as the sidecar's manifests test does).
  const serverFlags = new Set(server.OPTIONS.flatMap((o) => o.flags));
  for (const a of args) t.ok(serverFlags.has(a.replace(/=.*$/, '')), `${a}: a flag of genome-platform`);
  const serverEnv = new Set(server.OPTIONS.map((o) => o.env));
  for (const name of env.keys()) t.ok(serverEnv.has(name), `${name}: a variable genome-platform reads`);
  // The server's own parsing of the args (the env values from Secrets and files are not available here).
  const cfg = server.loadConfig(args, { GENOME_SEQUENCER_NAMESPACE: 'genome' });
  t.equal(cfg.sequencer?.executor, 'kubernetes', 'the server runs the Kubernetes executor');
  t.equal(cfg.sequencer?.kubeNamespace, 'genome', 'GENOME_SEQUENCER_NAMESPACE is its Jobs\' namespace');
  const httpPort = cfg.httpPort;
  const grpcPort = cfg.grpcPort;
  t.equal(httpPort, 8080, 'REST on 8080');
  t.equal(grpcPort, 7070, 'gRPC on 7070');
  const ports = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  t.same(Object.fromEntries(ports), { http: httpPort, grpc: grpcPort }, 'the container ports are the ports the server listens on');
  const portOf = (p: string | number): number | undefined => (typeof p === 'number' ? p : ports.get(p));
  for (const sp of svc.spec.ports) t.equal(portOf(sp.targetPort), ports.get(sp.name), `Service port ${sp.name} targets the container's`);

  const rest = readFileSync(join(root, 'apps/sequencer/src/rest/server.ts'), 'utf8');
  for (const [probe, path] of [['livenessProbe', '/v2/health/live'], ['readinessProbe', '/v2/health/ready']] as const) {
    const g = c[probe]?.httpGet;
    t.equal(g?.path, path, `${probe} on ${path}`);
    t.equal(portOf(g?.port ?? -1), httpPort, `${probe} on the REST port`);
    t.ok(rest.includes(`'${path}'`), `the server's REST routes answer ${path}`);
  }
  if (c.startupProbe?.httpGet) t.equal(portOf(c.startupProbe.httpGet.port), httpPort);

  // The grace period outlasts the preStop sleep plus the server's drain (from the manifest's args, else the server's default).
  const setInEnv = env.get('GENOME_PLATFORM_SHUTDOWN_GRACE_MS')?.value;
  const drainMs = setInEnv !== undefined ? Number(setInEnv) : cfg.shutdownGraceMs;
  const preStopMs = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
  t.ok((pod.terminationGracePeriodSeconds ?? 30) * 1000 > drainMs + preStopMs, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > ${(drainMs + preStopMs) / 1000} s`);

  t.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, 'resources');
  t.equal(pod.securityContext?.runAsNonRoot, true, 'non-root');
  t.match(c.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  // The store is one the step pods can reach too (the sequencer hands GENOME_STORE_* to every step).
  t.ok(env.get('GENOME_STORE_METADATA')?.valueFrom?.secretKeyRef, 'store metadata URL from a Secret');
  t.ok(env.get('GENOME_SEQUENCER_STATE')?.valueFrom?.secretKeyRef, 'run state URL from a Secret');
  t.match(env.get('GENOME_STORE_BLOBS')?.value, /^s3:\/\//, 'blobs on S3');
});
