/**
 * Between @genome/model-store's types and the genome.store.v1 messages (ts-proto's generated types). proto3 has no
 * absent strings or numbers: an empty string / zero means "not given" where the store takes an optional value.
 */
import type { CreateVersionOptions, GcReport, ModelVersion, RegisteredModel, RunLineage, SearchCondition, SearchQuery, StoreEvent, VersionLineage } from '@genome/model-store';
import { METADATA_FIELDS } from '@genome/model-store';
import type { store as pb } from '@genome/proto';
import { quote } from '@genome/server-kit';
import { PlatformError } from '../errors.js';

const opt = (s: string): string | undefined => (s === '' ? undefined : s);

export function versionToPb(v: ModelVersion): pb.Version {
  const m = v.metadata;
  return {
    name: v.name,
    version: v.version,
    metadata: {
      canonicalName: v.name,
      application: m.application ?? '',
      pipelineName: m.pipelineName ?? '',
      pipelineRunId: m.pipelineRunId ?? '',
      pipelineStage: m.pipelineStage ?? '',
      framework: m.framework ?? '',
      inputModality: m.inputModality ?? '',
      versionName: m.versionName ?? '',
      description: m.description ?? '',
    },
    tags: { ...v.tags },
    metrics: { ...v.metrics },
    aliases: [...v.aliases],
    files: v.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
    digest: v.digest,
    size: v.size,
    state: v.state,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
    deletedAt: v.deletedAt ?? '',
    createdBy: v.createdBy ?? '',
  };
}

export function modelToPb(m: RegisteredModel): pb.RegisteredModel {
  return {
    name: m.name,
    latestVersion: m.latestVersion,
    versions: m.versions,
    deletedVersions: m.deletedVersions,
    aliases: { ...m.aliases },
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

/** CreateVersionRequest -> the store's options (canonical name from metadata.canonical_name). */
export function createOptionsFromPb(req: pb.CreateVersionRequest): CreateVersionOptions {
  const md = req.metadata;
  if (!md || md.canonicalName === '') {
    throw new PlatformError('INVALID_ARGUMENT', 'metadata.canonical_name is required: the model name the new version belongs to (e.g. "fraud-detector")');
  }
  const out: CreateVersionOptions = { canonicalName: md.canonicalName };
  for (const f of METADATA_FIELDS) {
    const v = opt(md[f]);
    if (v !== undefined) out[f] = v;
  }
  if (Object.keys(req.tags).length > 0) out.tags = { ...req.tags };
  if (Object.keys(req.metrics).length > 0) out.metrics = { ...req.metrics };
  if (req.aliases.length > 0) out.aliases = [...req.aliases];
  return out;
}

/** SearchVersionsRequest -> SearchQuery. */
export function searchFromPb(req: pb.SearchVersionsRequest): SearchQuery {
  const where: SearchCondition[] = req.where.map((c, i) => {
    let value: SearchCondition['value'];
    if (c.listValue !== undefined) value = [...c.listValue.strings, ...c.listValue.numbers];
    else if (c.numberValue !== undefined) value = c.numberValue;
    else if (c.stringValue !== undefined) value = c.stringValue;
    else throw new PlatformError('INVALID_ARGUMENT', `where[${i}] has no value: set string_value, number_value or list_value (for "in")`);
    return { field: c.field, op: c.op as SearchCondition['op'], value };
  });
  const q: SearchQuery = {};
  if (where.length > 0) q.where = where;
  if (req.filter !== '') q.filter = req.filter;
  if (req.orderBy.length > 0) {
    q.orderBy = req.orderBy.map((o, i) => {
      const d = o.direction.toLowerCase();
      if (d !== '' && d !== 'asc' && d !== 'desc') throw new PlatformError('INVALID_ARGUMENT', `order_by[${i}].direction must be "asc" or "desc" (or empty: desc), got ${quote(o.direction)}`);
      return d === '' ? { field: o.field } : { field: o.field, direction: d };
    });
  }
  if (req.latestOnly) q.latestOnly = true;
  if (req.includeDeleted) q.includeDeleted = true;
  if (req.pageSize !== 0) q.pageSize = req.pageSize;
  if (req.pageToken !== '') q.pageToken = req.pageToken;
  return q;
}

export function runLineageToPb(l: RunLineage): pb.RunLineage {
  const key = (k: { name: string; version: number; stage?: string }): pb.VersionKey => ({ name: k.name, version: k.version, stage: k.stage ?? '' });
  return { runId: l.runId, produced: l.produced.map(key), consumed: l.consumed.map(key) };
}

export function versionLineageToPb(l: VersionLineage): pb.VersionLineage {
  return {
    producedByRunId: l.producedBy?.runId ?? '',
    producedByPipeline: l.producedBy?.pipelineName ?? '',
    producedByStage: l.producedBy?.stage ?? '',
    consumedBy: l.consumedBy.map((c) => ({ runId: c.runId, stage: c.stage ?? '' })),
  };
}

export function gcToPb(r: GcReport): pb.CollectGarbageResponse {
  return {
    referencedBlobs: r.referencedBlobs,
    removedBlobs: r.removedBlobs,
    removedBytes: r.removedBytes,
    keptYoungBlobs: r.keptYoungBlobs,
    purgedVersions: r.purgedVersions.map((p) => ({ name: p.name, version: p.version, stage: '' })),
  };
}

export function eventToPb(e: StoreEvent): pb.StoreEvent {
  const out: pb.StoreEvent = { seq: e.seq, type: e.type, name: '', version: 0, alias: '', previous: 0, runId: '', at: e.at };
  if (e.type === 'lineage-recorded') out.runId = e.runId;
  else if (e.type === 'alias-deleted') Object.assign(out, { name: e.name, alias: e.alias, previous: e.previous });
  else if (e.type === 'alias-set') Object.assign(out, { name: e.name, version: e.version, alias: e.alias, previous: e.previous ?? 0 });
  else Object.assign(out, { name: e.name, version: e.version });
  return out;
}
