/**
 * The model store over every metadata backend shared between processes (a SQLite file, PostgreSQL with a table of
 * its own per test, Redis with a namespace of its own per test), with filesystem blobs in a scratch directory, driven
 * by child processes (test/helpers/store-writer.ts):
 *
 * 1. concurrent saves: 4 processes save 25 versions each of one model while moving the alias `production`: versions
 *    1..100 each exactly once, every save present with the number its writer was told, the alias on a version, 100
 *    version-created events, and a state loaded from the (concurrently written) snapshots equal to a full replay;
 * 2. SIGKILL between upload and commit (GENOME_STORE_TEST_PAUSE_AFTER_UPLOAD): no version appears, the next save gets
 *    the next number, the uploaded blobs are orphans that gc({ graceMs: 0 }) removes while keeping referenced ones;
 * 3. reopening: a store written by one process with snapshotEvery 5 shows the same state to other processes, and the
 *    state loaded from the latest snapshot equals a replay of the whole log; a lagging or absent `snapshot:latest`
 *    still loads the newest snapshot;
 * 4. SIGKILL at a random moment of a loop of saves (while another process saves too): versions stay contiguous from
 *    1, each once, each fully readable (verified download).
 *
 * After each, a new log loads the newest snapshot (one exists at every multiple of snapshotEvery), builds the state a
 * replay of the whole log builds, and a log replaying past existing snapshots does not write them again.
 *
 * The in-process memory backend is not shared between processes, so it has no place here (test/kv-contract covers it).
 */
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KvBackend, KvKind } from '../src/kv/kv-backend.js';
import { EventLog } from '../src/log/event-log.js';
import { snapshotText } from '../src/state/snapshot.js';
import { openModelStore, type ModelStore, type OpenModelStoreOptions } from '../src/store.js';
import { ModelStoreError } from '../src/errors.js';
import type { ModelVersion } from '../src/types.js';
import { PAUSE_AFTER_UPLOAD_ENV } from '../src/test-hooks.js';
import { followLines } from './helpers/children.js';
import { kvFixture, type KvFixture } from './helpers/kv-backends.js';
import { makePackage, scratch } from './helpers/packages.js';
import { dumpStore, type StoreDump, type WriterArgs } from './helpers/store-writer.js';

const KINDS = ['sqlite', 'postgres', 'redis'] as const satisfies readonly KvKind[];
const writerScript = fileURLToPath(new URL('./helpers/store-writer.ts', import.meta.url));

/** A running store-writer.ts. */
interface Child {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  /** Resolves with the first line matching `pattern`; rejects when the process exits first. */
  waitFor(pattern: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its `saved <version> <tag>` lines. */
  saved(): { version: number; tag: string }[];
  /** Its dump (after `done`); rejects when it failed. */
  dump(): Promise<StoreDump>;
}

const running = new Set<ChildProcess>();
t.teardown(() => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startChild(args: WriterArgs, env: Record<string, string> = {}): Child {
  const childEnv = { ...process.env, ...env };
  if (!(PAUSE_AFTER_UPLOAD_ENV in env)) delete childEnv[PAUSE_AFTER_UPLOAD_ENV];
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', writerScript, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv,
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const describe = () => `writer ${args.id} (${args.mode})`;
  child.once('close', () => running.delete(child));
  const followed = followLines(child, describe, () => `stderr:\n${stderr}`);
  const { lines, exited } = followed;
  child.stdin!.on('error', () => undefined); // a killed child closes its stdin
  return {
    child,
    ...followed,
    stderr: () => stderr,
    saved() {
      return lines.filter((l) => l.startsWith('saved ')).map((l) => {
        const [, version, tag] = l.split(' ');
        return { version: Number(version), tag: tag! };
      });
    },
    async dump() {
      const { code, signal } = await exited;
      const line = lines.find((l) => l.startsWith('dump '));
      if (code !== 0 || !line || !lines.includes('done')) throw new Error(`${describe()} failed (${code ?? signal}); stdout:\n${lines.slice(-5).join('\n')}\nstderr:\n${stderr}`);
      return JSON.parse(line.slice(5)) as StoreDump;
    },
  };
}

/** One test's store: its own table (PostgreSQL) or namespace (Redis) or file (SQLite), and blobs in a scratch dir. */
interface Setup {
  fixture: KvFixture;
  dir: string;
  namespace: string;
  /** Warnings of the stores this process opened (none expected). */
  warnings: string[];
  options(extra?: Partial<OpenModelStoreOptions>): OpenModelStoreOptions;
  args(extra: Partial<WriterArgs> & Pick<WriterArgs, 'mode' | 'id'>): WriterArgs;
}

async function setup(t: Test, kind: KvKind, label: string): Promise<Setup> {
  const fixture = await kvFixture(kind, `store-${label}-${kind}`);
  t.teardown(() => fixture.cleanup());
  const dir = scratch(t, `genome-store-${label}-`);
  const namespace = fixture.namespace(label);
  const blobs = join(dir, 'blobs');
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const warnings: string[] = [];
  return {
    fixture,
    dir,
    namespace,
    warnings,
    options: (extra = {}) => ({ metadata: fixture.url, namespace, blobs, dir: work, onWarning: (m) => warnings.push(m), ...extra }),
    args: (extra) => ({ metadata: fixture.url, namespace, blobs, work, name: 'fraud', count: 0, ...extra }),
  };
}

/** Every version of `name` (deleted ones too), newest first, through every page. */
async function allVersions(store: ModelStore, name: string): Promise<ModelVersion[]> {
  const out: ModelVersion[] = [];
  let token: string | undefined;
  do {
    const page = await store.listVersions(name, { includeDeleted: true, pageSize: 13, ...(token ? { pageToken: token } : {}) });
    out.push(...page.versions);
    token = page.nextPageToken;
  } while (token);
  return out;
}

/** Starts writers that wait for `go`, then lets them all go at the same moment. */
async function goTogether(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.waitFor(/^ready$/)));
  const at = Date.now() + 150;
  for (const c of children) c.child.stdin!.write(`go ${at}\n`);
}

/** A view of `kv` that hides some keys (reads find them absent) and records the keys written through it. */
function viewOf(kv: KvBackend, hide: (key: string) => boolean, written: string[] = []): KvBackend {
  return {
    kind: kv.kind,
    location: kv.location,
    namespace: kv.namespace,
    get: (key) => (hide(key) ? Promise.resolve(undefined) : kv.get(key)),
    getMany: async (keys) => {
      const values = await kv.getMany(keys);
      return values.map((v, i) => (hide(keys[i]!) ? undefined : v));
    },
    putIfAbsent: (key, value) => (written.push(key), kv.putIfAbsent(key, value)),
    set: (key, value) => (written.push(key), kv.set(key, value)),
    delete: (key) => kv.delete(key),
    clear: () => kv.clear(),
    close: () => Promise.resolve(),
  };
}

/** A view of `kv` without snapshots: opening a log on it replays every entry. */
function withoutSnapshots(kv: KvBackend): KvBackend {
  return viewOf(kv, (key) => key.startsWith('snapshot:'));
}

/**
 * Checks that a new log loads the newest snapshot there is (which, once every writer finished or a surviving instance
 * with the same `every` caught up, is the one after the last multiple of `every`), and that the state it builds from
 * it and the tail equals the state a replay of the whole log builds.
 */
async function checkSnapshotMatchesReplay(t: Test, s: Setup, every: number): Promise<{ snapshotSeq: number; seq: number }> {
  const kv = await s.fixture.open(s.namespace);
  try {
    const fromSnapshot = await EventLog.open(kv, { snapshotEvery: every });
    const replayed = await EventLog.open(withoutSnapshots(kv), { snapshotEvery: 0 });
    await fromSnapshot.close();
    const seq = replayed.seq;
    const multiples = Array.from({ length: Math.floor(seq / every) }, (_, i) => (i + 1) * every);
    const headers = multiples.length > 0 ? await kv.getMany(multiples.map((m) => `snapshot:${m}`)) : [];
    t.same(
      multiples.filter((_, i) => headers[i] === undefined),
      [],
      `a snapshot exists at every multiple of ${every} up to seq ${seq} (snapshot:latest says ${await kv.get('snapshot:latest')})`,
    );
    const newest = Math.floor(seq / every) * every;
    t.equal(fromSnapshot.loadedFrom.snapshotSeq, newest, `a new log loads the newest snapshot, ${newest}`);
    t.equal(fromSnapshot.loadedFrom.replayed, seq - newest, `and replays the ${seq - newest} entries after it`);
    t.equal(replayed.loadedFrom.replayed, seq, 'the replay without snapshots applies every entry');
    t.ok(snapshotText(fromSnapshot.state) === snapshotText(replayed.state), 'the state from the snapshot equals the state of a full replay');
    // A log that replays from the start (it cannot see snapshot:latest nor head) over snapshots that exist writes none.
    const written: string[] = [];
    const late = await EventLog.open(viewOf(kv, (key) => key === 'snapshot:latest' || key === 'head', written), { snapshotEvery: every });
    await late.close();
    t.same(
      { from: late.loadedFrom.snapshotSeq, seq: late.seq, snapshotWrites: written.filter((k) => k.startsWith('snapshot:')) },
      { from: 0, seq, snapshotWrites: [] },
      'a log replaying past existing snapshots does not write them again',
    );
    return { snapshotSeq: newest, seq };
  } finally {
    await kv.close();
  }
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function rejectsCode(t: Test, p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: expected ${code}, it succeeded`);
  } catch (err) {
    t.equal(err instanceof ModelStoreError ? err.code : String(err), code, what);
  }
}

/** Downloads (verified) every ready version into `dir` and checks genome.json says what `describe` expects. */
async function readAll(t: Test, store: ModelStore, versions: ModelVersion[], dir: string, describe: (v: ModelVersion) => string | undefined): Promise<void> {
  let bad = 0;
  for (const v of versions) {
    const out = join(dir, `${v.name}-${v.version}-${randomBytes(3).toString('hex')}`);
    try {
      await store.download({ name: v.name, version: v.version }, out);
      const manifest = JSON.parse(readFileSync(join(out, 'genome.json'), 'utf8')) as { description?: string };
      const expected = describe(v);
      if (expected !== undefined && manifest.description !== expected) {
        bad++;
        t.fail(`${v.name}/${v.version}: genome.json says "${manifest.description}", expected "${expected}"`);
      }
    } catch (err) {
      bad++;
      t.fail(`${v.name}/${v.version} cannot be read: ${(err as Error).message}`);
    }
  }
  t.equal(bad, 0, `all ${versions.length} versions download verified, each with its own genome.json`);
}

for (const kind of KINDS) {
  t.test(`4 processes save 25 versions each and move an alias: ${kind}`, async (t) => {
    const s = await setup(t, kind, 'concurrent');
    const WRITERS = 4;
    const SAVES = 25;
    const started = Date.now();
    const children = Array.from({ length: WRITERS }, (_, w) => startChild(s.args({ mode: 'saves', id: `w${w}`, count: SAVES, alias: 'production', snapshotEvery: 10 })));
    await goTogether(children);
    const dumps = await Promise.all(children.map((c) => c.dump()));
    t.same(children.map((c) => c.stderr()), children.map(() => ''), 'no writer printed a warning (snapshots written, no entry skipped)');
    t.comment(`${WRITERS} x ${SAVES} saves in ${Date.now() - started} ms (process start included)`);

    const store = await openModelStore(s.options());
    t.teardown(() => store.close());
    const versions = await allVersions(store, 'fraud');
    const numbers = versions.map((v) => v.version).sort((a, b) => a - b);
    t.same(numbers, Array.from({ length: WRITERS * SAVES }, (_, i) => i + 1), `versions are exactly 1..${WRITERS * SAVES}, each once`);
    t.ok(versions.every((v) => v.state === 'ready'), 'every version is ready');
    const byTag = new Map<string, number[]>();
    for (const v of versions) byTag.set(v.tags.save!, [...(byTag.get(v.tags.save!) ?? []), v.version]);
    for (const [w, c] of children.entries()) {
      const saved = c.saved();
      t.equal(saved.length, SAVES, `writer ${w} reported ${SAVES} saves`);
      const wrong = saved.filter((x, i) => x.tag !== `w${w}:${i}` || byTag.get(x.tag)?.length !== 1 || byTag.get(x.tag)![0] !== x.version);
      t.same(wrong, [], `writer ${w}: each of its saves is in the store once, under the number it was told`);
      t.ok(saved.every((x, i) => i === 0 || x.version > saved[i - 1]!.version), `writer ${w}: its saves got increasing numbers`);
      t.same(versions.filter((v) => v.tags.writer === `w${w}`).length, SAVES, `writer ${w}: ${SAVES} versions carry its tag`);
      t.ok(dumps[w]!.seq >= saved.at(-1)!.version, `writer ${w}: its last view includes its own saves`);
    }
    t.equal(byTag.size, WRITERS * SAVES, 'every save tag appears once');

    const model = await store.getModel('fraud');
    t.equal(model.latestVersion, WRITERS * SAVES, 'the latest version is the count of saves');
    const production = await store.getVersion('fraud@production');
    t.ok(numbers.includes(production.version), `production points at an existing version (${production.version})`);
    t.same(production.aliases, ['production'], 'that version lists the alias');
    t.equal(versions.filter((v) => v.aliases.includes('production')).length, 1, 'exactly one version holds production');

    const { events, lastSeq } = await store.events(0, 10_000);
    t.equal(lastSeq, store.seq, 'events cover the whole log');
    const created = events.filter((e) => e.type === 'version-created');
    t.equal(created.length, WRITERS * SAVES, `events(): exactly ${WRITERS * SAVES} version-created`);
    t.same(created.map((e) => (e as { version: number }).version), numbers, 'created in version order 1..N, along the log');
    const aliasEvents = events.filter((e) => e.type === 'alias-set');
    t.equal(aliasEvents.length, WRITERS * SAVES, 'one alias move per save (half in the save entry, half by setAlias)');
    t.equal((aliasEvents.at(-1) as { version: number }).version, production.version, 'production is where the last alias event put it');
    const bySetAlias = WRITERS * Math.ceil(SAVES / 2); // saves 0, 2, 4, ... of each writer
    t.equal(created.filter((e) => aliasEvents.some((a) => a.seq === e.seq)).length, WRITERS * SAVES - bySetAlias, 'odd saves moved the alias in their own entry');
    t.equal(store.seq, WRITERS * SAVES + bySetAlias, `log: ${WRITERS * SAVES} creates and ${bySetAlias} alias entries, nothing else`);

    // Reading: every version's genome.json is the one its writer saved.
    await readAll(t, store, versions, join(s.dir, 'read'), (v) => `writer ${v.tags.writer} save ${v.tags.save!.split(':')[1]}`);
    // Snapshots written concurrently by the four writers load the same state as a replay of the whole log.
    await checkSnapshotMatchesReplay(t, s, 10);
    t.same(s.warnings, [], 'this process\'s stores warned of nothing');
  });

  t.test(`SIGKILL between upload and commit: ${kind}`, async (t) => {
    const s = await setup(t, kind, 'killed');
    const store = await openModelStore(s.options());
    t.teardown(() => store.close());
    const base = makePackage(join(s.dir, 'pkgs'), 'base');
    await store.saveModel(base, { canonicalName: 'fraud', tags: { writer: 'parent' } });
    await store.saveModel(makePackage(join(s.dir, 'pkgs'), 'base2'), { canonicalName: 'fraud', tags: { writer: 'parent' }, aliases: ['production'] });
    const blobsBefore = new Set<string>();
    for await (const b of store.blobs.list()) blobsBefore.add(b.sha256);

    const marker = join(s.dir, 'paused.pid');
    const extra = `orphan ${randomBytes(16).toString('hex')}\n`;
    const paused = startChild(s.args({ mode: 'saves', id: 'paused', count: 1, alias: 'production', start: 'now', extra: { 'extra/orphan.txt': extra } }), {
      [PAUSE_AFTER_UPLOAD_ENV]: marker,
    });
    const deadline = Date.now() + 60_000;
    while (!(existsSync(marker) && readFileSync(marker, 'utf8') !== '')) {
      if (paused.child.exitCode !== null || Date.now() > deadline) throw new Error(`the paused writer did not reach the pause: ${paused.stderr()}`);
      await sleep(20);
    }
    t.equal(Number(readFileSync(marker, 'utf8')), paused.child.pid, 'the saver paused after its upload and wrote its pid');
    paused.child.kill('SIGKILL');
    t.same(await paused.exited, { code: null, signal: 'SIGKILL' }, 'killed');
    t.same(paused.saved(), [], 'it never reported a save');

    const manifestSha = sha256(readFileSync(join(s.dir, 'work', 'paused', 'genome.json')));
    const orphans = [manifestSha, sha256(extra)];
    for (const o of orphans) t.ok(await store.blobs.stat(o), `blob ${o.slice(0, 12)} was uploaded before the kill`);
    const blobsAfter: string[] = [];
    for await (const b of store.blobs.list()) if (!blobsBefore.has(b.sha256)) blobsAfter.push(b.sha256);
    t.same(blobsAfter.sort(), [...orphans].sort(), 'the killed save uploaded exactly its two new blobs');

    // Nothing of the save is visible.
    await rejectsCode(t, store.getVersion('fraud/3'), 'NOT_FOUND', 'fraud/3 does not exist');
    t.equal((await store.getVersion('fraud')).version, 2, 'the latest version is still 2');
    t.equal((await store.getVersion('fraud@production')).version, 2, 'production did not move');
    t.same((await allVersions(store, 'fraud')).map((v) => v.version), [2, 1], 'listVersions: 2, 1');
    t.same((await store.search({ where: [{ field: 'tags.writer', op: '=', value: 'paused' }] })).versions, [], 'search by its tag finds nothing');
    t.same((await store.search({ filter: "description = 'writer paused save 0'" })).versions, [], 'search by its description finds nothing');
    t.equal((await store.search({ includeDeleted: true })).versions.length, 2, 'search over everything: 2 versions');
    t.equal((await store.getModel('fraud')).latestVersion, 2, 'getModel: latest 2');
    t.equal((await store.events(0)).events.filter((e) => e.type === 'version-created').length, 2, 'events: 2 versions created');

    // The store still works: the next save gets the next number.
    const third = await store.saveModel(makePackage(join(s.dir, 'pkgs'), 'after'), { canonicalName: 'fraud', aliases: ['production'] });
    t.equal(third.version, 3, 'the next save is version 3');

    // The orphans go, the referenced blobs stay.
    const referenced = new Set((await allVersions(store, 'fraud')).flatMap((v) => v.files.map((f) => f.sha256)));
    const report = await store.gc({ graceMs: 0 });
    t.equal(report.removedBlobs, 2, 'gc removed the two orphans');
    t.equal(report.referencedBlobs, referenced.size, 'and counted every referenced blob');
    for (const o of orphans) t.equal(await store.blobs.stat(o), undefined, `orphan ${o.slice(0, 12)} is gone`);
    const missing = await store.blobs.missing([...referenced]);
    t.same(missing, [], 'every referenced blob is still there');
    t.equal((await store.gc({ graceMs: 0 })).removedBlobs, 0, 'a second gc removes nothing');
    await readAll(t, store, await allVersions(store, 'fraud'), join(s.dir, 'read'), (v) => `test package ${['base', 'base2', 'after'][v.version - 1]}`);
    t.same(s.warnings, [], 'this process\'s stores warned of nothing');
  });

  t.test(`reopen a snapshotted store from other processes: ${kind}`, async (t) => {
    const s = await setup(t, kind, 'reopen');
    const writer = startChild(s.args({ mode: 'history', id: 'history', count: 23, snapshotEvery: 5, start: 'now' }));
    const written = await writer.dump();
    t.equal(writer.stderr(), '', 'the writer printed no warning');
    t.ok(written.seq > 30 && written.seq % 5 !== 0, `the history wrote ${written.seq} entries (a tail after the last snapshot)`);
    t.equal(written.models.length, 2, 'two models');
    t.ok(written.search.some((v) => v.state === 'deleted'), 'with a deleted version');
    t.ok(written.models.every((m) => Object.keys(m.aliases).length > 0), 'and aliases');
    t.ok(written.search.some((v) => Object.keys(v.metrics).length === 3), 'and updated metrics');

    const reader = startChild(s.args({ mode: 'dump', id: 'reader', snapshotEvery: 5, start: 'now' }));
    t.same(await reader.dump(), written, 'another process sees what the writer saw');

    const store = await openModelStore(s.options({ snapshotEvery: 5 }));
    t.teardown(() => store.close());
    const here = await dumpStore(store);
    t.same(here, written, 'this process sees it too');
    const { snapshotSeq, seq } = await checkSnapshotMatchesReplay(t, s, 5);
    t.ok(snapshotSeq > 0 && seq > snapshotSeq, `loaded snapshot ${snapshotSeq}, replayed ${seq - snapshotSeq}`);

    // Writes from here reach a new process too (one of them crosses a snapshot boundary).
    const v = await store.saveModel(makePackage(join(s.dir, 'pkgs'), 'late'), { canonicalName: 'fraud', metrics: { auc: 0.99 }, aliases: ['production'] });
    await store.updateVersion({ name: 'fraud', version: v.version }, { setTags: { late: 'yes' } });
    for (let i = 0; i < 5; i++) await store.updateVersion({ name: 'fraud', version: v.version }, { setMetrics: { step: i } });
    await store.close();
    const again = startChild(s.args({ mode: 'dump', id: 'reader2', snapshotEvery: 5, start: 'now' }));
    const reopened = await openModelStore(s.options({ snapshotEvery: 5 }));
    t.teardown(() => reopened.close());
    const mine = await dumpStore(reopened);
    t.same(await again.dump(), mine, 'after more writes, a new process and a reopened store agree');
    t.equal((await reopened.getVersion('fraud@production')).metrics.step, 4, 'the last metric update is there');
    const { seq: finalSeq, snapshotSeq: newest } = await checkSnapshotMatchesReplay(t, s, 5);

    // snapshot:latest is a plain key: a writer killed before moving it, or one that finished an older snapshot and
    // moved it last, leaves it behind (or absent). A new log still finds the newest snapshot.
    const kv = await s.fixture.open(s.namespace);
    t.teardown(() => kv.close());
    for (const lagging of [String(newest - 10), undefined]) {
      if (lagging === undefined) await kv.delete('snapshot:latest');
      else await kv.set('snapshot:latest', lagging);
      const log = await EventLog.open(kv, { snapshotEvery: 5 });
      t.same(log.loadedFrom, { snapshotSeq: newest, replayed: finalSeq - newest }, `snapshot:latest ${lagging ?? 'absent'}: the newest snapshot ${newest} is loaded anyway`);
      t.equal(snapshotText(log.state), snapshotText((await EventLog.open(withoutSnapshots(kv), { snapshotEvery: 0 })).state), 'and gives the replayed state');
    }
    t.same(s.warnings, [], 'this process\'s stores warned of nothing');
  });

  t.test(`SIGKILL at random moments of a save loop: ${kind}`, async (t) => {
    const s = await setup(t, kind, 'random-kill');
    // The same snapshotEvery as the writers: this instance writes the snapshots a killed writer did not.
    const store = await openModelStore(s.options({ snapshotEvery: 7 }));
    t.teardown(() => store.close());
    const ROUNDS = 3;
    const told = new Map<string, number>(); // save tag → version its writer was told
    let expectedTags = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const victim = startChild(s.args({ mode: 'saves', id: `k${round}`, count: 1000, alias: 'production', snapshotEvery: 7, start: 'now' }));
      const bystander = startChild(s.args({ mode: 'saves', id: `b${round}`, count: 6, alias: 'production', snapshotEvery: 7, start: 'now' }));
      await victim.waitFor(/^ready$/);
      // Round 0 kills within the first save (or the catch-up before it), the others anywhere in the first ~0.7 s of saves.
      const delay = Math.floor(Math.random() * (round === 0 ? 30 : 700));
      await sleep(delay);
      victim.child.kill('SIGKILL');
      t.same((await victim.exited).signal, 'SIGKILL', `round ${round}: writer killed ${delay} ms after it opened the store, after ${victim.saved().length} saves`);
      await bystander.dump();
      t.equal(bystander.stderr(), '', `round ${round}: the other writer printed no warning`);
      for (const c of [victim, bystander]) for (const x of c.saved()) told.set(x.tag, x.version);
      const victimSaved = victim.saved().length;

      const versions = await allVersions(store, 'fraud');
      const numbers = versions.map((v) => v.version).sort((a, b) => a - b);
      t.same(numbers, Array.from({ length: numbers.length }, (_, i) => i + 1), `round ${round}: versions are 1..${numbers.length}, contiguous, each once`);
      t.equal((await store.getModel('fraud')).latestVersion, numbers.length, `round ${round}: the latest version is the last number`);
      const tags = versions.map((v) => v.tags.save!);
      t.equal(new Set(tags).size, tags.length, `round ${round}: no save stored twice`);
      const wrong = [...told].filter(([tag, version]) => versions.find((v) => v.tags.save === tag)?.version !== version);
      t.same(wrong, [], `round ${round}: every reported save is there under the number its writer was told`);
      const victimTags = tags.filter((x) => x.startsWith(`k${round}:`)).map((x) => Number(x.split(':')[1])).sort((a, b) => a - b);
      t.ok(
        victimTags.length === victimSaved || victimTags.length === victimSaved + 1,
        `round ${round}: the killed writer's saves are the ${victimSaved} it reported, plus at most the one it committed without reporting (${victimTags.length})`,
      );
      t.same(victimTags, Array.from({ length: victimTags.length }, (_, i) => i), `round ${round}: and they are its first saves, in order`);
      const newTags = tags.filter((x) => !expectedTags.has(x));
      t.ok(newTags.every((x) => x.startsWith(`k${round}:`) || x.startsWith(`b${round}:`)), `round ${round}: new versions come from this round's writers`);
      expectedTags = new Set(tags);
      const production = await store.getVersion('fraud@production');
      t.ok(numbers.includes(production.version), `round ${round}: production is on an existing version`);
      const created = (await store.events(0, 10_000)).events.filter((e) => e.type === 'version-created');
      t.equal(created.length, numbers.length, `round ${round}: one version-created event per version`);
      await readAll(t, store, versions.filter((v) => newTags.includes(v.tags.save!)), join(s.dir, `read-${round}`), (v) => `writer ${v.tags.writer} save ${v.tags.save!.split(':')[1]}`);
    }
    // Orphans of the killed saves go; every version stays readable.
    await store.gc({ graceMs: 0 });
    const all = await allVersions(store, 'fraud');
    await readAll(t, store, all, join(s.dir, 'read-final'), (v) => `writer ${v.tags.writer} save ${v.tags.save!.split(':')[1]}`);
    const next = await store.saveModel(makePackage(join(s.dir, 'pkgs'), 'after'), { canonicalName: 'fraud' });
    t.equal(next.version, all.length + 1, 'the next save gets the next number');
    await store.close(); // waits for its snapshot writes
    await checkSnapshotMatchesReplay(t, s, 7);
    t.same(s.warnings, [], 'this process\'s stores warned of nothing');
  });
}
