/** Genome packages for the store's tests: copies of the repository's example package, each with its own description. */
import { copyPackage, examplePackage, scratchDir } from '../../../../tools/test-packages.js';

export { examplePackage };

/** A scratch directory removed when the test ends. */
export function scratch(t: { teardown(fn: () => void): void }, prefix = 'genome-store-test-'): string {
  return scratchDir(t, prefix);
}

/**
 * A copy of the example package under `dir/<label>` whose genome.json differs by its description (so that its digest
 * differs while the model and background blobs are shared with every other copy). `extra` adds files.
 */
export function makePackage(dir: string, label: string, extra: Record<string, string> = {}): string {
  return copyPackage(dir, label, { extra });
}
