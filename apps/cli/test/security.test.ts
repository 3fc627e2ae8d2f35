// TLS, mTLS, certificates issued to another name, and bearer tokens, against real sidecars.
import t from 'tap';
import { exits, STACK } from './helpers/assertions.js';
import { makeCerts } from './helpers/certs.js';
import { genome } from './helpers/genome.js';
import { HOUSING, ROWS, housingSidecar } from './helpers/sidecar.js';

const explainArgs = ['explain', '--model', HOUSING, '--row', ROWS[0]!.join(','), '--output', 'csv'];

t.test('TLS and mTLS', async (t) => {
  const certs = makeCerts();
  t.teardown(() => certs.cleanup());

  t.test('TLS: --tls-ca trusts the server; without it the certificate is refused (exit 3)', async (t) => {
    const s = await housingSidecar({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey } });
    t.teardown(() => s.close(100));
    const addr = ['--address', `127.0.0.1:${s.grpcPort}`];
    const ok = await genome([...addr, '--tls-ca', certs.caFile, ...explainArgs]);
    exits(t, ok, 0, 'with --tls-ca');
    t.match(ok.stdout, /^row,output,base_value,/);
    t.equal(ok.stderr, '', 'no warnings on stderr');
    const byName = await genome(['--address', `localhost:${s.grpcPort}`, '--tls-ca', certs.caFile, 'health']);
    exits(t, byName, 0, 'by host name');
    const untrusted = await genome([...addr, '--tls', 'health']);
    exits(t, untrusted, 3, '--tls with the system roots only');
    t.match(untrusted.stderr, /^error: UNAVAILABLE: could not reach .*certificate.*add --tls-ca FILE with its CA\)\n$/);
    const plain = await genome([...addr, 'health']);
    exits(t, plain, 3, 'plaintext to a TLS server');
    t.match(plain.stderr, /if the server uses TLS, add --tls or --tls-ca FILE/);
  });

  t.test('a certificate issued to another name: --tls-server-name', async (t) => {
    const s = await housingSidecar({ tls: { certFile: certs.internalCert, keyFile: certs.internalKey } });
    t.teardown(() => s.close(100));
    const addr = ['--address', `127.0.0.1:${s.grpcPort}`, '--tls-ca', certs.caFile];
    const wrong = await genome([...addr, 'health']);
    exits(t, wrong, 3, 'name does not match');
    t.match(wrong.stderr, /add --tls-server-name NAME/);
    const named = await genome([...addr, '--tls-server-name', 'genome.internal', ...explainArgs]);
    exits(t, named, 0, 'with --tls-server-name genome.internal');
  });

  t.test('mTLS: the client certificate works; without it the TLS handshake is refused (exit 3)', async (t) => {
    const s = await housingSidecar({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile, requireClientCert: true } });
    t.teardown(() => s.close(100));
    const addr = ['--address', `127.0.0.1:${s.grpcPort}`, '--tls-ca', certs.caFile];
    const ok = await genome([...addr, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey, ...explainArgs]);
    exits(t, ok, 0, 'with --tls-cert/--tls-key');
    t.match(ok.stdout, /^row,output,base_value,/);
    const models = await genome([...addr, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey, 'models', '--json']);
    exits(t, models, 0, 'models over mTLS');
    // The server refuses the handshake (TLS alert "certificate required"), so no HTTP/2 connection, let alone a gRPC
    // call, is ever set up: grpc-js reports UNAVAILABLE "No connection established", i.e. unreachable, exit 3.
    const anon = await genome([...addr, ...explainArgs]);
    exits(t, anon, 3, 'without a client certificate');
    t.match(anon.stderr, /^error: UNAVAILABLE: could not reach .*certificate required.*add --tls-cert FILE --tls-key FILE\)\n$/);
    t.notMatch(anon.stderr, STACK);
    t.equal(anon.stdout, '');
  });
});

t.test('bearer tokens', async (t) => {
  const s = await housingSidecar({ authTokens: [{ token: 'cli-test-token-1', models: ['*'], subject: 'cli' }] });
  t.teardown(() => s.close(100));
  const addr = ['--address', `127.0.0.1:${s.grpcPort}`];
  const ok = await genome([...addr, '--token', 'cli-test-token-1', ...explainArgs]);
  exits(t, ok, 0, '--token');
  const env = await genome([...addr, 'models', '--json'], { env: { GENOME_TOKEN: 'cli-test-token-1' } });
  exits(t, env, 0, 'GENOME_TOKEN');
  t.same((JSON.parse(env.stdout) as { name: string }[]).map((m) => m.name), [HOUSING]);
  const none = await genome([...addr, ...explainArgs]);
  exits(t, none, 1, 'no token');
  t.match(none.stderr, /^error: UNAUTHENTICATED: missing bearer token/);
  const wrong = await genome([...addr, '--token', 'not-the-token', 'models']);
  exits(t, wrong, 1, 'an unknown token');
  t.match(wrong.stderr, /^error: UNAUTHENTICATED: unknown bearer token/);
  const healthy = await genome([...addr, 'health']);
  exits(t, healthy, 0, 'health needs no token');
});
