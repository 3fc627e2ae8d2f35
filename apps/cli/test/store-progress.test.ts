// The progress bars of `genome store save` and `download`, through the CLI's entry point in process (a terminal is
// simulated for stderr), fed by the library's onProgress reports; and the CLI's copy of the filter field names.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../src/index.js';
import { captureIo } from './helpers/capture-io.js';
import { formatBytes } from '../src/output/bytes.js';
import { makePackage, scratch, type VersionJson } from './helpers/store.js';

function io(stderrIsTTY: boolean): ReturnType<typeof captureIo> {
  return captureIo(stderrIsTTY, 120);
}

t.test('save and download draw a byte bar on a terminal only', async (t) => {
  const dir = scratch(t);
  const pkg = makePackage(dir, 'pkg');
  const base = ['store', '--store-dir', join(dir, 'store')];

  const tty = io(true);
  t.equal(await runCli([...base, 'save', pkg, '--name', 'm'], tty), 0);
  t.match(tty.stderr.text, /saving m \[[^\]]*\] \d+% \| \d+(\.\d)? (B|KiB)\/\d+ KiB \|/, 'bytes stored / package bytes');
  t.match(tty.stdout.text, /^saved m\/1 /);

  const again = io(true);
  t.equal(await runCli([...base, 'save', pkg, '--name', 'm'], again), 0, 'a save whose files are all held already');
  t.match(again.stderr.text, /saving m \[/);
  t.match(again.stdout.text, /^saved m\/2 /);

  const quiet = io(true);
  t.equal(await runCli([...base, 'save', pkg, '--name', 'm', '--quiet'], quiet), 0);
  t.equal(quiet.stderr.text, '', '--quiet: no bar');

  const piped = io(false);
  t.equal(await runCli([...base, 'save', pkg, '--name', 'm'], piped), 0);
  t.equal(piped.stderr.text, '', 'stderr not a terminal: no bar');

  const dl = io(true);
  t.equal(await runCli([...base, 'download', 'm/1', join(dir, 'dl')], dl), 0);
  t.match(dl.stderr.text, /downloading m\/1 \[[^\]]*\] \d+% \|/);
  t.match(dl.stdout.text, /^downloaded m\/1 to /);
  const dlPiped = io(false);
  t.equal(await runCli([...base, 'download', 'm/2', join(dir, 'dl2')], dlPiped), 0);
  t.equal(dlPiped.stderr.text, '');
});

/** The last frame a bar drew: its percentage, value and total. */
function lastFrame(stderr: string, label: string): { percent: number; value: string; total: string } | undefined {
  const frames = [...stderr.matchAll(new RegExp(`${label} \\[[^\\]]*\\] (\\d+)% \\| ([^/|]+)/([^|]+) \\|`, 'g'))];
  const m = frames.at(-1);
  return m ? { percent: Number(m[1]), value: m[2]!.trim(), total: m[3]!.trim() } : undefined;
}

t.test('the bars count the bytes stored and written up to the package size', async (t) => {
  const dir = scratch(t);
  const pkg = makePackage(dir, 'pkg');
  writeFileSync(join(pkg, 'weights.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7)); // several chunks
  const base = ['store', '--store-dir', join(dir, 'store')];
  for (const round of ['new blobs', 'every blob held already']) {
    const save = io(true);
    t.equal(await runCli([...base, 'save', pkg, '--name', 'm', '--json'], save), 0);
    const v = JSON.parse(save.stdout.text) as VersionJson;
    t.same(lastFrame(save.stderr.text, 'saving m'), { percent: 100, value: formatBytes(v.size), total: formatBytes(v.size) }, `save (${round}): ends at the package size`);
  }
  const dl = io(true);
  t.equal(await runCli([...base, 'download', 'm/2', join(dir, 'dl')], dl), 0);
  t.same(lastFrame(dl.stderr.text, 'downloading m/2'), { percent: 100, value: '3.3 MiB', total: '3.3 MiB' }, 'download: ends at the package size');
});

t.test("search --help lists the library's filter fields", async (t) => {
  const { FIELD_NAMES_HELP } = await import('@genome/model-store');
  const { FIELD_NAMES } = await import('../src/commands/store/read.js');
  t.equal(FIELD_NAMES, FIELD_NAMES_HELP, 'the copy in the CLI (kept so that --help does not load the library) is current');
});
