/** Scratch stores and packages for the `genome store` tests: copies of the example package that differ by description. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyPackage, examplePackage, scratchDir } from '../../../../tools/test-packages.js';

/** The example package every test package is copied from (an ONNX random forest with a background CSV). */
export const EXAMPLE_PACKAGE = examplePackage;

/** A scratch directory removed when the test ends. */
export function scratch(t: { teardown(fn: () => void): void }, prefix = 'genome-cli-store-'): string {
  return scratchDir(t, prefix);
}

/** A copy of the example package (README.md included) under `dir/<label>` whose genome.json says `description` (so its digest differs). */
export function makePackage(dir: string, label: string, description = `test package ${label}`): string {
  return copyPackage(dir, label, { description, keepReadme: true });
}

/** The blobs of a filesystem blob store (`<dir>/sha256/ab/cdef...`), as SHA-256 hex strings. */
export function blobFiles(blobDir: string): string[] {
  const root = join(blobDir, 'sha256');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((fan) => readdirSync(join(root, fan)).map((rest) => fan + rest)).sort();
}

/** path → SHA-256 of every file under `dir`. */
export function fileHashes(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, fileHashes(dir, rel));
    else out[rel] = createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex');
  }
  return out;
}

/** What `--json` prints for a version (the fields the tests read). */
export interface VersionJson {
  name: string;
  version: number;
  state: 'ready' | 'deleted';
  aliases: string[];
  tags: Record<string, string>;
  metrics: Record<string, number>;
  metadata: Record<string, string | undefined>;
  files: { path: string; sha256: string; size: number }[];
  digest: string;
  size: number;
}
