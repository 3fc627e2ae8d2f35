/**
 * SQLite files that cannot be opened fail promptly with UNAVAILABLE naming the file and the reason, never hang.
 * `sqlite:///proc/nonexistent/x.sqlite` used to hang for ever: Node's `mkdir(dir, { recursive: true })` loops on a
 * directory whose parent answers ENOENT for new children (procfs, sysfs). The opens run in child processes with a
 * deadline, so that a regression fails here instead of stalling the suite.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from '../src/files/make-dirs.js';
import { openInChild } from './helpers/kv-backends.js';

/** How long an open may take before it counts as a hang (the child gets twice as long before it is killed). */
const PROMPT_MS = 10_000;

async function scratchDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'genome-kv-sqlite-errors-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Unusable database paths (each opened by openKv and by openModelStore), and what the message must say. */
async function badFiles(dir: string): Promise<Array<{ path: string; reason: RegExp }>> {
  const text = join(dir, 'notes.sqlite');
  await writeFile(text, 'These are notes, not a SQLite database.\n'.repeat(50));
  const short = join(dir, 'short.sqlite');
  await writeFile(short, 'hello\n');
  await mkdir(join(dir, 'a-directory.sqlite'));
  await symlink(join(dir, 'missing-target'), join(dir, 'dangling'));
  const fifo = join(dir, 'fifo.sqlite');
  execFileSync('mkfifo', [fifo]);
  return [
    { path: '/proc/nonexistent/x.sqlite', reason: /ENOENT.*\/proc\/nonexistent/ },
    { path: '/proc/nonexistent/deeper/still/x.sqlite', reason: /ENOENT.*\/proc\/nonexistent/ },
    { path: '/sys/nonexistent/x.sqlite', reason: /ENOENT|EACCES|EROFS|EPERM/ },
    { path: '/proc/x.sqlite', reason: /SQLITE_CANTOPEN/ },
    { path: text, reason: /SQLITE_NOTADB: file is not a database/ },
    { path: short, reason: /SQLITE_NOTADB: file is not a database/ },
    { path: join(dir, 'a-directory.sqlite'), reason: /SQLITE_CANTOPEN/ },
    { path: join(text, 'below-a-file.sqlite'), reason: /ENOTDIR/ },
    { path: join(dir, 'dangling', 'x.sqlite'), reason: /ENOTDIR.*dangling/ },
    { path: fifo, reason: /SQLITE_IOERR/ },
  ];
}

for (const via of ['openKv', 'openModelStore'] as const) {
  t.test(`${via}: an unusable SQLite file fails promptly with UNAVAILABLE naming the file and the reason`, async (t) => {
    const dir = await scratchDir(t);
    const cases = await badFiles(dir);
    const started = Date.now();
    const results = await openInChild(
      cases.map((c) => `sqlite://${c.path}`),
      { timeoutMs: 2 * PROMPT_MS, env: via === 'openModelStore' ? { KV_OPEN_STORE_DIR: join(dir, 'store') } : {} },
    );
    t.ok(Date.now() - started < 2 * PROMPT_MS, `all ${cases.length} opens settled in ${Date.now() - started} ms`);
    t.equal(results.length, cases.length);
    for (const [i, c] of cases.entries()) {
      const r = results[i]!;
      t.match(r, { name: 'ModelStoreError', code: 'UNAVAILABLE' }, `${c.path}: ${r.message}`);
      t.ok(String(r.message).includes(`sqlite://${c.path}`), `${c.path}: the message names the file`);
      t.match(String(r.message), c.reason, `${c.path}: the message gives the reason`);
      t.ok(Number(r.ms) < PROMPT_MS, `${c.path}: failed in ${r.ms} ms`);
    }
    if (via === 'openKv') {
      t.equal((await stat(join(dir, 'notes.sqlite'))).size, 'These are notes, not a SQLite database.\n'.length * 50, 'the text file is left as it was');
    }
  });
}

t.test('openModelStore: a store directory that cannot be created fails promptly with UNAVAILABLE', async (t) => {
  const dir = await scratchDir(t);
  // openKv of a good SQLite file in the child, with the store directory under /proc: the directory is created first.
  const [r] = await openInChild([`sqlite://${join(dir, 'ok.sqlite')}`], { timeoutMs: 2 * PROMPT_MS, env: { KV_OPEN_STORE_DIR: '/proc/nonexistent/store' } });
  t.match(r, { name: 'ModelStoreError', code: 'UNAVAILABLE', message: /\/proc\/nonexistent/ });
});

t.test('makeDirs: creates missing parents, accepts existing directories, fails on paths that cannot hold directories', async (t) => {
  const dir = await scratchDir(t);
  const nested = join(dir, 'a', 'b', 'c');
  await makeDirs(nested);
  t.ok((await stat(nested)).isDirectory(), 'nested directories created');
  await makeDirs(nested);
  await makeDirs(join(dir, 'a'));
  t.pass('existing directories are fine');
  await Promise.all(Array.from({ length: 8 }, () => makeDirs(join(dir, 'race', 'x', 'y'))));
  t.ok((await stat(join(dir, 'race', 'x', 'y'))).isDirectory(), 'concurrent creators of the same path all succeed');
  await symlink(nested, join(dir, 'link'));
  await makeDirs(join(dir, 'link'));
  t.pass('a link to a directory counts as a directory');
  const file = join(dir, 'file');
  await writeFile(file, 'x');
  await t.rejects(makeDirs(file), { code: 'ENOTDIR' }, 'an existing file');
  await t.rejects(makeDirs(join(file, 'below')), { code: 'ENOTDIR' }, 'below a file');
  await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
  await t.rejects(makeDirs(join(dir, 'dangling', 'below')), { code: 'ENOTDIR' }, 'below a dangling link');
  const start = Date.now();
  await t.rejects(makeDirs('/proc/nonexistent/a/b'), { code: 'ENOENT', message: /\/proc\/nonexistent/ }, 'under /proc');
  t.ok(Date.now() - start < PROMPT_MS, `under /proc failed in ${Date.now() - start} ms`);
});
