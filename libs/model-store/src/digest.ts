/**
 * A version's package digest: SHA-256 over the lines `path\0sha256\n` of its files sorted by path (UTF-8 byte
 * order), so that equal packages have equal digests whatever order their files were listed or uploaded in.
 */
import { createHash } from 'node:crypto';
import type { StoredFile } from './types.js';

/** Compares two strings by their UTF-8 bytes (the order every language can reproduce). */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The files sorted by path (UTF-8 byte order). */
export function sortFiles(files: readonly StoredFile[]): StoredFile[] {
  return [...files].sort((x, y) => compareUtf8(x.path, y.path));
}

/** The package digest of `files` (any order). */
export function packageDigest(files: readonly StoredFile[]): string {
  const hash = createHash('sha256');
  for (const f of sortFiles(files)) hash.update(`${f.path}\u0000${f.sha256}\n`, 'utf8');
  return hash.digest('hex');
}

/** Total bytes of the files. */
export function packageSize(files: readonly StoredFile[]): number {
  let size = 0;
  for (const f of files) size += f.size;
  return size;
}
