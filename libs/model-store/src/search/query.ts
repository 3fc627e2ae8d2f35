/**
 * Compiling a {@link SearchQuery} (conditions from `where` and the `filter` text, ordering, flags) into predicates,
 * an index choice and sort keys; and the page tokens that continue it.
 *
 * Semantics: conditions are ANDed; a condition on a field a version lacks (an absent tag or metric) is false, `!=`
 * included; `alias` conditions look at the set of aliases a version holds (`alias != 'x'`: does not hold x). Sort keys
 * are the `orderBy` fields then name ascending and version descending, which orders versions totally; versions
 * lacking a sort field come after those that have it, in either direction.
 */
import { createHash } from 'node:crypto';
import { ModelStoreError } from '../errors.js';
import type { SearchCondition, SearchOp, SearchQuery } from '../types.js';
import { show } from '../validate.js';
import type { VersionRecord } from '../state/records.js';
import { FIELD_NAMES_HELP, fieldSpec, type FieldSpec } from './fields.js';
import { parseFilter, type ParsedCondition } from './filter.js';

const OPS: ReadonlySet<string> = new Set(['=', '!=', 'prefix', '>', '>=', '<', '<=', 'in']);
const MAX_IN = 1000;
const MAX_CONDITIONS = 100;

/** A condition ready to run. */
export interface CompiledCondition {
  spec: FieldSpec;
  op: SearchOp;
  /** Normalized value(s): numbers for number fields, ISO strings for time comparisons, strings otherwise. */
  values: (string | number)[];
  test: (v: VersionRecord) => boolean;
}

export interface SortKey {
  spec: FieldSpec;
  desc: boolean;
}

export interface CompiledQuery {
  conditions: CompiledCondition[];
  order: SortKey[];
  latestOnly: boolean;
  includeDeleted: boolean;
  /** Digest of everything but the page size and token: identifies the query a page token belongs to. */
  digest: string;
}

function where(c: SearchCondition | ParsedCondition, index: number, part: 'field' | 'value'): string {
  const pos = (c as ParsedCondition).pos;
  return pos ? `filter position ${pos[part]}` : `where[${index}]`;
}

function conditionError(c: SearchCondition | ParsedCondition, index: number, part: 'field' | 'value', message: string): ModelStoreError {
  return new ModelStoreError('INVALID_ARGUMENT', `Invalid search condition (${where(c, index, part)}): ${message}.`);
}

function normalizeTime(v: string | number, fail: (m: string) => never): string {
  const d = typeof v === 'number' ? new Date(v) : new Date(v);
  if (typeof v === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(v)) fail(`${show(v)} is not an ISO 8601 time (e.g. "2024-06-01" or "2024-06-01T12:00:00Z")`);
  if (Number.isNaN(d.getTime())) fail(`${show(v)} is not a valid time`);
  return d.toISOString();
}

function compileCondition(c: SearchCondition | ParsedCondition, index: number): CompiledCondition {
  if (typeof c !== 'object' || c === null) throw new ModelStoreError('INVALID_ARGUMENT', `where[${index}] must be an object { field, op, value }.`);
  if (typeof c.field !== 'string') throw conditionError(c, index, 'field', `field must be a string, got ${show(c.field)}`);
  const spec = fieldSpec(c.field);
  if (!spec) throw conditionError(c, index, 'field', `unknown field ${show(c.field)}; fields: ${FIELD_NAMES_HELP}`);
  if (typeof c.op !== 'string' || !OPS.has(c.op)) throw conditionError(c, index, 'field', `unknown operator ${show(c.op)}; operators: = != prefix > >= < <= in`);
  const op = c.op;
  if (!spec.ops.includes(op)) throw conditionError(c, index, 'field', `${spec.name} does not take "${op}" (it takes ${spec.ops.join(' ')})`);
  const fail = (m: string): never => {
    throw conditionError(c, index, 'value', `${spec.name} ${op}: ${m}`);
  };
  let raw: (string | number)[];
  const rawText = (c as ParsedCondition).raw;
  if (op === 'in') {
    if (!Array.isArray(c.value)) fail('"in" takes a list of values');
    raw = c.value as (string | number)[];
    if (raw.length === 0 || raw.length > MAX_IN) fail(`"in" takes 1 to ${MAX_IN} values, got ${raw.length}`);
  } else {
    if (Array.isArray(c.value)) fail(`only "in" takes a list of values`);
    raw = [c.value as string | number];
  }
  const values = raw.map((v, i): string | number => {
    if (typeof v !== 'string' && typeof v !== 'number') fail(`values are strings or numbers, got ${show(v)}`);
    switch (spec.kind) {
      case 'number': {
        const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
        if (!Number.isFinite(n)) fail(`${show(v)} is not a finite number`);
        return n;
      }
      case 'time':
        return op === 'prefix' ? String(v) : normalizeTime(v, fail);
      case 'state':
        if (v !== 'ready' && v !== 'deleted') fail(`a state is "ready" or "deleted", got ${show(v)}`);
        return v;
      default: {
        if (typeof v === 'number') {
          // A number given for a text field means the text as written (tags.x = 1.50 is "1.50").
          const written = Array.isArray(rawText) ? rawText[i] : rawText;
          return written ?? String(v);
        }
        return v;
      }
    }
  });

  const get = spec.get;
  let test: (v: VersionRecord) => boolean;
  if (spec.kind === 'alias') {
    const set = new Set(values as string[]);
    const first = values[0] as string;
    switch (op) {
      case '=':
        test = (v) => v.aliases.includes(first);
        break;
      case '!=':
        test = (v) => !v.aliases.includes(first);
        break;
      case 'in':
        test = (v) => v.aliases.some((a) => set.has(a));
        break;
      default:
        test = (v) => v.aliases.some((a) => a.startsWith(first));
    }
  } else {
    const first = values[0]!;
    const set = new Set(values);
    type Scalar = string | number | undefined;
    const scalar = get as (v: VersionRecord) => Scalar;
    switch (op) {
      case '=':
        test = (v) => scalar(v) === first;
        break;
      case '!=':
        test = (v) => {
          const x = scalar(v);
          return x !== undefined && x !== first;
        };
        break;
      case 'in':
        test = (v) => {
          const x = scalar(v);
          return x !== undefined && set.has(x);
        };
        break;
      case 'prefix':
        test = (v) => {
          const x = scalar(v);
          return typeof x === 'string' && x.startsWith(first as string);
        };
        break;
      case '>':
        test = (v) => {
          const x = scalar(v);
          return x !== undefined && x > first;
        };
        break;
      case '>=':
        test = (v) => {
          const x = scalar(v);
          return x !== undefined && x >= first;
        };
        break;
      case '<':
        test = (v) => {
          const x = scalar(v);
          return x !== undefined && x < first;
        };
        break;
      default:
        test = (v) => {
          const x = scalar(v);
          return x !== undefined && x <= first;
        };
    }
  }
  return { spec, op, values, test };
}

/** Compiles a query; INVALID_ARGUMENT naming the condition (or filter position) that is wrong. */
export function compileQuery(query: SearchQuery): CompiledQuery {
  if (typeof query !== 'object' || query === null) throw new ModelStoreError('INVALID_ARGUMENT', 'A search query must be an object.');
  const whereList = query.where ?? [];
  if (!Array.isArray(whereList)) throw new ModelStoreError('INVALID_ARGUMENT', 'where must be an array of conditions { field, op, value }.');
  const parsed = query.filter !== undefined && query.filter !== null ? parseFilter(query.filter) : [];
  const all: (SearchCondition | ParsedCondition)[] = [...whereList, ...parsed];
  if (all.length > MAX_CONDITIONS) throw new ModelStoreError('INVALID_ARGUMENT', `A search takes at most ${MAX_CONDITIONS} conditions, got ${all.length}.`);
  const conditions = all.map((c, i) => compileCondition(c, i < whereList.length ? i : i - whereList.length));

  const orderList = query.orderBy ?? [];
  if (!Array.isArray(orderList)) throw new ModelStoreError('INVALID_ARGUMENT', 'orderBy must be an array of { field, direction }.');
  if (orderList.length > 10) throw new ModelStoreError('INVALID_ARGUMENT', `orderBy takes at most 10 fields, got ${orderList.length}.`);
  const order: SortKey[] = orderList.map((o, i) => {
    const spec = typeof o?.field === 'string' ? fieldSpec(o.field) : undefined;
    if (!spec) throw new ModelStoreError('INVALID_ARGUMENT', `orderBy[${i}]: unknown field ${show(o?.field)}; fields: ${FIELD_NAMES_HELP}.`);
    const dir = o.direction === undefined || o.direction === null || (o.direction as string) === '' ? 'desc' : o.direction;
    if (dir !== 'asc' && dir !== 'desc') throw new ModelStoreError('INVALID_ARGUMENT', `orderBy[${i}]: direction is "asc" or "desc", got ${show(o.direction)}.`);
    return { spec, desc: dir === 'desc' };
  });
  if (order.length === 0) order.push({ spec: fieldSpec('createdAt')!, desc: true });
  const latestOnly = query.latestOnly === true;
  const includeDeleted = query.includeDeleted === true;
  const canonical = JSON.stringify({
    c: conditions.map((c) => [c.spec.name, c.op, c.values]),
    o: order.map((o) => [o.spec.name, o.desc]),
    l: latestOnly,
    d: includeDeleted,
  });
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, 16);
  return { conditions, order, latestOnly, includeDeleted, digest };
}

/** A sort key value: string, number, or null when the version lacks the field. */
export type KeyValue = string | number | null;

/** The sort tuple of a version: the orderBy values, then name, then version. */
export function sortTuple(order: readonly SortKey[], v: VersionRecord): KeyValue[] {
  const out: KeyValue[] = new Array<KeyValue>(order.length + 2);
  for (let i = 0; i < order.length; i++) {
    const x = order[i]!.spec.get(v);
    out[i] = x === undefined ? null : Array.isArray(x) ? ((x as readonly string[])[0] ?? null) : (x as string | number);
  }
  out[order.length] = v.name;
  out[order.length + 1] = v.version;
  return out;
}

/** Compares sort tuples: orderBy keys (nulls last), name ascending, version descending. */
export function compareTuples(order: readonly SortKey[], a: readonly KeyValue[], b: readonly KeyValue[]): number {
  for (let i = 0; i < order.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    const c = x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return order[i]!.desc ? -c : c;
  }
  const n = order.length;
  const na = a[n] as string;
  const nb = b[n] as string;
  if (na !== nb) return na < nb ? -1 : 1;
  return (b[n + 1] as number) - (a[n + 1] as number);
}

/** The page token continuing after `tuple` (the last version of a page). */
export function encodePageToken(digest: string, tuple: readonly KeyValue[]): string {
  return Buffer.from(JSON.stringify({ q: digest, k: tuple }), 'utf8').toString('base64url');
}

/** The sort tuple a page token continues after; INVALID_ARGUMENT when it is malformed or belongs to another query. */
export function decodePageToken(token: string, query: CompiledQuery): KeyValue[] {
  const bad = (why: string): never => {
    throw new ModelStoreError('INVALID_ARGUMENT', `Invalid pageToken: ${why}. Pass the nextPageToken of the previous page of the same query, or none for the first page.`);
  };
  if (typeof token !== 'string' || token.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(token)) bad('it is not a page token of this store');
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    bad('it is not a page token of this store');
  }
  const o = obj as { q?: unknown; k?: unknown };
  if (typeof o !== 'object' || o === null || typeof o.q !== 'string' || !Array.isArray(o.k)) bad('it is not a page token of this store');
  if (o.q !== query.digest) bad('it belongs to another query (the filter, conditions, order or flags changed)');
  const k = o.k as unknown[];
  const n = query.order.length;
  if (k.length !== n + 2) bad('it does not match the query order');
  for (let i = 0; i < n; i++) if (k[i] !== null && typeof k[i] !== 'string' && typeof k[i] !== 'number') bad('it is damaged');
  if (typeof k[n] !== 'string' || typeof k[n + 1] !== 'number') bad('it is damaged');
  return k as KeyValue[];
}
