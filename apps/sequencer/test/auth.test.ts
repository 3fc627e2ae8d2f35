// Bearer tokens with scopes: no token is UNAUTHENTICATED / 401; a store:read token reads but cannot write
// (PERMISSION_DENIED / 403); a token limited to some models sees only those; a store:write token writes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { readTokenGrants } from '@genome/server-kit';
import * as g from './helpers/grpc.js';
import { makePackage, scratch } from './helpers/packages.js';
import { platform } from './helpers/server.js';
import { rest, uploadGrpc } from './helpers/upload.js';

const ADMIN = 'admin-token-123456';
const READER = 'reader-token-123456';
const WRITER = 'writer-token-123456';
const FRAUD = 'fraud-only-token-123';

t.test('tokens and scopes', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'tokens.json');
  writeFileSync(
    file,
    JSON.stringify([
      { token: ADMIN, subject: 'admin' },
      { token: READER, scopes: ['store:read'], subject: 'reader' },
      { token: WRITER, scopes: ['store:read', 'store:write'], subject: 'ci' },
      { token: FRAUD, models: ['fraud'], scopes: ['store:read', 'store:write'], subject: 'fraud-team' },
    ]),
  );
  const p = await platform(t, { authTokens: readTokenGrants(file) });
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const pkg = makePackage(dir, 'a');

  // No token / unknown token.
  const none = await g.grpcError(g.listModels(c, {}));
  t.equal(none.code, status.UNAUTHENTICATED, 'gRPC without a token: UNAUTHENTICATED');
  t.match(none.details, /missing bearer token/);
  t.equal((await g.grpcError(g.listModels(c, {}, { token: 'not-a-known-token' }))).code, status.UNAUTHENTICATED, 'unknown token');
  const r401 = await rest(`${p.rest}/models`);
  t.equal(r401.status, 401, 'REST without a token: 401');
  t.match(r401.body.error, /authorization: Bearer/);
  t.equal((await fetch(`http://127.0.0.1:${p.httpPort}/v2/health/live`)).status, 200, 'health needs no token');

  // A writer creates versions (createdBy from the token's subject).
  const { version } = await uploadGrpc(c, pkg, { metadata: { canonicalName: 'housing' } }, { token: WRITER });
  t.equal(version.createdBy, 'ci', 'createdBy is the token subject');
  await uploadGrpc(c, pkg, { metadata: { canonicalName: 'fraud' } }, { token: ADMIN });

  // A reader reads but cannot write.
  t.equal((await g.listModels(c, {}, { token: READER })).models.length, 2, 'reader: ListModels');
  t.equal((await g.getVersion(c, { ref: 'housing' }, { token: READER })).version, 1, 'reader: GetVersion');
  const denied = await g.grpcError(g.setAlias(c, { name: 'housing', alias: 'prod', version: 1 }, { token: READER }));
  t.equal(denied.code, status.PERMISSION_DENIED, 'reader: SetAlias is PERMISSION_DENIED');
  t.match(denied.details, /lacks the scope "store:write"/);
  t.equal((await g.grpcError(g.putBlob(c, Buffer.from('x'), { sha256: 'a'.repeat(64) }, { token: READER }))).code, status.PERMISSION_DENIED, 'reader: PutBlob denied');
  const r403 = await rest(`${p.rest}/models/housing/aliases/prod`, { method: 'PUT', body: { version: 1 }, token: READER });
  t.equal(r403.status, 403, 'REST reader: PUT alias is 403');
  t.equal((await rest(`${p.rest}/models/housing/versions/1`, { method: 'DELETE', token: READER })).status, 403, 'REST reader: DELETE version is 403');
  t.equal((await rest(`${p.rest}/models/housing/versions/1`, { token: READER })).status, 200, 'REST reader: GET version is 200');

  // A token limited to the model "fraud".
  t.same((await g.listModels(c, {}, { token: FRAUD })).models.map((m) => m.name), ['fraud'], 'limited token: sees only its model');
  t.equal((await g.grpcError(g.getVersion(c, { ref: 'housing' }, { token: FRAUD }))).code, status.PERMISSION_DENIED, 'limited token: other models denied');
  t.equal((await rest(`${p.rest}/models/housing`, { token: FRAUD })).status, 403, 'REST limited token: 403');
  t.equal((await g.setAlias(c, { name: 'fraud', alias: 'prod', version: 1 }, { token: FRAUD })).aliases[0], 'prod', 'limited token writes its own model');
  t.equal((await g.grpcError(g.collectGarbage(c, { dryRun: true }, { token: FRAUD }))).code, status.PERMISSION_DENIED, 'limited token: no gc');
  const search = await rest(`${p.rest}/search`, { method: 'POST', body: {}, token: FRAUD });
  t.same(search.body.versions.map((v: { name: string }) => v.name), ['fraud'], 'search shows only its model');
  const events = await rest(`${p.rest}/events`, { token: FRAUD });
  t.ok(events.body.events.length > 0 && events.body.events.every((e: { name: string }) => e.name === 'fraud'), 'events of its model only');
});
