/**
 * The batch/v1 Job of one attempt of one step: its name (the executor's handle), labels, and manifest.
 */
import { createHash } from 'node:crypto';
import type { V1Job, V1ResourceRequirements } from '@kubernetes/client-node';
import { SequencerError } from '../../errors.js';
import type { StepLaunch } from '../../executor.js';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  runId: 'genome.ai/run-id',
  step: 'genome.ai/step',
  pipeline: 'genome.ai/pipeline',
  attempt: 'genome.ai/attempt',
} as const;

export const MANAGED_BY = 'genome-sequencer';
/** The container that runs the step. */
export const CONTAINER = 'step';
/** Labels the Job controller puts on a Job's pods. */
export const JOB_NAME_LABELS = ['batch.kubernetes.io/job-name', 'job-name'] as const;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const JOB_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function hash(s: string, n: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

function slug(s: string, max: number): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
}

/** A value as a label value: kept when valid, else a slug with a hash of the original (annotations keep the original). */
export function labelValue(s: string): string {
  if (LABEL_VALUE.test(s) && s.length <= 63) return s;
  const base = slug(s, 52);
  return base ? `${base}-${hash(s, 10)}` : hash(s, 10);
}

/**
 * The Job name of an attempt: `<pipeline>-<step>` as a DNS label, a hash of (run id, step, attempt) and the attempt,
 * at most 63 characters (the Job controller copies it into the job-name label). The same attempt always gets the
 * same name, so launching it twice is refused by the API server (409) instead of running it twice.
 */
export function jobName(l: Pick<StepLaunch, 'runId' | 'pipelineName' | 'attempt'> & { step: { stepName: string } }): string {
  const suffix = `-${hash(`${l.runId}\u0000${l.step.stepName}\u0000${l.attempt}`, 10)}-${l.attempt}`;
  const base = slug(`${l.pipelineName}-${l.step.stepName}`, 63 - suffix.length - 1) || 'step';
  return `${base}${suffix}`;
}

export function isJobName(s: string): boolean {
  return typeof s === 'string' && s.length <= 63 && JOB_NAME.test(s);
}

export interface JobSpecOptions {
  namespace: string;
  /** Image of steps that name none. */
  defaultImage?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Resources of the step's container. */
  resources?: V1ResourceRequirements;
  serviceAccountName?: string;
  /** Seconds a finished Job is kept before the cluster deletes it; null keeps it (default 3600). */
  ttlSecondsAfterFinished?: number | null;
  imagePullSecrets?: string[];
  nodeSelector?: Record<string, string>;
  /** Extra labels and annotations of every Job and pod. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function buildJob(l: StepLaunch, o: JobSpecOptions): V1Job {
  const image = l.step.image ?? o.defaultImage;
  if (!image) {
    throw new SequencerError(
      'INVALID_ARGUMENT',
      `step ${JSON.stringify(l.step.stepName)} has no image; the Kubernetes executor runs each step as a container, give the step an "image" or the executor a defaultImage`,
    );
  }
  if (!Number.isInteger(l.attempt) || l.attempt < 1) throw new SequencerError('INVALID_ARGUMENT', `attempt: must be a positive integer (got ${l.attempt})`);
  const name = jobName(l);
  const labels: Record<string, string> = {
    ...(o.labels ?? {}),
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.runId]: labelValue(l.runId),
    [LABELS.step]: labelValue(l.step.stepName),
    [LABELS.pipeline]: labelValue(l.pipelineName),
    [LABELS.attempt]: String(l.attempt),
  };
  const annotations: Record<string, string> = {
    ...(o.annotations ?? {}),
    [LABELS.runId]: l.runId,
    [LABELS.step]: l.step.stepName,
    [LABELS.pipeline]: l.pipelineName,
    'genome.ai/canonical-name': l.canonicalName,
    'genome.ai/application': l.application,
    'genome.ai/step-type': l.step.stepType,
  };
  const env = Object.keys(l.env)
    .sort()
    .map((k) => ({ name: k, value: l.env[k]! }));
  const activeDeadlineSeconds = l.timeoutMs !== undefined && l.timeoutMs > 0 ? Math.max(1, Math.ceil(l.timeoutMs / 1000)) : undefined;
  const ttl = o.ttlSecondsAfterFinished === undefined ? 3600 : o.ttlSecondsAfterFinished;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels, annotations },
    spec: {
      // Retries belong to the sequencer: one pod per Job, and a failed pod fails the Job.
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ...(activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds } : {}),
      ...(ttl !== null ? { ttlSecondsAfterFinished: ttl } : {}),
      template: {
        metadata: { labels: { ...labels }, annotations: { ...annotations } },
        spec: {
          restartPolicy: 'Never',
          ...(o.serviceAccountName ? { serviceAccountName: o.serviceAccountName } : {}),
          ...(o.imagePullSecrets?.length ? { imagePullSecrets: o.imagePullSecrets.map((n) => ({ name: n })) } : {}),
          ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
          containers: [
            {
              name: CONTAINER,
              image,
              ...(l.step.command?.length ? { command: [...l.step.command] } : {}),
              env,
              ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
              ...(o.resources ? { resources: o.resources } : {}),
            },
          ],
        },
      },
    },
  };
}
