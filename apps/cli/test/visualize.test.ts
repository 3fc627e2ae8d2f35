// `genome visualize` end to end against a real sidecar serving the example California housing package: explain and
// plot, a saved explanation, model internals, PNG and JSON output, and the usage errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { exits } from './helpers/assertions.js';
import { genome } from './helpers/genome.js';
import { FEATURES, HOUSING, ROWS, housingSidecar } from './helpers/sidecar.js';

t.test('visualize', async (t) => {
  const s = await housingSidecar();
  t.teardown(() => s.close(100));
  const dir = mkdtempSync(join(tmpdir(), 'genome-cli-viz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const at = (name: string) => join(dir, name);
  const address = ['--address', `127.0.0.1:${s.grpcPort}`];
  const cli = (...args: string[]) => genome([...address, 'visualize', '--model', HOUSING, ...args]);
  const row = ['--row', ROWS[0]!.join(',')];

  t.test('explain and plot one row: a waterfall SVG in a file', async (t) => {
    const r = await cli(...row, '--out', at('w.svg'));
    exits(t, r, 0);
    t.match(r.stderr, /wrote waterfall \(image\/svg\+xml, \d+x\d+\) to /);
    const svg = readFileSync(at('w.svg'), 'utf8');
    t.match(svg, /^<svg [^>]*data-chart="waterfall"/);
    t.ok(FEATURES.every((f) => svg.includes(f)), 'every feature is labelled');
  });

  t.test('several rows to stdout: a beeswarm; PNG with a scale to a file', async (t) => {
    const out = await cli(...row, '--row', ROWS[1]!.join(','), '--row', ROWS[2]!.join(','));
    exits(t, out, 0);
    t.match(out.stdout, /data-chart="beeswarm"/);
    const png = await cli(...row, '--kind', 'force', '--format', 'png', '--option', 'scale=2', '--out', at('f.png'));
    exits(t, png, 0);
    t.same([...readFileSync(at('f.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
  });

  t.test('a saved explanation (genome explain --output json) as a dependence plot, JSON output', async (t) => {
    const ex = await genome([...address, 'explain', '--model', HOUSING, ...ROWS.flatMap((r) => ['--row', r.join(',')]), '--output', 'json']);
    exits(t, ex, 0);
    writeFileSync(at('e.json'), ex.stdout);
    const r = await cli('--explanation', at('e.json'), '--kind', 'dependence', '--option', 'feature=MedInc', '--output', 'json');
    exits(t, r, 0);
    const j = JSON.parse(r.stdout) as { kind: string; contentType: string; content: string };
    t.equal(j.kind, 'dependence');
    t.equal(j.contentType, 'image/svg+xml');
    t.equal((j.content.match(/class="dot"/g) ?? []).length, ROWS.length, 'one dot per row of the saved explanation');
  });

  t.test('model internals: a tree with the row path (CSV with a header in another order), the ensemble', async (t) => {
    const order = [...FEATURES].reverse();
    writeFileSync(at('rows.csv'), `${order.join(',')}\n${order.map((f) => ROWS[0]![FEATURES.indexOf(f)]).join(',')}\n`);
    const tree = await cli('--kind', 'tree', '--csv', at('rows.csv'), '--option', 'tree=4', '--option', 'max_depth=3', '--out', at('t.svg'));
    exits(t, tree, 0);
    const svg = readFileSync(at('t.svg'), 'utf8');
    t.match(svg, /data-chart="tree"/);
    t.match(svg, /class="path/, 'the path is highlighted');
    const same = await cli('--kind', 'tree', ...row, '--option', 'tree=4', '--option', 'max_depth=3');
    t.equal(same.stdout, svg, 'the CSV row (columns by name) takes the same path as --row');
    const ens = await cli('--kind', 'ensemble');
    exits(t, ens, 0);
    t.match(ens.stdout, /data-chart="ensemble"/);
  });

  t.test('errors: usage (exit 2) before any call, server refusals (exit 1) with the server message', async (t) => {
    const none = await cli();
    exits(t, none, 2);
    t.match(none.stderr, /nothing to draw/);
    const both = await cli(...row, '--explanation', at('e.json'));
    exits(t, both, 2);
    const badKind = await cli(...row, '--kind', 'pie');
    exits(t, badKind, 1);
    t.match(badKind.stderr, /unknown chart kind "pie"; charts: waterfall/);
    const badOpt = await cli(...row, '--option', 'colour=red');
    exits(t, badOpt, 1);
    t.match(badOpt.stderr, /no option "colour"/);
    const badFile = await cli('--explanation', at('missing.json'));
    exits(t, badFile, 2);
    const help = await genome(['visualize', '--help']);
    exits(t, help, 0);
    t.match(help.stdout, /--kind <kind>/);
    t.match(help.stdout, /Examples:/);
  });
});
