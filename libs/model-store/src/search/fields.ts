/**
 * The fields a search can name, their kinds, the operators each accepts, and how a version's value is read.
 *
 * Canonical names: `name`, `version`, `state`, `alias`, `createdAt`, `updatedAt`, `createdBy`, `digest`, the metadata
 * fields (`application`, `pipelineName`, ...), `tags.<key>`, `metrics.<key>`. Also accepted: snake_case spellings
 * (`created_at`, `pipeline_run_id`, ...), MLflow's (`version_number`, `run_id`, `creation_timestamp`,
 * `last_updated_timestamp`, `user_id`, `tag.<key>`, `metric.<key>`) and `aliases`.
 */
import { METADATA_FIELDS, type SearchOp } from '../types.js';
import { KEY_PATTERN } from '../validate.js';
import type { VersionRecord } from '../state/records.js';

/** What a field holds. `alias` is a set (a version may hold several); `time` an ISO 8601 instant. */
export type FieldKind = 'string' | 'number' | 'time' | 'state' | 'alias';

export interface FieldSpec {
  /** Canonical name (`tags.team`, `createdAt`). */
  readonly name: string;
  readonly kind: FieldKind;
  /** The operators the field accepts. */
  readonly ops: readonly SearchOp[];
  /** The version's value (a string, a number, the sorted alias list, or undefined when the version lacks it). */
  readonly get: (v: VersionRecord) => string | number | readonly string[] | undefined;
}

const STRING_OPS: readonly SearchOp[] = ['=', '!=', 'prefix', 'in'];
const NUMBER_OPS: readonly SearchOp[] = ['=', '!=', '>', '>=', '<', '<=', 'in'];
const TIME_OPS: readonly SearchOp[] = ['=', '!=', '>', '>=', '<', '<=', 'prefix', 'in'];
const STATE_OPS: readonly SearchOp[] = ['=', '!=', 'in'];
const ALIAS_OPS: readonly SearchOp[] = ['=', '!=', 'prefix', 'in'];

const FIXED = new Map<string, FieldSpec>();
function fixed(spec: FieldSpec, ...synonyms: string[]): void {
  FIXED.set(spec.name, spec);
  for (const s of synonyms) FIXED.set(s, spec);
}

fixed({ name: 'name', kind: 'string', ops: STRING_OPS, get: (v) => v.name }, 'canonicalName', 'canonical_name');
fixed({ name: 'version', kind: 'number', ops: NUMBER_OPS, get: (v) => v.version }, 'version_number');
fixed({ name: 'state', kind: 'state', ops: STATE_OPS, get: (v) => v.state });
fixed({ name: 'alias', kind: 'alias', ops: ALIAS_OPS, get: (v) => v.aliases }, 'aliases');
fixed({ name: 'createdAt', kind: 'time', ops: TIME_OPS, get: (v) => v.createdAt }, 'created_at', 'creation_timestamp');
fixed({ name: 'updatedAt', kind: 'time', ops: TIME_OPS, get: (v) => v.updatedAt }, 'updated_at', 'last_updated_timestamp');
fixed({ name: 'createdBy', kind: 'string', ops: STRING_OPS, get: (v) => v.createdBy }, 'created_by', 'user_id');
fixed({ name: 'digest', kind: 'string', ops: STRING_OPS, get: (v) => v.digest });
for (const f of METADATA_FIELDS) {
  const snake = f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const synonyms = snake !== f ? [snake] : [];
  if (f === 'pipelineRunId') synonyms.push('run_id');
  fixed({ name: f, kind: 'string', ops: STRING_OPS, get: (v) => v.metadata[f] }, ...synonyms);
}

const tagSpecs = new Map<string, FieldSpec>();
const metricSpecs = new Map<string, FieldSpec>();

/** The field names accepted, for messages. */
export const FIELD_NAMES_HELP =
  `name, version, state, alias, createdAt, updatedAt, createdBy, digest, ${METADATA_FIELDS.join(', ')}, tags.<key>, metrics.<key>`;

/** The spec of a field name (any accepted spelling), or undefined when there is no such field. */
export function fieldSpec(field: string): FieldSpec | undefined {
  const direct = FIXED.get(field);
  if (direct) return direct;
  const dot = field.indexOf('.');
  if (dot < 0) return undefined;
  const head = field.slice(0, dot);
  const key = field.slice(dot + 1);
  if (!KEY_PATTERN.test(key)) return undefined;
  if (head === 'tags' || head === 'tag') {
    let spec = tagSpecs.get(key);
    if (!spec) {
      spec = { name: `tags.${key}`, kind: 'string', ops: STRING_OPS, get: (v) => v.tags.get(key) };
      if (tagSpecs.size < 10_000) tagSpecs.set(key, spec);
    }
    return spec;
  }
  if (head === 'metrics' || head === 'metric') {
    let spec = metricSpecs.get(key);
    if (!spec) {
      spec = { name: `metrics.${key}`, kind: 'number', ops: NUMBER_OPS, get: (v) => v.metrics.get(key) };
      if (metricSpecs.size < 10_000) metricSpecs.set(key, spec);
    }
    return spec;
  }
  return undefined;
}

/** The tag key of a canonical `tags.<key>` field name, else undefined. */
export function tagKeyOf(spec: FieldSpec): string | undefined {
  return spec.name.startsWith('tags.') ? spec.name.slice(5) : undefined;
}
