// The pieces every Genome server shares, in process: token grants (models and scopes), the status mapping of every
// code family, quoting of hostile values, and TLS credentials from real PEM files (openssl, as the sidecar's tests).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import t from 'tap';
import { ServerKitError, TokenAuth, capMessage, grpcServerCredentials, httpsServerOptions, quote, readTokenGrants, toStatus } from '../src/index.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as ServerKitError).code;
  }
  return undefined;
};

t.test('tokens: models and scopes', async (t) => {
  const open = new TokenAuth();
  t.notOk(open.enabled, 'no grants: auth off');
  const anyone = open.authenticate(undefined);
  t.ok(open.canUse(anyone, 'm') && open.can(anyone, 'store:write'));

  const auth = new TokenAuth([
    { token: 'reader-token-1', models: ['fraud'], scopes: ['explain', 'store:read'], subject: 'reader' },
    { token: 'admin-token-1' },
  ]);
  t.ok(auth.enabled);
  t.equal(code(() => auth.authenticate(undefined)), 'UNAUTHENTICATED', 'missing header');
  t.equal(code(() => auth.authenticate('Basic abc')), 'UNAUTHENTICATED', 'not a bearer token');
  t.equal(code(() => auth.authenticate('Bearer nope-nope-nope')), 'UNAUTHENTICATED', 'unknown token');
  const reader = auth.authenticate('Bearer reader-token-1');
  t.equal(reader.subject, 'reader');
  t.ok(auth.canUse(reader, 'fraud'));
  t.notOk(auth.canUse(reader, 'churn'));
  t.equal(code(() => auth.authorize(reader, 'churn')), 'PERMISSION_DENIED');
  t.equal(code(() => auth.require(reader, 'store:write')), 'PERMISSION_DENIED');
  t.doesNotThrow(() => auth.require(reader, 'store:read'));
  const admin = auth.authenticate('bearer   admin-token-1  ');
  t.equal(admin.subject, 'token-2', 'default subject; scheme is case-insensitive');
  t.ok(auth.canUse(admin, 'anything') && auth.can(admin, 'pipelines:write'), 'no lists: every model and scope');

  t.equal(code(() => new TokenAuth([{ token: 'short' }])), 'CONFIG', 'tokens shorter than 8 characters are refused');
  t.equal(code(() => new TokenAuth([{ token: 'long-enough', scopes: [] }])), 'CONFIG', 'an empty scope list is refused');
  t.equal(code(() => new TokenAuth([null as never])), 'CONFIG');

  const dir = mkdtempSync(join(tmpdir(), 'kit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ tokens: [{ token: 'file-token-1', models: ['*'] }] }));
  t.same(readTokenGrants(join(dir, 'a.json')), [{ token: 'file-token-1', models: ['*'] }], '{"tokens": [...]} form');
  writeFileSync(join(dir, 'b.json'), '{"token": 1}');
  t.equal(code(() => readTokenGrants(join(dir, 'b.json'))), 'CONFIG');
  t.equal(code(() => readTokenGrants(join(dir, 'missing.json'))), 'CONFIG');
});

t.test('status mapping', async (t) => {
  const cases: [string, number, number][] = [
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT, 400],
    ['INVALID_SOMETHING_NEW', status.INVALID_ARGUMENT, 400],
    ['NOT_FOUND', status.NOT_FOUND, 404],
    ['MODEL_NOT_FOUND', status.NOT_FOUND, 404],
    ['FAILED_PRECONDITION', status.FAILED_PRECONDITION, 400],
    ['CORRUPT', status.DATA_LOSS, 500],
    ['UNAVAILABLE', status.UNAVAILABLE, 503],
    ['UNAUTHENTICATED', status.UNAUTHENTICATED, 401],
    ['PERMISSION_DENIED', status.PERMISSION_DENIED, 403],
    ['CANCELLED', status.CANCELLED, 499],
    ['QUEUE_FULL', status.RESOURCE_EXHAUSTED, 429],
  ];
  for (const [c, grpc, http] of cases) {
    const s = toStatus(Object.assign(new Error(`m ${c}`), { code: c }));
    t.same([s.grpc, s.http, s.internal, s.message], [grpc, http, false, `m ${c}`], c);
  }
  const bug = toStatus(new TypeError('x is undefined'), 'id-1');
  t.same([bug.grpc, bug.http, bug.internal], [status.INTERNAL, 500, true], 'an error without a code is internal');
  t.notMatch(bug.message, /undefined/, 'and its message is hidden');
  t.match(bug.message, /id-1/, 'but names the error id');
});

t.test('quote never throws and stays short', async (t) => {
  fc.assert(
    fc.property(fc.anything({ maxDepth: 6 }), (v) => {
      const q = quote(v);
      return typeof q === 'string' && q.length < 400;
    }),
  );
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  t.equal(quote(deep), 'an array of 1 item');
  t.equal(quote('x'.repeat(10_000)).length < 200, true);
  t.equal(capMessage('y'.repeat(5000)).length < 1100, true);
});

t.test('TLS credentials from PEM files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  t.ok(grpcServerCredentials(undefined), 'insecure without TLS');
  t.ok(grpcServerCredentials(files)._isSecure(), 'secure with TLS');
  const https = httpsServerOptions({ ...files, caFile: files.certFile, requireClientCert: true });
  t.same([https.requestCert, https.rejectUnauthorized, Buffer.isBuffer(https.ca)], [true, true, true], 'mTLS options');
  t.equal(code(() => grpcServerCredentials({ ...files, requireClientCert: true })), 'CONFIG', 'mTLS without a CA is refused');
  t.equal(code(() => httpsServerOptions({ ...files, keyFile: join(dir, 'nope.pem') })), 'CONFIG', 'an unreadable key names the file');
});
