import t from 'tap';
import { chmod, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FsBlobStore, openFsBlobStore } from '../src/blobs/fs.js';
import { openBlobStore } from '../src/blobs/open.js';
import { blobStoreContract, expectError } from './helpers/blob-contract.js';
import { deterministicBytes, sha256Of } from './helpers/bytes.js';

const base = await mkdtemp(join(tmpdir(), 'genome-blobs-fs-'));
t.teardown(() => rm(base, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(base, `store-${n++}`);

async function countFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).length;
  } catch {
    return 0;
  }
}

t.test('contract: FsBlobStore', async (t) => {
  blobStoreContract<FsBlobStore>(t, {
    async fresh() {
      const dir = freshDir();
      return { store: await openFsBlobStore(dir), spec: dir };
    },
    async overwrite(store, sha256, bytes) {
      const path = store.blobPath(sha256);
      await chmod(path, 0o644); // blobs are written read-only
      await writeFile(path, bytes);
    },
    blobLocation: (store, sha256) => store.blobPath(sha256),
    leftovers: (store) => countFiles(store.tmpDir),
    propertyRuns: 60,
    streamMemoryBound: 16 * 1024 * 1024,
    timeResolutionMs: 10,
  });
});

t.test('layout: <root>/sha256/ab/cdef..., read-only files, temp files only under tmp/', async (t) => {
  const root = freshDir();
  const store = await openFsBlobStore(root);
  const bytes = Buffer.from('layout');
  const { sha256 } = await store.put(bytes);
  const path = join(root, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  t.equal(store.blobPath(sha256), path);
  t.equal((await stat(path)).size, bytes.byteLength);
  t.equal((await stat(path)).mode & 0o222, 0, 'no write permission bits');
  t.same(await readdir(join(root, 'sha256')), [sha256.slice(0, 2)]);
  t.same(await readdir(join(root, 'tmp')), []);
  t.equal(store.location, pathToFileURL(root).href);
  await store.close();
});

t.test('list() removes only temp files older than partialOlderThanMs, and ignores foreign files', async (t) => {
  const root = freshDir();
  const store = await openFsBlobStore(root, { partialOlderThanMs: 10 * 60_000 });
  const { sha256 } = await store.put(Buffer.from('kept'));
  const old = join(store.tmpDir, 'old.partial');
  const recent = join(store.tmpDir, 'recent.partial');
  await writeFile(old, 'abandoned');
  await writeFile(recent, 'in progress');
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(old, hourAgo, hourAgo);
  await writeFile(join(root, 'sha256', sha256.slice(0, 2), 'README'), 'not a blob');
  await writeFile(join(root, 'sha256', 'notes.txt'), 'not a fan-out directory');
  const listed = [];
  for await (const info of store.list()) listed.push(info.sha256);
  t.same(listed, [sha256], 'only the blob');
  t.same((await readdir(store.tmpDir)).sort(), ['recent.partial'], 'the old temp file was removed, the recent one kept');
  for await (const _ of store.list({ partialOlderThanMs: 0 })) void _;
  t.same(await readdir(store.tmpDir), []);
  await store.close();
});

t.test('a corrupted blob is moved aside to <root>/corrupt/ and the message says where', async (t) => {
  const root = freshDir();
  const store = await openFsBlobStore(root);
  const bytes = deterministicBytes('aside', 2048);
  const { sha256 } = await store.put(bytes);
  await chmod(store.blobPath(sha256), 0o644);
  await writeFile(store.blobPath(sha256), Buffer.alloc(2048));
  const err = await expectError(t, store.get(sha256, 'file genome.json'), 'CORRUPT', join(root, 'corrupt', sha256), 'file genome.json');
  const aside = await readdir(join(root, 'corrupt'));
  t.equal(aside.length, 1);
  t.ok(aside[0]!.startsWith(`${sha256}.`));
  t.ok(err?.message.includes(join(root, 'corrupt', aside[0]!)), 'names the quarantined file');
  await store.close();
});

t.test('a store on an unwritable path fails with UNAVAILABLE naming the path', async (t) => {
  const file = join(base, 'a-file');
  await writeFile(file, 'x');
  await expectError(t, openFsBlobStore(join(file, 'blobs')), 'UNAVAILABLE', join(file, 'blobs'));
  const store = new FsBlobStore(join(file, 'blobs'));
  await expectError(t, store.put(Buffer.from('x')), 'UNAVAILABLE', file);
  await expectError(t, store.stat(sha256Of(Buffer.from('x'))), 'UNAVAILABLE', file, 'not a directory');
  const absent = new FsBlobStore(join(base, 'not-created-yet'));
  t.equal(await absent.stat(sha256Of(Buffer.from('x'))), undefined, 'a root not created yet holds nothing');
  t.same(await absent.missing([sha256Of(Buffer.from('x'))]), [sha256Of(Buffer.from('x'))]);
});

t.test('openBlobStore: plain paths, relative paths and file:// URLs open a filesystem store', async (t) => {
  const root = freshDir();
  const a = await openBlobStore(root);
  t.ok(a instanceof FsBlobStore);
  t.equal(a.location, pathToFileURL(root).href);
  const put = await a.put(Buffer.from('shared'));
  const b = await openBlobStore(pathToFileURL(root).href);
  t.equal(b.location, a.location);
  t.ok(Buffer.from(await b.get(put.sha256)).equals(Buffer.from('shared')), 'same store through a file URL');
  const rel = await openBlobStore(relative(process.cwd(), root));
  t.notOk(isAbsolute(relative(process.cwd(), root)), 'a relative path');
  t.equal(rel.location, a.location);
  t.equal(await openBlobStore(a), a, 'a BlobStore object is returned as is');
  await expectError(t, openBlobStore('file://relative/path'), 'INVALID_ARGUMENT', 'file:///');
  await Promise.all([a.close(), b.close(), rel.close()]);
});
