/**
 * The progress reports of saveModel (hash, upload), download (download) and openPackage (verify, download): per file
 * and phase the bytes only grow and end at the file's size, the package sums end at the package's size, and a
 * listener's failure does not fail the transfer.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelVersion, TransferProgress } from '../src/types.js';
import { makePackage, scratch } from './helpers/packages.js';
import { expectError, scratchStore } from './helpers/store-helpers.js';

/** A package with a 3 MiB + 5 byte file (several chunks in every phase) and an empty one. */
async function bigPackage(t: Test, label: string): Promise<string> {
  const pkg = makePackage(scratch(t), label, { 'empty.txt': '' });
  await writeFile(join(pkg, 'weights.bin'), randomBytes(3 * 1024 * 1024 + 5));
  return pkg;
}

/**
 * Checks the reports of one phase against the version's files: every file reported, its bytes never decreasing and
 * ending at its size, `totalBytes` its size; the package sums never decreasing, ending at the package's size.
 * Returns how many reports each file got.
 */
function checkPhase(t: Test, reports: TransferProgress[], phase: TransferProgress['phase'], version: ModelVersion): Map<string, number> {
  const mine = reports.filter((r) => r.phase === phase);
  const counts = new Map<string, number>();
  const last = new Map<string, number>();
  let monotone = true;
  let packageMonotone = true;
  let previousPackage = 0;
  for (const r of mine) {
    if (r.bytes < (last.get(r.path) ?? 0)) monotone = false;
    if (r.packageBytes < previousPackage) packageMonotone = false;
    last.set(r.path, r.bytes);
    previousPackage = r.packageBytes;
    counts.set(r.path, (counts.get(r.path) ?? 0) + 1);
  }
  t.ok(monotone, `${phase}: each file's bytes never decrease`);
  t.ok(packageMonotone, `${phase}: the package's bytes never decrease`);
  t.same([...last.keys()].sort(), version.files.map((f) => f.path).sort(), `${phase}: every file reported`);
  for (const f of version.files) {
    t.equal(last.get(f.path), f.size, `${phase}: ${f.path} ends at its size (${f.size})`);
    t.ok(mine.filter((r) => r.path === f.path).every((r) => r.totalBytes === f.size), `${phase}: ${f.path} totalBytes is its size`);
  }
  t.equal(mine.at(-1)?.packageBytes, version.size, `${phase}: the package sum ends at the package size`);
  t.ok(mine.every((r) => r.packageTotalBytes === version.size), `${phase}: packageTotalBytes is the package size (${version.size})`);
  return counts;
}

t.test('saveModel reports hashing and uploading, every file from 0 to its size; a second save finds the blobs held', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = await bigPackage(t, 'p');
  const reports: TransferProgress[] = [];
  const v = await store.saveModel(pkg, { canonicalName: 'm', onProgress: (p) => reports.push({ ...p }) });
  t.same(new Set(reports.map((r) => r.phase)), new Set(['hash', 'upload']), 'a save hashes and uploads');
  const hashed = checkPhase(t, reports, 'hash', v);
  const uploaded = checkPhase(t, reports, 'upload', v);
  t.ok(hashed.get('weights.bin')! >= 3, `the big file is hashed in several reports (${hashed.get('weights.bin')})`);
  t.ok(uploaded.get('weights.bin')! >= 3, `and uploaded in several (${uploaded.get('weights.bin')})`);
  t.equal(hashed.get('empty.txt'), 1, 'an empty file reports once');
  for (const path of ['weights.bin', 'genome.json']) {
    const firstUpload = reports.findIndex((r) => r.phase === 'upload' && r.path === path);
    const lastHash = reports.findLastIndex((r) => r.phase === 'hash' && r.path === path);
    t.ok(lastHash < firstUpload, `${path} is hashed before it is uploaded`);
  }

  const again: TransferProgress[] = [];
  const pkg2 = await bigPackage(t, 'p2'); // other genome.json and weights, same model.onnx and background.csv
  const v2 = await store.saveModel(pkg2, { canonicalName: 'm', onProgress: (p) => again.push({ ...p }) });
  checkPhase(t, again, 'upload', v2);
  const heldUploads = again.filter((r) => r.phase === 'upload' && r.path === 'model.onnx');
  t.equal(heldUploads.length, 1, 'a blob the store holds is reported once, whole, without being read');
  t.equal(heldUploads[0]?.bytes, v2.files.find((f) => f.path === 'model.onnx')?.size);
});

t.test('download reports the bytes written; openPackage reports writing the cached copy, then re-verifying it', async (t) => {
  const { store } = await scratchStore(t);
  const v = await store.saveModel(await bigPackage(t, 'p'), { canonicalName: 'm' });

  const downloaded: TransferProgress[] = [];
  await store.download('m/1', join(scratch(t), 'out'), { onProgress: (p) => downloaded.push({ ...p }) });
  t.same(new Set(downloaded.map((r) => r.phase)), new Set(['download']));
  t.ok(checkPhase(t, downloaded, 'download', v).get('weights.bin')! >= 3, 'the big file is written in several reports');

  const first: TransferProgress[] = [];
  const opened = await store.openPackage('m', { onProgress: (p) => first.push({ ...p }) });
  await opened.package.close();
  t.same(new Set(first.map((r) => r.phase)), new Set(['download']), 'first open: no copy to verify, the copy is written');
  checkPhase(t, first, 'download', v);

  const second: TransferProgress[] = [];
  const reopened = await store.openPackage('m', { onProgress: (p) => second.push({ ...p }) });
  await reopened.package.close();
  t.same(new Set(second.map((r) => r.phase)), new Set(['verify']), 'second open: the cached copy is re-verified only');
  checkPhase(t, second, 'verify', v);
});

t.test('onProgress: a listener that throws does not fail the transfer; a non-function is INVALID_ARGUMENT', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  let calls = 0;
  const throwing = (): void => {
    calls++;
    throw new Error('listener bug');
  };
  const v = await store.saveModel(pkg, { canonicalName: 'm', onProgress: throwing });
  t.equal(v.version, 1, 'saved');
  t.ok(calls > 0, 'the listener was called');
  await store.download('m/1', join(scratch(t), 'out'), { onProgress: throwing });
  const opened = await store.openPackage('m/1', { onProgress: throwing });
  await opened.package.close();
  const bad = { onProgress: 'yes' as unknown as () => void };
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', ...bad }), 'INVALID_ARGUMENT', 'onProgress must be a function');
  await expectError(t, store.download('m/1', join(scratch(t), 'out'), bad), 'INVALID_ARGUMENT', 'onProgress');
  await expectError(t, store.openPackage('m/1', bad), 'INVALID_ARGUMENT', 'onProgress');
  t.equal((await store.listVersions('m')).versions.length, 1, 'the refused save stored nothing');
});
