// Bad input is INVALID_ARGUMENT (gRPC) / 400 (REST) with a message naming the field and how to fix it; malformed
// bodies (not JSON, too deep, too large, wrong type) and URLs are refused before they reach the store.
import t from 'tap';
import { status } from '@grpc/grpc-js';
import * as g from './helpers/grpc.js';
import { makePackage, scratch } from './helpers/packages.js';
import { platform } from './helpers/server.js';
import { rest, uploadGrpc } from './helpers/upload.js';

t.test('gRPC: INVALID_ARGUMENT naming the field', async (t) => {
  const p = await platform(t);
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  await uploadGrpc(c, makePackage(scratch(t), 'a'), { metadata: { canonicalName: 'housing' } });
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['GetVersion with a bad reference', () => g.getVersion(c, { ref: 'housing/x' }), /Invalid version reference "housing\/x"/],
    ['GetVersion with an empty reference', () => g.getVersion(c, { ref: '' }), /model name/],
    ['CreateVersion without metadata', () => g.createVersion(c, { files: [] }), /metadata\.canonical_name is required/],
    ['CreateVersion with a bad name', () => g.createVersion(c, { metadata: { canonicalName: '-bad name' }, files: [] }), /canonicalName/],
    ['CreateVersion with a bad sha256', () => g.createVersion(c, { metadata: { canonicalName: 'm' }, files: [{ path: 'genome.json', sha256: 'xyz', size: 1 }] }), /files\[0\]\.sha256/],
    ['CreateVersion with a path escaping the package', () => g.createVersion(c, { metadata: { canonicalName: 'm' }, files: [{ path: '../genome.json', sha256: 'a'.repeat(64), size: 1 }] }), /files\[0\]\.path/],
    ['SetAlias to version 0', () => g.setAlias(c, { name: 'housing', alias: 'prod', version: 0 }), /version/],
    ['SetAlias with a numeric alias', () => g.setAlias(c, { name: 'housing', alias: '123', version: 1 }), /alias/],
    ['SearchVersions with an unknown field', () => g.searchVersions(c, { where: [{ field: 'colour', op: '=', stringValue: 'red' }] }), /unknown field "colour"/],
    ['SearchVersions with a condition without value', () => g.searchVersions(c, { where: [{ field: 'name', op: '=' }] }), /where\[0\] has no value/],
    ['SearchVersions with a bad filter', () => g.searchVersions(c, { filter: "name = 'x' OR" }), /filter/],
    ['SearchVersions with a bad direction', () => g.searchVersions(c, { orderBy: [{ field: 'version', direction: 'up' }] }), /order_by\[0\]\.direction/],
    ['ListModels with a bad page token', () => g.listModels(c, { pageToken: '!!' }), /page token/],
    ['UpdateVersion with a bad metric', () => g.updateVersion(c, { ref: 'housing/1', setMetrics: { 'bad key!': 1 } }), /metric key "bad key!"/],
    ['MissingBlobs with a bad digest', () => g.missingBlobs(c, { sha256: ['ABC'] }), /sha256s\[0\]/],
    ['PutBlob with an upper-case digest', () => g.putBlob(c, Buffer.from('x'), { sha256: 'A'.repeat(64) }), /lower-case/],
    ['GetBlob without a digest', () => g.getBlob(c, '').then((r) => { if (r.error) throw r.error; }), /sha256 is required/],
    ['RecordLineage without consumed', () => g.recordLineage(c, { runId: 'r', consumed: [] }), /consumed/],
    ['GetRunLineage without run id', () => g.getRunLineage(c, { runId: '' }), /runId/],
  ];
  for (const [what, call, msg] of cases) {
    const e = await g.grpcError(call());
    t.equal(e.code, status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
    t.match(e.details, msg, `${what}: names the field (${e.details.slice(0, 120)})`);
  }
  const nf = await g.grpcError(g.getVersion(c, { ref: 'housing/9' }));
  t.equal(nf.code, status.NOT_FOUND, 'an absent version: NOT_FOUND');
  const first = await g.grpcError(
    new Promise((resolve, reject) => {
      const call = c.putBlob(g.md({}), {}, (err, res) => (err ? reject(err) : resolve(res)));
      call.write({ chunk: Buffer.from('no header') });
      call.end();
    }),
  );
  t.equal(first.code, status.INVALID_ARGUMENT, 'PutBlob without a header first: INVALID_ARGUMENT');
  t.match(first.details, /first PutBlob message must carry the header/);
});

t.test('REST: 400 naming the field', async (t) => {
  const p = await platform(t);
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  await uploadGrpc(c, makePackage(scratch(t), 'a'), { metadata: { canonicalName: 'housing' } });
  const b = p.rest;
  const post = (path: string, body: string, type = 'application/json') => fetch(`${b}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['version not a number', () => fetch(`${b}/models/housing/versions/abc`), 400, /version in the URL must be a version number/],
    ['bad percent-encoding', () => fetch(`${b}/models/%ZZ`), 400, /not valid percent-encoding/],
    ['bad model name', () => fetch(`${b}/models/-x-`), 400, /model name/],
    ['pageSize not an integer', () => fetch(`${b}/models?pageSize=ten`), 400, /query parameter pageSize must be an integer/],
    ['includeDeleted not a boolean', () => fetch(`${b}/models/housing/versions?includeDeleted=maybe`), 400, /includeDeleted must be true or false/],
    ['events since negative', () => fetch(`${b}/events?since=-1`), 400, /since must be an integer >= 0/],
    ['body not JSON', () => post('/search', '{not json'), 400, /not valid JSON/],
    ['body not an object', () => post('/search', '[1,2]'), 400, /must be a JSON object/],
    ['body too deep', () => post('/search', `{"where":${'['.repeat(100)}${']'.repeat(100)}}`), 400, /nests lists\/objects more than 32 levels deep/],
    ['unknown body field', () => post('/search', '{"filtr": "x"}'), 400, /unknown field\(s\) "filtr"/],
    ['field of the wrong type', () => post('/search', '{"latestOnly": "yes"}'), 400, /"latestOnly" must be a boolean/],
    ['bad search field', () => post('/search', JSON.stringify({ where: [{ field: 'colour', op: '=', value: 'x' }] })), 400, /unknown field "colour"/],
    ['wrong content type', () => post('/search', '{}', 'text/csv'), 415, /not JSON/],
    ['body too large', () => post('/search', JSON.stringify({ filter: 'x'.repeat(5 * 1024 * 1024) })), 413, /larger than/],
    ['create without files', () => post('/models/m/versions', '{}'), 400, /"files" is required/],
    ['create with bad files', () => post('/models/m/versions', '{"files": [{"path": "genome.json", "sha256": "1", "size": 1}]}'), 400, /files\[0\]\.sha256/],
    ['alias without version', () => fetch(`${b}/models/housing/aliases/prod`, { method: 'PUT', body: '{}' }), 400, /"version" is required/],
    ['blob without content-length', () => fetch(`${b}/blobs/${'a'.repeat(64)}`, { method: 'PUT', body: new ReadableStream({ start: (ctl) => { ctl.enqueue(new Uint8Array([1])); ctl.close(); } }), duplex: 'half' } as RequestInit), 400, /content-length/],
    ['blob with a bad digest', () => fetch(`${b}/blobs/xyz`, { method: 'PUT', body: 'x' }), 400, /SHA-256/],
    ['missing with a bad digest', () => post('/blobs:missing', '{"sha256": ["x"]}'), 400, /sha256s\[0\]/],
    ['lineage consumed not strings', () => post('/lineage/runs/r1', '{"consumed": [1]}'), 400, /consumed\[0\] must be a reference string/],
    ['gc with a negative grace', () => post('/gc', '{"graceMs": -5}'), 400, /graceMs/],
  ];
  for (const [what, call, code, msg] of cases) {
    const r = await call();
    const text = await r.text();
    t.equal(r.status, code, `${what}: ${code}`);
    let error = '';
    try {
      error = (JSON.parse(text) as { error: string }).error;
    } catch {
      error = text;
    }
    t.match(error, msg, `${what}: says what is wrong (${error.slice(0, 120)})`);
  }
  const nf = await rest(`${b}/models/housing/versions/9`);
  t.equal(nf.status, 404, 'an absent version: 404');
});
