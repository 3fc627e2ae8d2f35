/**
 * Parses and validates the seed's pipeline JSON exactly: the JSON Schema (ajv, all errors) for shapes and names, then
 * hand checks a schema cannot say well (durations, the schedule, unique step names, sizes). Every problem names its
 * field path, e.g. `steps[1][0].timeout`, and all problems are reported at once.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { SequencerError, type Violation } from '../errors.js';
import { parseDuration } from '../duration.js';
import { parseSchedule } from '../schedule.js';
import type { StepSpec } from '../executor.js';
import { LIMITS, pipelineSchema, stepSchema } from './schema.js';
import type { PipelineSpec, StepElement } from './pipeline.js';

let compiled: { pipeline: ValidateFunction; step: ValidateFunction } | undefined;

function validators(): { pipeline: ValidateFunction; step: ValidateFunction } {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    compiled = { pipeline: ajv.compile(pipelineSchema), step: ajv.compile(stepSchema) };
  }
  return compiled;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `/steps/1/0/timeout` under `prefix` -> `steps[1][0].timeout`. */
export function fieldPath(prefix: string, pointer: string): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(key)) out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function valueAt(data: unknown, pointer: string): unknown {
  let v: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

function describe(e: ErrorObject, data: unknown, prefix: string): Violation {
  const p = e.params as Record<string, unknown>;
  const got = valueAt(data, e.instancePath);
  const path = fieldPath(prefix, e.instancePath);
  const field = e.instancePath.split('/').pop() ?? '';
  switch (e.keyword) {
    case 'required':
      return { path: fieldPath(prefix, `${e.instancePath}/${String(p.missingProperty)}`), message: 'is required but missing' };
    case 'additionalProperties':
      return {
        path: fieldPath(prefix, `${e.instancePath}/${String(p.additionalProperty)}`),
        message: 'is not a field of the seed\'s pipeline JSON (check the spelling; fields are case-sensitive)',
      };
    case 'type':
      if (e.schemaPath === '#/properties/steps/items/type') {
        return { path, message: `must be a step (object) or a parallel group (array of steps) (got ${show(got)})` };
      }
      if (field === 'retry') return { path, message: `must be a string of an integer, e.g. "3" (got ${show(got)})` };
      if (field === 'timeout') return { path, message: `must be a duration string, e.g. "360s" (got ${show(got)})` };
      return { path, message: `must be of type ${Array.isArray(p.type) ? p.type.join(' or ') : String(p.type)} (got ${show(got)})` };
    case 'pattern':
      if (field === 'stepName') {
        return {
          path,
          message: `must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (got ${show(got)})`,
        };
      }
      if (field === 'retry') return { path, message: `must be a string of an integer from 0 to 99, e.g. "3" (got ${show(got)})` };
      if (field === 'image') return { path, message: `must be an image reference without spaces (got ${show(got)})` };
      return { path, message: `must not be empty or contain control characters (got ${show(got)})` };
    case 'minLength':
      return { path, message: 'must not be empty' };
    case 'maxLength':
      return { path, message: `must be at most ${String(p.limit)} characters long` };
    case 'minItems':
      return { path, message: `must have at least ${String(p.limit)} element(s)` };
    case 'maxItems':
      return { path, message: `must have at most ${String(p.limit)} elements` };
    default:
      return { path, message: e.message ?? `is invalid (${e.keyword})` };
  }
}

function schemaViolations(v: ValidateFunction, data: unknown, prefix: string): Violation[] {
  if (v(data)) return [];
  // One problem per field: an empty name breaks both minLength and pattern, say it once.
  const out = new Map<string, Violation>();
  for (const e of v.errors ?? []) {
    const d = describe(e, data, prefix);
    if (!out.has(d.path)) out.set(d.path, d);
  }
  return [...out.values()];
}

function stepChecks(step: Record<string, unknown>, path: string, out: Violation[]): void {
  if (typeof step.timeout === 'string') {
    try {
      parseDuration(step.timeout, `${path}.timeout`);
    } catch (e) {
      out.push({ path: `${path}.timeout`, message: (e as Error).message.replace(`${path}.timeout: `, '') });
    }
  }
  if (step.parameters !== null && typeof step.parameters === 'object' && !Array.isArray(step.parameters)) {
    const bytes = Buffer.byteLength(JSON.stringify(step.parameters));
    if (bytes > LIMITS.maxParametersBytes) {
      out.push({
        path: `${path}.parameters`,
        message: `is ${bytes} bytes as JSON, more than ${LIMITS.maxParametersBytes}; pass large inputs as datasets or files instead`,
      });
    }
  }
  if (Number(step.retry) > LIMITS.maxRetry) {
    out.push({ path: `${path}.retry`, message: `must be at most "${LIMITS.maxRetry}" (got ${show(step.retry)})` });
  }
}

/** All problems of a pipeline document (empty when it is valid). */
export function validatePipeline(doc: unknown): Violation[] {
  const { pipeline, step } = validators();
  const out = schemaViolations(pipeline, doc, '');
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return out.length ? out : [{ path: '', message: 'must be a JSON object' }];
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.schedule === 'string' && d.schedule.length <= 256) {
    try {
      parseSchedule(d.schedule);
    } catch (e) {
      out.push({ path: 'schedule', message: (e as Error).message.replace(/^schedule: /, '') });
    }
  }
  if (Array.isArray(d.steps)) {
    const seen = new Map<string, string>();
    let total = 0;
    const checkStep = (s: unknown, path: string): void => {
      total++;
      out.push(...schemaViolations(step, s, path));
      if (s === null || typeof s !== 'object' || Array.isArray(s)) return;
      const rec = s as Record<string, unknown>;
      stepChecks(rec, path, out);
      if (typeof rec.stepName === 'string') {
        const before = seen.get(rec.stepName);
        if (before !== undefined) {
          out.push({ path: `${path}.stepName`, message: `${show(rec.stepName)} is already the name of ${before}; step names must be unique` });
        } else seen.set(rec.stepName, path);
      }
    };
    d.steps.slice(0, LIMITS.maxStepElements).forEach((el, i) => {
      if (Array.isArray(el)) {
        if (el.length === 0) out.push({ path: `steps[${i}]`, message: 'is an empty parallel group; remove it or add steps' });
        if (el.length > LIMITS.maxGroupSize) {
          out.push({ path: `steps[${i}]`, message: `has ${el.length} parallel steps, more than ${LIMITS.maxGroupSize}` });
        }
        el.slice(0, LIMITS.maxGroupSize).forEach((s, j) => {
          if (Array.isArray(s)) {
            out.push({ path: `steps[${i}][${j}]`, message: 'must be a step (object); parallel groups cannot be nested' });
          } else checkStep(s, `steps[${i}][${j}]`);
        });
      } else if (el !== null && typeof el === 'object') checkStep(el, `steps[${i}]`);
    });
    if (total > LIMITS.maxSteps) out.push({ path: 'steps', message: `has ${total} steps in all, more than ${LIMITS.maxSteps}` });
  }
  return out;
}

/**
 * Parses a pipeline from JSON text or an already-parsed value. Throws INVALID_ARGUMENT listing every problem with
 * its field path; the error's `violations` holds them one by one.
 */
export function parsePipeline(input: string | unknown): PipelineSpec {
  let doc: unknown = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > LIMITS.maxDocumentBytes) {
      throw new SequencerError('INVALID_ARGUMENT', `pipeline: the document is larger than ${LIMITS.maxDocumentBytes} bytes`);
    }
    try {
      doc = JSON.parse(input);
    } catch (e) {
      throw new SequencerError('INVALID_ARGUMENT', `pipeline: not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  } else if (input !== null && typeof input === 'object') {
    const text = JSON.stringify(input);
    if (text !== undefined && Buffer.byteLength(text) > LIMITS.maxDocumentBytes) {
      throw new SequencerError('INVALID_ARGUMENT', `pipeline: the document is larger than ${LIMITS.maxDocumentBytes} bytes`);
    }
  }
  const violations = validatePipeline(doc);
  if (violations.length > 0) {
    const list = violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message));
    throw new SequencerError('INVALID_ARGUMENT', `invalid pipeline: ${list.join('; ')}`, { violations });
  }
  return clonePipeline(doc as PipelineSpec);
}

function cloneStep(s: StepSpec): StepSpec {
  return structuredClone(s);
}

function clonePipeline(p: PipelineSpec): PipelineSpec {
  const out: PipelineSpec = {
    pipelineName: p.pipelineName,
    canonicalName: p.canonicalName,
    application: p.application,
    steps: p.steps.map((e): StepElement => (Array.isArray(e) ? e.map(cloneStep) : cloneStep(e))),
  };
  if (p.schedule !== undefined) out.schedule = p.schedule;
  return out;
}

/** Retries after the first attempt of a step ("3" -> 3; absent -> 0). */
export function stepRetries(step: StepSpec): number {
  return step.retry === undefined ? 0 : Number(step.retry);
}

/** The step's timeout in ms, or undefined when it has none. */
export function stepTimeoutMs(step: StepSpec): number | undefined {
  return step.timeout === undefined ? undefined : parseDuration(step.timeout, `${step.stepName}.timeout`);
}
