#!/usr/bin/env node
// Runs tap in the current project with the raw TAP reporter, echoes its output, and writes
// .tap/summary.json: { files: {passed, failed}, asserts: {passed, failed} } counted from the real output.
// .ci/run adds these up for its final "N passed, N failed" line.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist', 'esm', 'run.mjs');
const args = ['--reporter=tap', ...process.argv.slice(2)];
const child = spawn(process.execPath, [tapBin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });

const counts = { files: { passed: 0, failed: 0 }, asserts: { passed: 0, failed: 0 } };
let buf = '';
function line(l) {
  // Top-level test points (column 0) are test files.
  const m = /^(not ok|ok)\b(.*)$/.exec(l);
  if (m) {
    const failed = m[1] === 'not ok' && !/#\s*(TODO|SKIP)/i.test(m[2]);
    counts.files[failed ? 'failed' : 'passed']++;
    return;
  }
  // The runner's closing line counts leaf assertions: "# { total: 12, pass: 11, fail: 1, skip: 0 }".
  const s = /^# \{ total: (\d+)(.*)\}$/.exec(l);
  if (s) {
    const field = (k) => Number(new RegExp(`${k}: (\\d+)`).exec(s[2])?.[1] ?? 0);
    counts.asserts.passed = field('pass');
    counts.asserts.failed = field('fail');
  }
}
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    line(buf.slice(0, i));
    buf = buf.slice(i + 1);
  }
});
child.on('close', (code, signal) => {
  if (buf) line(buf);
  const exit = code ?? 1;
  if (exit !== 0 && counts.files.failed === 0) counts.files.failed = 1; // tap crashed before reporting a file
  mkdirSync('.tap', { recursive: true });
  writeFileSync(join('.tap', 'summary.json'), JSON.stringify({ ...counts, exitCode: exit, signal }, null, 2));
  process.exit(exit);
});
