// TLS and mTLS on both ports, with certificates made at test time by the openssl CLI.
import { request } from 'node:https';
import t from 'tap';
import { credentials, status } from '@grpc/grpc-js';
import { client, explainCall, grpcError } from './helpers/client.js';
import { makeCerts } from '../../../tools/test-certs.js';
import { linearSetup } from './helpers/linear.js';
import { sidecar } from './helpers/sidecar.js';

const one = { rows: [{ values: [1, 2, 3] }], featureNames: [] as string[], values: [] as number[] };

function httpsGet(port: number, path: string, opts: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: opts.ca, cert: opts.cert, key: opts.key, servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('TLS and mTLS', async (t) => {
  const certs = makeCerts('sidecar-certs-');
  t.teardown(() => certs.cleanup());
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const ca = certs.read(certs.caFile);

  t.test('TLS: encrypted channel, plaintext refused', async (t) => {
    const s = await sidecar({ models: [lin.spec], tls: { certFile: certs.serverCert, keyFile: certs.serverKey } });
    t.teardown(() => s.close(100));
    const c = client(s.grpcPort, credentials.createSsl(ca));
    t.teardown(() => c.close());
    t.same((await explainCall(c, { methodName: 'kernel_shap', tabular: one })).shape, [1, 3, 1], 'TLS call works');
    const plain = client(s.grpcPort);
    t.teardown(() => plain.close());
    t.equal((await grpcError(explainCall(plain, { methodName: 'kernel_shap', tabular: one }, { deadlineMs: 3000 }))).code, status.UNAVAILABLE, 'plaintext client cannot talk to a TLS port');
    t.equal(await httpsGet(s.httpPort, '/v2/health/ready', { ca }), 200, 'REST over https');
  });

  t.test('mTLS: client certificate from the configured CA required', async (t) => {
    const s = await sidecar({ models: [lin.spec], tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile, requireClientCert: true } });
    t.teardown(() => s.close(100));
    const good = client(s.grpcPort, credentials.createSsl(ca, certs.read(certs.clientKey), certs.read(certs.clientCert)));
    t.teardown(() => good.close());
    t.same((await explainCall(good, { methodName: 'kernel_shap', tabular: one })).shape, [1, 3, 1], 'client with a CA-signed certificate');
    const anon = client(s.grpcPort, credentials.createSsl(ca));
    t.teardown(() => anon.close());
    t.equal((await grpcError(explainCall(anon, { methodName: 'kernel_shap', tabular: one }, { deadlineMs: 3000 }))).code, status.UNAVAILABLE, 'client without a certificate is rejected');
    const stranger = client(s.grpcPort, credentials.createSsl(ca, certs.read(certs.strangerKey), certs.read(certs.strangerCert)));
    t.teardown(() => stranger.close());
    t.equal((await grpcError(explainCall(stranger, { methodName: 'kernel_shap', tabular: one }, { deadlineMs: 3000 }))).code, status.UNAVAILABLE, 'certificate from another CA is rejected');
    t.equal(await httpsGet(s.httpPort, '/v2/health/live', { ca, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) }), 200, 'REST with a client certificate');
    await t.rejects(httpsGet(s.httpPort, '/v2/health/live', { ca }), 'REST without a client certificate is rejected');
  });

  t.test('mTLS without a CA is a configuration error', async (t) => {
    await t.rejects(sidecar({ models: [lin.spec], tls: { certFile: certs.serverCert, keyFile: certs.serverKey, requireClientCert: true } }), /mTLS \(require client certificates\) needs a CA file \(--tls-ca\)/);
  });
});
