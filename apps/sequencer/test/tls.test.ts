// TLS and mTLS on both ports, with certificates made at test time by the openssl CLI.
import { request } from 'node:https';
import t from 'tap';
import { credentials, status } from '@grpc/grpc-js';
import { makeCerts } from '../../../tools/test-certs.js';
import * as g from './helpers/grpc.js';
import { platform } from './helpers/server.js';

function httpsGet(port: number, path: string, opts: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: opts.ca, cert: opts.cert, key: opts.key, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('TLS and mTLS', async (t) => {
  const certs = makeCerts('platform-certs-');
  t.teardown(() => certs.cleanup());
  const ca = certs.read(certs.caFile);
  const opts = { 'grpc.ssl_target_name_override': 'localhost' };

  t.test('TLS: encrypted channel, plaintext refused', async (t) => {
    const p = await platform(t, { tls: { certFile: certs.serverCert, keyFile: certs.serverKey } });
    const c = g.client(p.grpcPort, credentials.createSsl(ca), opts);
    t.teardown(() => c.close());
    t.same((await g.listModels(c, {})).models, [], 'TLS call works');
    const plain = g.client(p.grpcPort);
    t.teardown(() => plain.close());
    t.equal((await g.grpcError(g.listModels(plain, {}, { deadlineMs: 3000 }))).code, status.UNAVAILABLE, 'a plaintext client cannot talk to a TLS port');
    const r = await httpsGet(p.httpPort, '/v1.0/genome/modelstore/models', { ca });
    t.equal(r.status, 200, 'REST over https');
    t.same(JSON.parse(r.body), { models: [] });
  });

  t.test('mTLS: a client certificate from the configured CA is required', async (t) => {
    const p = await platform(t, { tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile, requireClientCert: true } });
    const good = g.client(p.grpcPort, credentials.createSsl(ca, certs.read(certs.clientKey), certs.read(certs.clientCert)), opts);
    t.teardown(() => good.close());
    t.same((await g.listModels(good, {})).models, [], 'a client with a CA-signed certificate');
    const anon = g.client(p.grpcPort, credentials.createSsl(ca), opts);
    t.teardown(() => anon.close());
    t.equal((await g.grpcError(g.listModels(anon, {}, { deadlineMs: 3000 }))).code, status.UNAVAILABLE, 'a client without a certificate is refused');
    const stranger = g.client(p.grpcPort, credentials.createSsl(ca, certs.read(certs.strangerKey), certs.read(certs.strangerCert)), opts);
    t.teardown(() => stranger.close());
    t.equal((await g.grpcError(g.listModels(stranger, {}, { deadlineMs: 3000 }))).code, status.UNAVAILABLE, 'a certificate from another CA is refused');
    t.equal((await httpsGet(p.httpPort, '/v1.0/genome/modelstore/models', { ca, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) })).status, 200, 'REST with a client certificate');
    await t.rejects(httpsGet(p.httpPort, '/v2/health/live', { ca }), 'REST without a client certificate is refused');
  });

  t.test('configuration errors', async (t) => {
    await t.rejects(platform(t, { tls: { certFile: certs.serverCert, keyFile: certs.serverKey, requireClientCert: true } }), /mTLS \(require client certificates\) needs a CA file/);
    await t.rejects(platform(t, { tls: { certFile: '/nonexistent/cert.pem', keyFile: certs.serverKey } }), /cannot read TLS certificate \/nonexistent\/cert\.pem/);
  });
});
