/**
 * Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for (Accept: application/json;as=Table),
 * with the columns and cell rules of the API server's printers (pkg/printers/internalversion/printers.go) for pods,
 * jobs, events and namespaces.
 */
import type { Obj } from './store.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, description: string, priority = 0, format = '', type = 'string'): Column => ({ name, type, format, description, priority });

const NAME = col('Name', 'Name must be unique within a namespace.', 0, 'name');
const AGE = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(ts: string | undefined): string {
  if (!ts) return '<unknown>';
  return humanDuration(Date.now() - Date.parse(ts));
}

function hasCondition(o: Obj, type: string): boolean {
  return (o.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === 'True');
}

/** printPod's STATUS and READY rules. */
export function podStatusReason(pod: Obj): { reason: string; ready: string; restarts: number } {
  let reason: string = pod.status?.reason || pod.status?.phase || 'Pending';
  const statuses: Obj[] = pod.status?.containerStatuses ?? [];
  const total = (pod.spec?.containers ?? []).length;
  let readyCount = 0;
  let restarts = 0;
  let hasRunning = false;
  for (let i = statuses.length - 1; i >= 0; i--) {
    const c = statuses[i]!;
    restarts += c.restartCount ?? 0;
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
    else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
    else if (c.ready && c.state?.running) {
      hasRunning = true;
      readyCount++;
    }
  }
  if (reason === 'Completed' && hasRunning) reason = hasCondition(pod, 'Ready') ? 'Running' : 'NotReady';
  if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return { reason, ready: `${readyCount}/${total}`, restarts };
}

export function jobStatusWord(job: Obj): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(job, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function selectorString(sel: Obj | undefined): string {
  if (!sel) return '<none>';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return parts.length ? parts.join(',') : '<none>';
}

interface Printer {
  columns: Column[];
  cells(o: Obj): unknown[];
}

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [
      NAME,
      col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE,
      col('IP', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
      col('Node', 'NodeName is a request to schedule this pod onto a specific node.', 1),
      col('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
      col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
    ],
    cells(pod) {
      const s = podStatusReason(pod);
      return [
        pod.metadata.name,
        s.ready,
        s.reason,
        String(s.restarts),
        since(pod.metadata.creationTimestamp),
        pod.status?.podIP || '<none>',
        pod.spec?.nodeName || '<none>',
        pod.status?.nominatedNodeName || '<none>',
        '<none>',
      ];
    },
  },
  jobs: {
    columns: [
      NAME,
      col('Status', 'Status of the job.'),
      col('Completions', 'The number of pods which reached phase Succeeded.'),
      col('Duration', 'Time required to complete the job.'),
      AGE,
      col('Containers', 'Names of each container in the template.', 1),
      col('Images', 'Images referenced by each container in the template.', 1),
      col('Selector', 'A label query over pods that should match the pod count.', 1),
    ],
    cells(job) {
      const succeeded = job.status?.succeeded ?? 0;
      const completions = job.spec?.completions;
      const parallelism = job.spec?.parallelism ?? 1;
      const comp = completions !== undefined && completions !== null ? `${succeeded}/${completions}` : parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
      let duration = '';
      const start = job.status?.startTime;
      if (start) {
        const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : Date.now();
        duration = humanDuration(end - Date.parse(start));
      }
      const containers: Obj[] = job.spec?.template?.spec?.containers ?? [];
      return [
        job.metadata.name,
        jobStatusWord(job),
        comp,
        duration,
        since(job.metadata.creationTimestamp),
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image).join(','),
        selectorString(job.spec?.selector),
      ];
    },
  },
  events: {
    columns: [
      col('Last Seen', 'Time when the most recent occurrence of this event was recorded.'),
      col('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
      col('Reason', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
      col('Object', 'The object that this event is about.'),
      col('Message', 'A human-readable description of the status of this operation.'),
    ],
    cells(ev) {
      const io = ev.involvedObject ?? {};
      return [since(ev.lastTimestamp ?? ev.eventTime), ev.type, ev.reason, `${String(io.kind ?? '').toLowerCase()}/${io.name}`, ev.message];
    },
  },
  namespaces: {
    columns: [NAME, col('Status', 'The status of the namespace'), AGE],
    cells(ns) {
      return [ns.metadata.name, ns.status?.phase ?? 'Active', since(ns.metadata.creationTimestamp)];
    },
  },
};

/** True when the Accept header asks for a Table (kubectl get's human-readable output). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => /as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

export function toTable(plural: string, items: Obj[], resourceVersion: string, includeObject: string | null): Obj {
  const p = PRINTERS[plural]!;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: p.columns,
    rows: items.map((o) => ({
      cells: p.cells(o),
      object:
        includeObject === 'None'
          ? null
          : includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
