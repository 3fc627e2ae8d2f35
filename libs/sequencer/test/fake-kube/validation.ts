/**
 * Create-time defaulting and validation of batch/v1 Jobs and v1 Pods, the subset of the API server's rules a client
 * can trip over: names, labels, the pod template's restartPolicy, containers, env names, deadlines and limits.
 * Errors come back as 422 Invalid Status objects with one cause per field, like the real server's.
 */
import type { Obj } from './store.js';

export interface FieldError {
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported';
  field: string;
  message: string;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

function required(field: string): FieldError {
  return { reason: 'FieldValueRequired', field, message: `${field}: Required value` };
}

function invalid(field: string, value: unknown, why: string): FieldError {
  return { reason: 'FieldValueInvalid', field, message: `${field}: Invalid value: ${JSON.stringify(value)}: ${why}` };
}

export function validateObjectMeta(meta: Obj | undefined, nameMax: number, errs: FieldError[]): void {
  if (!meta) {
    errs.push(required('metadata.name'));
    return;
  }
  const name = meta.name;
  if (!name && !meta.generateName) errs.push({ ...required('metadata.name'), message: 'metadata.name: Required value: name or generateName is required' });
  if (name) {
    if (!DNS1123_SUBDOMAIN.test(name)) {
      errs.push(invalid('metadata.name', name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
    }
    if (name.length > nameMax) errs.push(invalid('metadata.name', name, `must be no more than ${nameMax} characters`));
  }
  validateLabels(meta.labels, 'metadata.labels', errs);
}

export function validateLabels(labels: Obj | undefined, field: string, errs: FieldError[]): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const slash = k.lastIndexOf('/');
    const prefix = slash >= 0 ? k.slice(0, slash) : '';
    const nm = slash >= 0 ? k.slice(slash + 1) : k;
    if ((slash >= 0 && (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253)) || !LABEL_NAME.test(nm) || nm.length > 63) {
      errs.push(invalid(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
    if (typeof v !== 'string' || !LABEL_VALUE.test(v) || v.length > 63) {
      errs.push(invalid(`${field}`, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, and must be no more than 63 characters"));
    }
  }
}

function validateResources(r: Obj | undefined, field: string, errs: FieldError[]): void {
  for (const part of ['limits', 'requests'] as const) {
    for (const [name, q] of Object.entries(r?.[part] ?? {})) {
      if (typeof q !== 'string' && typeof q !== 'number') errs.push(invalid(`${field}.${part}[${name}]`, q, 'must be a quantity'));
      else if (!QUANTITY.test(String(q))) errs.push(invalid(`${field}.${part}[${name}]`, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    }
  }
}

/** Pod-spec defaults the API server applies (pkg/apis/core/v1/defaults.go). */
export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  for (const c of spec.containers ?? []) {
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    if (!c.imagePullPolicy && typeof c.image === 'string') {
      const ref = c.image.split('@')[0]!;
      const tag = ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.slice(ref.lastIndexOf(':') + 1) : '';
      c.imagePullPolicy = !c.image.includes('@') && (tag === '' || tag === 'latest') ? 'Always' : 'IfNotPresent';
    }
    c.resources ??= {};
  }
}

export function validatePodSpec(spec: Obj | undefined, field: string, errs: FieldError[], restartPolicies: string[]): void {
  if (!spec) {
    errs.push(required(field));
    return;
  }
  const containers: Obj[] = spec.containers ?? [];
  if (!Array.isArray(containers) || containers.length === 0) errs.push(required(`${field}.containers`));
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const f = `${field}.containers[${i}]`;
    if (!c.name) errs.push(required(`${f}.name`));
    else if (!DNS1123_LABEL.test(c.name) || c.name.length > 63) errs.push(invalid(`${f}.name`, c.name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"));
    else if (names.has(c.name)) errs.push({ reason: 'FieldValueInvalid', field: `${f}.name`, message: `${f}.name: Duplicate value: ${JSON.stringify(c.name)}` });
    names.add(c.name);
    if (typeof c.image !== 'string' || c.image === '') errs.push(required(`${f}.image`));
    else if (c.image.trim() !== c.image) errs.push(invalid(`${f}.image`, c.image, 'must not have leading or trailing whitespace'));
    for (const [j, e] of ((c.env ?? []) as Obj[]).entries()) {
      if (!e.name) errs.push(required(`${f}.env[${j}].name`));
      else if (!ENV_NAME.test(e.name)) errs.push(invalid(`${f}.env[${j}].name`, e.name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"));
    }
    if (c.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
      errs.push({ reason: 'FieldValueNotSupported', field: `${f}.imagePullPolicy`, message: `${f}.imagePullPolicy: Unsupported value: ${JSON.stringify(c.imagePullPolicy)}: supported values: "Always", "IfNotPresent", "Never"` });
    }
    validateResources(c.resources, `${f}.resources`, errs);
  });
  const rp = spec.restartPolicy ?? 'Always';
  if (!restartPolicies.includes(rp)) {
    errs.push({
      reason: 'FieldValueNotSupported',
      field: `${field}.restartPolicy`,
      message: `${field}.restartPolicy: Unsupported value: ${JSON.stringify(rp)}: supported values: ${restartPolicies.map((p) => JSON.stringify(p)).join(', ')}`,
    });
  }
  if (spec.activeDeadlineSeconds !== undefined && !(Number.isInteger(spec.activeDeadlineSeconds) && spec.activeDeadlineSeconds > 0)) {
    errs.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
}

export function validateJob(job: Obj): FieldError[] {
  const errs: FieldError[] = [];
  // The job-name label carries the name, so a Job's name is limited to a label value's 63 characters.
  validateObjectMeta(job.metadata, 63, errs);
  const spec = job.spec;
  if (!spec) return [...errs, required('spec.template')];
  for (const k of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished'] as const) {
    if (spec[k] !== undefined && spec[k] !== null && !(Number.isInteger(spec[k]) && spec[k] >= 0)) errs.push(invalid(`spec.${k}`, spec[k], 'must be greater than or equal to 0'));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && !(Number.isInteger(spec.activeDeadlineSeconds) && spec.activeDeadlineSeconds > 0)) {
    errs.push(invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be greater than 0'));
  }
  if (spec.completionMode !== undefined && !['NonIndexed', 'Indexed'].includes(spec.completionMode)) {
    errs.push({ reason: 'FieldValueNotSupported', field: 'spec.completionMode', message: `spec.completionMode: Unsupported value: ${JSON.stringify(spec.completionMode)}: supported values: "NonIndexed", "Indexed"` });
  }
  validateLabels(spec.template?.metadata?.labels, 'spec.template.metadata.labels', errs);
  validatePodSpec(spec.template?.spec, 'spec.template.spec', errs, ['OnFailure', 'Never']);
  return errs;
}

export function validatePod(pod: Obj): FieldError[] {
  const errs: FieldError[] = [];
  validateObjectMeta(pod.metadata, 253, errs);
  validatePodSpec(pod.spec, 'spec', errs, ['Always', 'OnFailure', 'Never']);
  return errs;
}

/** batch/v1 Job defaults and the generated selector (pkg/apis/batch/v1/defaults.go, pkg/registry/batch/job/strategy.go). */
export function defaultJob(job: Obj, uid: string): void {
  const spec = (job.spec ??= {});
  spec.parallelism ??= 1;
  spec.completions ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  spec.manualSelector ??= undefined;
  if (spec.manualSelector === undefined) delete spec.manualSelector;
  const name = job.metadata.name as string;
  const tmpl = (spec.template ??= {});
  tmpl.metadata ??= {};
  tmpl.metadata.labels = {
    ...(tmpl.metadata.labels ?? {}),
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
  spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  if (!job.metadata.labels || Object.keys(job.metadata.labels).length === 0) job.metadata.labels = { ...tmpl.metadata.labels };
  defaultPodSpec((tmpl.spec ??= {}));
  job.status ??= {};
}

export function invalidStatus(kind: string, group: string, name: string, errs: FieldError[]): Obj {
  const qualified = group ? `${kind}.${group}` : kind;
  const list = errs.map((e) => e.message);
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${qualified} ${JSON.stringify(name)} is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`,
    reason: 'Invalid',
    details: { name, group, kind, causes: errs.map((e) => ({ reason: e.reason, message: e.message.slice(e.field.length + 2), field: e.field })) },
    code: 422,
  };
}
