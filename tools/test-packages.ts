/**
 * Genome packages for tests (the model store's, the sequencer's, the sidecar's and the CLI's): copies of the
 * repository's example package whose genome.json differs, so that their digests differ while the model and
 * background blobs are shared with every other copy; and scratch directories removed when the test ends.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './fixtures-root.js';

/** The example package every test package is copied from (an ONNX random forest with a background CSV). */
export const examplePackage = join(repoRoot, 'examples/packages/california-housing-rf');

/** A scratch directory (`<tmp>/<prefix>XXXXXX`) removed when the test ends. */
export function scratchDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Options of {@link copyPackage}. */
export interface CopyPackageOptions {
  /** The package to copy (default {@link examplePackage}). */
  from?: string;
  /** The copy's `description` in genome.json (default `test package <label>`). */
  description?: string;
  /** Further changes to the copy's manifest (after `$schema` is dropped and the description set). */
  editManifest?: (manifest: Record<string, unknown>) => void;
  /** Keep the package's README.md (default: removed). */
  keepReadme?: boolean;
  /** Files to add, by path inside the package: their text. */
  extra?: Record<string, string>;
}

/**
 * A copy of a package (the example by default) under `dir/<label>`, its genome.json rewritten without `$schema` and
 * with its own description. Returns the copy's directory.
 */
export function copyPackage(dir: string, label: string, options: CopyPackageOptions = {}): string {
  const out = join(dir, label);
  mkdirSync(out, { recursive: true });
  cpSync(options.from ?? examplePackage, out, { recursive: true });
  if (!options.keepReadme) rmSync(join(out, 'README.md'), { force: true });
  const manifest = JSON.parse(readFileSync(join(out, 'genome.json'), 'utf8')) as Record<string, unknown>;
  delete manifest.$schema;
  manifest.description = options.description ?? `test package ${label}`;
  options.editManifest?.(manifest);
  writeFileSync(join(out, 'genome.json'), JSON.stringify(manifest, null, 2));
  for (const [path, text] of Object.entries(options.extra ?? {})) {
    mkdirSync(join(out, path, '..'), { recursive: true });
    writeFileSync(join(out, path), text);
  }
  return out;
}
