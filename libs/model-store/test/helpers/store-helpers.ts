/** Helpers of the ModelStore tests: opening stores in scratch directories, typed-error checks, blobs on disk. */
import { chmod, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import { create as tarCreate } from 'tar';
import { openModelStore, type ModelStore, type OpenModelStoreOptions } from '../../src/store.js';
import { scratch } from './packages.js';

/** Opens a store under a fresh scratch directory (default SQLite metadata, fs blobs), closed when the test ends. */
export async function scratchStore(t: Test, options: OpenModelStoreOptions = {}): Promise<{ store: ModelStore; dir: string; blobsDir: string }> {
  const dir = scratch(t, 'genome-store-');
  const store = await openModelStore({ dir, ...options });
  t.teardown(() => store.close());
  return { store, dir, blobsDir: join(dir, 'blobs') };
}

/** Opens another store on `dir` (same SQLite file and blobs), closed when the test ends. */
export async function reopen(t: Test, dir: string, options: OpenModelStoreOptions = {}): Promise<ModelStore> {
  const store = await openModelStore({ dir, ...options });
  t.teardown(() => store.close());
  return store;
}

export { expectError } from './expect-error.js';

/** Where the fs blob store keeps a blob: `<blobs>/sha256/ab/<rest>`. */
export function blobFile(blobsDir: string, sha256: string): string {
  return join(blobsDir, 'sha256', sha256.slice(0, 2), sha256.slice(2));
}

/** The addresses of the blobs on disk under `<blobs>/sha256/`, sorted. */
export async function blobsOnDisk(blobsDir: string): Promise<string[]> {
  const out: string[] = [];
  let dirs: string[];
  try {
    dirs = await readdir(join(blobsDir, 'sha256'));
  } catch {
    return [];
  }
  for (const d of dirs) {
    for (const f of await readdir(join(blobsDir, 'sha256', d))) if (/^[0-9a-f]{62}$/.test(f)) out.push(d + f);
  }
  return out.sort();
}

/** Flips the bits of one byte of a file (blob files are read-only: made writable first). */
export async function flipByte(path: string, offset = 0): Promise<void> {
  await chmod(path, 0o644);
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/** A `.tar.gz` of the directory's contents (files at the archive's top level). */
export async function tarGz(srcDir: string, file: string): Promise<string> {
  const entries = await readdir(srcDir);
  await tarCreate({ gzip: true, file, cwd: srcDir, portable: true }, entries);
  return file;
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
