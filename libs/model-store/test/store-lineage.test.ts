/**
 * ModelStore lineage, events and several instances: runs that produced and consumed versions, events() and watch()
 * (order, each event once), a second openModelStore on the same SQLite file seeing the first one's writes, and a
 * store reopened from a snapshot answering exactly like the one that wrote it.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelStore } from '../src/store.js';
import type { StoreEvent } from '../src/types.js';
import { makePackage, scratch } from './helpers/packages.js';
import { expectError, reopen, scratchStore } from './helpers/store-helpers.js';

/** Waits until `check` holds (polling), failing after `ms`. */
async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

t.test('lineage: versions saved with pipelineRunId are produced by the run; recordLineage records what it consumed', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  const raw = await store.saveModel(pkg, { canonicalName: 'features', pipelineName: 'etl', pipelineRunId: 'run-1', pipelineStage: 'extract', aliases: ['production'] });
  const trained = await store.saveModel(pkg, { canonicalName: 'model', pipelineName: 'train', pipelineRunId: 'run-2', pipelineStage: 'train' });
  const evaluated = await store.saveModel(pkg, { canonicalName: 'model', pipelineName: 'train', pipelineRunId: 'run-2', pipelineStage: 'calibrate' });
  await store.saveModel(pkg, { canonicalName: 'model' }); // no run

  t.same(await store.runLineage('run-1'), { runId: 'run-1', produced: [{ name: 'features', version: 1, stage: 'extract' }], consumed: [] });
  t.same((await store.runLineage('run-2')).produced, [
    { name: 'model', version: trained.version, stage: 'train' },
    { name: 'model', version: evaluated.version, stage: 'calibrate' },
  ]);

  // run-2's train step consumed the features (by alias: resolved now) and the calibrate step consumed model/1.
  const after = await store.recordLineage({ runId: 'run-2', stage: 'train', consumed: ['features@production'] });
  t.same(after.consumed, [{ name: 'features', version: raw.version, stage: 'train' }]);
  await store.recordLineage({ runId: 'run-2', stage: 'calibrate', consumed: [{ name: 'model', version: 1 }] });
  // Recording the same link twice records it once.
  await store.recordLineage({ runId: 'run-2', stage: 'train', consumed: ['features/1'] });
  // A run that only consumed.
  const serve = await store.recordLineage({ runId: 'serve-9', consumed: ['model', 'features'] });
  t.same(serve, { runId: 'serve-9', produced: [], consumed: [{ name: 'model', version: 3 }, { name: 'features', version: 1 }] }, '"model" resolved to the latest ready version now');

  t.same(await store.runLineage('run-2'), {
    runId: 'run-2',
    produced: [
      { name: 'model', version: 1, stage: 'train' },
      { name: 'model', version: 2, stage: 'calibrate' },
    ],
    consumed: [
      { name: 'features', version: 1, stage: 'train' },
      { name: 'model', version: 1, stage: 'calibrate' },
    ],
  });

  t.same(await store.versionLineage('features/1'), { producedBy: { runId: 'run-1', pipelineName: 'etl', stage: 'extract' }, consumedBy: [{ runId: 'run-2', stage: 'train' }, { runId: 'serve-9' }] });
  t.same(await store.versionLineage('model/1'), { producedBy: { runId: 'run-2', pipelineName: 'train', stage: 'train' }, consumedBy: [{ runId: 'run-2', stage: 'calibrate' }] });
  t.same(await store.versionLineage('model'), { consumedBy: [{ runId: 'serve-9' }] }, 'a version saved without a run has no producedBy');

  // Lineage outlives a soft delete (versionLineage reads deleted versions by number).
  await store.deleteVersion('model/1');
  t.equal((await store.versionLineage('model/1')).producedBy?.runId, 'run-2');
  await expectError(t, store.recordLineage({ runId: 'x', consumed: ['model/1'] }), 'NOT_FOUND', 'is deleted');
  await expectError(t, store.recordLineage({ runId: 'x', consumed: ['model@nope'] }), 'NOT_FOUND', 'No alias "nope"');
  await expectError(t, store.recordLineage({ runId: 'x', consumed: ['model/1', 'bad ref'] }), 'INVALID_ARGUMENT', '"bad ref"');
  await expectError(t, store.recordLineage(null as never), 'INVALID_ARGUMENT', 'runId');
  await expectError(t, store.runLineage('x'), 'NOT_FOUND', 'No lineage for pipeline run "x"');
  await expectError(t, store.versionLineage('model/9'), 'NOT_FOUND', 'model/9');

  // Search by lineage fields.
  t.same((await store.search({ filter: "pipelineRunId = 'run-2'", orderBy: [{ field: 'version', direction: 'asc' }] })).versions.map((v) => v.version), [2]);
  t.same((await store.search({ filter: "run_id = 'run-1' AND pipeline_stage = 'extract'" })).versions.map((v) => v.name), ['features']);
});

t.test('events(): every change once, in log order, with the details of each', async (t) => {
  const { store } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  t.same(await store.events(), { events: [], lastSeq: 0 });
  await store.saveModel(pkg, { canonicalName: 'm', aliases: ['production'] });
  await store.saveModel(pkg, { canonicalName: 'm', aliases: ['production'] });
  await store.updateVersion('m/1', { setTags: { a: 'b' } });
  await store.setAlias('m', 'canary', 1);
  await store.deleteAlias('m', 'canary');
  await store.setAlias('m', 'canary', 1);
  await store.deleteVersion('m/1');
  await store.restoreVersion('m/1');
  await store.recordLineage({ runId: 'r', consumed: ['m/2'] });
  await store.deleteVersion('m/1');
  await store.purgeVersion('m/1');
  const { events, lastSeq } = await store.events();
  t.equal(lastSeq, 11);
  t.equal(store.seq, 11);
  const strip = (e: StoreEvent): Record<string, unknown> => {
    const { at, ...rest } = e;
    t.ok(!Number.isNaN(Date.parse(at)), 'every event has a time');
    return rest;
  };
  t.same(events.map(strip), [
    { seq: 1, type: 'version-created', name: 'm', version: 1 },
    { seq: 1, type: 'alias-set', name: 'm', alias: 'production', version: 1 },
    { seq: 2, type: 'version-created', name: 'm', version: 2 },
    { seq: 2, type: 'alias-set', name: 'm', alias: 'production', version: 2, previous: 1 },
    { seq: 3, type: 'version-updated', name: 'm', version: 1 },
    { seq: 4, type: 'alias-set', name: 'm', alias: 'canary', version: 1 },
    { seq: 5, type: 'alias-deleted', name: 'm', alias: 'canary', previous: 1 },
    { seq: 6, type: 'alias-set', name: 'm', alias: 'canary', version: 1 },
    { seq: 7, type: 'version-deleted', name: 'm', version: 1 },
    { seq: 7, type: 'alias-deleted', name: 'm', alias: 'canary', previous: 1 },
    { seq: 8, type: 'version-restored', name: 'm', version: 1 },
    { seq: 9, type: 'lineage-recorded', runId: 'r' },
    { seq: 10, type: 'version-deleted', name: 'm', version: 1 },
    { seq: 11, type: 'version-purged', name: 'm', version: 1 },
  ]);
  // Paging through the events with a small limit gives the same list, each event once.
  const paged: StoreEvent[] = [];
  let since = 0;
  for (;;) {
    const page = await store.events(since, 3);
    if (page.lastSeq === since) break;
    t.ok(page.lastSeq - since <= 3, 'at most limit entries per page');
    paged.push(...page.events);
    since = page.lastSeq;
  }
  t.same(paged, events);
  t.same(await store.events(11), { events: [], lastSeq: 11 });
  t.same((await store.events(9)).events.map((e) => e.type), ['version-deleted', 'version-purged']);
  t.same(await store.events(50), { events: [], lastSeq: 50 }, 'a sinceSeq beyond the end gives nothing');

  // A second instance (reading the log from the SQLite file, not from memory) gives the very same events.
});

t.test('watch(): from now on or from a seq, in order, each once; several watchers; close stops delivery', async (t) => {
  const { store, dir } = await scratchStore(t);
  const pkg = makePackage(scratch(t), 'p');
  await store.saveModel(pkg, { canonicalName: 'm' });
  const fromNow: StoreEvent[] = [];
  const fromStart: StoreEvent[] = [];
  const w1 = await store.watch((e) => void fromNow.push(e), { intervalMs: 20 });
  const w2 = await store.watch(
    async (e) => {
      await sleep(2); // a slow listener is awaited before the next event
      fromStart.push(e);
    },
    { intervalMs: 20, sinceSeq: 0 },
  );
  // Writes from another instance on the same SQLite file are seen too.
  const other = await reopen(t, dir);
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 4; i++) writes.push((i % 2 === 0 ? store : other).saveModel(pkg, { canonicalName: 'm', tags: { i: String(i) } }));
  await Promise.all(writes);
  await other.setAlias('m', 'production', 3);
  await waitFor(() => fromNow.length >= 5 && fromStart.length >= 6);
  await sleep(100); // nothing more arrives
  const all = (await store.events()).events;
  t.same(fromStart, all, 'a watch from seq 0 delivers the whole history, in log order, each once');
  t.same(fromNow, all.slice(1), 'a watch from now on delivers only later events');
  t.same(
    fromNow.map((e) => e.seq),
    [2, 3, 4, 5, 6],
  );
  const versions = fromNow.filter((e) => e.type === 'version-created').map((e) => (e as { version: number }).version);
  t.same([...versions].sort(), [2, 3, 4, 5], 'concurrent saves from two instances got distinct versions');

  await w1.close();
  await store.saveModel(pkg, { canonicalName: 'm' });
  await waitFor(() => fromStart.length >= 7);
  await sleep(100);
  t.equal(fromNow.length, 5, 'a closed watch delivers nothing more');
  t.equal(fromStart.length, 7);
  await w2.close();
  await w2.close();

  // A listener that throws does not stop the watch; onError hears about it.
  const errors: unknown[] = [];
  const seen: number[] = [];
  const w3 = await store.watch(
    (e) => {
      seen.push(e.seq);
      if (e.seq === 2) throw new Error('listener failed');
    },
    { intervalMs: 20, sinceSeq: 0, onError: (err) => errors.push(err) },
  );
  await waitFor(() => seen.length >= 7);
  t.same(seen, [1, 2, 3, 4, 5, 6, 7]);
  t.equal(errors.length, 1);
  // close() of the store stops its watches.
  await store.close();
  await w3.close();
});

t.test('a second store on the same SQLite file sees the first one\'s writes; concurrent saves never share a version', async (t) => {
  const { store: a, dir } = await scratchStore(t);
  const b = await reopen(t, dir);
  const pkg = makePackage(scratch(t), 'p');
  await a.saveModel(pkg, { canonicalName: 'm', tags: { by: 'a' }, aliases: ['production'] });
  t.same((await b.getVersion('m@production')).tags, { by: 'a' }, 'a read catches up with the log first');
  await b.updateVersion('m/1', { setMetrics: { auc: 0.9 } });
  await a.refresh();
  t.equal(a.seq, b.seq);
  t.same((await a.getVersion('m/1')).metrics, { auc: 0.9 });
  // Interleaved saves from both instances.
  const saves = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).saveModel(pkg, { canonicalName: 'm', tags: { i: String(i) } })));
  t.same(
    saves.map((v) => v.version).sort((x, y) => x - y),
    [2, 3, 4, 5, 6, 7, 8, 9],
    'every save got its own version',
  );
  for (const v of saves) t.same((await a.getVersion(`m/${v.version}`)).tags, v.tags, `a reads m/${v.version} as saved`);
  await b.deleteVersion('m@production');
  await expectError(t, a.getVersion('m@production'), 'NOT_FOUND');
  await a.restoreVersion('m/1');
  t.equal((await b.getVersion('m/1')).state, 'ready');
  t.same((await a.events()).events, (await b.events()).events, 'both instances give the same events');
});

/** Everything a reader can see, for comparing two instances. */
async function view(store: ModelStore): Promise<unknown> {
  const models = (await store.listModels({ pageSize: 1000 })).models;
  const out: Record<string, unknown> = { models, seq: store.seq };
  for (const m of models) {
    const versions = (await store.listVersions(m.name, { includeDeleted: true, pageSize: 1000 })).versions;
    out[`versions:${m.name}`] = versions;
    for (const v of versions) out[`lineage:${m.name}/${v.version}`] = await store.versionLineage(`${m.name}/${v.version}`);
  }
  for (const run of ['run-a', 'run-b', 'run-c']) out[`run:${run}`] = await store.runLineage(run);
  out.search = (await store.search({ includeDeleted: true, pageSize: 1000, orderBy: [{ field: 'tags.k', direction: 'asc' }] })).versions;
  out.events = (await store.events()).events;
  return out;
}

t.test('a store reopened from a snapshot answers exactly like the instance that wrote the log', async (t) => {
  const dir = scratch(t);
  const pkg = makePackage(scratch(t), 'p');
  const { openModelStore } = await import('../src/store.js');
  const writer = await openModelStore({ dir, snapshotEvery: 4 });
  await writer.saveModel(pkg, { canonicalName: 'm', tags: { k: 'b' }, pipelineRunId: 'run-a', aliases: ['production'] });
  await writer.saveModel(pkg, { canonicalName: 'n', tags: { k: 'a' }, pipelineRunId: 'run-c', pipelineStage: 's' });
  // Consumers of m/1 recorded in an order that is not the order of their run ids.
  await writer.recordLineage({ runId: 'run-c', consumed: ['m/1'] });
  await writer.recordLineage({ runId: 'run-b', consumed: ['m/1'] });
  await writer.recordLineage({ runId: 'run-a', stage: 'late', consumed: ['m/1', 'n'] });
  await writer.saveModel(pkg, { canonicalName: 'm', tags: { k: 'c' }, aliases: ['production', 'canary'] });
  await writer.deleteVersion('m/2');
  await writer.updateVersion('n/1', { setTags: { z: '1' }, setMetrics: { auc: 0.5 } });
  const before = await view(writer);
  await writer.close();

  const warnings: string[] = [];
  const reader = await openModelStore({ dir, snapshotEvery: 4, onWarning: (w) => warnings.push(w) });
  t.teardown(() => reader.close());
  t.same(warnings, [], 'the snapshot loaded without warnings');
  t.same(await view(reader), before, 'same models, versions, lineage, search results and events');
  // And it goes on numbering where the writer stopped.
  t.equal((await reader.saveModel(pkg, { canonicalName: 'm' })).version, 3);
});
