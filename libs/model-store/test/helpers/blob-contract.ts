/**
 * The behaviour every `BlobStore` must show, as one tap suite run against each implementation (filesystem, S3 on a
 * real moto server): round trips, idempotent puts, refused mismatches, `missing`, `list`, `delete`, concurrent
 * writers in separate processes, corruption detection, a writer killed mid-upload, a big blob streamed both ways in
 * bounded memory, address validation, and a property test over random chunkings.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import type { Test } from 'tap';
import type { BlobInfo, BlobStore } from '../../src/blobs/blob-store.js';
import { ModelStoreError } from '../../src/errors.js';
import { chunked, collect, deterministicBytes, deterministicChunks, deterministicSha256, sha256Of } from './bytes.js';
import { startWriter } from './children.js';
import { expectError } from './expect-error.js';

const MiB = 1024 * 1024;

/** What the contract needs to know about one implementation. */
export interface BlobStoreHarness<S extends BlobStore> {
  /** A fresh, empty store, and the spec that opens the same store in another process (`openBlobStore(spec)`). */
  fresh(): Promise<{ store: S; spec: string }>;
  /** Replaces the stored bytes of a blob behind the store's back (a damaged disk or object). */
  overwrite(store: S, sha256: string, bytes: Uint8Array): Promise<void>;
  /** Where the store keeps a blob, as its CORRUPT message must name it (file path, s3:// URL). */
  blobLocation(store: S, sha256: string): string;
  /** Leftovers of uploads: temp files, temp objects, unfinished multipart uploads. */
  leftovers(store: S): Promise<number>;
  /** Runs of the property test. */
  propertyRuns: number;
  /** Most buffer memory a 64 MiB blob may hold at once while it is put from a stream or read with `stream()`. */
  streamMemoryBound: number;
  /** Resolution of the modification times the store reports (S3's LastModified: one second). */
  timeResolutionMs: number;
}

/** Live buffer memory: bytes held by ArrayBuffers and Buffers after full garbage collections. */
const liveBufferBytes = (() => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return (): number => {
    // V8 frees the memory of dead buffers on a background thread after a collection; the next collection first
    // waits for that, so two of them leave only live buffers counted (whatever the load on the machine).
    gc();
    gc();
    return process.memoryUsage().arrayBuffers;
  };
})();

export { expectError };

async function listAll(store: BlobStore, options?: { partialOlderThanMs?: number }): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const info of store.list(options)) out.push(info);
  return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
}

const WHAT = 'model "fraud" version 3, file model/model.onnx';

/** Registers the contract's subtests on `t`. */
export function blobStoreContract<S extends BlobStore>(t: Test, h: BlobStoreHarness<S>): void {
  const withStore = (name: string, fn: (t: Test, store: S, spec: string) => Promise<void>) =>
    t.test(name, async (t) => {
      const { store, spec } = await h.fresh();
      try {
        await fn(t, store, spec);
      } finally {
        await store.close();
      }
    });

  withStore('round trips: empty, small and multi-MiB blobs from buffers, Readables and async iterables', async (t, store) => {
    const big = deterministicBytes('big', 20 * MiB + 3);
    const big2 = deterministicBytes('big2', 9 * MiB - 1);
    const small = deterministicBytes('small', 1000);
    const cases: Array<{ name: string; bytes: Buffer; source: () => Uint8Array | Readable | AsyncIterable<Uint8Array>; existed: boolean }> = [
      { name: 'empty buffer', bytes: Buffer.alloc(0), source: () => new Uint8Array(0), existed: false },
      { name: 'empty Readable (existed)', bytes: Buffer.alloc(0), source: () => Readable.from([]), existed: true },
      { name: 'one byte, async generator', bytes: Buffer.from([7]), source: () => chunked(Buffer.from([7]), [1]), existed: false },
      { name: '1000 bytes, Readable of 3 chunks', bytes: small, source: () => Readable.from([small.subarray(0, 1), small.subarray(1, 999), small.subarray(999)]), existed: false },
      { name: '20 MiB, Readable of 1 MiB + 1 chunks', bytes: big, source: () => Readable.from(chunked(big, [MiB + 1])), existed: false },
      { name: '20 MiB, async generator of odd chunks (existed)', bytes: big, source: () => chunked(big, [1, 7, 65_537, 3 * MiB + 5]), existed: true },
      { name: '9 MiB - 1, one big chunk', bytes: big2, source: () => chunked(big2, [big2.byteLength]), existed: false },
      { name: '9 MiB - 1 buffer (existed)', bytes: big2, source: () => big2, existed: true },
    ];
    for (const c of cases) {
      const sha256 = sha256Of(c.bytes);
      const put = await store.put(c.source());
      t.same(put, { sha256, size: c.bytes.byteLength, existed: c.existed }, `${c.name}: put result`);
      t.ok(Buffer.from(await store.get(sha256, WHAT)).equals(c.bytes), `${c.name}: get gives the bytes back`);
      const streamed = await store.stream(sha256, WHAT);
      t.equal(streamed.size, c.bytes.byteLength, `${c.name}: stream size`);
      t.ok((await collect(streamed.chunks)).equals(c.bytes), `${c.name}: stream gives the bytes back`);
      t.equal((await store.stat(sha256))?.size, c.bytes.byteLength, `${c.name}: stat size`);
    }
    t.equal((await listAll(store)).length, 5, 'five distinct blobs');
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('a put of a blob already held touches it (existed, modification time moves forward), without rewriting', async (t, store) => {
    const bytes = deterministicBytes('touch', 4096);
    const big = deterministicBytes('touch-big', 12 * MiB);
    const first = await store.put(bytes);
    const bigFirst = await store.put(chunked(big, [MiB]));
    t.equal(first.existed, false);
    t.equal(bigFirst.existed, false);
    const t1 = (await store.stat(first.sha256))!.modifiedAt.getTime();
    const b1 = (await store.stat(bigFirst.sha256))!.modifiedAt.getTime();
    await sleep(h.timeResolutionMs + 100);
    t.same(await store.put(bytes), { ...first, existed: true }, 'buffer re-put: existed');
    t.same(await store.put(chunked(big, [MiB])), { ...bigFirst, existed: true }, 'stream re-put without expected hash: existed');
    const t2 = (await store.stat(first.sha256))!.modifiedAt.getTime();
    const b2 = (await store.stat(bigFirst.sha256))!.modifiedAt.getTime();
    t.ok(t2 > t1, `small blob touched (${t1} -> ${t2})`);
    t.ok(b2 > b1, `big blob touched (${b1} -> ${b2})`);

    await sleep(h.timeResolutionMs + 100);
    const readable = Readable.from(chunked(bytes, [100]));
    t.same(await store.put(readable, { sha256: first.sha256, size: bytes.byteLength }), { ...first, existed: true }, 'stream with expected hash: existed');
    t.ok(readable.destroyed, 'the source of a held blob is released without being read');
    t.ok((await store.stat(first.sha256))!.modifiedAt.getTime() > t2, 'touched again');
    t.ok(Buffer.from(await store.get(first.sha256)).equals(bytes), 'still the same bytes');
    t.equal((await listAll(store)).length, 2, 'still two blobs');
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('expected hash or size mismatches are refused with INVALID_ARGUMENT and store nothing', async (t, store) => {
    const small = deterministicBytes('mismatch', 5000);
    const big = deterministicBytes('mismatch-big', 18 * MiB);
    const other = sha256Of(Buffer.from('something else'));
    await expectError(t, store.put(small, { sha256: other }), 'INVALID_ARGUMENT', other, sha256Of(small), 'nothing was stored');
    await expectError(t, store.put(small, { size: 4999 }), 'INVALID_ARGUMENT', '4999 bytes', 'nothing was stored');
    await expectError(t, store.put(Readable.from([small]), { size: 5001 }), 'INVALID_ARGUMENT', '5001 bytes');
    await expectError(t, store.put(Readable.from([small]), { sha256: other, size: 5000 }), 'INVALID_ARGUMENT', other);
    await expectError(t, store.put(chunked(big, [MiB]), { sha256: other }), 'INVALID_ARGUMENT', other, sha256Of(big));
    await expectError(t, store.put(chunked(big, [MiB]), { size: 10 * MiB }), 'INVALID_ARGUMENT', `${10 * MiB} bytes`);
    await expectError(t, store.put(chunked(big, [MiB]), { size: big.byteLength + 1 }), 'INVALID_ARGUMENT');
    t.same(await store.missing([sha256Of(small), sha256Of(big)]), [sha256Of(small), sha256Of(big)], 'neither blob stored');
    t.same(await listAll(store, { partialOlderThanMs: 3_600_000 }), [], 'list is empty');
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('a put cancelled by its signal fails with CANCELLED and stores nothing', async (t, store) => {
    const big = deterministicBytes('cancel', 24 * MiB);
    const controller = new AbortController();
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < big.byteLength; i += MiB) {
        if (i >= 17 * MiB) controller.abort(new Error('caller gave up'));
        yield big.subarray(i, i + MiB);
      }
    }
    await expectError(t, store.put(source(), { signal: controller.signal }), 'CANCELLED', 'cancelled');
    const stalled = new AbortController();
    async function* stalling(): AsyncGenerator<Uint8Array> {
      yield big.subarray(0, MiB);
      await new Promise<never>(() => undefined); // never ends: only the signal can stop the put
    }
    setTimeout(() => stalled.abort(), 200);
    await expectError(t, store.put(stalling(), { signal: stalled.signal }), 'CANCELLED');
    await expectError(t, store.put(Buffer.from('x'), { signal: AbortSignal.abort() }), 'CANCELLED');
    t.same(await store.missing([sha256Of(big), sha256Of(Buffer.from('x'))]), [sha256Of(big), sha256Of(Buffer.from('x'))]);
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('missing() returns the absent addresses, once each, in order', async (t, store) => {
    const a = await store.put(Buffer.from('a'));
    const b = await store.put(Buffer.from('b'));
    const c = sha256Of(Buffer.from('c'));
    const d = sha256Of(Buffer.from('d'));
    t.same(await store.missing([a.sha256, c, b.sha256, c, d]), [c, d]);
    t.same(await store.missing([a.sha256, b.sha256]), []);
    t.same(await store.missing([]), []);
    const many = Array.from({ length: 100 }, (_, i) => sha256Of(Buffer.from(`absent ${i}`)));
    t.same(await store.missing([...many, a.sha256]), many, '100 addresses checked');
  });

  withStore('list() yields every blob with its size; delete() removes one, and is a no-op when absent', async (t, store) => {
    const blobs = ['one', 'two', 'three'].map((s) => deterministicBytes(s, 100 + s.length));
    const puts = [];
    for (const b of blobs) puts.push(await store.put(b));
    const listed = await listAll(store);
    t.same(
      listed.map((i) => ({ sha256: i.sha256, size: i.size })),
      puts.map((p) => ({ sha256: p.sha256, size: p.size })).sort((x, y) => x.sha256.localeCompare(y.sha256)),
    );
    t.ok(listed.every((i) => i.modifiedAt instanceof Date && Math.abs(i.modifiedAt.getTime() - Date.now()) < 120_000), 'modification times are recent');
    const gone = puts[1]!.sha256;
    await store.delete(gone);
    t.equal(await store.stat(gone), undefined, 'stat: absent');
    await expectError(t, store.get(gone, WHAT), 'NOT_FOUND', gone, WHAT, store.location);
    await expectError(t, store.stream(gone, WHAT), 'NOT_FOUND', gone, WHAT);
    await store.delete(gone);
    t.pass('a second delete does not throw');
    t.same((await listAll(store)).map((i) => i.sha256).sort(), [puts[0]!.sha256, puts[2]!.sha256].sort());
  });

  withStore('three processes putting the same bytes at once leave one good blob', async (t, store, spec) => {
    const size = 24 * MiB + 17;
    const bytes = deterministicBytes('concurrent', size);
    const sha256 = sha256Of(bytes);
    const writers = [0, 1, 2].map(() => startWriter({ spec, seed: 'concurrent', size, chunkBytes: MiB }));
    await Promise.all(writers.map((w) => w.waitFor(/^ready$/)));
    for (const w of writers) w.send('go');
    const exits = await Promise.all(writers.map((w) => w.exited));
    t.same(exits, writers.map(() => ({ code: 0, signal: null })), 'every writer succeeds', { output: writers.map((w) => w.lines.join('\n')) });
    for (const w of writers) {
      const line = w.lines.findLast((l) => l.startsWith('{')) ?? '{}';
      const last = JSON.parse(line) as { sha256?: string; size?: number };
      t.same({ sha256: last.sha256, size: last.size }, { sha256, size }, 'writer result');
    }
    t.ok(Buffer.from(await store.get(sha256, WHAT)).equals(bytes), 'the stored blob is good');
    t.same((await listAll(store)).map((i) => [i.sha256, i.size]), [[sha256, size]], 'exactly one blob');
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('a damaged blob is CORRUPT for get and for stream (at its end), naming it; a re-put repairs it', async (t, store) => {
    const bytes = deterministicBytes('corrupt', 3 * MiB + 5);
    const { sha256 } = await store.put(bytes);
    const damaged = Buffer.from(bytes);
    damaged[damaged.byteLength >> 1]! ^= 0x01;
    const where = h.blobLocation(store, sha256);

    await h.overwrite(store, sha256, damaged);
    await expectError(t, store.get(sha256, WHAT), 'CORRUPT', sha256, WHAT, where, /corrupted (on disk|in the bucket)/, /re-save the package/i, /restore/);
    t.equal(await store.stat(sha256), undefined, 'the damaged copy was moved aside');
    t.same(await store.put(bytes), { sha256, size: bytes.byteLength, existed: false }, 'a re-put stores the blob again');
    t.ok(Buffer.from(await store.get(sha256, WHAT)).equals(bytes), 'repaired');

    await h.overwrite(store, sha256, damaged);
    const { size, chunks } = await store.stream(sha256, WHAT);
    t.equal(size, bytes.byteLength);
    let delivered = 0;
    const iterate = (async () => {
      for await (const c of chunks) delivered += c.byteLength;
    })();
    await expectError(t, iterate, 'CORRUPT', sha256, WHAT, where, 'corrupted');
    t.equal(delivered, bytes.byteLength, 'the error comes after the last chunk');
    t.same(await store.put(chunked(bytes, [MiB])), { sha256, size: bytes.byteLength, existed: false }, 'repaired by a streamed re-put');

    const truncated = damaged.subarray(0, 1000);
    await h.overwrite(store, sha256, truncated);
    await expectError(t, store.get(sha256), 'CORRUPT', sha256, '1000 bytes');
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('a writer killed (SIGKILL) mid-upload leaves no blob; list() removes its leftovers', async (t, store, spec) => {
    const size = 64 * MiB;
    const sha256 = deterministicSha256('killed', size);
    const writer = startWriter({ spec, seed: 'killed', size, chunkBytes: MiB, pauseAfterBytes: 20 * MiB });
    await writer.waitFor(/^ready$/);
    writer.send('go');
    await writer.waitFor(/^paused$/);
    writer.child.kill('SIGKILL');
    t.same(await writer.exited, { code: null, signal: 'SIGKILL' }, 'killed');
    await expectError(t, store.get(sha256, WHAT), 'NOT_FOUND', sha256);
    t.same(await store.missing([sha256]), [sha256]);
    t.ok((await h.leftovers(store)) >= 1, 'the killed upload left something behind');
    t.same(await listAll(store), [], 'list (default age): no blob');
    t.ok((await h.leftovers(store)) >= 1, 'a recent leftover is kept (its writer may be alive)');
    t.same(await listAll(store, { partialOlderThanMs: 0 }), [], 'list (age 0): no blob');
    t.equal(await h.leftovers(store), 0, 'leftovers removed');
  });

  withStore('a 64 MiB blob is put from a stream and read with stream() in bounded memory', async (t, store) => {
    const size = 64 * MiB;
    const sha256 = deterministicSha256('streamed', size);
    const baseline = liveBufferBytes();
    // Peak live buffer memory, sampled every 16 MiB of bytes handed to the store or received from it.
    const every = 16 * MiB;
    let peak = 0;
    let bytesSeen = 0;
    const seen = (n: number) => {
      if (Math.floor(bytesSeen / every) !== Math.floor((bytesSeen + n) / every)) peak = Math.max(peak, liveBufferBytes() - baseline);
      bytesSeen += n;
    };
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const chunk of deterministicChunks('streamed', size, MiB)) {
        seen(chunk.byteLength);
        yield chunk;
      }
    }
    t.same(await store.put(source(), { size }), { sha256, size, existed: false }, 'put');
    const written = peak;
    peak = 0;
    bytesSeen = 0;
    const { size: streamedSize, chunks } = await store.stream(sha256, WHAT);
    t.equal(streamedSize, size, 'stream size');
    const hash = createHash('sha256');
    for await (const chunk of chunks) {
      hash.update(chunk);
      seen(chunk.byteLength);
    }
    t.same({ sha256: hash.digest('hex'), size: bytesSeen }, { sha256, size }, 'the streamed bytes are the blob');
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    t.ok(written < h.streamMemoryBound, `put held at most ${mib(written)} of buffers at once (bound ${mib(h.streamMemoryBound)})`);
    t.ok(peak < h.streamMemoryBound, `stream held at most ${mib(peak)} of buffers at once (bound ${mib(h.streamMemoryBound)})`);
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('malformed SHA-256 strings are INVALID_ARGUMENT everywhere', async (t, store) => {
    const good = sha256Of(Buffer.from('x'));
    const bad: unknown[] = ['', 'abc', good.toUpperCase(), 'g'.repeat(64), `sha256:${good}`, `${good}0`, ` ${good.slice(1)}`, `../${good.slice(3)}`, 42, null];
    for (const b of bad) {
      const s = b as string;
      await expectError(t, store.get(s), 'INVALID_ARGUMENT', '64 lower-case hex');
      await expectError(t, store.stream(s), 'INVALID_ARGUMENT');
      await expectError(t, store.stat(s), 'INVALID_ARGUMENT');
      await expectError(t, store.delete(s), 'INVALID_ARGUMENT');
      await expectError(t, store.missing([good, s]), 'INVALID_ARGUMENT', 'sha256s[1]');
      await expectError(t, store.put(Buffer.from('x'), { sha256: s }), 'INVALID_ARGUMENT', 'expected.sha256');
    }
    await expectError(t, store.put('not bytes' as unknown as Uint8Array), 'INVALID_ARGUMENT', 'Uint8Array');
    await expectError(t, store.put(Buffer.from('x'), { size: -1 }), 'INVALID_ARGUMENT', 'expected.size');
    t.same(await listAll(store), [], 'nothing stored');
  });

  withStore('property: any bytes cut into any chunks round-trip under their SHA-256', async (t, store) => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 5000 }),
        fc.array(fc.integer({ min: 1, max: 1200 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('readable', 'generator', 'buffer'),
        async (bytes, cuts, kind) => {
          const source = kind === 'buffer' ? bytes : kind === 'readable' ? Readable.from(chunked(bytes, cuts)) : chunked(bytes, cuts);
          const put = await store.put(source);
          const want = sha256Of(bytes);
          if (put.sha256 !== want || put.size !== bytes.byteLength) return false;
          const got = Buffer.from(await store.get(want));
          const streamed = await collect((await store.stream(want)).chunks);
          return got.equals(Buffer.from(bytes)) && streamed.equals(Buffer.from(bytes));
        },
      ),
      { numRuns: h.propertyRuns },
    );
    t.pass(`${h.propertyRuns} random round trips`);
    t.equal(await h.leftovers(store), 0, 'no upload leftovers');
  });

  withStore('a closed store refuses further calls', async (t, store) => {
    await store.close();
    await expectError(t, store.stat(sha256Of(Buffer.from('x'))), 'FAILED_PRECONDITION', 'closed');
  });
}
