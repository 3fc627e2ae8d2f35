// The real CLI (`genome-platform`, src/main.ts) as a child process: configuration from flags and env, the start
// banner, a call over each transport, and SIGTERM while calls are in flight: health turns NOT_SERVING, an upload in
// flight completes, a watch ends with UNAVAILABLE telling where to resume, new calls are refused, and the process
// exits 0.
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { loadConfig } from '../src/index.js';
import * as g from './helpers/grpc.js';
import { makePackage, packageFiles, scratch } from './helpers/packages.js';
import { startPlatformProcess } from './helpers/process.js';
import { uploadGrpc } from './helpers/upload.js';

t.test('config: flags > env > defaults', async (t) => {
  const c = loadConfig(['--grpc-port', '1111', '--store-blobs', 's3://bucket/p'], { GENOME_PLATFORM_GRPC_PORT: '2222', GENOME_PLATFORM_HTTP_PORT: '3333', GENOME_STORE_DIR: '/srv/store', GENOME_STORE_METADATA: 'postgres://db/genome' });
  t.equal(c.grpcPort, 1111, 'flag beats env');
  t.equal(c.httpPort, 3333, 'env beats default');
  t.same(c.store, { dir: '/srv/store', metadata: 'postgres://db/genome', blobs: 's3://bucket/p' }, 'store connection from env and flags');
  t.equal(loadConfig([], {}).grpcPort, 7070, 'default gRPC port');
  t.throws(() => loadConfig(['--grpc-port', 'x'], {}), /--grpc-port must be an integer/);
  t.throws(() => loadConfig(['--nope'], {}), /unknown option --nope/);
  t.throws(() => loadConfig(['--tls-cert', 'a.pem'], {}), /TLS needs both --tls-cert and --tls-key/);
  t.throws(() => loadConfig(['--tokens', '/nonexistent/tokens.json'], {}), /cannot read auth tokens file/);
  const m = loadConfig(['--tls-cert', 'a.pem', '--tls-key', 'k.pem', '--tls-client-ca', 'ca.pem'], {});
  t.match(m.tls, { requireClientCert: true }, '--tls-client-ca turns mTLS on');
});

t.test('CLI: banner, calls, SIGTERM drains', async (t) => {
  const dir = scratch(t);
  const log = join(dir, 'platform.log');
  const proc = await startPlatformProcess(
    ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--shutdown-grace-ms', '10000', '--watch-poll-ms', '50'],
    { GENOME_STORE_DIR: join(dir, 'store') },
    log,
  );
  t.teardown(() => proc.kill());
  const out = proc.tail(60).join('\n');
  t.match(out, /Genome platform server is up/, 'banner');
  t.match(out, new RegExp(`grpcurl -plaintext 127\\.0\\.0\\.1:${proc.grpcPort} list genome\\.store\\.v1\\.ModelStore`), 'a grpcurl line for the real port');
  t.match(out, new RegExp(`curl -s http://127\\.0\\.0\\.1:${proc.httpPort}/v1\\.0/genome/modelstore/models`), 'a curl line for the real port');
  t.match(out, new RegExp(`metadata sqlite://${join(dir, 'store')}/metadata\\.sqlite`), 'the store from GENOME_STORE_DIR');

  const c = g.client(proc.grpcPort);
  t.teardown(() => c.close());
  const pkg = makePackage(dir, 'a');
  await uploadGrpc(c, pkg, { metadata: { canonicalName: 'housing' } });
  const listed = await fetch(`http://127.0.0.1:${proc.httpPort}/v1.0/genome/modelstore/models`);
  t.same(((await listed.json()) as { models: { name: string }[] }).models.map((m) => m.name), ['housing'], 'REST answers');

  // In flight at SIGTERM: a watch, and an upload whose last chunk comes after the signal.
  const watch = g.watchEvents(c, 0, 1000);
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const { createHash } = await import('node:crypto');
  const bigSha = createHash('sha256').update(big).digest('hex');
  const upload = new Promise<{ existed: boolean }>((resolve, reject) => {
    const call = c.putBlob(g.md({}), {}, (err, res) => (err ? reject(err) : resolve(res!)));
    call.write({ header: { sha256: bigSha, size: big.length } });
    call.write({ chunk: big.subarray(0, 1024 * 1024) });
    setTimeout(() => {
      proc.child.kill('SIGTERM');
      setTimeout(() => {
        call.write({ chunk: big.subarray(1024 * 1024) });
        call.end();
      }, 300);
    }, 200);
  });
  const put = await upload;
  t.equal(put.existed, false, 'the upload in flight at SIGTERM completed');
  const ended = await watch.ended;
  t.equal(ended?.code, status.UNAVAILABLE, 'the watch ended with UNAVAILABLE');
  t.match(ended?.details, /shutting down; watch again .* with since_seq=\d+/, 'saying where to resume');
  t.equal(await proc.exited, 0, 'exit code 0 after the drain');
  const text = proc.tail(200).join('\n');
  t.match(text, /"msg":"shutting down: draining in-flight calls"/);
  t.match(text, /"msg":"platform stopped"/);
  t.equal(packageFiles(pkg).length, 3);
});
