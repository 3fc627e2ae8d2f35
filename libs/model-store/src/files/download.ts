/**
 * Reading a version's files out of the blob store, verified: every byte is hashed on the way and compared with the
 * file's SHA-256 and size (on top of the blob store's own check), and a mismatch is `ModelStoreError` CORRUPT naming
 * the file and the version. Nothing unverified is handed out: a download writes into a temporary directory and
 * renames it into place only when every file checked out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import type { BlobStore } from '../blobs/blob-store.js';
import { ModelStoreError } from '../errors.js';
import type { ModelVersion, StoredFile } from '../types.js';
import { hashFile, mapLimit } from './hash-file.js';
import { makeDirs } from './make-dirs.js';
import type { ProgressReporter } from './progress.js';

/** `file "model.onnx" of fraud/3`: how messages name a file of a version. */
export function describeFile(version: Pick<ModelVersion, 'name' | 'version'>, path: string): string {
  return `file "${path}" of ${version.name}/${version.version}`;
}

function corrupt(what: string, file: StoredFile, sha256: string, size: number, where: string): ModelStoreError {
  return new ModelStoreError(
    'CORRUPT',
    `The ${what} is corrupted ${where}: expected ${file.size} bytes with SHA-256 ${file.sha256}, got ${size} bytes with SHA-256 ${sha256}. ` +
      'Re-save the package to store the blob again, or restore it from a backup.',
  );
}

/** The bytes of one file, verified. */
export async function readVerified(blobs: BlobStore, version: ModelVersion, file: StoredFile): Promise<Uint8Array> {
  const what = describeFile(version, file.path);
  const bytes = await blobs.get(file.sha256, what);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== file.sha256 || bytes.byteLength !== file.size) throw corrupt(what, file, sha256, bytes.byteLength, `in the blob store ${blobs.location}`);
  return bytes;
}

/** Streams one file to `dest`, hashing as it goes (and reporting the bytes written); CORRUPT (and no file left) on mismatch. */
async function writeVerified(blobs: BlobStore, version: ModelVersion, file: StoredFile, dest: string, progress?: ProgressReporter): Promise<void> {
  const what = describeFile(version, file.path);
  const { chunks } = await blobs.stream(file.sha256, what);
  await makeDirs(dirname(dest));
  const out = createWriteStream(dest, { flags: 'wx' });
  // A write error (disk full, the directory gone) may come while the loop awaits the blob stream: keep it for the
  // loop to throw, so that it can never become an uncaught 'error' event.
  let writeError: Error | undefined;
  out.on('error', (err) => (writeError ??= err));
  const hash = createHash('sha256');
  const counter = progress?.counter('download', file.path, file.size);
  let size = 0;
  try {
    for await (const chunk of chunks) {
      if (writeError) throw writeError;
      hash.update(chunk);
      size += chunk.byteLength;
      if (size > file.size) break;
      if (!out.write(chunk)) await once(out, 'drain');
      counter?.add(chunk.byteLength);
    }
    out.end();
    await once(out, 'close');
    if (writeError) throw writeError;
  } catch (err) {
    out.destroy();
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256 || size !== file.size) throw corrupt(what, file, sha256, size, `in the blob store ${blobs.location}`);
  counter?.finish();
}

async function isEmptyOrAbsent(dir: string, version: ModelVersion): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTDIR') {
      throw new ModelStoreError('FAILED_PRECONDITION', `Cannot write ${version.name}/${version.version} into ${dir}: it exists and is not a directory; give an absent or empty directory.`, { cause: err });
    }
    throw new ModelStoreError('UNAVAILABLE', `Cannot write ${version.name}/${version.version} into ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes every file of `version` under `dir`, atomically: into a temporary sibling directory first, renamed to `dir`
 * once all files are verified. `dir` must be absent or empty. Returns false when another writer created `dir` first
 * (`allowExisting`), else throws FAILED_PRECONDITION. `progress` hears of the bytes written (phase `download`).
 */
export async function downloadVersion(blobs: BlobStore, version: ModelVersion, dir: string, allowExisting = false, progress?: ProgressReporter): Promise<boolean> {
  const target = resolve(dir);
  if (!(await isEmptyOrAbsent(target, version))) {
    if (allowExisting) return false;
    throw new ModelStoreError('FAILED_PRECONDITION', `Cannot download ${version.name}/${version.version} into ${target}: the directory exists and is not empty.`);
  }
  const tmp = join(dirname(target), `.${basename(target)}.partial-${randomBytes(6).toString('hex')}`);
  try {
    await makeDirs(dirname(target));
    await mkdir(tmp);
  } catch (err) {
    throw new ModelStoreError('UNAVAILABLE', `Cannot write ${version.name}/${version.version} into ${target}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await mapLimit(version.files, 4, (f) => writeVerified(blobs, version, f, join(tmp, ...f.path.split('/')), progress));
    try {
      await rename(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && allowExisting) {
        await rm(tmp, { recursive: true, force: true });
        return false;
      }
      throw err;
    }
    return true;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof ModelStoreError) throw err;
    throw new ModelStoreError('UNAVAILABLE', `Could not write ${version.name}/${version.version} to ${target}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Checks a downloaded directory against the version's files: every file present with its size, and (`full`) its
 * SHA-256 (`progress` hears of the bytes hashed, phase `verify`). Returns the first problem, or undefined when it matches.
 */
export async function checkDownloaded(version: ModelVersion, dir: string, full: boolean, progress?: ProgressReporter): Promise<string | undefined> {
  const problems = await mapLimit(version.files, 4, async (f) => {
    const path = join(dir, ...f.path.split('/'));
    try {
      const st = await stat(path);
      if (!st.isFile() || st.size !== f.size) return `${describeFile(version, f.path)} has ${st.size} bytes, not ${f.size}`;
      if (full) {
        const counter = progress?.counter('verify', f.path, f.size);
        const { sha256 } = await hashFile(path, undefined, counter?.add);
        counter?.finish();
        if (sha256 !== f.sha256) return `${describeFile(version, f.path)} hashes to ${sha256}, not ${f.sha256}`;
      }
      return undefined;
    } catch {
      return `${describeFile(version, f.path)} is missing`;
    }
  });
  return problems.find((p) => p !== undefined);
}
