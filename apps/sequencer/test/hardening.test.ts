// Limits and lifetimes: a REST upload that stalls ends at its deadline with 504; a blob over --max-blob-bytes is
// refused before a byte is stored; a gRPC call past its deadline is DEADLINE_EXCEEDED; and close() drains: readiness
// 503, health NOT_SERVING, watches end with UNAVAILABLE, new calls are refused.
import { connect } from 'node:net';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import * as g from './helpers/grpc.js';
import { sha256 } from './helpers/packages.js';
import { platform } from './helpers/server.js';
import { healthCheck } from '../../../tools/test-std-clients.js';

/** Sends `head` and part of a body, then waits for the status line (or the connection's end). */
function partialUpload(port: number, path: string, declared: number, sent: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${declared}\r\n\r\n`);
      s.write(sent);
    });
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('close', () => resolve(got || 'closed'));
    s.on('error', () => resolve('error'));
  });
}

t.test('deadlines and limits', async (t) => {
  const p = await platform(t, { transferDeadlineMs: 500, maxBlobBytes: 1000 });
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const t0 = Date.now();
  const answer = await partialUpload(p.httpPort, `/v1.0/genome/modelstore/blobs/${'a'.repeat(64)}`, 100, Buffer.alloc(10));
  t.match(answer, /^HTTP\/1\.1 504/, 'a stalled REST upload ends with 504 at the transfer deadline');
  t.match(answer, /deadline exceeded/);
  t.ok(Date.now() - t0 < 3000, 'promptly');

  const big = Buffer.alloc(2000, 1);
  const r = await fetch(`${p.rest}/blobs/${sha256(big)}`, { method: 'PUT', body: big });
  t.equal(r.status, 429, 'a blob over --max-blob-bytes: RESOURCE_EXHAUSTED (429)');
  t.match(((await r.json()) as { error: string }).error, /--max-blob-bytes/);
  const e = await g.grpcError(g.putBlob(c, big, { sha256: sha256(big) }));
  t.equal(e.code, status.RESOURCE_EXHAUSTED, 'gRPC: RESOURCE_EXHAUSTED');
  t.same((await g.missingBlobs(c, { sha256: [sha256(big)] })).missing, [sha256(big)], 'nothing stored');

  const late = await g.grpcError(g.putBlob(c, Buffer.alloc(10), { sha256: sha256(Buffer.alloc(10)), size: 100 }));
  t.equal(late.code, status.INVALID_ARGUMENT, 'gRPC upload with fewer bytes than declared: INVALID_ARGUMENT');
});

t.test('close() drains', async (t) => {
  const p = await platform(t, { watchPollMs: 20 });
  const c = g.client(p.grpcPort);
  t.teardown(() => c.close());
  const w = g.watchEvents(c, 0, 1000);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(p.inFlight(), 1, 'the watch is in flight');
  const keepAlive = await fetch(`http://127.0.0.1:${p.httpPort}/v2/health/ready`);
  t.equal(keepAlive.status, 200, 'ready before');
  const closing = p.close(5000);
  const ended = await w.ended;
  t.equal(ended?.code, status.UNAVAILABLE, 'the watch ends with UNAVAILABLE');
  t.match(ended?.details, /since_seq=0/);
  const fresh = g.client(p.grpcPort);
  t.teardown(() => fresh.close());
  const refused = await g.grpcError(g.listModels(fresh, {}, { deadlineMs: 2000 }));
  t.equal(refused.code, status.UNAVAILABLE, 'a new call after close(): UNAVAILABLE');
  await closing;
  t.equal(p.inFlight(), 0, 'nothing in flight after the drain');
  await t.rejects(healthCheck(p.grpcPort, ''), 'the port is closed');
});
