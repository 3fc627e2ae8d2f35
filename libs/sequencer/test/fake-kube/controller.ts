/**
 * The simulated control plane: a job controller (pods from the template, status counts, conditions, backoffLimit,
 * activeDeadlineSeconds, ttlSecondsAfterFinished), a scheduler and a kubelet (pod phases, container states, events,
 * logs) and the garbage collector (Background, Foreground and Orphan propagation). What happens to a pod is its
 * {@link PodScenario}: success, an exit code, OOMKilled, an image that cannot be pulled, a pod that cannot be
 * scheduled, log text, and watch connections dropped at a chosen moment.
 */
import { randomBytes } from 'node:crypto';
import { clone, now, type HistoryEntry, type Obj, type Store } from './store.js';

/** What the simulated kubelet and scheduler do with a pod. Times are in milliseconds. */
export interface PodScenario {
  /** Time before the scheduler binds the pod (default 5). */
  scheduleMs?: number;
  /** Time in ContainerCreating before the container runs (default 5). */
  startMs?: number;
  /** Time the container runs (default 20); `Infinity` runs until the pod is deleted or the Job's deadline. */
  runMs?: number;
  /** The container's exit code (default 0). */
  exitCode?: number;
  /** The terminated state's reason (default Completed for 0, Error otherwise). */
  reason?: string;
  /** The container is killed for exceeding its memory limit: reason OOMKilled, exit code 137. */
  oomKilled?: boolean;
  /** The image cannot be pulled: ErrImagePull, then ImagePullBackOff, alternating, forever. A string is the pull error. */
  imagePullFailure?: boolean | string;
  /** The scheduler finds no node: PodScheduled False, reason Unschedulable. A string is the scheduler's message. */
  unschedulable?: boolean | string;
  /** The container's output (stdout and stderr), readable from when it starts. */
  logs?: string;
  /** Close every open watch connection when the pod reaches this point. */
  dropWatchesWhen?: 'scheduled' | 'running' | 'terminated';
  /** How to close them: a clean end of the response (default) or a reset connection. */
  dropMode?: 'end' | 'destroy';
}

export interface ControllerOptions {
  /** Milliseconds per simulated second for activeDeadlineSeconds and ttlSecondsAfterFinished (default 1000). */
  secondMs: number;
  /** Delay before a failed pod is replaced while the Job has backoffLimit left (default 5 ms). */
  retryDelayMs: number;
  /** How long a deleted running pod takes to terminate (default 5 ms). */
  terminationMs: number;
  nodeName: string;
  scenarioFor(job: Obj | undefined, pod: Obj): PodScenario;
  dropWatches(mode: 'end' | 'destroy'): void;
}

interface PodLog {
  text: string;
  started: boolean;
  done: boolean;
  startedAt?: string;
  listeners: Set<() => void>;
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function suffix(): string {
  const b = randomBytes(5);
  let s = '';
  for (const x of b) s += SUFFIX_ALPHABET[x % SUFFIX_ALPHABET.length];
  return s;
}

function hex(n: number): string {
  return randomBytes(n).toString('hex');
}

function condition(type: string, status: 'True' | 'False', reason?: string, message?: string): Obj {
  const t = now();
  return { type, status, lastProbeTime: null, lastTransitionTime: t, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

function hasCondition(o: Obj, type: string): boolean {
  return (o.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === 'True');
}

export function jobFinished(job: Obj): boolean {
  return hasCondition(job, 'Complete') || hasCondition(job, 'Failed');
}

function ownerUid(pod: Obj): string | undefined {
  return (pod.metadata.ownerReferences ?? []).find((r: Obj) => r.controller && r.kind === 'Job')?.uid;
}

function ownerName(pod: Obj): string | undefined {
  return (pod.metadata.ownerReferences ?? []).find((r: Obj) => r.controller && r.kind === 'Job')?.name;
}

export class Controller {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly podTimers = new Map<string, Set<NodeJS.Timeout>>();
  private readonly jobTimers = new Map<string, Set<NodeJS.Timeout>>();
  private readonly logs = new Map<string, PodLog>();
  private readonly counted = new Set<string>();
  private podIp = 10;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly opts: ControllerOptions,
  ) {
    // React after the change has been delivered to every watcher, as a real controller does.
    this.unsubscribe = store.onChange((e) => setImmediate(() => this.onChange(e)));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const l of this.logs.values()) {
      l.done = true;
      for (const f of l.listeners) f();
    }
  }

  private later(ms: number, fn: () => void, ...groups: (Map<string, Set<NodeJS.Timeout>> | string)[]): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      for (let i = 0; i < groups.length; i += 2) (groups[i] as Map<string, Set<NodeJS.Timeout>>).get(groups[i + 1] as string)?.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
    for (let i = 0; i < groups.length; i += 2) {
      const m = groups[i] as Map<string, Set<NodeJS.Timeout>>;
      const k = groups[i + 1] as string;
      let s = m.get(k);
      if (!s) m.set(k, (s = new Set()));
      s.add(t);
    }
  }

  private clearGroup(m: Map<string, Set<NodeJS.Timeout>>, k: string): void {
    for (const t of m.get(k) ?? []) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    m.delete(k);
  }

  private onChange(e: HistoryEntry): void {
    if (this.stopped) return;
    const o = e.object;
    if (e.plural === 'jobs' && e.type === 'ADDED') {
      if (!o.spec?.suspend) this.later(1, () => this.startJob(o.metadata.namespace, o.metadata.name, o.metadata.uid));
    } else if (e.plural === 'jobs' && e.type === 'DELETED') {
      this.clearGroup(this.jobTimers, o.metadata.uid);
    } else if (e.plural === 'pods' && e.type === 'ADDED' && !ownerUid(o)) {
      // A bare pod created through the API: run it too.
      this.runPod(o, this.opts.scenarioFor(undefined, o));
    } else if (e.plural === 'pods' && e.type === 'DELETED') {
      this.clearGroup(this.podTimers, o.metadata.uid);
      const l = this.logs.get(o.metadata.uid);
      if (l && !l.done) this.finishLog(l);
    }
  }

  // ---- events -------------------------------------------------------------------------------------------------

  /** Records a core/v1 Event about `obj`, as a controller's or kubelet's event recorder does. */
  event(obj: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const t = now();
    this.store.create('events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${hex(8)}`, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: ns,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        ...(obj.kind === 'Pod' ? { fieldPath: `spec.containers{${obj.spec?.containers?.[0]?.name ?? ''}}` } : {}),
      },
      reason,
      message,
      source: component === 'kubelet' ? { component, host: this.opts.nodeName } : { component },
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? this.opts.nodeName : '',
    });
  }

  // ---- job controller -----------------------------------------------------------------------------------------

  private getJob(ns: string, name: string, uid: string): Obj | undefined {
    const j = this.store.get('jobs', ns, name);
    return j && j.metadata.uid === uid ? j : undefined;
  }

  private startJob(ns: string, name: string, uid: string): void {
    const job = this.getJob(ns, name, uid);
    if (!job || jobFinished(job) || job.metadata.deletionTimestamp) return;
    const started = this.store.mutate('jobs', ns, name, (j) => {
      j.status ??= {};
      j.status.startTime ??= now();
      j.status.active ??= 0;
      j.status.ready ??= 0;
      j.status.terminating ??= 0;
      j.status.uncountedTerminatedPods ??= {};
    })!;
    const ads = job.spec.activeDeadlineSeconds;
    if (typeof ads === 'number') {
      this.later(ads * this.opts.secondMs, () => this.deadline(ns, name, uid), this.jobTimers, uid);
    }
    this.createPod(started);
  }

  private createPod(job: Obj): void {
    const tmpl = job.spec.template;
    const name = `${job.metadata.name}-${suffix()}`;
    const spec = clone(tmpl.spec);
    spec.serviceAccountName ??= 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.tolerations ??= [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ];
    const containers: Obj[] = spec.containers ?? [];
    const limited = containers.every((c) => c.resources?.limits?.cpu && c.resources?.limits?.memory);
    const requested = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
    const pod = this.store.create('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        generateName: `${job.metadata.name}-`,
        namespace: job.metadata.namespace,
        labels: { ...(tmpl.metadata?.labels ?? {}) },
        ...(tmpl.metadata?.annotations ? { annotations: { ...tmpl.metadata.annotations } } : {}),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
      status: { phase: 'Pending', qosClass: limited ? 'Guaranteed' : requested ? 'Burstable' : 'BestEffort' },
    });
    this.store.mutate('jobs', job.metadata.namespace, job.metadata.name, (j) => {
      j.status.active = (j.status.active ?? 0) + 1;
    });
    this.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'job-controller');
    this.runPod(pod, this.opts.scenarioFor(job, pod));
  }

  /** A pod of the Job reached Succeeded or Failed. */
  private podEnded(pod: Obj): void {
    if (this.counted.has(pod.metadata.uid)) return;
    this.counted.add(pod.metadata.uid);
    const ns = pod.metadata.namespace;
    const jobName = ownerName(pod);
    const uid = ownerUid(pod);
    if (!jobName || !uid) return;
    const job = this.getJob(ns, jobName, uid);
    if (!job) return;
    const succeeded = pod.status.phase === 'Succeeded';
    const ready = this.readyPods(ns, uid);
    const updated = this.store.mutate('jobs', ns, jobName, (j) => {
      j.status.active = Math.max(0, (j.status.active ?? 0) - 1);
      j.status.ready = ready;
      if (succeeded) j.status.succeeded = (j.status.succeeded ?? 0) + 1;
      else j.status.failed = (j.status.failed ?? 0) + 1;
    })!;
    if (jobFinished(updated) || hasCondition(updated, 'FailureTarget')) {
      this.maybeFinishFailure(ns, jobName, uid);
      return;
    }
    if (succeeded) {
      if ((updated.status.succeeded ?? 0) >= (updated.spec.completions ?? 1)) this.complete(ns, jobName, uid);
      return;
    }
    if ((updated.status.failed ?? 0) > (updated.spec.backoffLimit ?? 6)) {
      this.failureTarget(ns, jobName, uid, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else {
      this.later(this.opts.retryDelayMs, () => {
        const j = this.getJob(ns, jobName, uid);
        if (j && !jobFinished(j) && !j.metadata.deletionTimestamp && !hasCondition(j, 'FailureTarget')) this.createPod(j);
      }, this.jobTimers, uid);
    }
  }

  private complete(ns: string, name: string, uid: string): void {
    this.store.mutate('jobs', ns, name, (j) => {
      j.status.conditions = [...(j.status.conditions ?? []), condition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods')];
    });
    this.later(1, () => {
      const job = this.store.mutate('jobs', ns, name, (j) => {
        if (j.metadata.uid !== uid) return;
        j.status.conditions = [...(j.status.conditions ?? []), condition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods')];
        j.status.completionTime = now();
        j.status.ready = 0;
      });
      if (job && job.metadata.uid === uid) {
        this.event(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
        this.finished(job);
      }
    }, this.jobTimers, uid);
  }

  /** The Job will fail: FailureTarget now, its running pods are deleted, Failed once none is left. */
  private failureTarget(ns: string, name: string, uid: string, reason: string, message: string): void {
    const job = this.store.mutate('jobs', ns, name, (j) => {
      j.status.conditions = [...(j.status.conditions ?? []), condition('FailureTarget', 'True', reason, message)];
    });
    if (!job) return;
    this.clearGroup(this.jobTimers, uid);
    for (const p of this.podsOf(ns, uid)) {
      if (p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed') {
        this.deletePod(ns, p.metadata.name);
        this.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, 'job-controller');
      }
    }
    this.maybeFinishFailure(ns, name, uid);
  }

  private maybeFinishFailure(ns: string, name: string, uid: string): void {
    const job = this.getJob(ns, name, uid);
    if (!job || jobFinished(job)) return;
    const target = (job.status.conditions ?? []).find((c: Obj) => c.type === 'FailureTarget' && c.status === 'True');
    if (!target) return;
    const running = this.podsOf(ns, uid).filter((p) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed');
    if (running.length > 0) return;
    const done = this.store.mutate('jobs', ns, name, (j) => {
      j.status.conditions = [...j.status.conditions, condition('Failed', 'True', target.reason, target.message)];
      j.status.active = 0;
      j.status.ready = 0;
      j.status.terminating = 0;
    })!;
    this.event(done, 'Warning', target.reason, target.message, 'job-controller');
    this.finished(done);
  }

  private deadline(ns: string, name: string, uid: string): void {
    const job = this.getJob(ns, name, uid);
    if (!job || jobFinished(job) || hasCondition(job, 'FailureTarget')) return;
    this.failureTarget(ns, name, uid, 'DeadlineExceeded', 'Job was active longer than specified deadline');
  }

  private finished(job: Obj): void {
    const uid = job.metadata.uid;
    this.clearGroup(this.jobTimers, uid);
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (typeof ttl === 'number') {
      this.later(ttl * this.opts.secondMs, () => {
        if (this.getJob(job.metadata.namespace, job.metadata.name, uid)) this.deleteJob(job.metadata.namespace, job.metadata.name, 'Background');
      }, this.jobTimers, uid);
    }
  }

  private readyPods(ns: string, jobUid: string): number {
    return this.podsOf(ns, jobUid).filter((p) => (p.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True')).length;
  }

  podsOf(ns: string, jobUid: string): Obj[] {
    return this.store.list('pods', ns).filter((p) => ownerUid(p) === jobUid);
  }

  // ---- garbage collector --------------------------------------------------------------------------------------

  /**
   * Deletes a Job as the API server and garbage collector do: Background removes it now and its pods after;
   * Foreground marks it (deletionTimestamp, foregroundDeletion finalizer), deletes the pods, then removes it; Orphan
   * (batch/v1's default when the request names no policy) marks it with the orphan finalizer, strips the pods'
   * ownerReferences, then removes it and leaves the pods running. Returns what the API answers with.
   */
  deleteJob(ns: string, name: string, policy: 'Background' | 'Foreground' | 'Orphan'): { object: Obj; finalized: boolean } | undefined {
    const job = this.store.get('jobs', ns, name);
    if (!job) return undefined;
    const uid = job.metadata.uid;
    if (job.metadata.deletionTimestamp) return { object: job, finalized: false };
    if (policy === 'Background') {
      const removed = this.store.remove('jobs', ns, name)!;
      this.later(2, () => {
        for (const p of this.podsOf(ns, uid)) this.deletePod(ns, p.metadata.name);
      });
      return { object: removed, finalized: true };
    }
    const marked = this.store.mutate('jobs', ns, name, (j) => {
      j.metadata.deletionTimestamp = now();
      j.metadata.deletionGracePeriodSeconds = 0;
      j.metadata.finalizers = [...(j.metadata.finalizers ?? []), policy === 'Foreground' ? 'foregroundDeletion' : 'orphan'];
    })!;
    this.clearGroup(this.jobTimers, uid);
    if (policy === 'Orphan') {
      this.later(2, () => {
        for (const p of this.podsOf(ns, uid)) {
          this.store.mutate('pods', ns, p.metadata.name, (q) => {
            q.metadata.ownerReferences = (q.metadata.ownerReferences ?? []).filter((r: Obj) => r.uid !== uid);
            if (q.metadata.ownerReferences.length === 0) delete q.metadata.ownerReferences;
          });
        }
        this.store.remove('jobs', ns, name);
      });
    } else {
      this.later(2, () => {
        for (const p of this.podsOf(ns, uid)) this.deletePod(ns, p.metadata.name);
        const poll = (): void => {
          if (this.podsOf(ns, uid).length === 0) this.store.remove('jobs', ns, name);
          else this.later(2, poll);
        };
        poll();
      });
    }
    return { object: marked, finalized: false };
  }

  /** Graceful pod deletion: a running container gets SIGTERM (exit 143) and the pod goes away once it stopped. */
  deletePod(ns: string, name: string): Obj | undefined {
    const pod = this.store.get('pods', ns, name);
    if (!pod) return undefined;
    if (pod.metadata.deletionTimestamp) return pod;
    const uid = pod.metadata.uid;
    this.clearGroup(this.podTimers, uid);
    const terminal = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
    const marked = this.store.mutate('pods', ns, name, (p) => {
      p.metadata.deletionTimestamp = now();
      p.metadata.deletionGracePeriodSeconds = terminal ? 0 : (p.spec.terminationGracePeriodSeconds ?? 30);
    })!;
    if (terminal) {
      this.store.remove('pods', ns, name);
      return marked;
    }
    this.later(this.opts.terminationMs, () => {
      const after = this.store.mutate('pods', ns, name, (p) => {
        p.status.phase = 'Failed';
        p.status.conditions = (p.status.conditions ?? []).map((c: Obj) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? condition(c.type, 'False', 'PodFailed') : c,
        );
        p.status.containerStatuses = (p.status.containerStatuses ?? []).map((c: Obj) => ({
          ...c,
          ready: false,
          started: false,
          state: c.state?.running
            ? { terminated: { exitCode: 143, reason: 'Error', startedAt: c.state.running.startedAt, finishedAt: now(), containerID: c.containerID } }
            : { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', startedAt: null, finishedAt: null } },
        }));
      });
      const l = this.logs.get(uid);
      if (l) this.finishLog(l);
      if (after) this.podEnded(after);
      this.store.remove('pods', ns, name);
    });
    return marked;
  }

  // ---- scheduler and kubelet ----------------------------------------------------------------------------------

  private runPod(pod: Obj, sc: PodScenario): void {
    const ns = pod.metadata.namespace;
    const name = pod.metadata.name;
    const uid = pod.metadata.uid;
    const at = (ms: number, fn: () => void): void => this.later(ms, fn, this.podTimers, uid);
    const mutate = (fn: (p: Obj) => void): Obj | undefined => {
      const p = this.store.get('pods', ns, name);
      if (!p || p.metadata.uid !== uid) return undefined;
      return this.store.mutate('pods', ns, name, fn);
    };
    const containers: Obj[] = pod.spec.containers ?? [];
    const names = containers.map((c) => c.name).join(' ');
    const drop = (when: PodScenario['dropWatchesWhen']): void => {
      if (sc.dropWatchesWhen === when) this.opts.dropWatches(sc.dropMode ?? 'end');
    };

    at(sc.scheduleMs ?? 5, () => {
      if (sc.unschedulable) {
        const message = typeof sc.unschedulable === 'string' ? sc.unschedulable : '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
        const p = mutate((q) => {
          q.status.conditions = [condition('PodScheduled', 'False', 'Unschedulable', message)];
        });
        if (p) this.event(p, 'Warning', 'FailedScheduling', message, 'default-scheduler');
        drop('scheduled');
        return;
      }
      const start = now();
      const p = mutate((q) => {
        q.spec.nodeName = this.opts.nodeName;
        q.status = {
          ...q.status,
          phase: 'Pending',
          hostIP: '192.168.49.2',
          hostIPs: [{ ip: '192.168.49.2' }],
          startTime: start,
          conditions: [
            condition('PodReadyToStartContainers', 'False'),
            condition('Initialized', 'True'),
            condition('Ready', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`),
            condition('ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names}]`),
            condition('PodScheduled', 'True'),
          ],
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            started: false,
            state: { waiting: { reason: 'ContainerCreating' } },
            lastState: {},
          })),
        };
      });
      if (!p) return;
      this.event(p, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${this.opts.nodeName}`, 'default-scheduler');
      drop('scheduled');
      at(sc.startMs ?? 5, () => (sc.imagePullFailure ? this.pullFailure(ns, name, uid, sc, 0) : this.startContainers(ns, name, uid, sc)));
    });
  }

  private pullFailure(ns: string, name: string, uid: string, sc: PodScenario, round: number): void {
    const pod = this.store.get('pods', ns, name);
    if (!pod || pod.metadata.uid !== uid) return;
    const image = pod.spec.containers[0].image;
    const why = typeof sc.imagePullFailure === 'string' ? sc.imagePullFailure : `failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
    const backOff = round % 2 === 1;
    const reason = backOff ? 'ImagePullBackOff' : 'ErrImagePull';
    const message = backOff ? `Back-off pulling image "${image}": ErrImagePull: ${why}` : `rpc error: code = NotFound desc = ${why}`;
    const p = this.store.mutate('pods', ns, name, (q) => {
      q.status.conditions = (q.status.conditions ?? []).map((c: Obj) => (c.type === 'PodReadyToStartContainers' ? condition('PodReadyToStartContainers', 'True') : c));
      q.status.containerStatuses = (q.status.containerStatuses ?? []).map((c: Obj) => ({ ...c, state: { waiting: { reason, message } } }));
    })!;
    if (backOff) {
      this.event(p, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, 'kubelet');
      this.event(p, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet');
    } else {
      this.event(p, 'Normal', 'Pulling', `Pulling image "${image}"`, 'kubelet');
      this.event(p, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`, 'kubelet');
      this.event(p, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet');
    }
    if (round === 0) {
      if (sc.dropWatchesWhen === 'running') this.opts.dropWatches(sc.dropMode ?? 'end');
    }
    this.later(Math.min(1000, 10 * 2 ** round), () => this.pullFailure(ns, name, uid, sc, round + 1), this.podTimers, uid);
  }

  private startContainers(ns: string, name: string, uid: string, sc: PodScenario): void {
    const startedAt = now();
    const ip = `10.244.0.${this.podIp++ % 250}`;
    const p = this.store.mutate('pods', ns, name, (q) => {
      q.status.phase = 'Running';
      q.status.podIP = ip;
      q.status.podIPs = [{ ip }];
      q.status.conditions = [
        condition('PodReadyToStartContainers', 'True'),
        condition('Initialized', 'True'),
        condition('Ready', 'True'),
        condition('ContainersReady', 'True'),
        condition('PodScheduled', 'True'),
      ];
      q.status.containerStatuses = (q.status.containerStatuses ?? []).map((c: Obj) => ({
        ...c,
        containerID: `containerd://${hex(32)}`,
        imageID: `${String(c.image).split(':')[0]}@sha256:${hex(32)}`,
        ready: true,
        started: true,
        state: { running: { startedAt } },
      }));
    });
    if (!p) return;
    for (const c of p.spec.containers) {
      this.event(p, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, 'kubelet');
      this.event(p, 'Normal', 'Created', `Created container: ${c.name}`, 'kubelet');
      this.event(p, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet');
    }
    this.logs.set(uid, { text: sc.logs ?? '', started: true, done: false, startedAt, listeners: new Set() });
    const jobName = ownerName(p);
    const jobUid = ownerUid(p);
    if (jobName && jobUid) {
      const ready = this.readyPods(ns, jobUid);
      this.store.mutate('jobs', ns, jobName, (j) => {
        if (j.metadata.uid === jobUid && !jobFinished(j)) j.status.ready = ready;
      });
    }
    if (sc.dropWatchesWhen === 'running') this.opts.dropWatches(sc.dropMode ?? 'end');
    const runMs = sc.runMs ?? 20;
    if (Number.isFinite(runMs)) this.later(runMs, () => this.terminate(ns, name, uid, sc), this.podTimers, uid);
  }

  private terminate(ns: string, name: string, uid: string, sc: PodScenario): void {
    const exitCode = sc.oomKilled ? 137 : (sc.exitCode ?? 0);
    const reason = sc.oomKilled ? 'OOMKilled' : (sc.reason ?? (exitCode === 0 ? 'Completed' : 'Error'));
    const phase = exitCode === 0 ? 'Succeeded' : 'Failed';
    const finishedAt = now();
    const p = this.store.mutate('pods', ns, name, (q) => {
      q.status.phase = phase;
      const why = phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
      q.status.conditions = [
        condition('PodReadyToStartContainers', 'False'),
        condition('Initialized', 'True', why),
        condition('Ready', 'False', why),
        condition('ContainersReady', 'False', why),
        condition('PodScheduled', 'True'),
      ];
      q.status.containerStatuses = (q.status.containerStatuses ?? []).map((c: Obj) => ({
        ...c,
        ready: false,
        started: false,
        state: { terminated: { exitCode, reason, startedAt: c.state?.running?.startedAt ?? finishedAt, finishedAt, containerID: c.containerID } },
      }));
    });
    const l = this.logs.get(uid);
    if (l) this.finishLog(l);
    if (!p) return;
    if (sc.dropWatchesWhen === 'terminated') this.opts.dropWatches(sc.dropMode ?? 'end');
    this.podEnded(p);
  }

  // ---- logs ---------------------------------------------------------------------------------------------------

  private finishLog(l: PodLog): void {
    l.done = true;
    for (const f of l.listeners) f();
    l.listeners.clear();
  }

  /** The container log of a pod, or undefined when the container never started. */
  podLog(uid: string): PodLog | undefined {
    return this.logs.get(uid);
  }

  /** Appends to a running container's log (follow readers see it). */
  appendLog(uid: string, text: string): void {
    const l = this.logs.get(uid);
    if (!l) return;
    l.text += text;
    for (const f of l.listeners) f();
  }
}
