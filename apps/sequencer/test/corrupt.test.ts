// A blob damaged on disk after it was stored: GetBlob ends with DATA_LOSS naming the blob and sends none of its
// bytes; the REST file download is a 500 naming the file, with no bytes; the damaged copy is moved aside, so the
// next read is NOT_FOUND, and re-uploading the package's file heals the store.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import * as g from './helpers/grpc.js';
import { blobPath, makePackage, packageFiles, scratch, sha256 } from './helpers/packages.js';
import { platform } from './helpers/server.js';
import { uploadGrpc } from './helpers/upload.js';

function damage(storeDir: string, sha: string, bytes: Buffer): void {
  const path = blobPath(storeDir, sha);
  chmodSync(path, 0o644);
  const bad = Buffer.from(bytes);
  bad[Math.floor(bad.length / 2)] ^= 0xff;
  writeFileSync(path, bad);
}

t.test('corrupted blobs are never served', async (t) => {
  const p = await platform(t);
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const pkg = makePackage(scratch(t), 'a');
  await uploadGrpc(c, pkg, { metadata: { canonicalName: 'housing' } });
  const files = packageFiles(pkg);
  const csv = files.find((f) => f.path === 'background.csv')!;
  const onnx = files.find((f) => f.path === 'model.onnx')!;

  damage(p.storeDir, csv.sha256, csv.bytes);
  const got = await g.getBlob(c, csv.sha256);
  t.equal(got.error?.code, status.DATA_LOSS, 'GetBlob: DATA_LOSS');
  t.match(got.error?.details, new RegExp(`blob sha256:${csv.sha256}.*corrupted`), 'naming the blob');
  t.equal(got.bytes.length, 0, 'no bytes served');
  t.equal((await g.getBlob(c, csv.sha256)).error?.code, status.NOT_FOUND, 'the damaged copy was moved aside: NOT_FOUND now');

  damage(p.storeDir, onnx.sha256, onnx.bytes);
  const r = await fetch(`${p.rest}/models/housing/versions/1/files/model.onnx`);
  t.equal(r.status, 500, 'REST file download: 500');
  const body = (await r.json()) as { error: string };
  t.match(body.error, /file "model\.onnx" of housing\/1/, 'naming the file and the version');
  t.match(body.error, /corrupted/);
  t.notOk(r.headers.get('x-genome-sha256'), 'an error answer, not the file');

  // Re-uploading the files heals the store.
  for (const f of [csv, onnx]) t.equal((await g.putBlob(c, f.bytes, { sha256: f.sha256 })).existed, false, `${f.path} stored again`);
  t.equal(sha256((await g.getBlob(c, csv.sha256)).bytes), csv.sha256, 'GetBlob serves the good copy');
  const ok = await fetch(`${p.rest}/models/housing/versions/1/files/model.onnx`);
  t.equal(sha256(Buffer.from(await ok.arrayBuffer())), onnx.sha256, 'REST serves the good copy');
});

t.test('a large corrupted blob never arrives complete', async (t) => {
  const p = await platform(t);
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const pkg = makePackage(scratch(t), 'big');
  const big = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  writeFileSync(join(pkg, 'data.bin'), big);
  await uploadGrpc(c, pkg, { metadata: { canonicalName: 'big' } });
  const sha = sha256(big);
  const good = await g.getBlob(c, sha);
  t.equal(good.error, null, 'the intact blob streams');
  t.ok(good.messages.length > 1, `in ${good.messages.length} messages`);
  t.equal(sha256(good.bytes), sha, 'whole and verified');

  damage(p.storeDir, sha, big);
  const bad = await g.getBlob(c, sha);
  t.equal(bad.error?.code, status.DATA_LOSS, 'gRPC: the stream ends with DATA_LOSS');
  t.ok(bad.bytes.length < big.length, `only ${bad.bytes.length} of ${big.length} bytes arrived: never the whole blob`);

  t.equal((await g.putBlob(c, big, { sha256: sha })).existed, false, 'stored again after the damaged copy was moved aside');
  damage(p.storeDir, sha, big);
  const r = await fetch(`${p.rest}/models/big/versions/1/files/data.bin`);
  t.equal(r.status, 200, 'REST: the status line went out before the damage showed');
  await t.rejects(r.arrayBuffer(), 'but the connection is cut before the last chunk: the body never completes');
});

t.test('an upload whose bytes do not match its header is refused and stores nothing', async (t) => {
  const p = await platform(t);
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const bytes = Buffer.from('hello world\n');
  const e = await g.grpcError(g.putBlob(c, bytes, { sha256: sha256('something else') }));
  t.equal(e.code, status.INVALID_ARGUMENT, 'wrong SHA-256: INVALID_ARGUMENT');
  const e2 = await g.grpcError(g.putBlob(c, bytes, { sha256: sha256(bytes), size: 5 }));
  t.equal(e2.code, status.INVALID_ARGUMENT, 'more bytes than declared: INVALID_ARGUMENT');
  t.match(e2.details, /declared size of 5/);
  t.same((await g.missingBlobs(c, { sha256: [sha256(bytes)] })).missing, [sha256(bytes)], 'nothing stored');
  const r = await fetch(`${p.rest}/blobs/${sha256('other')}`, { method: 'PUT', body: bytes });
  t.equal(r.status, 400, 'REST: 400');
  t.match(((await r.json()) as { error: string }).error, /sha256|SHA-256/);
});
