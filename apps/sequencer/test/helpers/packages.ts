/** Genome packages for the server's tests: copies of the repository's example package, and their files' digests. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { copyPackage, examplePackage, scratchDir } from '../../../../tools/test-packages.js';

export { repoRoot } from '../../../../tools/fixtures-root.js';
/** The example package every test package is copied from (an ONNX random forest with a background CSV). */
export { examplePackage };

/** A scratch directory removed when the test ends. */
export function scratch(t: { teardown(fn: () => void): void }, prefix = 'genome-platform-test-'): string {
  return scratchDir(t, prefix);
}

/**
 * A copy of the example package under `dir/<label>` whose genome.json differs by its description (so its digest
 * differs while the model and background blobs are shared with every other copy).
 */
export function makePackage(dir: string, label: string): string {
  return copyPackage(dir, label);
}

export interface PackageFile {
  path: string;
  abs: string;
  sha256: string;
  size: number;
  bytes: Buffer;
}

/** Every file of a package directory, with its SHA-256 and size, sorted by path. */
export function packageFiles(dir: string): PackageFile[] {
  const out: PackageFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const abs = join(d, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else {
        const bytes = readFileSync(abs);
        out.push({ path: relative(dir, abs).split(sep).join('/'), abs, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, bytes });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Where the filesystem blob store keeps a blob (layout `sha256/ab/cdef...`, see @genome/model-store's README). */
export function blobPath(storeDir: string, sha: string): string {
  return join(storeDir, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2));
}
