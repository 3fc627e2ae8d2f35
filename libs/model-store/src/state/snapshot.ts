/**
 * Snapshots of {@link StoreState}: the state after log entry `seq` as canonical JSON (models, versions and runs in
 * sorted order, tags and metrics with sorted keys), so that every reader that applied entries 1..seq produces the very
 * same text. A new store instance loads the latest snapshot and replays only the entries after it.
 *
 * Stored under `snapshot:<seq>`: a small header `{format, seq, chars, sha256, parts}` holding the text inline when it
 * is short, else the text split into `parts` values `snapshot:<seq>:<i>` of at most {@link SNAPSHOT_PART_CHARS}
 * characters (written first, so a header is only ever visible with its parts). The SHA-256 of the text is checked on
 * load; a snapshot that fails any check is ignored (the log itself is never removed, so a full replay is always
 * possible).
 */
import { createHash } from 'node:crypto';
import { ModelStoreError } from '../errors.js';
import { FieldReader } from '../log/entries.js';
import { ALIAS_PATTERN, NAME_PATTERN } from '../validate.js';
import type { VersionState } from '../types.js';
import { sortedObject, type LineageLink, type ModelRecord, type RunRecord, type VersionRecord } from './records.js';
import { StoreState } from './state.js';

export const SNAPSHOT_FORMAT = 'genome-store.snapshot/v1';
/** Largest part of a stored snapshot, in characters (well under every backend's value limit). */
export const SNAPSHOT_PART_CHARS = 8 * 1024 * 1024;

/** Header stored at `snapshot:<seq>`. */
export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  seq: number;
  /** Length of the snapshot text in characters. */
  chars: number;
  /** SHA-256 of the snapshot text (UTF-8). */
  sha256: string;
  /** Number of `snapshot:<seq>:<i>` parts; 0 when the text is inline. */
  parts: number;
  /** The text, when it fits in one value. */
  data?: string;
}

function link(l: LineageLink): LineageLink {
  return l.stage !== undefined ? { name: l.name, version: l.version, stage: l.stage } : { name: l.name, version: l.version };
}

/** The canonical text of the state. */
export function snapshotText(state: StoreState): string {
  const models: unknown[] = [];
  const versions: unknown[] = [];
  for (const name of state.names()) {
    const m = state.models.get(name)!;
    models.push({ name, maxVersion: m.maxVersion, createdAt: m.createdAt, updatedAt: m.updatedAt, aliases: sortedObject(m.aliases) });
    for (const n of [...m.versions.keys()].sort((a, b) => a - b)) {
      const r = m.versions.get(n)!;
      versions.push({
        name,
        version: n,
        metadata: sortedObject(new Map(Object.entries(r.metadata))),
        tags: sortedObject(r.tags),
        metrics: sortedObject(r.metrics),
        files: r.files,
        digest: r.digest,
        size: r.size,
        state: r.state,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        ...(r.deletedAt !== undefined ? { deletedAt: r.deletedAt } : {}),
        ...(r.createdBy !== undefined ? { createdBy: r.createdBy } : {}),
      });
    }
  }
  const runs = [...state.runs.keys()].sort().map((id) => {
    const run = state.runs.get(id)!;
    return { runId: id, produced: run.produced.map(link), consumed: run.consumed.map(link) };
  });
  return JSON.stringify({ format: SNAPSHOT_FORMAT, seq: state.seq, skipped: state.skipped, models, versions, runs });
}

/** SHA-256 of a text's UTF-8 bytes. */
export function textSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Splits a text into parts of at most `max` characters, never between the two halves of a surrogate pair. */
export function splitText(text: string, max = SNAPSHOT_PART_CHARS): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + max);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
    parts.push(text.slice(i, end));
    i = end;
  }
  return parts;
}

/** Builds the state a snapshot text describes; CORRUPT when it cannot be read. */
export function stateFromSnapshot(text: string, where: string): StoreState {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new ModelStoreError('CORRUPT', `${where} is not valid JSON`, { cause: err });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ModelStoreError('CORRUPT', `${where} is not a JSON object`);
  const r = new FieldReader(where, obj as Record<string, unknown>);
  if (r.obj.format !== SNAPSHOT_FORMAT) r.fail('format', `must be ${SNAPSHOT_FORMAT}`);
  const state = new StoreState();
  state.seq = r.int('seq', 0);
  state.skipped = r.int('skipped', 0);
  for (const m of r.array('models')) {
    const mr = r.child('models', m);
    const name = mr.str('name', NAME_PATTERN);
    const aliases = new Map<string, number>();
    const ar = mr.child('aliases', mr.obj.aliases);
    for (const alias of Object.keys(ar.obj)) {
      if (!ALIAS_PATTERN.test(alias)) mr.fail('aliases', `has an invalid alias ${JSON.stringify(alias)}`);
      aliases.set(alias, ar.int(alias));
    }
    const model: ModelRecord = {
      name,
      maxVersion: mr.int('maxVersion'),
      createdAt: mr.str('createdAt'),
      updatedAt: mr.str('updatedAt'),
      aliases,
      versions: new Map(),
    };
    if (state.models.has(name)) mr.fail('name', `repeats ${name}`);
    state.models.set(name, model);
  }
  for (const v of r.array('versions')) {
    const vr = r.child('versions', v);
    const name = vr.str('name', NAME_PATTERN);
    const model = state.models.get(name) ?? vr.fail('name', `names a model the snapshot does not list (${name})`);
    const stateField = vr.str('state', /^(ready|deleted)$/) as VersionState;
    const deletedAt = vr.optStr('deletedAt');
    const createdBy = vr.optStr('createdBy');
    const rec: VersionRecord = {
      name,
      version: vr.int('version'),
      metadata: vr.metadata('metadata'),
      tags: new Map(Object.entries(vr.tags('tags'))),
      metrics: new Map(Object.entries(vr.metrics('metrics'))),
      files: vr.files('files'),
      digest: vr.str('digest'),
      size: vr.int('size', 0),
      state: stateField,
      createdAt: vr.str('createdAt'),
      updatedAt: vr.str('updatedAt'),
      ...(deletedAt !== undefined ? { deletedAt } : {}),
      ...(createdBy !== undefined ? { createdBy } : {}),
      aliases: [],
    };
    if (rec.version > model.maxVersion) vr.fail('version', `is above the model's highest version ${model.maxVersion}`);
    model.versions.set(rec.version, rec);
  }
  for (const m of state.models.values()) {
    for (const [alias, version] of m.aliases) {
      if (m.versions.get(version)?.state !== 'ready') r.fail('models', `alias ${m.name}@${alias} points at version ${version}, which is not a ready version`);
    }
  }
  const links = (rr: FieldReader, field: string): LineageLink[] =>
    rr.array(field).map((l) => {
      const lr = rr.child(field, l);
      const stage = lr.optStr('stage');
      const out: LineageLink = { name: lr.str('name', NAME_PATTERN), version: lr.int('version') };
      if (stage !== undefined) out.stage = stage;
      return out;
    });
  for (const run of r.array('runs')) {
    const rr = r.child('runs', run);
    const rec: RunRecord = { runId: rr.str('runId'), produced: links(rr, 'produced'), consumed: links(rr, 'consumed') };
    state.runs.set(rec.runId, rec);
  }
  state.rebuildIndexes();
  return state;
}
