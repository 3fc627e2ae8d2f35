// The seed's walkthrough (examples/california-housing) in its short form: the real script, run as a process, must end
// with "walkthrough ok" and exit 0; every check it makes is printed, so a failure names itself.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fixturesDir } from '../fixtures.js';
import { repoRoot } from '../fixtures-root.js';

t.test('examples/california-housing/walkthrough.ts --short', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'walkthrough-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const script = join(repoRoot, 'examples/california-housing/walkthrough.ts');
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', script, '--short', '--out', out, '--fixtures', fixturesDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const lines = text.split('\n');
  for (const l of lines.filter((l) => /^\s+(FAIL|ok  )/.test(l) || /^== |walkthrough/.test(l))) t.comment(l.trim());
  t.equal(code, 0, 'the walkthrough exits 0', { output: code === 0 ? undefined : lines.slice(-80).join('\n') });
  t.match(text, /walkthrough ok/);
  t.notMatch(text, /\bFAIL\b/, 'no check failed');
  for (const f of ['waterfall.svg', 'waterfall.png', 'beeswarm.svg', 'beeswarm.png', 'package/genome.json']) t.ok(existsSync(join(out, f)), `${f} written`);
});
