/**
 * How an attempt ended, read off its Job and pods: Complete / Failed (and the earlier FailureTarget) conditions of
 * the Job, the container's terminated state (exit code, OOMKilled), and the pod states that never end by
 * themselves (an image that cannot be pulled, a pod that cannot be scheduled), which fail the attempt at once.
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { StepOutcome } from '../../executor.js';
import { CONTAINER } from './job-spec.js';

/** Waiting reasons after which the container will not start without a change to the Job. */
export const FATAL_WAITING_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** The last terminated state of the step's container, kept after its pod is gone. */
export interface Termination {
  exitCode: number;
  reason?: string;
  message?: string;
  signal?: number;
}

function cond(job: V1Job, type: string): { reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function stepContainer(pod: V1Pod): V1ContainerStatus | undefined {
  const all = pod.status?.containerStatuses ?? [];
  return all.find((c) => c.name === CONTAINER) ?? all[0];
}

export function termination(pod: V1Pod): Termination | undefined {
  const t = stepContainer(pod)?.state?.terminated;
  if (!t) return undefined;
  return { exitCode: t.exitCode, ...(t.reason ? { reason: t.reason } : {}), ...(t.message ? { message: t.message } : {}), ...(t.signal ? { signal: t.signal } : {}) };
}

function withExit(o: { reason: string; message: string }, t: Termination | undefined): StepOutcome {
  return { status: 'failed', ...o, ...(t ? { exitCode: t.exitCode } : {}) };
}

/** The Job's end, when it has one. `t` is the step container's termination, when known. */
export function jobOutcome(job: V1Job, t: Termination | undefined): StepOutcome | undefined {
  if (cond(job, 'Complete')) return { status: 'succeeded', exitCode: t?.exitCode ?? 0 };
  const failed = cond(job, 'Failed') ?? cond(job, 'FailureTarget');
  if (!failed) return undefined;
  const reason = failed.reason ?? 'Failed';
  if (t?.reason === 'OOMKilled') {
    return withExit({ reason: 'OOMKilled', message: `the container was killed for exceeding its memory limit (exit code ${t.exitCode}); give the step more memory` }, t);
  }
  if (reason === 'DeadlineExceeded') {
    const s = job.spec?.activeDeadlineSeconds;
    return withExit({ reason: 'DeadlineExceeded', message: `the step ran longer than its timeout${s ? ` (activeDeadlineSeconds ${s})` : ''} and the Job was stopped: ${failed.message ?? reason}` }, undefined);
  }
  if (t && reason === 'BackoffLimitExceeded') {
    const why = t.reason && t.reason !== 'Error' ? t.reason : 'Error';
    const detail = t.message ? `: ${t.message.trim()}` : '';
    return withExit({ reason: why, message: `the container exited with code ${t.exitCode}${t.reason && t.reason !== 'Error' ? ` (${t.reason})` : ''}${detail}` }, t);
  }
  return withExit({ reason, message: failed.message ?? `the Job failed (${reason})` }, t);
}

/** A pod state that will not resolve by itself: the attempt has failed though the Job has not. */
export function stuckPod(pod: V1Pod): { reason: string; message: string } | undefined {
  for (const c of pod.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && FATAL_WAITING_REASONS.has(w.reason)) {
      return { reason: w.reason, message: `container ${c.name} of pod ${pod.metadata?.name} cannot start: ${w.reason}${w.message ? `: ${w.message}` : ''}` };
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled && scheduled.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { reason: 'Unschedulable', message: `pod ${pod.metadata?.name} cannot be scheduled: ${scheduled.message ?? 'no node fits'}` };
  }
  return undefined;
}
