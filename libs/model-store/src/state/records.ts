/**
 * The in-memory records the log's replay builds, and their public copies. Records are mutable and owned by
 * {@link StoreState}; callers only ever get copies ({@link toModelVersion}, {@link toRegisteredModel}).
 */
import type { ModelVersion, RegisteredModel, StoredFile, VersionState } from '../types.js';
import type { VersionMetadata } from '../validate.js';

export interface VersionRecord {
  readonly name: string;
  readonly version: number;
  metadata: VersionMetadata;
  tags: Map<string, string>;
  metrics: Map<string, number>;
  /** Sorted by path. */
  readonly files: readonly StoredFile[];
  readonly digest: string;
  readonly size: number;
  state: VersionState;
  readonly createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  readonly createdBy?: string;
  /** Aliases pointing at this version, sorted. */
  aliases: string[];
}

export interface ModelRecord {
  readonly name: string;
  /** Highest version number ever given (purged ones included): the next save gets maxVersion + 1. */
  maxVersion: number;
  readonly createdAt: string;
  updatedAt: string;
  aliases: Map<string, number>;
  /** Versions not purged, by number. */
  versions: Map<number, VersionRecord>;
}

export interface LineageLink {
  name: string;
  version: number;
  stage?: string;
}

export interface RunRecord {
  readonly runId: string;
  produced: LineageLink[];
  consumed: LineageLink[];
}

/** `name/version`: the key of a version in maps. */
export function versionKey(name: string, version: number): string {
  return `${name}/${version}`;
}

/** A Map as a plain object with sorted keys (own properties even for keys like `__proto__`). */
export function sortedObject<V>(map: ReadonlyMap<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of [...map.keys()].sort()) Object.defineProperty(out, k, { value: map.get(k) as V, enumerable: true, writable: true, configurable: true });
  return out;
}

/** The public copy of a version. */
export function toModelVersion(rec: VersionRecord): ModelVersion {
  const v: ModelVersion = {
    name: rec.name,
    version: rec.version,
    metadata: { ...rec.metadata },
    tags: sortedObject(rec.tags),
    metrics: sortedObject(rec.metrics),
    aliases: [...rec.aliases],
    files: rec.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
    digest: rec.digest,
    size: rec.size,
    state: rec.state,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
  };
  if (rec.deletedAt !== undefined) v.deletedAt = rec.deletedAt;
  if (rec.createdBy !== undefined) v.createdBy = rec.createdBy;
  return v;
}

/** The public copy of a model. */
export function toRegisteredModel(m: ModelRecord): RegisteredModel {
  let deleted = 0;
  for (const v of m.versions.values()) if (v.state === 'deleted') deleted++;
  const aliases: Record<string, number> = {};
  for (const a of [...m.aliases.keys()].sort()) aliases[a] = m.aliases.get(a)!;
  return {
    name: m.name,
    latestVersion: m.maxVersion,
    versions: m.versions.size,
    deletedVersions: deleted,
    aliases,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

/** Inserts `value` into a sorted string array (no duplicates). */
export function insertSorted(list: string[], value: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== value) list.splice(lo, 0, value);
}

/** Removes `value` from a sorted string array. */
export function removeSorted(list: string[], value: string): void {
  const i = list.indexOf(value);
  if (i >= 0) list.splice(i, 1);
}
