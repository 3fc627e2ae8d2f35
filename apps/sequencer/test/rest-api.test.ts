// The model store over REST (/v1.0/genome/modelstore/...) with fetch: the same round trip as over gRPC, including a
// streamed blob upload, verified file downloads, aliases, delete/restore/purge, lineage, gc and the event page.
import t from 'tap';
import { makePackage, packageFiles, scratch, sha256 } from './helpers/packages.js';
import { platform } from './helpers/server.js';
import { rest, uploadRest } from './helpers/upload.js';

t.test('REST round trip', async (t) => {
  const p = await platform(t);
  const base = p.rest;
  const dir = scratch(t);
  const pkgA = makePackage(dir, 'a');
  const pkgB = makePackage(dir, 'b');
  const files = packageFiles(pkgA);

  const a = await uploadRest(base, pkgA, 'housing', { application: 'pricing', pipelineRunId: 'run-1', tags: { team: 'risk' }, metrics: { rmse: 0.51 }, aliases: ['staging'] });
  t.equal(a.status, 201, 'POST models/{name}/versions: 201');
  t.equal(a.uploaded, files.length, 'every blob uploaded with PUT blobs/{sha256}');
  t.match(a.body, { name: 'housing', version: 1, aliases: ['staging'], metadata: { framework: 'onnx', application: 'pricing' } });
  const b = await uploadRest(base, pkgB, 'housing', { metrics: { rmse: 0.47 }, aliases: ['production'] });
  t.equal(b.uploaded, 1, 'version 2 uploads only its new manifest');
  t.equal(b.body.version, 2);

  const putAgain = await fetch(`${base}/blobs/${files[0]!.sha256}`, { method: 'PUT', body: files[0]!.bytes });
  t.equal(putAgain.status, 200, 'PUT of a held blob: 200');
  t.match(await putAgain.json(), { existed: true });

  t.same((await rest(`${base}/models`)).body.models.map((m: { name: string }) => m.name), ['housing'], 'GET models');
  t.match((await rest(`${base}/models/housing`)).body, { latestVersion: 2, aliases: { staging: 1, production: 2 } }, 'GET models/{name}');
  t.same((await rest(`${base}/models/housing/versions`)).body.versions.map((v: { version: number }) => v.version), [2, 1], 'GET versions: newest first');
  const paged = await rest(`${base}/models/housing/versions?pageSize=1`);
  t.equal(paged.body.versions.length, 1);
  t.ok(paged.body.nextPageToken, 'a page token');
  const page2 = await rest(`${base}/models/housing/versions?pageSize=1&pageToken=${encodeURIComponent(paged.body.nextPageToken)}`);
  t.same(page2.body.versions.map((v: { version: number }) => v.version), [1], 'the second page');
  t.equal((await rest(`${base}/models/housing/versions/1`)).body.version, 1, 'GET versions/{v}');
  t.equal((await rest(`${base}/models/housing/aliases/production`)).body.version, 2, 'GET aliases/{alias}');
  const search = await rest(`${base}/search`, { method: 'POST', body: { filter: 'metrics.rmse < 0.5' } });
  t.same(search.body.versions.map((v: { version: number }) => v.version), [2], 'POST search');
  const search2 = await rest(`${base}/search`, { method: 'POST', body: { where: [{ field: 'tags.team', op: '=', value: 'risk' }] } });
  t.same(search2.body.versions.map((v: { version: number }) => v.version), [1], 'POST search with where');

  for (const f of files) {
    const r = await fetch(`${base}/models/housing/versions/1/files/${f.path}`);
    t.equal(r.status, 200, `GET files/${f.path}`);
    t.equal(r.headers.get('x-genome-sha256'), f.sha256, 'x-genome-sha256 header');
    t.equal(sha256(Buffer.from(await r.arrayBuffer())), f.sha256, 'the verified bytes');
  }
  t.equal((await rest(`${base}/models/housing/versions/1/files/nope.bin`)).status, 404, 'an absent file: 404');

  const patched = await rest(`${base}/models/housing/versions/2`, { method: 'PATCH', body: { setTags: { reviewed: 'yes' }, description: 'second' } });
  t.match(patched.body, { tags: { reviewed: 'yes' }, metadata: { description: 'second' } }, 'PATCH versions/{v}');
  t.same((await rest(`${base}/models/housing/aliases/champion`, { method: 'PUT', body: { version: 1 } })).body.aliases.sort(), ['champion', 'staging'], 'PUT aliases/{alias}');
  t.same((await rest(`${base}/models/housing/aliases/champion`, { method: 'DELETE' })).body, { previous: 1 }, 'DELETE aliases/{alias}');
  t.equal((await rest(`${base}/models/housing/aliases/champion`)).status, 404, 'the alias is gone');

  t.equal((await rest(`${base}/models/housing/versions/1`, { method: 'DELETE' })).body.state, 'deleted', 'DELETE versions/{v}: soft');
  t.equal((await rest(`${base}/models/housing/versions/1`)).status, 404, 'then not found');
  t.equal((await rest(`${base}/models/housing/versions/1?includeDeleted=true`)).body.state, 'deleted', 'unless includeDeleted');
  t.equal((await rest(`${base}/models/housing/versions?includeDeleted=true`)).body.versions.length, 2);
  t.equal((await rest(`${base}/models/housing/versions/1:restore`, { method: 'POST' })).body.state, 'ready', ':restore');
  const early = await rest(`${base}/models/housing/versions/1:purge`, { method: 'POST' });
  t.equal(early.status, 400, ':purge of a ready version: FAILED_PRECONDITION is 400 (server-kit mapping)');
  t.match(early.body.error, /not deleted/);
  await rest(`${base}/models/housing/versions/1`, { method: 'DELETE' });
  t.same((await rest(`${base}/models/housing/versions/1:purge`, { method: 'POST' })).body, { name: 'housing', version: 1, purged: true }, ':purge');

  const rec = await rest(`${base}/lineage/runs/run-2`, { method: 'POST', body: { stage: 'evaluate', consumed: ['housing@production'] } });
  t.equal(rec.status, 201, 'POST lineage/runs/{runId}');
  t.same(rec.body.consumed, [{ name: 'housing', version: 2, stage: 'evaluate' }]);
  t.same((await rest(`${base}/lineage/runs/run-2`)).body.consumed.map((k: { version: number }) => k.version), [2], 'GET lineage/runs/{runId}');
  t.same((await rest(`${base}/models/housing/versions/2/lineage`)).body.consumedBy, [{ runId: 'run-2', stage: 'evaluate' }], 'GET versions/{v}/lineage');

  const gc = await rest(`${base}/gc`, { method: 'POST', body: { graceMs: 0 } });
  t.match(gc.body, { removedBlobs: 1 }, 'POST gc');

  const events = await rest(`${base}/events?since=0`);
  t.ok(events.body.events.length >= 8, 'GET events');
  t.equal(events.body.events[0].type, 'version-created');
  const tail = await rest(`${base}/events?since=${events.body.lastSeq}`);
  t.same(tail.body.events, [], 'nothing after lastSeq');
  const limited = await rest(`${base}/events?since=0&limit=1`);
  t.ok(limited.body.lastSeq < events.body.lastSeq, 'limit pages the log');
});

t.test('REST framing: unknown routes, methods, health', async (t) => {
  const p = await platform(t);
  const nf = await rest(`${p.rest}/nope`);
  t.equal(nf.status, 404);
  t.match(nf.body.error, /no route for "GET" "\/v1\.0\/genome\/modelstore\/nope"; routes: /);
  const r = await fetch(`${p.rest}/models`, { method: 'DELETE' });
  t.equal(r.status, 405, 'a known path with another method: 405');
  t.equal(r.headers.get('allow'), 'GET');
  t.equal((await fetch(`http://127.0.0.1:${p.httpPort}/v2/health/ready`)).status, 200);
});
