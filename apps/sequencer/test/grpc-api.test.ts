// The whole genome.store.v1.ModelStore contract over a real socket with the generated grpc-js client: a package
// uploaded file by file (MissingBlobs, PutBlob, CreateVersion), read back (GetVersion, ListModels, GetModel,
// SearchVersions, GetBlob verified), changed (UpdateVersion, aliases, delete/restore/purge), lineage, garbage
// collection and WatchEvents; plus health and reflection.
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { healthCheck, reflect } from '../../../tools/test-std-clients.js';
import * as g from './helpers/grpc.js';
import { makePackage, packageFiles, scratch, sha256 } from './helpers/packages.js';
import { platform } from './helpers/server.js';
import { uploadGrpc } from './helpers/upload.js';

t.test('gRPC round trip', async (t) => {
  const p = await platform(t);
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const dir = scratch(t);
  const pkgA = makePackage(dir, 'a');
  const pkgB = makePackage(dir, 'b');
  const files = packageFiles(pkgA);

  // Watch from the start of the log while everything below happens.
  const watch = g.watchEvents(c, 0, 12);

  // Upload file by file: every blob is missing at first.
  const missing = await g.missingBlobs(c, { sha256: files.map((f) => f.sha256) });
  t.same(missing.missing.sort(), files.map((f) => f.sha256).sort(), 'an empty store lacks every blob');
  const { version: v1, uploaded } = await uploadGrpc(c, pkgA, {
    metadata: { canonicalName: 'housing', application: 'pricing', pipelineRunId: 'run-1', pipelineName: 'train-housing', pipelineStage: 'train' },
    tags: { team: 'risk' },
    metrics: { rmse: 0.51 },
    aliases: ['staging'],
  });
  t.equal(uploaded, files.length, 'every file uploaded once');
  t.match(v1, { name: 'housing', version: 1, state: 'ready', aliases: ['staging'], tags: { team: 'risk' }, metrics: { rmse: 0.51 } }, 'version 1 created with its aliases, tags, metrics');
  t.equal(v1.metadata?.framework, 'onnx', 'framework from the manifest');
  t.equal(v1.metadata?.canonicalName, 'housing');
  t.same(v1.files.map((f) => f.path), files.map((f) => f.path), 'files recorded');

  // A second version shares the model and background blobs: only genome.json is missing.
  const filesB = packageFiles(pkgB);
  t.same((await g.missingBlobs(c, { sha256: filesB.map((f) => f.sha256) })).missing, [filesB.find((f) => f.path === 'genome.json')!.sha256], 'only the changed manifest is missing');
  const again = await g.putBlob(c, files[0]!.bytes, { sha256: files[0]!.sha256 });
  t.equal(again.existed, true, 'PutBlob of a held blob: existed');
  const { version: v2, uploaded: up2 } = await uploadGrpc(c, pkgB, { metadata: { canonicalName: 'housing', application: 'pricing' }, metrics: { rmse: 0.47 }, aliases: ['production'] });
  t.equal(up2, 1, 'one blob uploaded for version 2');
  t.equal(v2.version, 2);

  // Reads.
  t.equal((await g.getVersion(c, { ref: 'housing' })).version, 2, 'latest');
  t.equal((await g.getVersion(c, { ref: 'housing@staging' })).version, 1, 'by alias');
  t.equal((await g.getVersion(c, { ref: 'housing/1' })).digest, v1.digest, 'by number');
  const models = await g.listModels(c, {});
  t.same(models.models.map((m) => m.name), ['housing']);
  t.match(await g.getModel(c, { name: 'housing' }), { latestVersion: 2, versions: 2, aliases: { staging: 1, production: 2 } });
  const found = await g.searchVersions(c, { filter: "application = 'pricing' AND metrics.rmse < 0.5" });
  t.same(found.versions.map((v) => v.version), [2], 'search by filter');
  const byWhere = await g.searchVersions(c, { where: [{ field: 'tags.team', op: '=', stringValue: 'risk' }], orderBy: [{ field: 'version', direction: 'asc' }] });
  t.same(byWhere.versions.map((v) => v.version), [1], 'search by condition');
  const inList = await g.searchVersions(c, { where: [{ field: 'version', op: 'in', listValue: { strings: [], numbers: [1, 2] } }], orderBy: [{ field: 'version', direction: 'asc' }] });
  t.same(inList.versions.map((v) => v.version), [1, 2], 'search with "in"');

  // GetBlob: the verified bytes of each file.
  for (const f of files) {
    const got = await g.getBlob(c, f.sha256);
    t.equal(got.error, null, `GetBlob ${f.path}: OK`);
    t.equal(got.messages[0]?.size, f.size, `${f.path}: size on the first message`);
    t.equal(sha256(got.bytes), f.sha256, `${f.path}: the bytes hash to the address`);
  }
  const absent = await g.getBlob(c, 'f'.repeat(64));
  t.equal(absent.error?.code, status.NOT_FOUND, 'GetBlob of an absent blob: NOT_FOUND');

  // Changes.
  const upd = await g.updateVersion(c, { ref: 'housing/2', setTags: { reviewed: 'yes' }, setMetrics: { auc: 0.9 }, description: 'second' });
  t.match(upd, { tags: { reviewed: 'yes' }, metrics: { rmse: 0.47, auc: 0.9 }, metadata: { description: 'second' } }, 'UpdateVersion');
  t.same((await g.setAlias(c, { name: 'housing', alias: 'champion', version: 1 })).aliases.sort(), ['champion', 'staging']);
  t.same(await g.deleteAlias(c, { name: 'housing', alias: 'champion' }), { previous: 1 }, 'DeleteAlias answers the previous version');
  t.equal((await g.grpcError(g.deleteAlias(c, { name: 'housing', alias: 'champion' }))).code, status.NOT_FOUND, 'deleting it again: NOT_FOUND');
  const del = await g.deleteVersion(c, { ref: 'housing/1' });
  t.equal(del.state, 'deleted', 'DeleteVersion is soft');
  t.equal((await g.grpcError(g.getVersion(c, { ref: 'housing/1' }))).code, status.NOT_FOUND, 'a deleted version is not found by default');
  t.equal((await g.getVersion(c, { ref: 'housing/1', includeDeleted: true })).state, 'deleted', '... but is with include_deleted');
  t.equal((await g.restoreVersion(c, { ref: 'housing/1' })).state, 'ready', 'RestoreVersion');
  t.equal((await g.grpcError(g.purgeVersion(c, { ref: 'housing/1' }))).code, status.FAILED_PRECONDITION, 'purging a ready version: FAILED_PRECONDITION');
  await g.deleteVersion(c, { ref: 'housing/1' });
  t.same(await g.purgeVersion(c, { ref: 'housing/1' }), { name: 'housing', version: 1 }, 'PurgeVersion');
  t.equal((await g.grpcError(g.getVersion(c, { ref: 'housing/1', includeDeleted: true }))).code, status.NOT_FOUND, 'purged for good');

  // Lineage.
  const run = await g.recordLineage(c, { runId: 'run-2', stage: 'evaluate', consumed: ['housing@production'] });
  t.same(run.consumed.map((k) => [k.name, k.version]), [['housing', 2]], 'RecordLineage resolves the alias');
  t.same((await g.getRunLineage(c, { runId: 'run-2' })).consumed.map((k) => k.version), [2]);
  const vl = await g.getVersionLineage(c, { ref: 'housing/2' });
  t.same(vl.consumedBy.map((r) => r.runId), ['run-2'], 'GetVersionLineage: consumed by run-2');
  t.equal((await g.grpcError(g.getRunLineage(c, { runId: 'no-such-run' }))).code, status.NOT_FOUND, 'an unknown run: NOT_FOUND');

  // Garbage collection: version 1's genome.json is referenced by no version any more.
  const dry = await g.collectGarbage(c, { graceMs: 0, dryRun: true });
  t.equal(dry.removedBlobs, 1, 'dry run: one blob would go');
  const gc = await g.collectGarbage(c, { graceMs: 0 });
  t.match(gc, { removedBlobs: 1, referencedBlobs: 3 }, 'CollectGarbage removes it');
  const gone = await g.getBlob(c, files.find((f) => f.path === 'genome.json')!.sha256);
  t.equal(gone.error?.code, status.NOT_FOUND, 'the collected blob is gone');

  // WatchEvents saw the whole history in order.
  const events = await watch.events;
  watch.cancel();
  t.same(
    events.slice(0, 5).map((e) => e.type),
    ['version-created', 'alias-set', 'version-created', 'alias-set', 'version-updated'],
    'WatchEvents: the history in log order',
  );
  t.ok(events.every((e, i) => i === 0 || e.seq >= events[i - 1]!.seq), 'sequence numbers never go back');
  const fromSeq = events[3]!.seq;
  const later = g.watchEvents(c, fromSeq, 1);
  const first = (await later.events)[0]!;
  later.cancel();
  t.ok(first.seq > fromSeq, 'since_seq skips what was seen');
});

t.test('health and reflection', async (t) => {
  const p = await platform(t);
  t.equal(await healthCheck(p.grpcPort, ''), 'SERVING');
  t.equal(await healthCheck(p.grpcPort, 'genome.store.v1.ModelStore'), 'SERVING');
  const r = await reflect(p.grpcPort, 'genome.store.v1.ModelStore');
  t.ok(r.services.includes('genome.store.v1.ModelStore'), 'reflection lists the store');
  t.ok(r.descriptors.length > 0, 'and serves its descriptor');
  const live = await fetch(`http://127.0.0.1:${p.httpPort}/v2/health/live`);
  t.equal(live.status, 200);
  const ready = await fetch(`http://127.0.0.1:${p.httpPort}/v2/health/ready`);
  t.equal(ready.status, 200);
});
