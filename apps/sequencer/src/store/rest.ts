/**
 * The model store over REST, MLflow-like resources under /v1.0/genome/modelstore (JSON in and out; the shapes are
 * @genome/model-store's types: ModelVersion, RegisteredModel, SearchQuery, ...). The route table is in the app
 * README. Reads need the scope `store:read`, changes `store:write`.
 */
import { once } from 'node:events';
import { METADATA_FIELDS, type CreateVersionOptions, type ModelStore, type SearchQuery, type StoredFile, type VersionChanges } from '@genome/model-store';
import { clip, quote, type Principal } from '@genome/server-kit';
import type { HostContext } from '../context.js';
import { PlatformError } from '../errors.js';
import type { RestCall, RestRoute } from '../hosted.js';
import { READ, StoreAccess, WRITE } from './access.js';
import { deleteAlias, visibleRun } from './grpc.js';
import { boundedChunks, checkDeclaredSize, putUpload, readableChunks, verifiedBlob } from './transfer.js';

export const STORE_PREFIX = '/v1.0/genome/modelstore';

const invalid = (msg: string) => new PlatformError('INVALID_ARGUMENT', msg);

/** A JSON object body with only `known` keys. */
async function objectBody(call: RestCall, known: readonly string[], example: string): Promise<Record<string, unknown>> {
  const body = await call.json();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid(`the request body must be a JSON object like ${example}, got ${quote(body)}`);
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  if (extra.length) throw invalid(`unknown field(s) ${extra.slice(0, 5).map((k) => JSON.stringify(clip(k))).join(', ')} in the body; accepted: ${known.join(', ')}`);
  return body as Record<string, unknown>;
}

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';

/** `body[key]` when absent or of `kind` (null counts as absent), else INVALID_ARGUMENT naming the field. */
function field<T>(body: Record<string, unknown>, key: string, kind: Kind): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const ok = kind === 'array' ? Array.isArray(v) : kind === 'object' ? typeof v === 'object' && !Array.isArray(v) : typeof v === kind;
  if (!ok) throw invalid(`"${key}" must be ${kind === 'array' ? 'an array' : kind === 'object' ? 'an object' : `a ${kind}`}, got ${quote(v)}`);
  return v as T;
}

/** A version number from the URL. */
function versionParam(raw: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw invalid(`the version in the URL must be a version number (1, 2, ...), got ${quote(raw)}; to name a version by alias use .../models/{name}/aliases/{alias}`);
  }
  return Number(raw);
}

/** An integer query parameter, or undefined when absent. */
function intQuery(call: RestCall, key: string, min: number): number | undefined {
  const v = call.query.get(key);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw invalid(`query parameter ${key} must be an integer >= ${min}, got ${quote(v)}`);
  return n;
}

function boolQuery(call: RestCall, key: string): boolean | undefined {
  const v = call.query.get(key);
  if (v === null || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`query parameter ${key} must be true or false, got ${quote(v)}`);
}

function strQuery(call: RestCall, key: string): string | undefined {
  const v = call.query.get(key);
  return v === null || v === '' ? undefined : v;
}

/** Waits until the response takes more bytes; throws the call's reason (deadline, client gone) if it ends first. */
async function drained(c: RestCall): Promise<void> {
  try {
    await once(c.res, 'drain', { signal: c.scope.signal });
  } catch (err) {
    if (c.scope.signal.aborted) throw c.scope.signal.reason;
    throw err;
  }
}

export function storeRestRoutes(ctx: HostContext, store: ModelStore): RestRoute[] {
  const access = new StoreAccess(ctx.auth);
  const createdBy = (p: Principal) => (ctx.auth.enabled ? { createdBy: p.subject } : {});
  const P = STORE_PREFIX;
  const ref = (c: RestCall) => {
    access.model(c.principal, c.params.name!);
    return { name: c.params.name!, version: versionParam(c.params.version!) };
  };
  const model = (c: RestCall) => {
    access.model(c.principal, c.params.name!);
    return c.params.name!;
  };

  return [
    {
      method: 'GET',
      path: `${P}/models`,
      rpc: 'ListModels',
      scope: READ,
      handle: async (c) => {
        const namePrefix = strQuery(c, 'namePrefix');
        const pageSize = intQuery(c, 'pageSize', 1);
        const pageToken = strQuery(c, 'pageToken');
        const page = await store.listModels({ ...(namePrefix !== undefined ? { namePrefix } : {}), ...(pageSize !== undefined ? { pageSize } : {}), ...(pageToken !== undefined ? { pageToken } : {}) });
        return { body: { ...page, models: page.models.filter((m) => access.sees(c.principal, m.name)) } };
      },
    },
    { method: 'GET', path: `${P}/models/{name}`, rpc: 'GetModel', scope: READ, handle: async (c) => ({ body: await store.getModel(model(c)) }) },
    {
      method: 'GET',
      path: `${P}/models/{name}/versions`,
      rpc: 'ListVersions',
      scope: READ,
      handle: async (c) => {
        const name = model(c);
        const includeDeleted = boolQuery(c, 'includeDeleted');
        const pageSize = intQuery(c, 'pageSize', 1);
        const pageToken = strQuery(c, 'pageToken');
        return { body: await store.listVersions(name, { ...(includeDeleted !== undefined ? { includeDeleted } : {}), ...(pageSize !== undefined ? { pageSize } : {}), ...(pageToken !== undefined ? { pageToken } : {}) }) };
      },
    },
    {
      method: 'POST',
      path: `${P}/models/{name}/versions`,
      rpc: 'CreateVersion',
      scope: WRITE,
      handle: async (c) => {
        const name = model(c);
        const known = ['files', 'tags', 'metrics', 'aliases', ...METADATA_FIELDS];
        const b = await objectBody(c, known, '{"files": [{"path": "genome.json", "sha256": "...", "size": 123}, ...], "aliases": ["staging"]}');
        const files = field<StoredFile[]>(b, 'files', 'array');
        if (!files) throw invalid('"files" is required: the package\'s files as [{"path", "sha256", "size"}], genome.json among them, each uploaded first with PUT .../blobs/{sha256}');
        const options: CreateVersionOptions = { canonicalName: name, ...createdBy(c.principal) };
        for (const f of METADATA_FIELDS) {
          const v = field<string>(b, f, 'string');
          if (v !== undefined) options[f] = v;
        }
        const tags = field<Record<string, string>>(b, 'tags', 'object');
        const metrics = field<Record<string, number>>(b, 'metrics', 'object');
        const aliases = field<string[]>(b, 'aliases', 'array');
        if (tags) options.tags = tags;
        if (metrics) options.metrics = metrics;
        if (aliases) options.aliases = aliases;
        return { status: 201, body: await store.createVersion(files, options) };
      },
    },
    { method: 'GET', path: `${P}/models/{name}/versions/{version}`, rpc: 'GetVersion', scope: READ, handle: async (c) => ({ body: await store.getVersion(ref(c), { includeDeleted: boolQuery(c, 'includeDeleted') === true }) }) },
    {
      method: 'PATCH',
      path: `${P}/models/{name}/versions/{version}`,
      rpc: 'UpdateVersion',
      scope: WRITE,
      handle: async (c) => {
        const r = ref(c);
        const b = await objectBody(c, ['setTags', 'deleteTags', 'setMetrics', 'deleteMetrics', 'description', 'versionName'], '{"setTags": {"team": "risk"}, "setMetrics": {"auc": 0.93}}');
        const changes: VersionChanges = {};
        const setTags = field<Record<string, string>>(b, 'setTags', 'object');
        const deleteTags = field<string[]>(b, 'deleteTags', 'array');
        const setMetrics = field<Record<string, number>>(b, 'setMetrics', 'object');
        const deleteMetrics = field<string[]>(b, 'deleteMetrics', 'array');
        if (setTags) changes.setTags = setTags;
        if (deleteTags) changes.deleteTags = deleteTags;
        if (setMetrics) changes.setMetrics = setMetrics;
        if (deleteMetrics) changes.deleteMetrics = deleteMetrics;
        // null clears a text field, as "" does.
        for (const k of ['description', 'versionName'] as const) {
          if (b[k] === null) changes[k] = null;
          else {
            const v = field<string>(b, k, 'string');
            if (v !== undefined) changes[k] = v;
          }
        }
        return { body: await store.updateVersion(r, changes) };
      },
    },
    { method: 'DELETE', path: `${P}/models/{name}/versions/{version}`, rpc: 'DeleteVersion', scope: WRITE, handle: async (c) => ({ body: await store.deleteVersion(ref(c)) }) },
    { method: 'POST', path: `${P}/models/{name}/versions/{version}:restore`, rpc: 'RestoreVersion', scope: WRITE, handle: async (c) => ({ body: await store.restoreVersion(ref(c)) }) },
    {
      method: 'POST',
      path: `${P}/models/{name}/versions/{version}:purge`,
      rpc: 'PurgeVersion',
      scope: WRITE,
      handle: async (c) => {
        const r = ref(c);
        await store.purgeVersion(r);
        return { body: { name: r.name, version: r.version, purged: true } };
      },
    },
    {
      method: 'GET',
      path: `${P}/models/{name}/versions/{version}/files/{path+}`,
      rpc: 'GetFile',
      scope: READ,
      transfer: true,
      handle: async (c) => {
        const r = ref(c);
        const path = c.params.path!;
        const v = await store.getVersion(r);
        const file = v.files.find((f) => f.path === path);
        if (!file) {
          const listed = v.files.slice(0, 20).map((f) => f.path).join(', ');
          throw new PlatformError('NOT_FOUND', `${v.name}/${v.version} has no file ${quote(path)}; its files: ${listed}${v.files.length > 20 ? ', ...' : ''}`);
        }
        const blob = await verifiedBlob(store, file.sha256, `file "${file.path}" of ${v.name}/${v.version}`, c.scope.signal);
        let started = false;
        const start = () => {
          started = true;
          c.res.writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-length': String(file.size),
            'x-genome-sha256': file.sha256,
            digest: `sha-256=${Buffer.from(file.sha256, 'hex').toString('base64')}`,
          });
        };
        for await (const chunk of blob.chunks) {
          if (!started) start();
          if (!c.res.write(chunk)) await drained(c);
        }
        if (!started) start();
        c.res.end();
        return undefined;
      },
    },
    { method: 'GET', path: `${P}/models/{name}/versions/{version}/lineage`, rpc: 'GetVersionLineage', scope: READ, handle: async (c) => ({ body: await store.versionLineage(ref(c)) }) },
    { method: 'GET', path: `${P}/models/{name}/aliases/{alias}`, rpc: 'GetVersionByAlias', scope: READ, handle: async (c) => ({ body: await store.getVersion({ name: model(c), alias: c.params.alias! }) }) },
    {
      method: 'PUT',
      path: `${P}/models/{name}/aliases/{alias}`,
      rpc: 'SetAlias',
      scope: WRITE,
      handle: async (c) => {
        const name = model(c);
        const b = await objectBody(c, ['version'], '{"version": 3}');
        const version = field<number>(b, 'version', 'number');
        if (version === undefined) throw invalid('"version" is required: the version number the alias points at, e.g. {"version": 3}');
        return { body: await store.setAlias(name, c.params.alias!, version) };
      },
    },
    { method: 'DELETE', path: `${P}/models/{name}/aliases/{alias}`, rpc: 'DeleteAlias', scope: WRITE, handle: async (c) => ({ body: await deleteAlias(store, model(c), c.params.alias!) }) },
    {
      method: 'POST',
      path: `${P}/search`,
      rpc: 'SearchVersions',
      scope: READ,
      handle: async (c) => {
        const b = await objectBody(c, ['where', 'filter', 'orderBy', 'latestOnly', 'includeDeleted', 'pageSize', 'pageToken'], `{"filter": "application = 'fraud' AND metrics.auc >= 0.9", "pageSize": 10}`);
        const q: SearchQuery = {};
        const where = field<SearchQuery['where']>(b, 'where', 'array');
        const filter = field<string>(b, 'filter', 'string');
        const orderBy = field<SearchQuery['orderBy']>(b, 'orderBy', 'array');
        const latestOnly = field<boolean>(b, 'latestOnly', 'boolean');
        const includeDeleted = field<boolean>(b, 'includeDeleted', 'boolean');
        const pageSize = field<number>(b, 'pageSize', 'number');
        const pageToken = field<string>(b, 'pageToken', 'string');
        if (where) q.where = where;
        if (filter !== undefined) q.filter = filter;
        if (orderBy) {
          orderBy.forEach((o, i) => {
            if (o === null || typeof o !== 'object' || Array.isArray(o)) throw invalid(`orderBy[${i}] must be an object {"field", "direction"?: "asc" | "desc"}, got ${quote(o)}`);
          });
          q.orderBy = orderBy;
        }
        if (latestOnly !== undefined) q.latestOnly = latestOnly;
        if (includeDeleted !== undefined) q.includeDeleted = includeDeleted;
        if (pageSize !== undefined) q.pageSize = pageSize;
        if (pageToken !== undefined) q.pageToken = pageToken;
        const page = await store.search(q);
        return { body: { ...page, versions: page.versions.filter((v) => access.sees(c.principal, v.name)) } };
      },
    },
    {
      method: 'POST',
      path: `${P}/blobs:missing`,
      rpc: 'MissingBlobs',
      scope: WRITE,
      handle: async (c) => {
        const b = await objectBody(c, ['sha256'], '{"sha256": ["<64 hex digits>", ...]}');
        const list = field<string[]>(b, 'sha256', 'array');
        if (!list) throw invalid('"sha256" is required: the SHA-256 of each file to upload, e.g. {"sha256": ["9f86d0...", ...]}');
        return { body: { missing: await store.missingBlobs(list) } };
      },
    },
    {
      method: 'PUT',
      path: `${P}/blobs/{sha256}`,
      rpc: 'PutBlob',
      scope: WRITE,
      transfer: true,
      handle: async (c) => {
        const sha256 = c.params.sha256!;
        const length = c.req.headers['content-length'];
        if (length === undefined) {
          throw new PlatformError('INVALID_ARGUMENT', 'PUT .../blobs/{sha256} needs a content-length header: the blob\'s size in bytes (chunked uploads are not accepted)');
        }
        const size = checkDeclaredSize(Number(length), ctx.limits.maxBlobBytes, 'content-length');
        const put = await putUpload(store, boundedChunks(readableChunks(c.req), size, `blob ${sha256}`, c.scope.signal), { sha256, size }, c.scope.signal);
        return { status: put.existed ? 200 : 201, body: put };
      },
    },
    {
      method: 'POST',
      path: `${P}/lineage/runs/{runId}`,
      rpc: 'RecordLineage',
      scope: WRITE,
      handle: async (c) => {
        const b = await objectBody(c, ['stage', 'consumed'], '{"stage": "train", "consumed": ["features/3", "encoder@production"]}');
        const stage = field<string>(b, 'stage', 'string');
        const consumed = field<string[]>(b, 'consumed', 'array');
        if (!consumed) throw invalid('"consumed" is required: the versions the run consumed, e.g. ["features/3", "encoder@production"]');
        for (const [i, r] of consumed.entries()) {
          if (typeof r !== 'string') throw invalid(`consumed[${i}] must be a reference string ("name/3", "name@alias" or "name"), got ${quote(r)}`);
          access.ref(c.principal, r);
        }
        const l = await store.recordLineage({ runId: c.params.runId!, ...(stage !== undefined ? { stage } : {}), consumed });
        return { status: 201, body: visibleRun(access, c.principal, l) };
      },
    },
    { method: 'GET', path: `${P}/lineage/runs/{runId}`, rpc: 'GetRunLineage', scope: READ, handle: async (c) => ({ body: visibleRun(access, c.principal, await store.runLineage(c.params.runId!)) }) },
    {
      method: 'POST',
      path: `${P}/gc`,
      rpc: 'CollectGarbage',
      scope: WRITE,
      handle: async (c) => {
        access.everything(c.principal, 'garbage collection');
        const b = await objectBody(c, ['graceMs', 'purgeDeletedOlderThanMs', 'dryRun'], '{"graceMs": 3600000, "dryRun": true}');
        const graceMs = field<number>(b, 'graceMs', 'number');
        const purge = field<number>(b, 'purgeDeletedOlderThanMs', 'number');
        const dryRun = field<boolean>(b, 'dryRun', 'boolean');
        return { body: await store.gc({ ...(graceMs !== undefined ? { graceMs } : {}), ...(purge !== undefined ? { purgeDeletedOlderThanMs: purge } : {}), ...(dryRun !== undefined ? { dryRun } : {}) }) };
      },
    },
    {
      method: 'GET',
      path: `${P}/events`,
      rpc: 'ListEvents',
      scope: READ,
      handle: async (c) => {
        const since = intQuery(c, 'since', 0) ?? 0;
        const limit = intQuery(c, 'limit', 1) ?? 1000;
        const page = await store.events(since, limit);
        return { body: { events: page.events.filter((e) => access.event(c.principal, e)), lastSeq: page.lastSeq } };
      },
    },
  ];
}
