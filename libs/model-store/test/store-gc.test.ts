/**
 * ModelStore upkeep and listing: garbage collection of blobs (grace period, shared blobs, soft-deleted versions keep
 * theirs, purging old deleted versions, dry runs), pagination of listModels / listVersions, and where openModelStore
 * finds its backends (options, GENOME_STORE_METADATA / GENOME_STORE_BLOBS / GENOME_STORE_DIR, defaults).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { openModelStore } from '../src/store.js';
import type { ModelVersion, RegisteredModel } from '../src/types.js';
import { examplePackage, makePackage, scratch } from './helpers/packages.js';
import { blobFile, blobsOnDisk, expectError, scratchStore } from './helpers/store-helpers.js';

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const modelBytes = await readFile(join(examplePackage, 'model.onnx'));

t.test('gc: frees blobs no version references, keeps shared ones and those of soft-deleted versions', async (t) => {
  const { store, blobsDir } = await scratchStore(t);
  const work = scratch(t);
  const a = await store.saveModel(makePackage(work, 'a'), { canonicalName: 'm' });
  const b = await store.saveModel(makePackage(work, 'b'), { canonicalName: 'm' });
  const genomeA = a.files.find((f) => f.path === 'genome.json')!.sha256;
  const genomeB = b.files.find((f) => f.path === 'genome.json')!.sha256;
  t.equal((await blobsOnDisk(blobsDir)).length, 4, 'model, background, two manifests');

  // An orphan: uploaded, never committed (a save killed between upload and commit leaves these).
  const orphan = Buffer.from('orphan blob');
  await store.putBlob(orphan);
  t.equal((await blobsOnDisk(blobsDir)).length, 5);

  // Within the grace period (default one hour) the orphan is kept.
  const young = await store.gc();
  t.same(young, { referencedBlobs: 4, removedBlobs: 0, removedBytes: 0, keptYoungBlobs: 1, purgedVersions: [] });
  t.equal((await blobsOnDisk(blobsDir)).length, 5);

  await sleep(20);
  // A dry run reports without removing.
  t.same(await store.gc({ graceMs: 0, dryRun: true }), { referencedBlobs: 4, removedBlobs: 1, removedBytes: orphan.byteLength, keptYoungBlobs: 0, purgedVersions: [] });
  t.equal((await blobsOnDisk(blobsDir)).length, 5, 'a dry run removes nothing');
  t.same(await store.gc({ graceMs: 0 }), { referencedBlobs: 4, removedBlobs: 1, removedBytes: orphan.byteLength, keptYoungBlobs: 0, purgedVersions: [] });
  t.same(await blobsOnDisk(blobsDir), [...new Set([...a.files, ...b.files].map((f) => f.sha256))].sort(), 'exactly the referenced blobs are left');

  // A soft-deleted version keeps its blobs.
  await store.deleteVersion('m/2');
  t.same((await store.gc({ graceMs: 0 })).removedBlobs, 0, 'deleted (not purged) versions keep their blobs');
  t.ok((await blobsOnDisk(blobsDir)).includes(genomeB));
  t.same(Buffer.from(await store.readFile('m/2', 'genome.json').catch(() => Buffer.alloc(0))).length, 0, 'a deleted version is not read by number without includeDeleted');

  // Purged: its own manifest goes, the shared model and background stay.
  await store.purgeVersion('m/2');
  const report = await store.gc({ graceMs: 0 });
  t.equal(report.removedBlobs, 1);
  t.equal(report.referencedBlobs, 3);
  t.ok(!(await blobsOnDisk(blobsDir)).includes(genomeB), "the purged version's own blob is removed");
  t.ok((await blobsOnDisk(blobsDir)).includes(genomeA));
  t.ok(existsSync(blobFile(blobsDir, sha256(modelBytes))), 'the shared model blob stays');
  t.same(Buffer.from(await store.readFile('m/1', 'model.onnx')), modelBytes, 'the remaining version reads in full');
  const out = join(work, 'dl');
  await store.download('m/1', out);
  t.same(await readFile(join(out, 'model.onnx')), modelBytes);

  // Nothing more to do.
  t.same(await store.gc({ graceMs: 0 }), { referencedBlobs: 3, removedBlobs: 0, removedBytes: 0, keptYoungBlobs: 0, purgedVersions: [] });
});

t.test('gc({ purgeDeletedOlderThanMs }) purges old soft-deleted versions first, then frees their blobs', async (t) => {
  const { store, blobsDir } = await scratchStore(t);
  const work = scratch(t);
  await store.saveModel(makePackage(work, 'a'), { canonicalName: 'm' });
  await store.saveModel(makePackage(work, 'b'), { canonicalName: 'm' });
  await store.saveModel(makePackage(work, 'c'), { canonicalName: 'n' });
  await store.deleteVersion('m/2');
  await store.deleteVersion('n/1');
  await sleep(20);
  // Deleted a moment ago: not older than an hour.
  t.same((await store.gc({ graceMs: 0, purgeDeletedOlderThanMs: 3_600_000 })).purgedVersions, []);
  t.equal((await store.getModel('m')).deletedVersions, 1);
  // A dry run names what it would purge and free, and does neither.
  const dry = await store.gc({ graceMs: 0, purgeDeletedOlderThanMs: 0, dryRun: true });
  t.same(dry.purgedVersions, [{ name: 'm', version: 2 }, { name: 'n', version: 1 }]);
  t.equal(dry.removedBlobs, 2, 'the two manifests only they hold');
  t.equal((await store.getModel('n')).deletedVersions, 1, 'nothing purged by a dry run');
  t.equal((await blobsOnDisk(blobsDir)).length, 5);
  const done = await store.gc({ graceMs: 0, purgeDeletedOlderThanMs: 0 });
  t.same(done.purgedVersions, [{ name: 'm', version: 2 }, { name: 'n', version: 1 }]);
  t.equal(done.removedBlobs, 2);
  t.equal((await blobsOnDisk(blobsDir)).length, 3);
  await expectError(t, store.getVersion('m/2', { includeDeleted: true }), 'NOT_FOUND', 'was purged');
  t.equal((await store.getVersion('m')).version, 1);
  await expectError(t, store.gc({ purgeDeletedOlderThanMs: Number.NaN }), 'INVALID_ARGUMENT', 'purgeDeletedOlderThanMs');
});

t.test('listModels pages: every model exactly once, by name, with namePrefix', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  const names = ['alpha', 'beta', 'beta-2', 'beta.3', 'beta_4', 'betamax', 'gamma', 'Zeta', '0-first'];
  for (const n of names) await store.saveModel(pkg, { canonicalName: n });
  const sorted = [...names].sort();
  for (const pageSize of [1, 2, 3, 4, 9, 10, 100]) {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await store.listModels({ pageSize, ...(token !== undefined ? { pageToken: token } : {}) });
      t.ok(page.models.length <= pageSize);
      t.ok(page.models.length > 0, 'no empty page');
      seen.push(...page.models.map((m: RegisteredModel) => m.name));
      token = page.nextPageToken;
      pages++;
    } while (token !== undefined);
    t.same(seen, sorted, `pageSize ${pageSize}: every model once, in name order`);
    t.equal(pages, Math.max(1, Math.ceil(names.length / pageSize)));
  }
  for (const [prefix, want] of [
    ['beta', ['beta', 'beta-2', 'beta.3', 'beta_4', 'betamax']],
    ['beta-', ['beta-2']],
    ['z', []],
    ['', sorted],
  ] as const) {
    for (const pageSize of [1, 2, 100]) {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await store.listModels({ namePrefix: prefix, pageSize, ...(token !== undefined ? { pageToken: token } : {}) });
        seen.push(...page.models.map((m: RegisteredModel) => m.name));
        token = page.nextPageToken;
      } while (token !== undefined);
      t.same(seen, want, `prefix ${JSON.stringify(prefix)}, pageSize ${pageSize}`);
    }
  }
  // A model saved between pages after the cursor shows up; one before it does not repeat anything.
  const first = await store.listModels({ pageSize: 3 });
  await store.saveModel(pkg, { canonicalName: 'aaa' });
  await store.saveModel(pkg, { canonicalName: 'zz-last' });
  const rest: string[] = [];
  let token = first.nextPageToken;
  while (token !== undefined) {
    const page = await store.listModels({ pageSize: 3, pageToken: token });
    rest.push(...page.models.map((m) => m.name));
    token = page.nextPageToken;
  }
  t.same([...first.models.map((m) => m.name), ...rest], [...sorted, 'zz-last'], 'pages continue after the last name seen');
});

t.test('listVersions pages: newest first, every version exactly once, deleted ones only when asked', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  for (let i = 0; i < 9; i++) await store.saveModel(pkg, { canonicalName: 'm' });
  for (const n of [2, 5, 6, 9]) await store.deleteVersion(`m/${n}`);
  await store.purgeVersion('m/6');
  const all = async (includeDeleted: boolean, pageSize: number): Promise<number[]> => {
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const page = await store.listVersions('m', { includeDeleted, pageSize, ...(token !== undefined ? { pageToken: token } : {}) });
      t.ok(page.versions.length <= pageSize);
      t.ok(page.versions.length > 0, 'no empty page');
      seen.push(...page.versions.map((v: ModelVersion) => v.version));
      token = page.nextPageToken;
    } while (token !== undefined);
    return seen;
  };
  for (const pageSize of [1, 2, 3, 5, 100]) {
    t.same(await all(false, pageSize), [8, 7, 4, 3, 1], `ready versions, pageSize ${pageSize}`);
    t.same(await all(true, pageSize), [9, 8, 7, 5, 4, 3, 2, 1], `with deleted ones, pageSize ${pageSize}`);
  }
  const versions = (await store.listVersions('m', { includeDeleted: true })).versions;
  t.same(versions.filter((v) => v.state === 'deleted').map((v) => v.version), [9, 5, 2]);
  // A listModels token is not a listVersions token.
  const modelsToken = (await store.listModels({ pageSize: 1 })).nextPageToken;
  t.equal(modelsToken, undefined, 'one model: a single page');
});

t.test('openModelStore: GENOME_STORE_METADATA and GENOME_STORE_BLOBS before the <dir> defaults; explicit options win', async (t) => {
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of ['GENOME_STORE_METADATA', 'GENOME_STORE_BLOBS', 'GENOME_STORE_DIR']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  const root = scratch(t);
  const pkg = makePackage(root, 'p');
  const dir = join(root, 'store-dir');
  const envMeta = join(root, 'env-meta', 'metadata.sqlite');
  const envBlobs = join(root, 'env-blobs');
  process.env.GENOME_STORE_METADATA = `sqlite://${envMeta}`;
  process.env.GENOME_STORE_BLOBS = envBlobs;
  delete process.env.GENOME_STORE_DIR;

  const fromEnv = await openModelStore({ dir });
  try {
    t.ok(fromEnv.metadataLocation.includes(envMeta), `metadata from GENOME_STORE_METADATA: ${fromEnv.metadataLocation}`);
    t.equal(fromEnv.blobLocation, pathToFileURL(envBlobs).href, 'blobs from GENOME_STORE_BLOBS');
    t.equal(fromEnv.cacheDir, join(dir, 'cache'), 'the cache stays under dir');
    const v = await fromEnv.saveModel(pkg, { canonicalName: 'm' });
    t.ok(existsSync(envMeta), 'the SQLite file is where the variable says');
    t.ok(existsSync(blobFile(envBlobs, v.files[0]!.sha256)), 'the blobs are where the variable says');
    t.notOk(existsSync(join(dir, 'metadata.sqlite')), 'nothing at <dir>/metadata.sqlite');
    t.notOk(existsSync(join(dir, 'blobs')), 'nothing at <dir>/blobs');
  } finally {
    await fromEnv.close();
  }

  // Explicit options win over the environment.
  const explicit = await openModelStore({ dir, metadata: 'memory:', blobs: join(root, 'explicit-blobs') });
  try {
    t.equal(explicit.metadataLocation.startsWith('memory:'), true, explicit.metadataLocation);
    t.equal(explicit.blobLocation, pathToFileURL(join(root, 'explicit-blobs')).href);
    await expectError(t, explicit.getVersion('m'), 'NOT_FOUND', 'no models yet');
  } finally {
    await explicit.close();
  }

  // One variable alone: the other backend takes its <dir> default; empty variables count as unset.
  process.env.GENOME_STORE_METADATA = '';
  const blobsOnly = await openModelStore({ dir });
  try {
    t.ok(blobsOnly.metadataLocation.includes(join(dir, 'metadata.sqlite')), blobsOnly.metadataLocation);
    t.equal(blobsOnly.blobLocation, pathToFileURL(envBlobs).href);
    t.same((await blobsOnly.listModels()).models, [], 'a fresh metadata store under dir');
    t.same(await blobsOnly.missingBlobs([sha256(modelBytes)]), [], 'but the blobs saved through the environment');
  } finally {
    await blobsOnly.close();
  }

  // GENOME_STORE_DIR is the root when dir is not given; the variables still come first.
  delete process.env.GENOME_STORE_BLOBS;
  process.env.GENOME_STORE_METADATA = `sqlite://${envMeta}`;
  process.env.GENOME_STORE_DIR = join(root, 'env-dir');
  const viaDir = await openModelStore();
  try {
    t.equal(viaDir.blobLocation, pathToFileURL(join(root, 'env-dir', 'blobs')).href);
    t.equal(viaDir.cacheDir, join(root, 'env-dir', 'cache'));
    t.equal((await viaDir.getVersion('m')).version, 1, 'the metadata written before, through GENOME_STORE_METADATA');
    await expectError(t, viaDir.readFile('m', 'model.onnx'), 'NOT_FOUND', 'model.onnx');
  } finally {
    await viaDir.close();
  }

  // A malformed variable is refused with the accepted forms.
  process.env.GENOME_STORE_METADATA = 'mysql://nope';
  await expectError(t, openModelStore({ dir }), 'INVALID_ARGUMENT', 'mysql', 'sqlite://');
});
