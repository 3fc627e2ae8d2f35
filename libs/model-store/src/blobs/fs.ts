/**
 * {@link FsBlobStore}: content-addressed blobs on the local filesystem.
 *
 * Layout, under the store's root:
 * - `sha256/ab/cdef...`: the blob whose SHA-256 is `abcdef...` (two hex digits of fan-out, then the other 62), read-only;
 * - `tmp/<uuid>.partial`: uploads in progress; a writer killed mid-upload leaves one behind, which `list()` removes
 *   once it is older than `partialOlderThanMs`;
 * - `corrupt/<sha256>.<time>`: blob files found damaged by a read, moved aside so that a re-save stores them again
 *   (kept for inspection; remove them by hand).
 *
 * A put streams into a temp file while hashing, fsyncs it, checks the expected hash and size, then renames it into
 * place: a reader sees a whole, verified blob or none, and two processes putting the same bytes at once both succeed
 * (the second rename replaces an identical file). Every read hashes the bytes again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelStoreError } from '../errors.js';
import { assertAgeMs, assertSha256, describeBlob } from './address.js';
import { DEFAULT_PARTIAL_OLDER_THAN_MS } from './blob-store.js';
import type { BlobInfo, BlobSource, BlobStore, PutBlobResult } from './blob-store.js';
import { releaseSource, sourceChunks } from './chunks.js';
import { absentOf } from './concurrency.js';
import { checkPutArguments, checkPutExpectations, sourceTooLongError } from './expectations.js';
import type { PutExpectations } from './expectations.js';
import { sha256Hex, verifyBytes, verifyingChunks } from './verify.js';
import type { BlobPlace } from './verify.js';
import { makeDirs } from '../files/make-dirs.js';

/** Options of {@link FsBlobStore}. */
export interface FsBlobStoreOptions {
  /** `list()` removes temp files of abandoned uploads older than this (default one hour). */
  partialOlderThanMs?: number;
  /** Bytes per chunk handed out by `stream()` (default 1 MiB). */
  readChunkBytes?: number;
}

const FAN_OUT = /^[0-9a-f]{2}$/;
const REST = /^[0-9a-f]{62}$/;
const PARTIAL = /\.partial$/;

/** What identifies the file a read saw (a rename into place makes a new inode). */
type FileIdentity = Pick<Stats, 'dev' | 'ino'>;

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as NodeJS.ErrnoException).code === 'string'
    ? (err as NodeJS.ErrnoException).code
    : undefined;
}

/** Maps a filesystem error to UNAVAILABLE (or passes a ModelStoreError through). */
function fsError(err: unknown, doing: string, path: string): ModelStoreError {
  if (err instanceof ModelStoreError) return err;
  const code = errnoOf(err);
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? ' The disk is full: free space or move the store to a larger volume.'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? ' Check that the process may write to the store directory (owner, permissions, read-only mount).'
        : '';
  const detail = err instanceof Error ? err.message : String(err);
  return new ModelStoreError('UNAVAILABLE', `Could not ${doing} ${path}: ${detail}.${hint}`, { cause: err });
}

/** Writes all of `bytes` (a single `write` may write fewer bytes than asked). */
async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/**
 * Reads a whole file into one buffer with large reads (`FileHandle.readFile` reads in small pieces and is several
 * times slower on big files); copes with a file that is longer or shorter than `sizeHint`.
 */
async function readWhole(fh: FileHandle, sizeHint: number): Promise<Buffer> {
  let buffer = Buffer.allocUnsafe(Math.max(sizeHint, 1));
  let length = 0;
  for (;;) {
    if (length === buffer.byteLength) {
      const grown = Buffer.allocUnsafe(buffer.byteLength * 2);
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const { bytesRead } = await fh.read(buffer, length, Math.min(buffer.byteLength - length, 16 * 1024 * 1024), length);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

/** Flushes a directory entry (the rename) to disk; best effort, some filesystems refuse to open directories. */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Not all platforms allow fsync on a directory; the rename is still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Content-addressed blobs in a directory of the local filesystem. See the module comment for the layout. */
export class FsBlobStore implements BlobStore {
  /** The store's root directory (absolute). */
  readonly root: string;
  /** `file:///...` URL of the root. */
  readonly location: string;
  private readonly partialOlderThanMs: number;
  private readonly readChunkBytes: number;
  private closed = false;
  private tmpReady: Promise<void> | undefined;

  /** `root` may be relative (resolved against the working directory); directories are created on the first put. */
  constructor(root: string, options: FsBlobStoreOptions = {}) {
    if (typeof root !== 'string' || root.length === 0) {
      throw new ModelStoreError('INVALID_ARGUMENT', 'The blob store root must be a non-empty directory path.');
    }
    this.root = resolve(root);
    this.location = pathToFileURL(this.root).href;
    this.partialOlderThanMs = assertAgeMs(options.partialOlderThanMs ?? DEFAULT_PARTIAL_OLDER_THAN_MS);
    this.readChunkBytes = options.readChunkBytes ?? 1024 * 1024;
    if (!(Number.isSafeInteger(this.readChunkBytes) && this.readChunkBytes > 0)) {
      throw new ModelStoreError('INVALID_ARGUMENT', 'readChunkBytes must be a positive integer.');
    }
  }

  /** Path of the file that holds (or would hold) a blob: `<root>/sha256/ab/cdef...`. */
  blobPath(sha256: string): string {
    assertSha256(sha256);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  }

  /** Directory of in-progress uploads. */
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  /** Where a blob was read from; `read` (the file's identity when it was read) lets a damaged copy be moved aside. */
  private place(sha256: string, read?: FileIdentity): BlobPlace {
    return { medium: 'on disk', at: this.blobPath(sha256), thing: 'the file', quarantine: read ? () => this.quarantine(sha256, read) : undefined };
  }

  /**
   * Moves a damaged blob file to `<root>/corrupt/<sha256>.<time>` when it is still the file that was read (a
   * concurrent put may have replaced it with good bytes already). Returns the new path, or undefined.
   */
  private async quarantine(sha256: string, read: FileIdentity): Promise<string | undefined> {
    const path = this.blobPath(sha256);
    const now = await stat(path).catch(() => undefined);
    if (!now || now.ino !== read.ino || now.dev !== read.dev) return undefined;
    const dir = join(this.root, 'corrupt');
    await makeDirs(dir);
    const dest = join(dir, `${sha256}.${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await rename(path, dest);
    return dest;
  }

  private assertOpen(): void {
    if (this.closed) throw new ModelStoreError('FAILED_PRECONDITION', `The blob store ${this.location} is closed; open a new one.`);
  }

  private notFound(sha256: string, what: string | undefined): ModelStoreError {
    return new ModelStoreError(
      'NOT_FOUND',
      `The ${describeBlob(sha256, what)} is not in the blob store ${this.location} (no file ${this.blobPath(sha256)}). ` +
        'Re-save the package that holds it, or restore the file from a backup.',
    );
  }

  async put(source: BlobSource, expected: PutExpectations = {}): Promise<PutBlobResult> {
    this.assertOpen();
    checkPutArguments(source, expected);
    if (source instanceof Uint8Array) {
      const sha256 = sha256Hex(source);
      checkPutExpectations(expected, sha256, source.byteLength);
      const touched = await this.touchIfHeld(sha256, source.byteLength);
      if (touched) return touched;
    } else if (expected.sha256 !== undefined) {
      // Known address already held (with the expected size): touch it, do not read the source at all.
      const touched = await this.touchIfHeld(expected.sha256, expected.size);
      if (touched) {
        releaseSource(source);
        return touched;
      }
    }
    return this.write(source, expected);
  }

  /**
   * Touches a held blob (mtime = now) and returns its put result; undefined when absent or when its size differs from
   * `size` (a damaged copy, which the caller then rewrites).
   */
  private async touchIfHeld(sha256: string, size: number | undefined): Promise<PutBlobResult | undefined> {
    const path = this.blobPath(sha256);
    try {
      const st = await stat(path);
      if (size !== undefined && st.size !== size) return undefined;
      const now = new Date();
      await utimes(path, now, now);
      return { sha256, size: st.size, existed: true };
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined; // absent, or deleted (by a GC) between stat and utimes
      throw fsError(err, 'touch the blob file', path);
    }
  }

  private async write(source: BlobSource, expected: PutExpectations): Promise<PutBlobResult> {
    this.tmpReady ??= makeDirs(this.tmpDir).then(() => undefined);
    try {
      await this.tmpReady;
    } catch (err) {
      this.tmpReady = undefined;
      throw fsError(err, 'create the directory', this.tmpDir);
    }
    const tmp = join(this.tmpDir, `${randomUUID()}.partial`);
    let fh: FileHandle | undefined;
    let sha256: string;
    let size = 0;
    try {
      fh = await open(tmp, 'wx', 0o444);
      const hash = createHash('sha256');
      for await (const chunk of sourceChunks(source, expected.signal, 'Storing a blob')) {
        hash.update(chunk);
        size += chunk.byteLength;
        // Longer than expected: refuse now rather than read (and write) the rest.
        if (expected.size !== undefined && size > expected.size) throw sourceTooLongError(expected.size);
        await writeAll(fh, chunk);
      }
      sha256 = hash.digest('hex');
      await fh.sync();
      await fh.close();
      fh = undefined;
      checkPutExpectations(expected, sha256, size);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw fsError(err, 'write the temp file', tmp);
    }

    const final = this.blobPath(sha256);
    try {
      // Another writer may have stored the same bytes meanwhile: touch its copy rather than replace it.
      const touched = await this.touchIfHeld(sha256, size);
      if (touched) {
        await unlink(tmp).catch(() => undefined);
        return touched;
      }
      const dir = dirname(final);
      await makeDirs(dir);
      await rename(tmp, final);
      await syncDirectory(dir);
      return { sha256, size, existed: false };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (errnoOf(err) === 'ENOENT') {
        throw new ModelStoreError(
          'UNAVAILABLE',
          `The temp file ${tmp} of a blob upload disappeared before it was moved to ${final} (a cleanup with a too short ` +
            'partialOlderThanMs ran at the same time?); retry the put.',
          { cause: err },
        );
      }
      throw fsError(err, 'move the blob into place at', final);
    }
  }

  async get(sha256: string, what?: string): Promise<Uint8Array> {
    this.assertOpen();
    assertSha256(sha256);
    const path = this.blobPath(sha256);
    let bytes: Buffer;
    let read: FileIdentity;
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      read = st;
      bytes = await readWhole(fh, st.size);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw this.notFound(sha256, what);
      throw fsError(err, 'read the blob file', path);
    } finally {
      await fh?.close().catch(() => undefined);
    }
    return verifyBytes(bytes, sha256, what, this.place(sha256, read));
  }

  async stream(sha256: string, what?: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> }> {
    this.assertOpen();
    assertSha256(sha256);
    const path = this.blobPath(sha256);
    let read: Stats;
    try {
      read = await stat(path);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw this.notFound(sha256, what);
      throw fsError(err, 'read the blob file', path);
    }
    const readChunks = async function* (this: FsBlobStore): AsyncGenerator<Uint8Array> {
      // Opened lazily, so that a stream never iterated holds no file descriptor.
      const file = createReadStream(path, { highWaterMark: this.readChunkBytes });
      try {
        for await (const chunk of file) yield chunk as Buffer;
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') throw this.notFound(sha256, what);
        throw fsError(err, 'read the blob file', path);
      } finally {
        file.destroy();
      }
    }.call(this);
    return { size: read.size, chunks: verifyingChunks(readChunks, sha256, what, this.place(sha256, read)) };
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    this.assertOpen();
    assertSha256(sha256);
    const path = this.blobPath(sha256);
    try {
      const st = await stat(path);
      return { sha256, size: st.size, modifiedAt: st.mtime };
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw fsError(err, 'check the blob file', path);
    }
  }

  async missing(sha256s: readonly string[]): Promise<string[]> {
    this.assertOpen();
    return absentOf(sha256s, 32, async (s) => (await this.stat(s)) !== undefined);
  }

  async *list(options: { partialOlderThanMs?: number } = {}): AsyncIterable<BlobInfo> {
    this.assertOpen();
    await this.removeAbandonedPartials(assertAgeMs(options.partialOlderThanMs ?? this.partialOlderThanMs));
    const top = join(this.root, 'sha256');
    for (const prefix of await this.readDirectory(top)) {
      if (!FAN_OUT.test(prefix)) continue;
      const dir = join(top, prefix);
      for (const rest of await this.readDirectory(dir)) {
        if (!REST.test(rest)) continue;
        const sha256 = prefix + rest;
        const info = await this.stat(sha256);
        if (info) yield info; // else deleted since the directory was read
      }
    }
  }

  /** Names in a directory; none when it does not exist (yet). */
  private async readDirectory(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
      throw fsError(err, 'list the directory', dir);
    }
  }

  /** Removes `tmp/*.partial` files last modified more than `olderThanMs` ago (uploads whose writer died). */
  private async removeAbandonedPartials(olderThanMs: number): Promise<void> {
    const cutoff = Date.now() - olderThanMs;
    for (const name of await this.readDirectory(this.tmpDir)) {
      if (!PARTIAL.test(name)) continue;
      const path = join(this.tmpDir, name);
      try {
        const st = await stat(path);
        if (st.mtimeMs <= cutoff) await unlink(path);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'remove the abandoned upload', path);
      }
    }
  }

  async delete(sha256: string): Promise<void> {
    this.assertOpen();
    assertSha256(sha256);
    const path = this.blobPath(sha256);
    try {
      await unlink(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'delete the blob file', path);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Opens (creating when needed) a filesystem blob store rooted at `root`. */
export async function openFsBlobStore(root: string, options: FsBlobStoreOptions = {}): Promise<FsBlobStore> {
  const store = new FsBlobStore(root, options);
  for (const dir of [join(store.root, 'sha256'), store.tmpDir]) {
    try {
      await makeDirs(dir);
    } catch (err) {
      throw fsError(err, 'create the blob store directory', dir);
    }
  }
  return store;
}
