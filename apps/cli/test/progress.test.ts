// The progress bar of long streams, through the CLI's entry point in process (a terminal is simulated for stderr).
import t from 'tap';
import { runCli } from '../src/index.js';
import { captureIo } from './helpers/capture-io.js';
import { FEATURES, HOUSING, ROWS, housingSidecar } from './helpers/sidecar.js';

function io(stderrIsTTY: boolean): ReturnType<typeof captureIo> {
  return captureIo(stderrIsTTY, 100);
}

t.test('progress bar', async (t) => {
  const s = await housingSidecar();
  t.teardown(() => s.close(100));
  const rows = Array.from({ length: 200 }, (_, i) => ROWS[i % ROWS.length]!.join(','));
  const args = ['--address', `127.0.0.1:${s.grpcPort}`, 'explain', '--model', HOUSING, ...rows.flatMap((r) => ['--row', r]), '--chunk-size', '16', '--output', 'csv'];

  t.test('drawn on a terminal while the stream runs, then cleared', async (t) => {
    const tty = io(true);
    t.equal(await runCli(args, tty), 0);
    t.match(tty.stderr.text, /explaining --row \[.*\] \d+% \| \d+\/200 rows/, 'the bar with rows done / total');
    t.equal(tty.stdout.text.trimEnd().split('\n').length, 201, 'all rows on stdout');
    t.match(tty.stdout.text, new RegExp(`^row,output,base_value,${FEATURES.join(',')}\\n`));
  });

  t.test('--quiet: no bar', async (t) => {
    const tty = io(true);
    t.equal(await runCli([...args, '--quiet'], tty), 0);
    t.equal(tty.stderr.text, '');
  });

  t.test('stderr not a terminal: no bar', async (t) => {
    const piped = io(false);
    t.equal(await runCli(args, piped), 0);
    t.equal(piped.stderr.text, '');
  });

  t.test('few rows (one unary call): no bar', async (t) => {
    const tty = io(true);
    t.equal(await runCli([...args, '--chunk-size', '500'], tty), 0);
    t.equal(tty.stderr.text, '');
  });
});

t.test('errors through the entry point: a code and one line, no throw', async (t) => {
  const piped = io(false);
  t.equal(await runCli(['explain', '--model', HOUSING, '--row', '1', '--nope'], piped), 2);
  t.match(piped.stderr.text, /^error: unknown option '--nope'/);
  const bad = io(false);
  t.equal(await runCli(['explain', '--model', HOUSING, '--row', '1', '--row', '1,2'], bad), 2);
  t.match(bad.stderr.text, /^error: --row #2 has 2 values but --row #1 has 1/);
});
