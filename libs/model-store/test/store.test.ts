/**
 * ModelStore end to end on the default backends (SQLite metadata, filesystem blobs) in scratch directories: saving
 * (directory, archive, opened package, remote createVersion), metadata round trips, version numbering, blob dedup,
 * verification on read, the openPackage cache, aliases, soft delete / restore / purge.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadGenomePackage } from '@genome/model-format';
import { ModelStoreError } from '../src/errors.js';
import type { StoredFile } from '../src/types.js';
import { examplePackage, makePackage, scratch } from './helpers/packages.js';
import { blobFile, blobsOnDisk, expectError, flipByte, reopen, scratchStore, tarGz } from './helpers/store-helpers.js';

const ids = (vs: { name: string; version: number }[]): string[] => vs.map((v) => `${v.name}/${v.version}`);

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const exampleManifest = JSON.parse(await readFile(join(examplePackage, 'genome.json'), 'utf8')) as { framework: string; input: { modality: string } };
const modelBytes = await readFile(join(examplePackage, 'model.onnx'));
const backgroundBytes = await readFile(join(examplePackage, 'background.csv'));

t.test('saveModel from a directory: seed metadata, tags and metrics round-trip; framework and inputModality default from the manifest', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'a');
  const seed = {
    canonicalName: 'housing-price',
    application: 'real-estate',
    pipelineName: 'nightly-train',
    pipelineRunId: 'run-42',
    pipelineStage: 'train',
    framework: 'sklearn-onnx',
    inputModality: 'table',
    versionName: '2024-06 retrain',
    description: 'first cut',
  };
  const v = await store.saveModel(pkg, { ...seed, tags: { team: 'risk', 'data.version': '7' }, metrics: { rmse: 0.53, r2: 0.81, 'n-trees': 120 }, createdBy: 'alice' });
  t.equal(v.name, 'housing-price');
  t.equal(v.version, 1);
  t.equal(v.state, 'ready');
  const { canonicalName: _omit, ...metadata } = seed;
  t.same(v.metadata, metadata, 'every seed field stored (canonicalName is the name)');
  t.same(v.tags, { 'data.version': '7', team: 'risk' });
  t.same(v.metrics, { 'n-trees': 120, r2: 0.81, rmse: 0.53 });
  t.equal(v.createdBy, 'alice');
  t.same(
    v.files.map((f) => f.path),
    ['background.csv', 'genome.json', 'model.onnx'],
    'every package file, sorted by path',
  );
  t.equal(v.files.find((f) => f.path === 'model.onnx')!.sha256, sha256(modelBytes));
  t.equal(v.size, v.files.reduce((s, f) => s + f.size, 0));
  t.match(v.digest, /^[0-9a-f]{64}$/);
  t.ok(!Number.isNaN(Date.parse(v.createdAt)));

  // What getVersion gives back equals what the save returned.
  const got = await store.getVersion('housing-price/1');
  t.same(got, v, 'getVersion gives the saved version unchanged');

  // Defaults from the manifest when absent.
  const d = await store.saveModel(pkg, { canonicalName: 'housing-price' });
  t.equal(d.version, 2, 'the next integer version');
  t.same(d.metadata, { framework: exampleManifest.framework, inputModality: exampleManifest.input.modality }, 'framework and inputModality from genome.json');
  t.same(d.tags, {});
  t.same(d.metrics, {});
  t.equal(d.digest, v.digest, 'the same files give the same digest');

  // Empty strings mean absent (and then the manifest's default applies).
  const e = await store.saveModel(pkg, { canonicalName: 'housing-price', framework: '', application: '' });
  t.equal(e.version, 3);
  t.same(e.metadata, { framework: 'onnx', inputModality: 'tabular' });

  // A second name has its own numbering.
  t.equal((await store.saveModel(pkg, { canonicalName: 'other' })).version, 1);
  t.equal((await store.saveModel(pkg, { canonicalName: 'housing-price' })).version, 4);
  const model = await store.getModel('housing-price');
  t.equal(model.latestVersion, 4);
  t.equal(model.versions, 4);
  t.equal(model.deletedVersions, 0);
});

t.test('saveModel from a .tar.gz archive and from an opened GenomePackage', async (t) => {
  const { store } = await scratchStore(t);
  const work = scratch(t);
  const dirPkg = makePackage(work, 'src');
  const archive = await tarGz(dirPkg, join(work, 'pkg.tar.gz'));
  const fromDir = await store.saveModel(dirPkg, { canonicalName: 'm' });
  const fromArchive = await store.saveModel(archive, { canonicalName: 'm', tags: { from: 'archive' } });
  t.equal(fromArchive.version, 2);
  t.same(fromArchive.files, fromDir.files, 'the archive holds the same files');
  t.equal(fromArchive.digest, fromDir.digest);
  t.same(fromArchive.metadata, { framework: 'onnx', inputModality: 'tabular' }, 'defaults from the archived manifest');
  t.same(Buffer.from(await store.readFile('m/2', 'model.onnx')), modelBytes);

  const opened = await loadGenomePackage(dirPkg);
  try {
    const fromPkg = await store.saveModel(opened, { canonicalName: 'm', versionName: 'from package' });
    t.equal(fromPkg.version, 3);
    t.equal(fromPkg.digest, fromDir.digest);
    t.equal(fromPkg.metadata.versionName, 'from package');
    t.equal(fromPkg.metadata.framework, 'onnx');
  } finally {
    await opened.close();
  }
  // The package passed in stays usable (the store does not close what it did not open).
  t.ok((await stat(join(dirPkg, 'genome.json'))).isFile());

  // Files in sub-directories keep their '/'-separated paths.
  const nested = makePackage(work, 'nested', { 'docs/notes/readme.txt': 'hello' });
  const n = await store.saveModel(nested, { canonicalName: 'm' });
  t.ok(n.files.some((f) => f.path === 'docs/notes/readme.txt' && f.sha256 === sha256('hello') && f.size === 5));
  t.equal(Buffer.from(await store.readFile('m/4', 'docs/notes/readme.txt')).toString(), 'hello');
});

t.test('saveModel refuses bad packages and bad options with INVALID_ARGUMENT, saving nothing', async (t) => {
  const { store, blobsDir } = await scratchStore(t);
  const work = scratch(t);
  const pkg = makePackage(work, 'ok');
  await expectError(t, store.saveModel(join(work, 'nope'), { canonicalName: 'm' }), 'INVALID_ARGUMENT', join(work, 'nope'));
  const broken = makePackage(work, 'broken');
  await writeFile(join(broken, 'genome.json'), '{ not json');
  await expectError(t, store.saveModel(broken, { canonicalName: 'm' }), 'INVALID_ARGUMENT', 'genome.json');
  const noModel = makePackage(work, 'no-model');
  await rm(join(noModel, 'model.onnx'));
  await expectError(t, store.saveModel(noModel, { canonicalName: 'm' }), 'INVALID_ARGUMENT', 'model.onnx');
  await writeFile(join(work, 'garbage.tar.gz'), 'this is not an archive');
  await expectError(t, store.saveModel(join(work, 'garbage.tar.gz'), { canonicalName: 'm' }), 'INVALID_ARGUMENT', 'garbage.tar.gz');
  const noManifest = makePackage(work, 'no-manifest');
  await rm(join(noManifest, 'genome.json'));
  await expectError(t, store.saveModel(await tarGz(noManifest, join(work, 'no-manifest.tar.gz')), { canonicalName: 'm' }), 'INVALID_ARGUMENT', 'genome.json');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'bad name!' }), 'INVALID_ARGUMENT', '"bad name!"', 'letters, digits');
  await expectError(t, store.saveModel(pkg, { canonicalName: '' }), 'INVALID_ARGUMENT', 'canonicalName');
  await expectError(t, store.saveModel(pkg, undefined as never), 'INVALID_ARGUMENT', 'canonicalName');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', tags: { 'bad key': 'x' } }), 'INVALID_ARGUMENT', '"bad key"');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', tags: { k: 3 as never } }), 'INVALID_ARGUMENT', 'string value');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', metrics: { auc: Number.NaN } }), 'INVALID_ARGUMENT', '"auc"', 'finite number');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', metrics: { auc: '0.9' as never } }), 'INVALID_ARGUMENT', '"auc"');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', aliases: ['3'] }), 'INVALID_ARGUMENT', 'never all digits');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', aliases: ['latest'] }), 'INVALID_ARGUMENT', 'reserved');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', application: 7 as never }), 'INVALID_ARGUMENT', 'application');
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', pipelineRunId: 'x'.repeat(600) }), 'INVALID_ARGUMENT', 'pipelineRunId', '512');
  const controller = new AbortController();
  controller.abort();
  await expectError(t, store.saveModel(pkg, { canonicalName: 'm', signal: controller.signal }), 'CANCELLED', 'nothing was saved');
  // A file linking out of the package is refused.
  const linked = makePackage(work, 'linked');
  await symlink(join(work, 'ok', 'model.onnx'), join(linked, 'outside.bin'));
  await expectError(t, store.saveModel(linked, { canonicalName: 'm' }), 'INVALID_ARGUMENT', '"outside.bin"', 'leaving the package');
  await expectError(t, store.saveModel({ root: 7 } as never, { canonicalName: 'm' }), 'INVALID_ARGUMENT', 'loadGenomePackage');
  t.same((await store.listModels()).models, [], 'no model was registered');
  t.same(await blobsOnDisk(blobsDir), [], 'no blob was stored by a refused save');
  // Cancelled while the save runs (reading and uploading files): CANCELLED, no version committed (uploaded blobs, if
  // any, are orphans for gc).
  let finished = 0;
  for (const delay of [0, 1, 5, 20]) {
    const midway = new AbortController();
    const saving = store.saveModel(pkg, { canonicalName: 'm', signal: midway.signal });
    setTimeout(() => midway.abort(), delay);
    try {
      await saving;
      finished++;
      t.pass(`delay ${delay}: the save finished before the abort`);
    } catch (err) {
      t.ok(err instanceof ModelStoreError && err.code === 'CANCELLED', `delay ${delay}: CANCELLED (${(err as Error).message})`);
    }
  }
  const saved = (await store.listModels()).models.map((m) => m.latestVersion);
  t.same(saved, finished === 0 ? [] : [finished], 'only the saves that finished before their abort were committed');
});

t.test('packages with duplicate contents, empty files and non-ASCII paths save, list and read back exactly', async (t) => {
  const { store, blobsDir, dir } = await scratchStore(t);
  const work = scratch(t);
  const extra = { 'a.txt': 'same', 'b/a.txt': 'same', 'empty.bin': '', 'données/é.txt': 'accent', 'x/\uff5e.txt': 'fullwidth', 'x/\u{1f600}.txt': 'emoji' };
  const pkg = makePackage(work, 'odd', extra);
  const v = await store.saveModel(pkg, { canonicalName: 'odd' });
  const paths = v.files.map((f) => f.path);
  // Sorted by UTF-8 bytes: U+FF5E (EF BD 9E) before U+1F600 (F0 9F 98 80), unlike UTF-16 order.
  t.same(paths, ['a.txt', 'b/a.txt', 'background.csv', 'donn\u00e9es/\u00e9.txt', 'empty.bin', 'genome.json', 'model.onnx', 'x/\uff5e.txt', 'x/\u{1f600}.txt']);
  t.equal(v.files.find((f) => f.path === 'a.txt')!.sha256, v.files.find((f) => f.path === 'b/a.txt')!.sha256);
  t.same(v.files.find((f) => f.path === 'empty.bin'), { path: 'empty.bin', sha256: sha256(''), size: 0 });
  t.equal((await blobsOnDisk(blobsDir)).length, 3 + 5, 'the duplicated content is one blob; the empty file one blob');
  for (const [path, text] of Object.entries(extra)) t.equal(Buffer.from(await store.readFile('odd/1', path)).toString(), text, `readFile ${path}`);
  const out = join(work, 'out');
  await store.download('odd', out);
  for (const [path, text] of Object.entries(extra)) t.equal(await readFile(join(out, path), 'utf8'), text, `download ${path}`);
  const opened = await store.openPackage('odd');
  t.equal(await readFile(join(opened.dir, 'x', '\u{1f600}.txt'), 'utf8'), 'emoji');
  await opened.package.close();
  // The same files uploaded in any order commit the same version content.
  const shuffled = [...v.files].reverse();
  const remote = await store.createVersion(shuffled, { canonicalName: 'odd' });
  t.same(remote.files, v.files);
  t.equal(remote.digest, v.digest);
  // Another instance replays both versions.
  const other = await reopen(t, dir);
  t.same((await other.getVersion('odd/2')).files, v.files);
});

t.test('dedup: versions sharing model.onnx store it once; equal packages add no blob', async (t) => {
  const { store, blobsDir } = await scratchStore(t);
  const work = scratch(t);
  const a = await store.saveModel(makePackage(work, 'a'), { canonicalName: 'm' });
  t.same(await blobsOnDisk(blobsDir), [...new Set(a.files.map((f) => f.sha256))].sort(), 'one blob per distinct file');
  t.equal((await blobsOnDisk(blobsDir)).length, 3);
  const b = await store.saveModel(makePackage(work, 'b'), { canonicalName: 'm' });
  t.not(a.digest, b.digest, 'different manifests, different digests');
  const shaOf = (v: { files: StoredFile[] }, p: string) => v.files.find((f) => f.path === p)!.sha256;
  t.equal(shaOf(a, 'model.onnx'), shaOf(b, 'model.onnx'));
  t.equal((await blobsOnDisk(blobsDir)).length, 4, 'only the new genome.json was added: model.onnx and background.csv are shared');
  await store.saveModel(makePackage(work, 'b2'), { canonicalName: 'other' }); // same bytes as b except the description
  await store.saveModel(makePackage(work, 'a'), { canonicalName: 'other' });
  t.equal((await blobsOnDisk(blobsDir)).length, 5, 'a package saved again adds nothing');
  t.ok((await blobsOnDisk(blobsDir)).includes(sha256(modelBytes)), 'the model blob is at <blobs>/sha256/<ab>/<rest>');
  t.ok((await stat(blobFile(blobsDir, sha256(modelBytes)))).isFile());
});

t.test('createVersion commits putBlob-uploaded files; missing blobs are FAILED_PRECONDITION; bad manifests and sizes INVALID_ARGUMENT', async (t) => {
  const { store } = await scratchStore(t);
  const manifestText = JSON.stringify({ ...JSON.parse(await readFile(join(examplePackage, 'genome.json'), 'utf8')), $schema: undefined, description: 'remote' });
  const manifest = Buffer.from(manifestText);
  const files: StoredFile[] = [
    { path: 'model.onnx', sha256: sha256(modelBytes), size: modelBytes.byteLength },
    { path: 'genome.json', sha256: sha256(manifest), size: manifest.byteLength },
    { path: 'background.csv', sha256: sha256(backgroundBytes), size: backgroundBytes.byteLength },
  ];
  t.same(await store.missingBlobs(files.map((f) => f.sha256)), files.map((f) => f.sha256), 'all missing at first');

  // Nothing uploaded yet: FAILED_PRECONDITION naming the files to upload.
  await expectError(t, store.createVersion(files, { canonicalName: 'remote' }), 'FAILED_PRECONDITION', '3 file(s)', 'model.onnx', 'genome.json', 'Upload them');

  const put = await store.putBlob(modelBytes, { sha256: sha256(modelBytes), size: modelBytes.byteLength });
  t.same(put, { sha256: sha256(modelBytes), size: modelBytes.byteLength, existed: false });
  await store.putBlob(manifest);
  t.same(await store.missingBlobs(files.map((f) => f.sha256)), [sha256(backgroundBytes)]);
  await expectError(t, store.createVersion(files, { canonicalName: 'remote' }), 'FAILED_PRECONDITION', '1 file(s)', 'background.csv');
  await store.putBlob(backgroundBytes);
  t.same(await store.missingBlobs(files.map((f) => f.sha256)), []);

  // A size that does not match the blob.
  const wrongSize = files.map((f) => (f.path === 'model.onnx' ? { ...f, size: f.size + 1 } : f));
  await expectError(t, store.createVersion(wrongSize, { canonicalName: 'remote' }), 'INVALID_ARGUMENT', '"model.onnx"', `${modelBytes.byteLength + 1} bytes`);

  const v = await store.createVersion(files, { canonicalName: 'remote', tags: { via: 'grpc' }, aliases: ['staging'] });
  t.equal(v.version, 1);
  t.same(v.files.map((f) => f.path), ['background.csv', 'genome.json', 'model.onnx'], 'sorted by path');
  t.same(v.metadata, { framework: 'onnx', inputModality: 'tabular' }, 'defaults from the uploaded manifest');
  t.same(v.aliases, ['staging']);
  t.same(Buffer.from(await store.readFile('remote@staging', 'genome.json')), manifest);

  // A genome.json that is not JSON, or not a valid manifest, or names a file not listed.
  const notJson = Buffer.from('{ nope');
  await store.putBlob(notJson);
  const withNotJson = files.map((f) => (f.path === 'genome.json' ? { ...f, sha256: sha256(notJson), size: notJson.byteLength } : f));
  await expectError(t, store.createVersion(withNotJson, { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'genome.json', 'not valid JSON');
  const invalid = Buffer.from(JSON.stringify({ schemaVersion: 'genome.package/v1', name: 'x' }));
  await store.putBlob(invalid);
  const withInvalid = files.map((f) => (f.path === 'genome.json' ? { ...f, sha256: sha256(invalid), size: invalid.byteLength } : f));
  await expectError(t, store.createVersion(withInvalid, { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'genome.json');
  await expectError(
    t,
    store.createVersion(files.filter((f) => f.path !== 'background.csv'), { canonicalName: 'remote' }),
    'INVALID_ARGUMENT',
    'background.csv',
    'not among the package',
  );

  // Malformed file lists.
  await expectError(t, store.createVersion([], { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'non-empty');
  await expectError(t, store.createVersion(files.filter((f) => f.path !== 'genome.json'), { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'no genome.json');
  await expectError(t, store.createVersion([...files, files[0]!], { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'twice');
  await expectError(t, store.createVersion([{ ...files[0]!, path: '../evil' }, ...files.slice(1)], { canonicalName: 'remote' }), 'INVALID_ARGUMENT', '".."');
  await expectError(t, store.createVersion([{ ...files[0]!, sha256: 'ABC' }, ...files.slice(1)], { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'SHA-256');
  await expectError(t, store.createVersion([{ ...files[0]!, size: -1 }, ...files.slice(1)], { canonicalName: 'remote' }), 'INVALID_ARGUMENT', 'size');
  await expectError(t, store.createVersion(files, { canonicalName: 'no/slash' }), 'INVALID_ARGUMENT', 'canonicalName');
  await expectError(t, store.putBlob(Buffer.from('x'), { sha256: sha256('y') }), 'INVALID_ARGUMENT');
  await expectError(t, store.missingBlobs(['xyz']), 'INVALID_ARGUMENT', 'sha256s[0]');

  t.equal((await store.getModel('remote')).latestVersion, 1, 'no refused commit took a version number');
  t.equal((await store.createVersion(files, { canonicalName: 'remote' })).version, 2);
});

t.test('version numbers are never reused, after delete and after purge', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  for (let i = 1; i <= 3; i++) t.equal((await store.saveModel(pkg, { canonicalName: 'm' })).version, i);
  await store.deleteVersion('m/3');
  t.equal((await store.saveModel(pkg, { canonicalName: 'm' })).version, 4, 'after deleting the highest version');
  await store.deleteVersion('m/4');
  await store.purgeVersion('m/4');
  t.equal((await store.saveModel(pkg, { canonicalName: 'm' })).version, 5, 'after purging the highest version');
  for (const n of [1, 2, 5]) await store.deleteVersion(`m/${n}`);
  for (const n of [1, 2, 3, 5]) await store.purgeVersion(`m/${n}`);
  t.same((await store.listVersions('m', { includeDeleted: true })).versions, [], 'every version purged');
  await expectError(t, store.getVersion('m'), 'NOT_FOUND', 'no ready version');
  t.equal((await store.saveModel(pkg, { canonicalName: 'm' })).version, 6, 'after purging every version');
  t.equal((await store.getModel('m')).latestVersion, 6);
});

t.test('verification on read: a corrupted blob is CORRUPT naming the file, and its bytes are never handed out', async (t) => {
  const { store, blobsDir } = await scratchStore(t);
  const work = scratch(t);
  const pkg = makePackage(work, 'p');
  const v = await store.saveModel(pkg, { canonicalName: 'm' });
  const model = v.files.find((f) => f.path === 'model.onnx')!;
  const path = blobFile(blobsDir, model.sha256);

  await flipByte(path, 100);
  await expectError(t, store.readFile('m/1', 'model.onnx'), 'CORRUPT', 'model.onnx', 'm/1');
  // The other files still read.
  t.same(Buffer.from(await store.readFile('m/1', 'background.csv')), backgroundBytes);

  // download: CORRUPT, and no directory (nor partial file) left behind.
  await store.saveModel(pkg, { canonicalName: 'm' }); // the damaged copy was moved aside: re-saving stores it again
  t.same(Buffer.from(await store.readFile('m/1', 'model.onnx')), modelBytes, 're-saving the package repaired the blob');
  await flipByte(path, 7);
  const dest = join(work, 'download');
  await expectError(t, store.download('m/1', dest), 'CORRUPT', 'model.onnx');
  await t.rejects(stat(dest), { code: 'ENOENT' }, 'no download directory appears');
  t.same((await readdir(work)).filter((n) => n.includes('download')), [], 'no temporary directory left');

  // openPackage: CORRUPT, and no cache entry.
  await store.saveModel(pkg, { canonicalName: 'm' });
  await flipByte(path, model.size - 1);
  await expectError(t, store.openPackage('m/1'), 'CORRUPT', 'model.onnx');
  await t.rejects(stat(join(store.cacheDir, v.digest)), { code: 'ENOENT' }, 'no cache entry for a corrupted version');

  // A truncated blob (wrong size) too.
  await store.saveModel(pkg, { canonicalName: 'm' });
  const { truncate, chmod } = await import('node:fs/promises');
  await chmod(path, 0o644);
  await truncate(path, 10);
  await expectError(t, store.readFile('m/1', 'model.onnx'), 'CORRUPT', 'model.onnx');
  // A missing blob is NOT_FOUND naming the file.
  await store.saveModel(pkg, { canonicalName: 'm' });
  await rm(path, { force: true });
  await expectError(t, store.readFile('m/1', 'model.onnx'), 'NOT_FOUND', 'model.onnx');
  await expectError(t, store.download('m/1', join(work, 'download2')), 'NOT_FOUND', 'model.onnx');

  // Healthy again after a re-save: download and openPackage give the exact bytes.
  await store.saveModel(pkg, { canonicalName: 'm' });
  const out = join(work, 'download3');
  const got = await store.download('m/1', out);
  t.equal(got.version, 1);
  t.same(await readFile(join(out, 'model.onnx')), modelBytes);
  t.same((await readdir(out)).sort(), ['background.csv', 'genome.json', 'model.onnx']);
  await expectError(t, store.download('m/1', out), 'FAILED_PRECONDITION', 'not empty');
  await expectError(t, store.download('m/1', join(out, 'model.onnx')), 'FAILED_PRECONDITION', 'not a directory');
  await expectError(t, store.download('m/1', join(out, 'model.onnx', 'sub')), 'FAILED_PRECONDITION', 'not a directory');
  const empty = join(work, 'empty');
  await mkdir(empty);
  t.equal((await store.download('m/1', empty)).version, 1, 'an existing empty directory is fine');
  t.same((await readdir(empty)).sort(), ['background.csv', 'genome.json', 'model.onnx']);
  await expectError(t, store.readFile('m/1', 'nope.bin'), 'NOT_FOUND', '"nope.bin"', 'model.onnx');
  await expectError(t, store.readFile('m/1', '../x'), 'INVALID_ARGUMENT', '".."');
});

t.test('openPackage: a verified copy in the cache, shared by equal packages; a damaged cached copy is rewritten', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  await store.saveModel(pkg, { canonicalName: 'm', aliases: ['production'] });
  await store.saveModel(pkg, { canonicalName: 'copy' });
  const first = await store.openPackage('m@production');
  try {
    t.equal(first.version.version, 1);
    t.equal(first.dir, join(store.cacheDir, first.version.digest));
    t.equal(first.package.manifest.framework, 'onnx');
    t.same(await readFile(join(first.dir, 'model.onnx')), modelBytes);
  } finally {
    await first.package.close();
  }
  const second = await store.openPackage('copy');
  t.equal(second.dir, first.dir, 'versions with equal files share one cached copy');
  await second.package.close();

  // Damage the cached copy in place (same size: only the bytes differ).
  const cached = join(first.dir, 'model.onnx');
  await flipByte(cached, 50);
  t.not(sha256(await readFile(cached)), sha256(modelBytes));
  const again = await store.openPackage('m/1');
  try {
    t.same(await readFile(join(again.dir, 'model.onnx')), modelBytes, 'a byte-flipped cached file is rewritten');
  } finally {
    await again.package.close();
  }
  // A cached file with the wrong size, and a missing cached file.
  await writeFile(join(first.dir, 'background.csv'), 'short');
  const third = await store.openPackage('m/1');
  t.same(await readFile(join(third.dir, 'background.csv')), backgroundBytes, 'a truncated cached file is rewritten');
  await third.package.close();
  await rm(join(first.dir, 'genome.json'));
  const fourth = await store.openPackage('m/1');
  t.equal(fourth.package.manifest.description, 'test package p', 'a missing cached file is rewritten');
  await fourth.package.close();
  t.same((await readdir(store.cacheDir)).filter((n) => n.startsWith('.')), [], 'no temporary directories left in the cache');
});

t.test('openPackage: concurrent opens of one version (cache absent or damaged) all get a whole, verified copy', async (t) => {
  const { store } = await scratchStore(t);
  const v = await store.saveModel(makePackage(scratch(t), 'p'), { canonicalName: 'm' });
  const dir = join(store.cacheDir, v.digest);
  for (let round = 0; round < 6; round++) {
    if (round % 2 === 0) await rm(store.cacheDir, { recursive: true, force: true });
    else await flipByte(join(dir, 'model.onnx'), round);
    const opened = await Promise.all(
      Array.from({ length: 6 }, (_, i) => sleep(i * 2).then(() => store.openPackage(i % 2 === 0 ? 'm' : 'm/1'))),
    );
    for (const o of opened) {
      t.equal(o.dir, dir);
      await o.package.close();
    }
    t.same(await readFile(join(dir, 'model.onnx')), modelBytes, `round ${round}: the cached copy is whole`);
    t.same((await readdir(store.cacheDir)).sort(), [v.digest], `round ${round}: no leftovers in the cache`);
  }
});

t.test('aliases: set on save, move, delete; references name@alias, name/3 and name (latest ready)', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  const v1 = await store.saveModel(pkg, { canonicalName: 'm', aliases: ['production', 'champion'] });
  t.same(v1.aliases, ['champion', 'production'], 'aliases set by the save (sorted)');
  const v2 = await store.saveModel(pkg, { canonicalName: 'm', aliases: ['staging'] });
  t.same(v2.aliases, ['staging']);
  t.equal((await store.getVersion('m@production')).version, 1);
  t.equal((await store.getVersion({ name: 'm', alias: 'staging' })).version, 2);
  t.equal((await store.getVersion('m/1')).version, 1);
  t.equal((await store.getVersion({ name: 'm', version: 2 })).version, 2);
  t.equal((await store.getVersion('m')).version, 2, 'a plain name is the latest ready version');
  t.equal((await store.getVersion({ name: 'm' })).version, 2);

  // A save moving an alias takes it off the version that held it.
  const v3 = await store.saveModel(pkg, { canonicalName: 'm', aliases: ['production'] });
  t.same(v3.aliases, ['production']);
  t.same((await store.getVersion('m/1')).aliases, ['champion'], 'production moved off version 1');
  t.equal((await store.getVersion('m@production')).version, 3);

  // setAlias: move with a number or a reference; setting it where it is changes nothing.
  t.equal((await store.setAlias('m', 'production', 1)).version, 1);
  t.same((await store.getVersion('m/3')).aliases, []);
  t.same((await store.getVersion('m/1')).aliases, ['champion', 'production']);
  t.equal((await store.setAlias('m', 'champion', 'm@staging')).version, 2);
  t.same((await store.getVersion('m/2')).aliases, ['champion', 'staging']);
  const seq = store.seq;
  await store.setAlias('m', 'champion', 2);
  t.equal(store.seq, seq, 'setting an alias where it already points writes nothing');
  t.same((await store.getModel('m')).aliases, { champion: 2, production: 1, staging: 2 });

  // deleteAlias
  t.equal(await store.deleteAlias('m', 'staging'), true);
  t.equal(await store.deleteAlias('m', 'staging'), false, 'deleting an absent alias is false');
  await expectError(t, store.getVersion('m@staging'), 'NOT_FOUND', 'No alias "staging"', 'champion→2', 'production→1');
  t.same((await store.getVersion('m/2')).aliases, ['champion']);

  // Errors.
  await expectError(t, store.setAlias('m', 'production', 9), 'NOT_FOUND', 'm/9', 'never saved', 'versions 1-3');
  await expectError(t, store.setAlias('m', 'latest', 1), 'INVALID_ARGUMENT', 'reserved');
  await expectError(t, store.setAlias('m', '12', 1), 'INVALID_ARGUMENT', 'never all digits');
  await expectError(t, store.setAlias('m', 'a b', 1), 'INVALID_ARGUMENT', '"a b"');
  await expectError(t, store.setAlias('m', 'x', 'other/1'), 'INVALID_ARGUMENT', 'cannot point at a version of "other"');
  await expectError(t, store.setAlias('nope', 'x', 1), 'NOT_FOUND', 'No model "nope"', 'models: m');
  await expectError(t, store.deleteAlias('nope', 'x'), 'NOT_FOUND', 'No model "nope"');
  await expectError(t, store.getVersion('m@3'), 'INVALID_ARGUMENT', 'aliases are never numbers', '"m/3"');
  await expectError(t, store.getVersion('m/production'), 'INVALID_ARGUMENT', 'version number', '"m@production"');
});

t.test('soft delete, restore and purge: delete removes aliases, restore does not bring them back, purge requires deleted', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  await store.saveModel(pkg, { canonicalName: 'm', tags: { k: 'v1' } });
  await store.saveModel(pkg, { canonicalName: 'm', aliases: ['production', 'canary'], tags: { k: 'v2' } });

  const deleted = await store.deleteVersion('m@production');
  t.equal(deleted.version, 2);
  t.equal(deleted.state, 'deleted');
  t.same(deleted.aliases, [], 'the deleted version holds no alias');
  t.ok(deleted.deletedAt);
  t.same((await store.getModel('m')).aliases, {}, 'its aliases are gone from the model');
  t.equal((await store.getModel('m')).deletedVersions, 1);
  await expectError(t, store.getVersion('m@production'), 'NOT_FOUND', 'No alias "production"');
  await expectError(t, store.getVersion('m/2'), 'NOT_FOUND', 'm/2', 'is deleted', 'restoreVersion');
  t.equal((await store.getVersion('m/2', { includeDeleted: true })).state, 'deleted', 'includeDeleted reads it');
  t.equal((await store.getVersion('m')).version, 1, 'latest skips a deleted version');
  t.same((await store.listVersions('m')).versions.map((v) => v.version), [1]);
  t.same((await store.listVersions('m', { includeDeleted: true })).versions.map((v) => v.version), [2, 1]);
  t.same((await store.search({ where: [{ field: 'name', op: '=', value: 'm' }] })).versions.map((v) => v.version), [1], 'search skips deleted versions');
  t.same((await store.search({ filter: "tags.k = 'v2'", includeDeleted: true })).versions.map((v) => v.version), [2]);
  t.same((await store.search({ filter: "tags.k = 'v2'" })).versions, []);
  await expectError(t, store.deleteVersion('m/2'), 'NOT_FOUND', 'is deleted');
  await expectError(t, store.setAlias('m', 'production', 2), 'NOT_FOUND', 'is deleted');
  await expectError(t, store.updateVersion('m/2', { setTags: { a: 'b' } }), 'NOT_FOUND', 'is deleted');
  await expectError(t, store.purgeVersion('m/1'), 'FAILED_PRECONDITION', 'm/1 is not deleted', 'delete it first');
  await expectError(t, store.restoreVersion('m@production'), 'INVALID_ARGUMENT', 'version number');
  await expectError(t, store.purgeVersion('m'), 'INVALID_ARGUMENT', 'version number');

  const restored = await store.restoreVersion('m/2');
  t.equal(restored.state, 'ready');
  t.equal(restored.deletedAt, undefined);
  t.same(restored.aliases, [], 'aliases are not restored');
  t.same((await store.getModel('m')).aliases, {});
  t.equal((await store.getVersion('m')).version, 2, 'latest again');
  t.same((await store.search({ filter: "tags.k = 'v2'" })).versions.map((v) => v.version), [2], 'searchable again');
  const seq = store.seq;
  t.equal((await store.restoreVersion('m/2')).state, 'ready', 'restoring a ready version is a no-op');
  t.equal(store.seq, seq);

  await store.deleteVersion('m/2');
  await store.purgeVersion('m/2');
  await expectError(t, store.getVersion('m/2', { includeDeleted: true }), 'NOT_FOUND', 'm/2 was purged');
  await expectError(t, store.restoreVersion('m/2'), 'NOT_FOUND', 'was purged');
  await expectError(t, store.purgeVersion('m/2'), 'NOT_FOUND', 'was purged');
  t.same((await store.search({ filter: "tags.k = 'v2'", includeDeleted: true })).versions, [], 'a purged version is gone from searches');
  const model = await store.getModel('m');
  t.equal(model.versions, 1);
  t.equal(model.deletedVersions, 0);
  t.equal(model.latestVersion, 2);
});

t.test('updateVersion changes tags, metrics, description and version name', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  const v = await store.saveModel(pkg, { canonicalName: 'm', tags: { a: '1', b: '2' }, metrics: { x: 1, y: 2 }, description: 'd', versionName: 'n' });
  const u = await store.updateVersion('m/1', { setTags: { b: '3', c: '4' }, deleteTags: ['a', 'zz'], setMetrics: { y: 5 }, deleteMetrics: ['x'], description: null, versionName: 'renamed' });
  t.same(u.tags, { b: '3', c: '4' });
  t.same(u.metrics, { y: 5 });
  t.equal(u.metadata.description, undefined);
  t.equal(u.metadata.versionName, 'renamed');
  t.ok(u.updatedAt >= v.updatedAt);
  t.same(await store.getVersion('m/1'), u, 'getVersion agrees with what updateVersion returned');
  t.same((await store.search({ filter: "tags.a = '1'" })).versions, [], 'a deleted tag is no longer found');
  t.same((await store.search({ filter: "tags.b = '3'" })).versions.map((x) => x.version), [1]);
  await expectError(t, store.updateVersion('m/1', { setMetrics: { y: Infinity } }), 'INVALID_ARGUMENT', '"y"');
  await expectError(t, store.updateVersion('m/1', { deleteTags: 'a' as never }), 'INVALID_ARGUMENT', 'deleteTags');
  await expectError(t, store.updateVersion('m/1', null as never), 'INVALID_ARGUMENT', 'object of changes');
  await expectError(t, store.updateVersion('m/7', { description: 'x' }), 'NOT_FOUND', 'm/7');
});

t.test('tag and metric keys like __proto__ and constructor are plain keys: saved, read, searched, replayed', async (t) => {
  const { store, dir } = await scratchStore(t);
  const tags = JSON.parse('{"__proto__": "p", "constructor": "c", "toString": "s"}') as Record<string, string>;
  const metrics = JSON.parse('{"__proto__": 1, "valueOf": 2}') as Record<string, number>;
  t.same(Object.keys(tags), ['__proto__', 'constructor', 'toString']);
  const v = await store.saveModel(makePackage(scratch(t), 'p'), { canonicalName: 'm', tags, metrics });
  const check = (x: typeof v, what: string): void => {
    t.same(Object.keys(x.tags), ['__proto__', 'constructor', 'toString'], `${what}: tag keys`);
    t.equal(Object.getOwnPropertyDescriptor(x.tags, '__proto__')?.value, 'p', `${what}: own __proto__ tag`);
    t.equal(Object.getPrototypeOf(x.tags), Object.prototype, `${what}: the prototype is untouched`);
    t.same(Object.keys(x.metrics), ['__proto__', 'valueOf'], `${what}: metric keys`);
    t.equal(Object.getOwnPropertyDescriptor(x.metrics, '__proto__')?.value, 1);
  };
  check(v, 'save');
  check(await store.getVersion('m/1'), 'getVersion');
  t.same(ids((await store.search({ filter: "tags.__proto__ = 'p' AND tags.constructor = 'c' AND metrics.__proto__ = 1" })).versions), ['m/1']);
  t.same((await store.search({ filter: "tags.hasOwnProperty = 'x'" })).versions, []);
  const u = await store.updateVersion('m/1', { setTags: JSON.parse('{"__proto__": "q"}') as Record<string, string>, deleteTags: ['toString'] });
  t.same(Object.keys(u.tags), ['__proto__', 'constructor']);
  t.equal(Object.getOwnPropertyDescriptor(u.tags, '__proto__')?.value, 'q');
  // Another instance replays the log from the SQLite file.
  const other = await reopen(t, dir);
  const r = await other.getVersion('m/1');
  t.same(Object.keys(r.tags), ['__proto__', 'constructor']);
  t.equal(Object.getOwnPropertyDescriptor(r.tags, '__proto__')?.value, 'q', 'replayed from the log');
  t.same(ids((await other.search({ filter: "tags.__proto__ = 'q'" })).versions), ['m/1']);
});

t.test('errors are ModelStoreError with codes and messages saying what was wrong', async (t) => {
  const { store } = await scratchStore(t);
  await expectError(t, store.getVersion('nope'), 'NOT_FOUND', 'No model "nope"', 'no models yet');
  await store.saveModel(makePackage(scratch(t), 'p'), { canonicalName: 'fraud' });
  await expectError(t, store.getVersion('frau'), 'NOT_FOUND', 'No model "frau"', 'models: fraud');
  await expectError(t, store.getVersion('fraud/2'), 'NOT_FOUND', 'fraud/2 was never saved', 'version 1');
  await expectError(t, store.getVersion('fraud/0'), 'INVALID_ARGUMENT', 'fraud/0');
  await expectError(t, store.getVersion('fraud/1.5'), 'INVALID_ARGUMENT', 'version number');
  await expectError(t, store.getVersion('fraud/1@x'), 'INVALID_ARGUMENT', "not both '/' and '@'");
  await expectError(t, store.getVersion('-bad'), 'INVALID_ARGUMENT', '"-bad"', 'starting with a letter or digit');
  await expectError(t, store.getVersion(''), 'INVALID_ARGUMENT');
  await expectError(t, store.getVersion(42 as never), 'INVALID_ARGUMENT', 'name/3');
  await expectError(t, store.getVersion({ name: 'fraud', version: 1, alias: 'x' } as never), 'INVALID_ARGUMENT', 'not both');
  await expectError(t, store.getVersion({ name: 'fraud', version: -1 }), 'INVALID_ARGUMENT', 'positive integers');
  await expectError(t, store.getModel('a'.repeat(129)), 'INVALID_ARGUMENT', '1-128 characters');
  await expectError(t, store.listVersions('nope'), 'NOT_FOUND', 'No model "nope"');
  await expectError(t, store.listModels({ pageToken: '!!' }), 'INVALID_ARGUMENT', 'page token', 'nextPageToken');
  await expectError(t, store.listModels({ pageToken: 7 as never }), 'INVALID_ARGUMENT', 'page token');
  await expectError(t, store.listVersions('fraud', { pageToken: 'not a token' }), 'INVALID_ARGUMENT', 'page token');
  await expectError(t, store.listVersions('fraud', { pageToken: Buffer.from('abc').toString('base64url') }), 'INVALID_ARGUMENT', 'page token');
  await expectError(t, store.listModels({ pageSize: 1001 }), 'INVALID_ARGUMENT', 'pageSize', '1 to 1000');
  await expectError(t, store.listModels({ pageSize: 2.5 }), 'INVALID_ARGUMENT', 'pageSize');
  await expectError(t, store.listModels({ namePrefix: 3 as never }), 'INVALID_ARGUMENT', 'namePrefix');
  await expectError(t, store.search({ pageToken: 'garbage' }), 'INVALID_ARGUMENT', 'pageToken');
  await expectError(t, store.events(-1), 'INVALID_ARGUMENT', 'sinceSeq');
  await expectError(t, store.events(0, 0), 'INVALID_ARGUMENT', 'limit');
  await expectError(t, store.gc({ graceMs: -1 }), 'INVALID_ARGUMENT', 'graceMs');
  await expectError(t, store.watch(() => undefined, { intervalMs: 1 }), 'INVALID_ARGUMENT', 'intervalMs');
  await expectError(t, store.watch(() => undefined, { intervalMs: 2 ** 40 }), 'INVALID_ARGUMENT', 'intervalMs');
  await expectError(t, store.watch(() => undefined, { sinceSeq: -3 }), 'INVALID_ARGUMENT', 'sinceSeq');
  await expectError(t, store.runLineage(''), 'INVALID_ARGUMENT', 'runId');
  await expectError(t, store.runLineage('never'), 'NOT_FOUND', '"never"');
  await expectError(t, store.recordLineage({ runId: 'r', consumed: [] }), 'INVALID_ARGUMENT', 'consumed');
  await expectError(t, store.recordLineage({ runId: 'r', consumed: ['fraud/9'] }), 'NOT_FOUND', 'fraud/9');
  t.ok((await expectError(t, store.getVersion('nope'), 'NOT_FOUND')) instanceof Error, 'a ModelStoreError is an Error');

  // A closed store refuses every call.
  await store.close();
  await store.close();
  await expectError(t, store.getVersion('fraud'), 'FAILED_PRECONDITION', 'closed', 'openModelStore');
  await expectError(t, store.saveModel(examplePackage, { canonicalName: 'x' }), 'FAILED_PRECONDITION', 'closed');
  t.ok(new ModelStoreError('INTERNAL', 'x') instanceof Error);
});
