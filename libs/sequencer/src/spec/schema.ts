/**
 * JSON Schemas (draft 2020-12) of the seed's pipeline document. The `steps` array is checked element by element in
 * parse.ts (an element is a step or an array of steps), so that every error names its exact path.
 */

/** Bounds that keep one pipeline document small enough to store, send and turn into Job specs. */
export const LIMITS = {
  /** Elements of `steps` (a step or a parallel group). */
  maxStepElements: 100,
  /** Steps in one parallel group. */
  maxGroupSize: 50,
  /** Steps in the whole pipeline. */
  maxSteps: 200,
  /** Retries after the first attempt. */
  maxRetry: 20,
  /** Bytes of one step's `parameters` as JSON (it becomes the TRANSFORM_PARAMETERS environment variable). */
  maxParametersBytes: 64 * 1024,
  /** Bytes of the whole document as JSON. */
  maxDocumentBytes: 1024 * 1024,
  /** Length of names (pipelineName, canonicalName, application). */
  maxNameLength: 253,
} as const;

/**
 * A step name: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit. It becomes a
 * Kubernetes label value and part of a log file name, so it is held to the label rules.
 */
export const STEP_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$';

const name = { type: 'string', minLength: 1, maxLength: LIMITS.maxNameLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$' };

export const stepSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['stepName', 'stepType'],
  additionalProperties: false,
  properties: {
    stepName: { type: 'string', pattern: STEP_NAME_PATTERN },
    stepType: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' },
    parameters: { type: 'object' },
    datasets: { type: 'array', maxItems: 1000 },
    image: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^\\S+$' },
    command: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'string', maxLength: 32 * 1024 },
    },
    timeout: { type: 'string' },
    retry: { type: 'string', pattern: '^(0|[1-9][0-9]?)$' },
  },
} as const;

export const pipelineSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['pipelineName', 'canonicalName', 'application', 'steps'],
  additionalProperties: false,
  properties: {
    pipelineName: name,
    canonicalName: name,
    application: name,
    schedule: { type: 'string', minLength: 1, maxLength: 256 },
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: LIMITS.maxStepElements,
      items: { type: ['object', 'array'] },
    },
  },
} as const;
