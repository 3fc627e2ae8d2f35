/**
 * The Kubernetes executor: each attempt of a step is a batch/v1 Job (one pod, backoffLimit 0: retries belong to the
 * sequencer; activeDeadlineSeconds from the step's timeout; ttlSecondsAfterFinished), created with
 * `@kubernetes/client-node` 2.x. One list+watch of the executor's Jobs and one of their Pods (label
 * app.kubernetes.io/managed-by=genome-sequencer) feed every wait(): a watch that drops is resumed from the last
 * resourceVersion, a 410 Gone makes it list again. An attempt fails as soon as its pod cannot pull its image or
 * cannot be scheduled (the Job is then deleted, it would never end by itself); OOMKilled, exit codes and
 * DeadlineExceeded come from the pod's and the Job's status. The handle is the Job's name, so wait(), logs() and
 * cancel() work for Jobs created by an earlier process.
 */
import type * as K8s from '@kubernetes/client-node';
import { SequencerError } from '../../errors.js';
import type { Executor, StepLaunch, StepOutcome } from '../../executor.js';
import { buildJob, CONTAINER, isJobName, JOB_NAME_LABELS, jobName, LABELS, MANAGED_BY, type JobSpecOptions } from './job-spec.js';
import { jobOutcome, stuckPod, termination, type Termination } from './outcome.js';
import { Reflector, type ReflectorStats } from './reflector.js';

type ClientNode = typeof K8s;

/** The Job settings ({@link JobSpecOptions}: image, pull policy and secrets, resources, service account, TTL, node
 * selector, labels, annotations) and where and how to watch. */
export interface KubernetesExecutorOptions extends Omit<JobSpecOptions, 'namespace'> {
  /**
   * Where the cluster is: a KubeConfig, 'default' (KUBECONFIG, ~/.kube/config, else in-cluster; the default),
   * 'in-cluster' (the pod's service account), or a kubeconfig file (and optionally its context).
   */
  kubeConfig?: K8s.KubeConfig | 'default' | 'in-cluster' | { file: string; context?: string };
  /** Namespace of the Jobs (default: the kubeconfig context's namespace, else "default"). */
  namespace?: string;
  /**
   * How long a pod may stay unschedulable or unable to pull its image before the attempt fails (default 0: at
   * once). A cluster autoscaler adding nodes wants a few minutes here.
   */
  stuckGraceMs?: number;
  /** Delete the Job of an attempt that failed while its pod was stuck (default true; it would never end). */
  deleteStuckJobs?: boolean;
  /** Server-side timeout of each watch request (default 300 s). */
  watchTimeoutSeconds?: number;
  /** Client-side inactivity timeout of a watch (default 30 s of client-node; the server's bookmarks keep it alive). */
  watchInactivityMs?: number;
  /** Backoff of failed lists and watches (default 100 ms doubling to 5 s). */
  watchBackoffMs?: { initial: number; max: number };
}

interface Waiter {
  handle: string;
  resolve(o: StepOutcome): void;
  reject(e: unknown): void;
  /** When the pod was first seen stuck. */
  stuckSince?: number;
  /** Until when a failed Job's outcome waits for its pod's exit code. */
  exitGraceUntil?: number;
  timer?: NodeJS.Timeout;
  cleanup(): void;
}

function apiStatus(e: unknown): { code?: number; message: string } {
  const x = e as { code?: number; statusCode?: number; body?: unknown; message?: string };
  let body = x?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON
    }
  }
  const m = (body as { message?: string } | undefined)?.message;
  return { code: typeof x?.code === 'number' ? x.code : x?.statusCode, message: m ?? x?.message ?? String(e) };
}

function toSequencerError(e: unknown, what: string): SequencerError {
  if (e instanceof SequencerError) return e;
  const { code, message } = apiStatus(e);
  if (code === 404) return new SequencerError('NOT_FOUND', `${what}: ${message}`, { cause: e });
  if (code === 409) return new SequencerError('ALREADY_EXISTS', `${what}: ${message}`, { cause: e });
  if (code === 400 || code === 422) return new SequencerError('INVALID_ARGUMENT', `${what}: the API server refused it: ${message}`, { cause: e });
  if (code === 401 || code === 403) {
    return new SequencerError('UNAVAILABLE', `${what}: the API server denied it (${code}): ${message}; check the kubeconfig's credentials and the service account's Role (batch jobs: create, get, list, watch, delete; pods: list, watch; pods/log: get — examples/pipelines/kubernetes/rbac.yaml)`, { cause: e });
  }
  return new SequencerError('UNAVAILABLE', `${what}: ${code ? `the API server answered ${code}: ` : 'cannot reach the API server: '}${message}`, { cause: e });
}

function jobNameOfPod(pod: K8s.V1Pod): string | undefined {
  for (const l of JOB_NAME_LABELS) {
    const v = pod.metadata?.labels?.[l];
    if (v) return v;
  }
  return pod.metadata?.ownerReferences?.find((r) => r.kind === 'Job' && r.controller)?.name;
}

/** Entries kept of Jobs that are gone (their outcomes outlive ttlSecondsAfterFinished in this process). */
const MEMORY = 5000;

function remember<K, V>(m: Map<K, V> | Set<K>, k: K, v?: V): void {
  if (m instanceof Map) {
    m.delete(k);
    m.set(k, v as V);
  } else m.add(k);
  if (m.size > MEMORY) m.delete(m.keys().next().value as K);
}

function created(o: K8s.KubernetesObject): number {
  const t = o.metadata?.creationTimestamp as unknown;
  return t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : 0;
}

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes';
  readonly namespace: string;
  private readonly k8s: ClientNode;
  private readonly kc: K8s.KubeConfig;
  private readonly batch: K8s.BatchV1Api;
  private readonly core: K8s.CoreV1Api;
  private readonly specOptions: JobSpecOptions;
  private readonly jobs = new Map<string, K8s.V1Job>();
  private readonly pods = new Map<string, K8s.V1Pod>();
  /** The step container's last termination per Job, kept after the pod is gone. */
  private readonly terminations = new Map<string, Termination>();
  /** Last state of Jobs that disappeared, and the outcomes settled for them. */
  private readonly gone = new Map<string, K8s.V1Job>();
  private readonly cancelled = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private jobReflector: Reflector<K8s.V1Job> | undefined;
  private podReflector: Reflector<K8s.V1Pod> | undefined;
  private closed = false;
  private readonly closing = new AbortController();

  private constructor(k8s: ClientNode, kc: K8s.KubeConfig, private readonly options: KubernetesExecutorOptions) {
    this.k8s = k8s;
    this.kc = kc;
    this.namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
    this.batch = kc.makeApiClient(k8s.BatchV1Api);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.specOptions = {
      namespace: this.namespace,
      ...(options.defaultImage ? { defaultImage: options.defaultImage } : {}),
      ...(options.imagePullPolicy ? { imagePullPolicy: options.imagePullPolicy } : {}),
      ...(options.resources ? { resources: options.resources } : {}),
      ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
      ...(options.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: options.ttlSecondsAfterFinished } : {}),
      ...(options.imagePullSecrets ? { imagePullSecrets: options.imagePullSecrets } : {}),
      ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
  }

  /** Loads `@kubernetes/client-node` and the kubeconfig. */
  static async create(options: KubernetesExecutorOptions = {}): Promise<KubernetesExecutor> {
    let k8s: ClientNode;
    try {
      k8s = await import('@kubernetes/client-node');
    } catch (e) {
      throw new SequencerError('MISSING_DEPENDENCY', `the Kubernetes executor needs @kubernetes/client-node 2.x (npm install @kubernetes/client-node@2); on Node < 22.19 also pin its undici to 7 in your package.json: "overrides": {"@kubernetes/client-node": {"undici": "^7.30.3"}} (${e instanceof Error ? e.message : String(e)})`,
        { cause: e },);
    }
    let kc: K8s.KubeConfig;
    const src = options.kubeConfig ?? 'default';
    if (src instanceof k8s.KubeConfig) kc = src;
    else {
      kc = new k8s.KubeConfig();
      try {
        if (src === 'default') kc.loadFromDefault();
        else if (src === 'in-cluster') kc.loadFromCluster();
        else if (typeof src === 'object' && 'file' in src) {
          kc.loadFromFile(src.file);
          if (src.context) kc.setCurrentContext(src.context);
        } else kc = src as K8s.KubeConfig;
      } catch (e) {
        throw new SequencerError('INVALID_ARGUMENT', `cannot load the kubeconfig (${typeof src === 'string' ? src : JSON.stringify(src)}): ${(e as Error).message}`, { cause: e });
      }
    }
    if (!kc.getCurrentCluster()) {
      throw new SequencerError('INVALID_ARGUMENT', 'the kubeconfig has no current cluster; set KUBECONFIG, pass kubeConfig: { file }, or run in a pod (in-cluster)');
    }
    return new KubernetesExecutor(k8s, kc, options);
  }

  /**
   * Starts the list+watch of the executor's Jobs and Pods now (wait() starts it otherwise) and resolves once both
   * were listed, e.g. at a server's start before it resumes the runs it recorded.
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new SequencerError('FAILED_PRECONDITION', 'the Kubernetes executor is closed; create a new one'));
    return this.startWatching();
  }

  /** list/watch counters of the Job and Pod reflectors (for tests and metrics). */
  watchStats(): { jobs?: ReflectorStats; pods?: ReflectorStats } {
    const of = (r: Reflector<K8s.KubernetesObject> | undefined): ReflectorStats | undefined =>
      r && { ...r.stats, ...(r.resourceVersion !== undefined ? { resourceVersion: r.resourceVersion } : {}) };
    const jobs = of(this.jobReflector as Reflector<K8s.KubernetesObject> | undefined);
    const pods = of(this.podReflector as Reflector<K8s.KubernetesObject> | undefined);
    return { ...(jobs ? { jobs } : {}), ...(pods ? { pods } : {}) };
  }

  /** The Job an attempt would be run as (for dry runs and manifests). */
  jobFor(l: StepLaunch): K8s.V1Job {
    return buildJob(l, this.specOptions);
  }

  async launch(l: StepLaunch): Promise<string> {
    if (this.closed) throw new SequencerError('FAILED_PRECONDITION', 'the Kubernetes executor is closed; create a new one');
    const job = buildJob(l, this.specOptions);
    const name = job.metadata!.name!;
    try {
      await this.batch.createNamespacedJob({ namespace: this.namespace, body: job });
    } catch (e) {
      const err = toSequencerError(e, `cannot create Job ${this.namespace}/${name}`);
      if (err.code === 'ALREADY_EXISTS') {
        throw new SequencerError('ALREADY_EXISTS', `attempt ${l.attempt} of step ${l.step.stepName} of run ${l.runId} was already launched as Job ${this.namespace}/${name}; wait on that handle or launch the next attempt`, { cause: e });
      }
      throw err;
    }
    return name;
  }

  async wait(handle: string, signal?: AbortSignal): Promise<StepOutcome> {
    checkHandle(handle);
    if (this.closed) throw new SequencerError('FAILED_PRECONDITION', 'the Kubernetes executor is closed; create a new one');
    if (signal?.aborted) throw cancelledError(signal);
    // The first list may wait for an unreachable API server (the reflectors retry): the signal and close() end it.
    await new Promise<void>((resolve, reject) => {
      const stop = (e: unknown): void => {
        signal?.removeEventListener('abort', onAbort);
        this.closing.signal.removeEventListener('abort', onClose);
        reject(e);
      };
      const onAbort = (): void => stop(cancelledError(signal!));
      const onClose = (): void => stop(closedError());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.closing.signal.addEventListener('abort', onClose, { once: true });
      this.startWatching().then(() => {
        signal?.removeEventListener('abort', onAbort);
        this.closing.signal.removeEventListener('abort', onClose);
        resolve();
      }, stop);
    });
    if (!this.jobs.has(handle) && !this.gone.has(handle)) {
      // Not in the cache: created a moment ago (its ADDED event is on its way) or by an earlier process, or unknown.
      let job: K8s.V1Job;
      try {
        job = await this.batch.readNamespacedJob({ name: handle, namespace: this.namespace });
      } catch (e) {
        throw toSequencerError(e, `no Job ${this.namespace}/${handle}`);
      }
      if (!this.jobs.has(handle) && !this.gone.has(handle)) this.jobs.set(handle, job);
    }
    return new Promise<StepOutcome>((resolve, reject) => {
      const w: Waiter = {
        handle,
        resolve: (o) => {
          w.cleanup();
          resolve(o);
        },
        reject: (e) => {
          w.cleanup();
          reject(e);
        },
        cleanup: () => {
          this.waiters.delete(w);
          if (w.timer) clearTimeout(w.timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const onAbort = (): void => w.reject(cancelledError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(w);
      this.check(w);
    });
  }

  async cancel(handle: string): Promise<void> {
    checkHandle(handle);
    remember(this.cancelled, handle);
    try {
      await this.batch.deleteNamespacedJob({ name: handle, namespace: this.namespace, propagationPolicy: 'Background' });
    } catch (e) {
      const err = toSequencerError(e, `cannot delete Job ${this.namespace}/${handle}`);
      if (err.code !== 'NOT_FOUND') {
        this.cancelled.delete(handle);
        throw err;
      }
    }
    for (const w of [...this.waiters]) {
      if (w.handle === handle) w.resolve({ status: 'failed', reason: 'Cancelled', message: `the step was cancelled; Job ${this.namespace}/${handle} was deleted` });
    }
  }

  /**
   * The Job of an attempt launched before the sequencer could record its handle (a restart between the two): Job
   * names are derived from the run, step and attempt, so it is one read. Undefined when there is no such Job.
   */
  async findAttempt(l: Omit<StepLaunch, 'env'>): Promise<string | undefined> {
    const name = jobName(l);
    try {
      await this.batch.readNamespacedJob({ name, namespace: this.namespace });
      return name;
    } catch (e) {
      const err = toSequencerError(e, `cannot read Job ${this.namespace}/${name}`);
      if (err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  async logs(handle: string, options: { tailLines?: number } = {}): Promise<string> {
    checkHandle(handle);
    const n = options.tailLines;
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new SequencerError('INVALID_ARGUMENT', `tailLines: must be a non-negative integer (got ${n})`);
    let pods: K8s.V1Pod[];
    try {
      const list = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${JOB_NAME_LABELS[0]}=${handle}` });
      pods = list.items;
    } catch (e) {
      throw toSequencerError(e, `cannot list the pods of Job ${this.namespace}/${handle}`);
    }
    if (pods.length === 0) {
      try {
        await this.batch.readNamespacedJob({ name: handle, namespace: this.namespace });
      } catch (e) {
        const err = toSequencerError(e, `no Job ${this.namespace}/${handle}`);
        if (err.code === 'NOT_FOUND') {
          throw new SequencerError('NOT_FOUND', `no Job ${this.namespace}/${handle} and no pod of it: it never existed or was deleted (ttlSecondsAfterFinished), and its logs with it`, { cause: e });
        }
        throw err;
      }
      return ''; // The Job has no pod yet.
    }
    pods.sort((a, b) => created(b) - created(a));
    const pod = pods[0]!;
    if (n === 0) return '';
    try {
      const text = await this.core.readNamespacedPodLog({
        name: pod.metadata!.name!,
        namespace: this.namespace,
        container: CONTAINER,
        ...(n !== undefined ? { tailLines: n } : {}),
      });
      return typeof text === 'string' ? text : String(text ?? '');
    } catch (e) {
      const { code, message } = apiStatus(e);
      // The container has not started (or never will): no output yet.
      if (code === 400 && /waiting to start|ContainerCreating|PodInitializing/.test(message)) return '';
      throw toSequencerError(e, `cannot read the log of pod ${this.namespace}/${pod.metadata?.name}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const w of [...this.waiters]) w.reject(closedError());
    await Promise.all([this.jobReflector?.stop(), this.podReflector?.stop()]);
  }

  // ---- watching ---------------------------------------------------------------------------------------------

  private startWatching(): Promise<void> {
    if (!this.jobReflector) {
      const watch = new this.k8s.Watch(this.kc);
      // client-node keeps the inactivity timeout private; it is a plain field at run time.
      if (this.options.watchInactivityMs) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.options.watchInactivityMs;
      const selector = `${LABELS.managedBy}=${MANAGED_BY}`;
      const common = {
        labelSelector: selector,
        watch,
        ...(this.options.watchTimeoutSeconds ? { timeoutSeconds: this.options.watchTimeoutSeconds } : {}),
        ...(this.options.watchBackoffMs ? { backoffMs: this.options.watchBackoffMs } : {}),
      };
      this.jobReflector = new Reflector<K8s.V1Job>({
        ...common,
        resource: 'jobs',
        path: `/apis/batch/v1/namespaces/${encodeURIComponent(this.namespace)}/jobs`,
        list: async () => {
          const l = await this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: selector });
          return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
        },
        onReplace: (items) => {
          const seen = new Set<string>();
          for (const j of items) {
            seen.add(j.metadata!.name!);
            this.jobs.set(j.metadata!.name!, j);
          }
          for (const [name, j] of this.jobs) {
            if (!seen.has(name)) {
              this.jobs.delete(name);
              remember(this.gone, name, j);
            }
          }
          this.checkAll();
        },
        onEvent: (type, j) => {
          const name = j.metadata!.name!;
          if (type === 'DELETED') {
            this.jobs.delete(name);
            remember(this.gone, name, j);
          } else {
            this.jobs.set(name, j);
            this.gone.delete(name);
          }
          this.checkJob(name);
        },
      });
      this.podReflector = new Reflector<K8s.V1Pod>({
        ...common,
        resource: 'pods',
        path: `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`,
        list: async () => {
          const l = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector });
          return { items: l.items, resourceVersion: l.metadata?.resourceVersion };
        },
        onReplace: (items) => {
          this.pods.clear();
          for (const p of items) this.podSeen(p);
          this.checkAll();
        },
        onEvent: (type, p) => {
          if (type === 'DELETED') {
            this.notePod(p);
            this.pods.delete(p.metadata!.name!);
          } else this.podSeen(p);
          const job = jobNameOfPod(p);
          if (job) this.checkJob(job);
        },
      });
      this.jobReflector.start();
      this.podReflector.start();
    }
    return Promise.all([this.jobReflector.synced, this.podReflector!.synced]).then(() => undefined);
  }

  private podSeen(p: K8s.V1Pod): void {
    this.pods.set(p.metadata!.name!, p);
    this.notePod(p);
  }

  private notePod(p: K8s.V1Pod): void {
    const job = jobNameOfPod(p);
    const t = termination(p);
    if (job && t) remember(this.terminations, job, t);
  }

  private podsOf(job: string): K8s.V1Pod[] {
    return [...this.pods.values()].filter((p) => jobNameOfPod(p) === job).sort((a, b) => created(b) - created(a));
  }

  private checkAll(): void {
    for (const w of [...this.waiters]) this.check(w);
  }

  private checkJob(name: string): void {
    for (const w of [...this.waiters]) if (w.handle === name) this.check(w);
  }

  private check(w: Waiter): void {
    const o = this.evaluate(w);
    if (o) w.resolve(o);
  }

  private evaluate(w: Waiter): StepOutcome | undefined {
    const name = w.handle;
    if (this.cancelled.has(name)) return { status: 'failed', reason: 'Cancelled', message: `the step was cancelled; Job ${this.namespace}/${name} was deleted` };
    const job = this.jobs.get(name);
    if (!job) {
      const last = this.gone.get(name);
      const ended = last && jobOutcome(last, this.terminations.get(name));
      if (ended) return ended;
      return {
        status: 'failed',
        reason: 'Deleted',
        message: `Job ${this.namespace}/${name} was deleted before it finished (by someone else than this sequencer); run the step again`,
      };
    }
    const t = this.terminations.get(name);
    const pods = this.podsOf(name);
    const ended = jobOutcome(job, t);
    if (ended) {
      // The Job's status may arrive before its pod's: give the pod watch a moment to tell the exit code.
      if (ended.status === 'failed' && ended.exitCode === undefined && !t && pods.some((p) => !termination(p) && !p.metadata?.deletionTimestamp) && ended.reason !== 'DeadlineExceeded') {
        w.exitGraceUntil ??= Date.now() + 500;
        const left = w.exitGraceUntil - Date.now();
        if (left > 0) {
          this.recheck(w, left);
          return undefined;
        }
      }
      return ended;
    }
    for (const p of pods) {
      const stuck = stuckPod(p);
      if (!stuck) continue;
      const grace = this.options.stuckGraceMs ?? 0;
      w.stuckSince ??= Date.now();
      const left = w.stuckSince + grace - Date.now();
      if (left > 0) {
        this.recheck(w, left);
        return undefined;
      }
      const outcome: StepOutcome = { status: 'failed', reason: stuck.reason, message: stuck.message };
      if (this.options.deleteStuckJobs === false) return outcome;
      // It would never end by itself: delete it (Background), then report.
      this.waiters.delete(w);
      this.batch
        .deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Background' })
        .catch(() => undefined)
        .then(() => w.resolve(outcome));
      return undefined;
    }
    w.stuckSince = undefined;
    return undefined;
  }

  /** Checks `w` again after `ms`. */
  private recheck(w: Waiter, ms: number): void {
    if (w.timer) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      if (this.waiters.has(w)) this.check(w);
    }, ms);
  }
}

function checkHandle(handle: string): void {
  if (!isJobName(handle)) {
    throw new SequencerError('INVALID_ARGUMENT', `${JSON.stringify(handle)} is not a Kubernetes executor handle (a Job name: lowercase letters, digits and '-', at most 63 characters)`);
  }
}

function closedError(): SequencerError {
  return new SequencerError('CANCELLED', 'stopped waiting: the Kubernetes executor was closed (the Job keeps running; wait on its handle again from a new executor)');
}

function cancelledError(signal: AbortSignal): SequencerError {
  return new SequencerError('CANCELLED', 'stopped waiting: the signal was aborted', { cause: signal.reason });
}
