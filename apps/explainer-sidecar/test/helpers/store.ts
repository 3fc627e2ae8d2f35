/**
 * Model-store fixtures for the sidecar's tests: copies of the example package (an ONNX random forest served as a tree
 * ensemble, default method interventional TreeSHAP over the package's background rows) that differ in how many
 * background rows the explainer uses, so each version answers with different base values and attributions.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyPackage, scratchDir } from '../../../../tools/test-packages.js';
import { DEFAULT_MODEL_DIR } from '../../src/index.js';

export { scratchDir };

/**
 * A copy of the example package under `dir/<label>` whose explainer uses the first `backgroundRows` background rows
 * (the example uses 100): interventional TreeSHAP then has another base value and other attributions.
 */
export function makeStorePackage(dir: string, label: string, backgroundRows: number): string {
  return copyPackage(dir, label, {
    from: DEFAULT_MODEL_DIR,
    description: `store test package ${label} (${backgroundRows} background rows)`,
    editManifest: (manifest) => {
      (manifest as { explainer: { background: { rows: number } } }).explainer.background.rows = backgroundRows;
    },
  });
}

/**
 * Puts a damaged copy of `file` into the filesystem blob store at `blobsDir` under the file's true address (same
 * size, other bytes). A save of a package holding `file` then finds the blob "already stored" and commits a version
 * whose blob fails verification when read: a corrupted blob store, without racing the sidecar's poll.
 */
export function plantCorruptBlob(blobsDir: string, file: string): string {
  const bytes = readFileSync(file);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const bad = Buffer.from(bytes);
  bad[bad.length - 2] = bad[bad.length - 2] === 0x20 ? 0x09 : 0x20;
  const path = join(blobsDir, 'sha256', sha.slice(0, 2), sha.slice(2));
  mkdirSync(join(path, '..'), { recursive: true });
  rmSync(path, { force: true });
  writeFileSync(path, bad);
  chmodSync(path, 0o444);
  return sha;
}
