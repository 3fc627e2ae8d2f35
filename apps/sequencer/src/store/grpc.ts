/**
 * genome.store.v1.ModelStore over @genome/model-store's ModelStore. Reads need the scope `store:read`, changes
 * `store:write` (checked by GrpcKit before the handler runs); per-model grants are checked here (StoreAccess).
 */
import { parseRef, type ModelStore, type StoredFile } from '@genome/model-store';
import { store as pb } from '@genome/proto';
import { quote } from '@genome/server-kit';
import type { HostContext } from '../context.js';
import { PlatformError } from '../errors.js';
import { GrpcKit } from '../grpc/calls.js';
import { READ, StoreAccess, WRITE } from './access.js';
import { createOptionsFromPb, eventToPb, gcToPb, modelToPb, runLineageToPb, searchFromPb, versionLineageToPb, versionToPb } from './convert.js';
import { boundedChunks, checkDeclaredSize, putUpload, verifiedBlob } from './transfer.js';

export const STORE_SERVICE = 'genome.store.v1.ModelStore';
export const STORE_PROTO = 'genome/store/v1/store.proto';

/** Waits `ms`, or less when one of the signals fires. */
function pause(ms: number, ...signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s.addEventListener('abort', done, { once: true });
  });
}

export function storeGrpcHandlers(ctx: HostContext, store: ModelStore): pb.ModelStoreServer {
  const kit = new GrpcKit(ctx, 'proto/genome/store/v1/store.proto');
  const access = new StoreAccess(ctx.auth);
  const createdBy = (subject: string) => (ctx.auth.enabled ? { createdBy: subject } : {});

  return {
    missingBlobs: kit.unary<pb.MissingBlobsRequest, pb.MissingBlobsResponse>('MissingBlobs', WRITE, async (req) => ({ missing: await store.missingBlobs(req.sha256) })),

    putBlob: kit.clientStream<pb.PutBlobRequest, pb.PutBlobResponse>(
      'PutBlob',
      WRITE,
      async (messages, { scope }) => {
        const it = messages[Symbol.asyncIterator]();
        const first = await it.next();
        const header = first.done ? undefined : first.value.header;
        if (!header) {
          await it.return?.();
          throw new PlatformError('INVALID_ARGUMENT', 'the first PutBlob message must carry the header {sha256, size}; the chunks follow in later messages');
        }
        if (header.sha256 === '') throw new PlatformError('INVALID_ARGUMENT', 'header.sha256 is required: the SHA-256 (64 lower-case hex digits) of the blob being uploaded');
        const size = checkDeclaredSize(header.size, ctx.limits.maxBlobBytes, 'header.size');
        async function* chunks(): AsyncGenerator<Uint8Array> {
          for (;;) {
            const r = await it.next();
            if (r.done) return;
            if (r.value.header) throw new PlatformError('INVALID_ARGUMENT', 'PutBlob takes one header, in the first message; later messages carry chunks only');
            if (r.value.chunk && r.value.chunk.byteLength > 0) yield r.value.chunk;
          }
        }
        try {
          const put = await putUpload(store, boundedChunks(chunks(), size, `blob ${header.sha256}`, scope.signal), { sha256: header.sha256, size }, scope.signal);
          return { sha256: put.sha256, size: put.size, existed: put.existed };
        } finally {
          await it.return?.();
        }
      },
      { deadline: 'transfer' },
    ),

    getBlob: kit.serverStream<pb.GetBlobRequest, pb.GetBlobResponse>(
      'GetBlob',
      READ,
      async (req, { principal, scope }, write) => {
        access.everything(principal, 'GetBlob (a read by address)');
        if (req.sha256 === '') throw new PlatformError('INVALID_ARGUMENT', 'sha256 is required: the blob address (64 lower-case hex digits) from a version\'s files');
        const blob = await verifiedBlob(store, req.sha256, undefined, scope.signal);
        let first = true;
        for await (const chunk of blob.chunks) {
          await write({ chunk: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), size: first ? blob.size : 0 });
          first = false;
        }
        if (first) await write({ chunk: Buffer.alloc(0), size: 0 });
      },
      { deadline: 'transfer' },
    ),

    createVersion: kit.unary<pb.CreateVersionRequest, pb.Version>('CreateVersion', WRITE, async (req, { principal }) => {
      const options = createOptionsFromPb(req);
      access.model(principal, options.canonicalName);
      const files: StoredFile[] = req.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
      return versionToPb(await store.createVersion(files, { ...options, ...createdBy(principal.subject) }));
    }),

    getVersion: kit.unary<pb.GetVersionRequest, pb.Version>('GetVersion', READ, async (req, { principal }) => {
      access.ref(principal, req.ref);
      return versionToPb(await store.getVersion(req.ref, { includeDeleted: req.includeDeleted }));
    }),

    updateVersion: kit.unary<pb.UpdateVersionRequest, pb.Version>('UpdateVersion', WRITE, async (req, { principal }) => {
      access.ref(principal, req.ref);
      return versionToPb(
        await store.updateVersion(req.ref, {
          setTags: req.setTags,
          deleteTags: req.deleteTags,
          setMetrics: req.setMetrics,
          deleteMetrics: req.deleteMetrics,
          ...(req.description !== undefined ? { description: req.description } : {}),
          ...(req.versionName !== undefined ? { versionName: req.versionName } : {}),
        }),
      );
    }),

    deleteVersion: kit.unary<pb.VersionRequest, pb.Version>('DeleteVersion', WRITE, async (req, { principal }) => {
      access.ref(principal, req.ref);
      return versionToPb(await store.deleteVersion(req.ref));
    }),

    restoreVersion: kit.unary<pb.VersionRequest, pb.Version>('RestoreVersion', WRITE, async (req, { principal }) => {
      access.ref(principal, req.ref);
      return versionToPb(await store.restoreVersion(req.ref));
    }),

    purgeVersion: kit.unary<pb.VersionRequest, pb.PurgeVersionResponse>('PurgeVersion', WRITE, async (req, { principal }) => {
      access.ref(principal, req.ref);
      const parsed = parseRef(req.ref);
      await store.purgeVersion(req.ref);
      return { name: parsed.name, version: parsed.kind === 'version' ? parsed.version : 0 };
    }),

    listModels: kit.unary<pb.ListModelsRequest, pb.ListModelsResponse>('ListModels', READ, async (req, { principal }) => {
      const page = await store.listModels({
        ...(req.namePrefix !== '' ? { namePrefix: req.namePrefix } : {}),
        ...(req.pageSize !== 0 ? { pageSize: req.pageSize } : {}),
        ...(req.pageToken !== '' ? { pageToken: req.pageToken } : {}),
      });
      return { models: page.models.filter((m) => access.sees(principal, m.name)).map(modelToPb), nextPageToken: page.nextPageToken ?? '' };
    }),

    getModel: kit.unary<pb.GetModelRequest, pb.RegisteredModel>('GetModel', READ, async (req, { principal }) => {
      if (req.name === '') throw new PlatformError('INVALID_ARGUMENT', 'name is required: the registered model\'s name');
      access.model(principal, req.name);
      return modelToPb(await store.getModel(req.name));
    }),

    searchVersions: kit.unary<pb.SearchVersionsRequest, pb.SearchVersionsResponse>('SearchVersions', READ, async (req, { principal }) => {
      const page = await store.search(searchFromPb(req));
      return { versions: page.versions.filter((v) => access.sees(principal, v.name)).map(versionToPb), nextPageToken: page.nextPageToken ?? '' };
    }),

    setAlias: kit.unary<pb.SetAliasRequest, pb.Version>('SetAlias', WRITE, async (req, { principal }) => {
      if (req.name === '') throw new PlatformError('INVALID_ARGUMENT', 'name is required: the model whose alias to set');
      access.model(principal, req.name);
      return versionToPb(await store.setAlias(req.name, req.alias, req.version));
    }),

    deleteAlias: kit.unary<pb.DeleteAliasRequest, pb.DeleteAliasResponse>('DeleteAlias', WRITE, async (req, { principal }) => {
      if (req.name === '') throw new PlatformError('INVALID_ARGUMENT', 'name is required: the model whose alias to delete');
      access.model(principal, req.name);
      return deleteAlias(store, req.name, req.alias);
    }),

    recordLineage: kit.unary<pb.RecordLineageRequest, pb.RunLineage>('RecordLineage', WRITE, async (req, { principal }) => {
      for (const r of req.consumed) access.ref(principal, r);
      const l = await store.recordLineage({ runId: req.runId, ...(req.stage !== '' ? { stage: req.stage } : {}), consumed: req.consumed });
      return runLineageToPb(visibleRun(access, principal, l));
    }),

    getRunLineage: kit.unary<pb.GetRunLineageRequest, pb.RunLineage>('GetRunLineage', READ, async (req, { principal }) => {
      return runLineageToPb(visibleRun(access, principal, await store.runLineage(req.runId)));
    }),

    getVersionLineage: kit.unary<pb.VersionRequest, pb.VersionLineage>('GetVersionLineage', READ, async (req, { principal }) => {
      access.ref(principal, req.ref);
      return versionLineageToPb(await store.versionLineage(req.ref));
    }),

    collectGarbage: kit.unary<pb.CollectGarbageRequest, pb.CollectGarbageResponse>('CollectGarbage', WRITE, async (req, { principal }) => {
      access.everything(principal, 'CollectGarbage');
      return gcToPb(
        await store.gc({
          ...(req.graceMs !== undefined ? { graceMs: req.graceMs } : {}),
          ...(req.purgeDeletedOlderThanMs !== undefined ? { purgeDeletedOlderThanMs: req.purgeDeletedOlderThanMs } : {}),
          dryRun: req.dryRun,
        }),
      );
    }),

    watchEvents: kit.serverStream<pb.WatchEventsRequest, pb.StoreEvent>(
      'WatchEvents',
      READ,
      async (req, { principal, scope }, write) => {
        let since = req.sinceSeq;
        if (!Number.isSafeInteger(since) || since < 0) throw new PlatformError('INVALID_ARGUMENT', `since_seq must be a sequence number >= 0, got ${quote(since)}`);
        for (;;) {
          if (ctx.drainSignal.aborted) {
            throw new PlatformError('SHUTTING_DOWN', `the server is shutting down; watch again (on another replica) with since_seq=${since} to miss nothing`);
          }
          scope.check();
          const page = await store.events(since, 1000);
          for (const e of page.events) if (access.event(principal, e)) await write(eventToPb(e));
          const advanced = page.lastSeq > since;
          since = Math.max(since, page.lastSeq);
          if (!advanced) await pause(ctx.limits.watchPollMs, scope.signal, ctx.drainSignal);
        }
      },
      { deadline: 'none' },
    ),
  };
}

/** Deletes an alias, answering the version it pointed at; NOT_FOUND when the model has no such alias. */
export async function deleteAlias(store: ModelStore, name: string, alias: string): Promise<{ previous: number }> {
  const model = await store.getModel(name);
  const previous = Object.hasOwn(model.aliases, alias) ? model.aliases[alias] : undefined;
  const deleted = await store.deleteAlias(name, alias);
  if (!deleted || previous === undefined) {
    const known = Object.keys(model.aliases);
    throw new PlatformError('NOT_FOUND', `model "${name}" has no alias ${quote(alias)}; its aliases: ${known.length ? known.slice(0, 20).join(', ') : '(none)'}`);
  }
  return { previous };
}

/** A run's lineage without the versions of models the caller may not see. */
export function visibleRun<L extends { produced: { name: string }[]; consumed: { name: string }[] }>(access: StoreAccess, p: Parameters<StoreAccess['sees']>[0], l: L): L {
  return { ...l, produced: l.produced.filter((k) => access.sees(p, k.name)), consumed: l.consumed.filter((k) => access.sees(p, k.name)) };
}
