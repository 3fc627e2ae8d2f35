/**
 * Renders a pipeline as an Argo Workflow, or a CronWorkflow when it has a schedule, for when one cluster's Jobs are
 * not enough. Steps and parallel groups become one `steps` template (outer list sequential, inner lists parallel, as
 * Argo reads them); each step a container template with the step's image, command, environment, `timeout` and a
 * `retryStrategy` (limit = the step's retries, exponential backoff like the engine's). A duration schedule ("6h")
 * becomes `@every 6h` (first run one period after creation, as the seed says), a cron expression stays as is;
 * `concurrencyPolicy: Forbid` unless overlap is allowed.
 */
import { SequencerError } from '../errors.js';
import { parseSchedule } from '../schedule.js';
import { stepRetries, stepTimeoutMs } from '../spec/parse.js';
import { stepGroups, type PipelineSpec } from '../spec/pipeline.js';
import type { StepSpec } from '../executor.js';

export interface ArgoExportOptions {
  /** Image of steps that have none (the local executor's steps often have only a command). */
  defaultImage?: string;
  /** Kubernetes namespace of the resource. */
  namespace?: string;
  /** The model store's connection given to every step (GENOME_STORE_*). */
  storeEnv?: Record<string, string>;
  /** Backoff between retries (default 1s, factor 2, cap 60s: the engine's defaults). */
  backoff?: { initialMs?: number; factor?: number; maxMs?: number };
  /** 'forbid' (default) or 'allow' overlapping scheduled runs. */
  overlap?: 'forbid' | 'allow';
  /** IANA timezone of a cron schedule. */
  timezone?: string;
  /** Service account the step pods run as. */
  serviceAccountName?: string;
}

type Json = Record<string, unknown>;

/** A Kubernetes name: lowercase letters, digits and '-', at most `max` characters. */
function dnsName(text: string, max = 63): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return s === '' ? 'x' : s;
}

/** Seconds as a Go duration ("360s"): Argo reads Go durations, which have no "d" unit. */
function goDuration(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

function stepEnv(p: PipelineSpec, s: StepSpec, storeEnv: Record<string, string> | undefined): Array<{ name: string; value: string }> {
  const env: Array<{ name: string; value: string }> = [
    { name: 'APPLICATION', value: p.application },
    { name: 'PIPELINE_RUNID', value: '{{workflow.name}}' },
    { name: 'PIPELINE_NAME', value: p.pipelineName },
    { name: 'CANONICAL_NAME', value: p.canonicalName },
    { name: 'STEP_NAME', value: s.stepName },
    { name: 'STEP_TYPE', value: s.stepType },
    { name: 'TRANSFORM_PARAMETERS', value: JSON.stringify(s.parameters ?? {}) },
  ];
  for (const key of ['GENOME_STORE_DIR', 'GENOME_STORE_METADATA', 'GENOME_STORE_BLOBS']) {
    const v = storeEnv?.[key];
    if (v) env.push({ name: key, value: v });
  }
  return env;
}

/** The pipeline as an Argo `Workflow` (no schedule) or `CronWorkflow` (with one), as a plain JSON object. */
export function toArgo(pipeline: PipelineSpec, options: ArgoExportOptions = {}): Json {
  const groups = stepGroups(pipeline);
  const names = new Map<string, string>();
  const used = new Set<string>(['pipeline']);
  for (const s of groups.flat()) {
    let n = dnsName(s.stepName, 58);
    for (let i = 2; used.has(n); i++) n = `${dnsName(s.stepName, 54)}-${i}`;
    used.add(n);
    names.set(s.stepName, n);
  }
  const backoff = { initialMs: 1000, factor: 2, maxMs: 60_000, ...options.backoff };
  const templates: Json[] = [
    {
      name: 'pipeline',
      steps: groups.map((g) => g.map((s) => ({ name: names.get(s.stepName)!, template: names.get(s.stepName)! }))),
    },
  ];
  for (const s of groups.flat()) {
    const image = s.image ?? options.defaultImage;
    if (!image) {
      throw new SequencerError('INVALID_ARGUMENT', `step ${JSON.stringify(s.stepName)} has no image; Argo runs containers: give the step an "image" or pass defaultImage`);
    }
    const container: Json = { image, env: stepEnv(pipeline, s, options.storeEnv) };
    if (s.command) container.command = s.command;
    const t: Json = {
      name: names.get(s.stepName)!,
      metadata: { labels: { 'genome.ai/step': dnsName(s.stepName) } },
      container,
    };
    const timeoutMs = stepTimeoutMs(s);
    if (timeoutMs !== undefined) t.timeout = goDuration(timeoutMs);
    const retries = stepRetries(s);
    if (retries > 0) {
      t.retryStrategy = {
        limit: String(retries),
        retryPolicy: 'Always',
        backoff: { duration: goDuration(backoff.initialMs), factor: String(backoff.factor), cap: goDuration(backoff.maxMs) },
      };
    }
    templates.push(t);
  }
  const workflowSpec: Json = { entrypoint: 'pipeline', templates };
  if (options.serviceAccountName) workflowSpec.serviceAccountName = options.serviceAccountName;
  const name = dnsName(pipeline.pipelineName, 52);
  const metadata: Json = {
    labels: { 'genome.ai/pipeline': name, 'genome.ai/application': dnsName(pipeline.application) },
    annotations: { 'genome.ai/pipeline-name': pipeline.pipelineName, 'genome.ai/canonical-name': pipeline.canonicalName },
  };
  if (options.namespace) metadata.namespace = options.namespace;
  if (pipeline.schedule === undefined) {
    return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { generateName: `${name}-`, ...metadata }, spec: workflowSpec };
  }
  const schedule = parseSchedule(pipeline.schedule, options.timezone === undefined ? {} : { timezone: options.timezone });
  const spec: Json = {
    schedules: [schedule.kind === 'interval' ? `@every ${goDuration(schedule.periodMs)}` : schedule.text],
    concurrencyPolicy: (options.overlap ?? 'forbid') === 'forbid' ? 'Forbid' : 'Allow',
    workflowSpec,
  };
  if (schedule.kind === 'cron') spec.timezone = schedule.timezone ?? 'UTC';
  return { apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', metadata: { name, ...metadata }, spec };
}
