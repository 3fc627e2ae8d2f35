import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelStoreError } from '../src/errors.js';
import { DEFAULT_NAMESPACE } from '../src/kv/kv-backend.js';
import { openKv } from '../src/kv/open.js';
import { ALL_KINDS, POSTGRES_URL, dropConnections, kvFixture, openInChild, startPrivateRedis } from './helpers/kv-backends.js';
import { expectKvError, kvContract } from './helpers/kv-contract.js';

const PROPERTY_RUNS = { memory: 150, sqlite: 60, postgres: 40, redis: 40 } as const;

for (const kind of ALL_KINDS) {
  t.test(`contract: ${kind}`, async (t) => {
    const fixture = await kvFixture(kind, `contract-${kind}`);
    t.teardown(() => fixture.cleanup());
    kvContract(t, fixture, PROPERTY_RUNS[kind]);
  });
}

/** Calls `call` until it resolves (for at most 10 s): its value, and the errors of the attempts that failed before. */
async function untilItWorks<T>(call: () => Promise<T>): Promise<{ value: T | undefined; errors: unknown[] }> {
  const errors: unknown[] = [];
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    try {
      return { value: await call(), errors };
    } catch (err) {
      errors.push(err);
      await sleep(50);
    }
  }
  return { value: undefined, errors };
}

for (const kind of ['postgres', 'redis'] as const) {
  t.test(`${kind}: connections the server drops do not crash the process; calls fail with UNAVAILABLE at worst, then reconnect`, async (t) => {
    const fixture = await kvFixture(kind, `drop-${kind}`);
    t.teardown(() => fixture.cleanup());
    const namespace = fixture.namespace('drop');
    const kv = await fixture.open(namespace);
    t.teardown(() => kv.close());
    t.equal(await kv.putIfAbsent('k', 'v'), true);
    for (let round = 1; round <= 2; round++) {
      t.ok((await dropConnections(kind, namespace)) >= 1, `round ${round}: the server closed the backend's connections`);
      const { value, errors } = await untilItWorks(() => kv.get('k'));
      t.equal(value, 'v', `round ${round}: reads again (${errors.length} failed attempts)`);
      const unexpected = errors.filter((e) => !(e instanceof ModelStoreError && e.code === 'UNAVAILABLE'));
      t.same(unexpected.map(String), [], 'every failure in between was UNAVAILABLE');
      t.equal(await kv.putIfAbsent(`k${round}`, 'v'), true, 'and writes');
    }
  });
}

t.test('redis: while the server is down, calls fail within a few seconds with UNAVAILABLE; they work again once it is back', async (t) => {
  const redis = await startPrivateRedis();
  t.teardown(() => redis.stop());
  const kv = await openKv(redis.url, { namespace: 'down' });
  t.teardown(() => kv.close());
  t.equal(await kv.putIfAbsent('k', 'v'), true);
  await redis.stop();
  // Right after the loss (the client reconnecting), and after the client gave up reconnecting (~8 s later).
  for (const wait of [0, 300, 9000, 300]) {
    await sleep(wait);
    const start = Date.now();
    await expectKvError(t, kv.putIfAbsent('k2', 'v'), 'UNAVAILABLE', redis.url);
    t.ok(Date.now() - start < 3000, `failed in ${Date.now() - start} ms`);
  }
  await redis.start();
  const { value } = await untilItWorks(() => kv.putIfAbsent('k2', 'v'));
  t.equal(value, true, 'works again against the restarted (empty) server');
  t.equal(await kv.get('k2'), 'v');
});

t.test('openKv: malformed URLs and options fail with INVALID_ARGUMENT', async (t) => {
  const bad: Array<[string, RegExp | string]> = [
    ['', 'empty'],
    ['   ', 'empty'],
    ['ftp://host/x', 'Unsupported metadata backend URL'],
    ['no-scheme', 'Unsupported metadata backend URL'],
    ['mysql://u@h/db', '"mysql:"'],
    ['sqlite:', 'Invalid SQLite URL'],
    ['sqlite://', 'Invalid SQLite URL'],
    ['sqlite://?table=t', 'Invalid SQLite URL'],
    ['sqlite:/one/slash.sqlite', 'Invalid SQLite URL'],
    ['sqlite://:memory:', 'memory:'],
    ['sqlite:///tmp/bad%zzescape.sqlite', 'malformed %-escape'],
    ['postgres://[oops', 'Invalid PostgreSQL URL'],
    ['redis://[oops', 'Invalid Redis URL'],
  ];
  for (const [url, pattern] of bad) await expectKvError(t, openKv(url), 'INVALID_ARGUMENT', pattern);
  const err = await expectKvError(t, openKv('postgres://user:hunter2@[oops/db'), 'INVALID_ARGUMENT');
  t.notMatch(err?.message ?? '', /hunter2/, 'a malformed URL is quoted without its password');
  for (const namespace of ['', 'has:colon', 'has space', 'x'.repeat(65), 'star*']) {
    await expectKvError(t, openKv('memory:', { namespace }), 'INVALID_ARGUMENT', 'Invalid namespace');
  }
  const dir = await mkdtemp(join(tmpdir(), 'genome-kv-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const table of ['1abc', '_abc', 'drop table', 'a;b', 'x'.repeat(64)]) {
    await expectKvError(t, openKv(`sqlite://${join(dir, 't.sqlite')}`, { table }), 'INVALID_ARGUMENT', 'Invalid table name');
  }
  await expectKvError(t, openKv(`${POSTGRES_URL}?table=bad-name`), 'INVALID_ARGUMENT', 'Invalid table name');
});

t.test('openKv: defaults, locations, ?table= and named memory maps', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'genome-kv-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'nested', 'dir', 'meta data.sqlite');
  const kv = await openKv(`sqlite://${file}?table=meta`);
  t.equal(kv.kind, 'sqlite');
  t.equal(kv.namespace, DEFAULT_NAMESPACE, 'default namespace');
  t.equal(kv.location, pathToFileURL(file).href.replace(/^file:/, 'sqlite:'), 'location names the file; missing directories are created');
  await kv.putIfAbsent('k', 'v');
  await kv.close();
  const same = await openKv(`sqlite://${encodeURI(file)}`, { table: 'meta' });
  t.equal(await same.get('k'), 'v', 'percent-encoded path and table option open the same data');
  await same.close();
  const otherTable = await openKv(`sqlite://${file}`);
  t.equal(await otherTable.get('k'), undefined, 'the default table is another one');
  await otherTable.close();

  const [rel] = await openInChild(['sqlite://rel/meta.sqlite'], { cwd: dir });
  t.same(rel, { url: 'sqlite://rel/meta.sqlite', kind: 'sqlite', location: pathToFileURL(join(dir, 'rel', 'meta.sqlite')).href.replace(/^file:/, 'sqlite:'), read: 'ok' }, 'relative to the working directory');

  const name = `kvt-shared-${process.pid}`;
  const a = await openKv(`memory:${name}`, { namespace: 'n' });
  const b = await openKv(`memory://${name}`, { namespace: 'n' });
  const c = await openKv('memory:', { namespace: 'n' });
  t.equal(a.location, `memory:${name}`);
  t.equal(await a.putIfAbsent('k', 'a'), true);
  t.equal(await b.putIfAbsent('k', 'b'), false, 'memory:<name> shares one map in the process');
  t.equal(await c.get('k'), undefined, 'memory: is private');
  await a.clear();
  for (const kv of [a, b, c]) await kv.close();
});

t.test('openKv: unreachable servers fail fast with UNAVAILABLE, naming the location without the password', async (t) => {
  for (const url of ['postgres://genome:hunter2@127.0.0.1:1/db', 'postgresql://genome:hunter2@127.0.0.1:1/db?table=meta', 'redis://genome:hunter2@127.0.0.1:1', 'redis://:hunter2@127.0.0.1:1/2']) {
    const start = Date.now();
    const err = await expectKvError(t, openKv(url, { namespace: 'x' }), 'UNAVAILABLE', '127.0.0.1:1', /ECONNREFUSED/);
    t.ok(Date.now() - start < 5000, `${url.replace('hunter2', '***')} failed within 5 s (${Date.now() - start} ms)`);
    t.notMatch(err?.message ?? '', /hunter2/, 'no password in the message');
    t.notMatch(String((err?.cause as Error | undefined)?.message ?? ''), /hunter2/, 'nor in its cause');
  }
});

t.test('openKv: an unusable SQLite file fails with UNAVAILABLE naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'genome-kv-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const notDb = join(dir, 'not-a-database.sqlite');
  await writeFile(notDb, 'this is not a SQLite database, just some text that is long enough to have a header'.repeat(20));
  await expectKvError(t, openKv(`sqlite://${notDb}`), 'UNAVAILABLE', 'not-a-database.sqlite');
  await mkdir(join(dir, 'a-directory.sqlite'));
  await expectKvError(t, openKv(`sqlite://${join(dir, 'a-directory.sqlite')}`), 'UNAVAILABLE', 'a-directory.sqlite');
  await expectKvError(t, openKv(`sqlite://${join(notDb, 'below-a-file.sqlite')}`), 'UNAVAILABLE', 'below-a-file.sqlite');
});

t.test('openKv: without the optional peers, PostgreSQL and Redis fail with MISSING_DEPENDENCY; SQLite and memory work', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'genome-kv-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [pg, redis, sqlite, memory] = await openInChild(
    ['postgres://u:hunter2@127.0.0.1:1/db', 'redis://127.0.0.1:1', `sqlite://${join(dir, 'm.sqlite')}`, 'memory:'],
    { imports: ['kv-hide-peers.mjs'] },
  );
  t.match(pg, { code: 'MISSING_DEPENDENCY', name: 'ModelStoreError', message: /npm install @keyv\/postgres/ });
  t.notMatch(pg?.message, /hunter2/);
  t.match(redis, { code: 'MISSING_DEPENDENCY', name: 'ModelStoreError', message: /npm install @keyv\/redis/ });
  t.match(sqlite, { kind: 'sqlite', read: 'ok' });
  t.match(memory, { kind: 'memory', read: 'ok' });
});
