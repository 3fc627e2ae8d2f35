/**
 * The log's entries: one per committed change, self-contained (an entry says everything needed to apply it and to
 * report it as events, without reading anything else), JSON-encoded, and validated field by field when read back.
 *
 * Every entry carries `v` (the entry format, 1 here), `t` (its type), `id` (a random id of the write, which lets a
 * writer recognise its own entry when the acknowledgement of its insert was lost) and `at` (the writer's clock).
 * An entry of a type this code does not know (written by a newer version) is skipped by readers and counted; an entry
 * that cannot be read (bad JSON, missing or mistyped fields) is `ModelStoreError` CORRUPT naming its sequence number.
 */
import { randomBytes } from 'node:crypto';
import { ModelStoreError } from '../errors.js';
import { METADATA_FIELDS, type StoredFile } from '../types.js';
import {
  ALIAS_PATTERN,
  KEY_PATTERN,
  MAX_FIELD_CHARS,
  MAX_DESCRIPTION_CHARS,
  MAX_TAG_VALUE_CHARS,
  NAME_PATTERN,
  SHA256_HEX,
  type VersionMetadata,
} from '../validate.js';

/** The entry format written by this code. */
export const ENTRY_FORMAT = 1;

interface EntryBase {
  v: typeof ENTRY_FORMAT;
  /** Random id of the write (16 hex digits). */
  id: string;
  /** ISO 8601 time of the write (the writer's clock). */
  at: string;
}

/** A new version (and the aliases the save moved to it). */
export interface CreateEntry extends EntryBase {
  t: 'create';
  name: string;
  version: number;
  metadata: VersionMetadata;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  /** Sorted by path. */
  files: StoredFile[];
  digest: string;
  size: number;
  createdBy?: string;
  /** Aliases moved to the new version, with the version each pointed at before (if any). */
  aliases: { alias: string; previous?: number }[];
}

/** Changed tags, metrics, description or version name. `null` clears a text field; absent leaves it. */
export interface UpdateEntry extends EntryBase {
  t: 'update';
  name: string;
  version: number;
  setTags: Record<string, string>;
  deleteTags: string[];
  setMetrics: Record<string, number>;
  deleteMetrics: string[];
  description?: string | null;
  versionName?: string | null;
}

/** A soft delete; `aliases` are the aliases it removed. */
export interface DeleteEntry extends EntryBase {
  t: 'delete';
  name: string;
  version: number;
  aliases: string[];
}

export interface RestoreEntry extends EntryBase {
  t: 'restore';
  name: string;
  version: number;
}

export interface PurgeEntry extends EntryBase {
  t: 'purge';
  name: string;
  version: number;
}

export interface AliasSetEntry extends EntryBase {
  t: 'alias-set';
  name: string;
  alias: string;
  version: number;
  /** The version the alias pointed at before, if any. */
  previous?: number;
}

export interface AliasDeleteEntry extends EntryBase {
  t: 'alias-delete';
  name: string;
  alias: string;
  previous: number;
}

/** Versions a pipeline run (step) consumed, references already resolved. */
export interface LineageEntry extends EntryBase {
  t: 'lineage';
  runId: string;
  stage?: string;
  consumed: { name: string; version: number }[];
}

export type LogEntry = CreateEntry | UpdateEntry | DeleteEntry | RestoreEntry | PurgeEntry | AliasSetEntry | AliasDeleteEntry | LineageEntry;
export type EntryType = LogEntry['t'];

/** What reading one stored entry gave: an entry, or one to skip (a newer format or type). */
export type ReadEntry = { entry: LogEntry } | { skip: string };

/** Distributes Omit over a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An entry before it gets its envelope (`v`, `id`). */
export type EntryBody = DistributiveOmit<LogEntry, 'v' | 'id'>;

/** A fresh write id. */
export function newEntryId(): string {
  return randomBytes(8).toString('hex');
}

/** Wraps a body in its envelope. */
export function makeEntry(body: EntryBody): LogEntry {
  return { v: ENTRY_FORMAT, id: newEntryId(), ...body } as LogEntry;
}

/** The stored text of an entry. */
export function encodeEntry(entry: LogEntry): string {
  return JSON.stringify(entry);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const ENTRY_ID = /^[0-9a-f]{16}$/;

/** Field-by-field reader of one stored object; every failure is CORRUPT naming the object (`where`) and the field. */
export class FieldReader {
  constructor(
    private readonly where: string,
    readonly obj: Record<string, unknown>,
  ) {}

  fail(field: string, why: string): never {
    throw new ModelStoreError(
      'CORRUPT',
      `${this.where} cannot be read: field "${field}" ${why}. The metadata store was changed by something other than the model store; restore it from a backup.`,
    );
  }

  str(field: string, pattern?: RegExp, max = MAX_FIELD_CHARS): string {
    const v = this.obj[field];
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${typeof v}`);
    if (v.length > max) this.fail(field, `is longer than ${max} characters`);
    if (pattern && !pattern.test(v)) this.fail(field, `has an invalid value ${JSON.stringify(v.slice(0, 80))}`);
    return v;
  }

  optStr(field: string, pattern?: RegExp, max = MAX_FIELD_CHARS): string | undefined {
    return this.obj[field] === undefined ? undefined : this.str(field, pattern, max);
  }

  int(field: string, min = 1): number {
    const v = this.obj[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(field, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  }

  optInt(field: string): number | undefined {
    return this.obj[field] === undefined ? undefined : this.int(field);
  }

  record(field: string): Record<string, unknown> {
    const v = this.obj[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Record<string, unknown>;
  }

  array(field: string): unknown[] {
    const v = this.obj[field];
    if (!Array.isArray(v)) this.fail(field, 'must be an array');
    return v;
  }

  child(field: string, obj: unknown): FieldReader {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) this.fail(field, 'must hold objects');
    return new FieldReader(this.where, obj as Record<string, unknown>);
  }

  tags(field: string): Record<string, string> {
    const r = this.record(field);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(r)) {
      if (!KEY_PATTERN.test(k)) this.fail(field, `has an invalid key ${JSON.stringify(k.slice(0, 80))}`);
      if (typeof v !== 'string' || v.length > MAX_TAG_VALUE_CHARS) this.fail(`${field}.${k}`, 'must be a string of at most 4096 characters');
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  metrics(field: string): Record<string, number> {
    const r = this.record(field);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(r)) {
      if (!KEY_PATTERN.test(k)) this.fail(field, `has an invalid key ${JSON.stringify(k.slice(0, 80))}`);
      if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${field}.${k}`, 'must be a finite number');
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  keys(field: string): string[] {
    return this.array(field).map((k) => {
      if (typeof k !== 'string' || !KEY_PATTERN.test(k)) this.fail(field, 'must hold tag or metric keys');
      return k;
    });
  }

  metadata(field: string): VersionMetadata {
    const r = this.child(field, this.obj[field]);
    const out: VersionMetadata = {};
    for (const [k] of Object.entries(r.obj)) {
      if (!(METADATA_FIELDS as readonly string[]).includes(k)) this.fail(`${field}.${k}`, 'is not a metadata field');
    }
    for (const f of METADATA_FIELDS) {
      const v = r.optStr(f, undefined, f === 'description' ? MAX_DESCRIPTION_CHARS : MAX_FIELD_CHARS);
      if (v !== undefined) out[f] = v;
    }
    return out;
  }

  files(field: string): StoredFile[] {
    const list = this.array(field);
    if (list.length === 0) this.fail(field, 'is empty');
    return list.map((f) => {
      const r = this.child(field, f);
      const size = r.obj.size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) this.fail(`${field}[].size`, 'must be a non-negative integer');
      return { path: r.str('path', undefined, 1024), sha256: r.str('sha256', SHA256_HEX), size };
    });
  }
}

/** Envelope checks shared by entries: `v`, `t`, `id`, `at`. */
function envelope(r: FieldReader): { id: string; at: string } {
  return { id: r.str('id', ENTRY_ID), at: r.str('at', ISO_TIME) };
}

/**
 * Reads the stored text of log entry `seq`. CORRUPT when it cannot be read; `{ skip }` for an entry of a newer format
 * or an unknown type (a newer writer's), which readers pass over.
 */
export function decodeEntry(text: string, seq: number): ReadEntry {
  const where = `Log entry ${seq}`;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new ModelStoreError('CORRUPT', `${where} is not valid JSON (${(err as Error).message}); restore the metadata store from a backup.`, { cause: err });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ModelStoreError('CORRUPT', `${where} is not a JSON object; restore the metadata store from a backup.`);
  }
  const r = new FieldReader(where, obj as Record<string, unknown>);
  const v = r.obj.v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) r.fail('v', 'must be the entry format number');
  if ((v as number) > ENTRY_FORMAT) return { skip: `format ${String(v)}` };
  const t = r.str('t', /^[a-z-]{1,32}$/);
  const env = envelope(r);
  const base = { v: ENTRY_FORMAT as typeof ENTRY_FORMAT, ...env };
  switch (t) {
    case 'create': {
      const aliases = r.array('aliases').map((a) => {
        const ar = r.child('aliases', a);
        const previous = ar.optInt('previous');
        return { alias: ar.str('alias', ALIAS_PATTERN), ...(previous !== undefined ? { previous } : {}) };
      });
      const createdBy = r.optStr('createdBy');
      return {
        entry: {
          ...base,
          t,
          name: r.str('name', NAME_PATTERN),
          version: r.int('version'),
          metadata: r.metadata('metadata'),
          tags: r.tags('tags'),
          metrics: r.metrics('metrics'),
          files: r.files('files'),
          digest: r.str('digest', SHA256_HEX),
          size: r.int('size', 0),
          ...(createdBy !== undefined ? { createdBy } : {}),
          aliases,
        },
      };
    }
    case 'update': {
      const text = (field: string, max: number): string | null | undefined => (r.obj[field] === null ? null : r.optStr(field, undefined, max));
      const description = text('description', MAX_DESCRIPTION_CHARS);
      const versionName = text('versionName', MAX_FIELD_CHARS);
      return {
        entry: {
          ...base,
          t,
          name: r.str('name', NAME_PATTERN),
          version: r.int('version'),
          setTags: r.tags('setTags'),
          deleteTags: r.keys('deleteTags'),
          setMetrics: r.metrics('setMetrics'),
          deleteMetrics: r.keys('deleteMetrics'),
          ...(description !== undefined ? { description } : {}),
          ...(versionName !== undefined ? { versionName } : {}),
        },
      };
    }
    case 'delete':
      return {
        entry: {
          ...base,
          t,
          name: r.str('name', NAME_PATTERN),
          version: r.int('version'),
          aliases: r.array('aliases').map((a): string => {
            if (typeof a !== 'string' || !ALIAS_PATTERN.test(a)) r.fail('aliases', 'must hold alias names');
            return a as string;
          }),
        },
      };
    case 'restore':
      return { entry: { ...base, t, name: r.str('name', NAME_PATTERN), version: r.int('version') } };
    case 'purge':
      return { entry: { ...base, t, name: r.str('name', NAME_PATTERN), version: r.int('version') } };
    case 'alias-set': {
      const previous = r.optInt('previous');
      return {
        entry: {
          ...base,
          t,
          name: r.str('name', NAME_PATTERN),
          alias: r.str('alias', ALIAS_PATTERN),
          version: r.int('version'),
          ...(previous !== undefined ? { previous } : {}),
        },
      };
    }
    case 'alias-delete':
      return { entry: { ...base, t, name: r.str('name', NAME_PATTERN), alias: r.str('alias', ALIAS_PATTERN), previous: r.int('previous') } };
    case 'lineage': {
      const stage = r.optStr('stage');
      return {
        entry: {
          ...base,
          t,
          runId: r.str('runId', /^[^\u0000]+$/),
          ...(stage !== undefined ? { stage } : {}),
          consumed: r.array('consumed').map((c) => {
            const cr = r.child('consumed', c);
            return { name: cr.str('name', NAME_PATTERN), version: cr.int('version') };
          }),
        },
      };
    }
    default:
      return { skip: `type "${t}"` };
  }
}
