#!/usr/bin/env node
// Runs tap in the current project with the raw TAP reporter, echoes its output, and writes
// .tap/summary.json: { files: {passed, failed}, asserts: {passed, failed}, failures } counted from the real output.
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
// Each failed test point with the names of the subtests around it and the first lines of its diagnostic, so the
// closing summary says which assertion failed even when only the end of a long log is kept.
const failures = [];
const subtests = [];
let diag = null;
const DIAG_KEYS = new Set(['found', 'wanted', 'pattern', 'compare', 'message', 'error', 'code', 'fileName', 'lineNumber', 'signal', 'exitCode']);
let buf = '';
function line(l) {
  if (diag) {
    const key = /^\s*(\w+):/.exec(l)?.[1];
    if (/^\s*\.\.\.\s*$/.test(l) || key === 'stack' || key === 'source' || diag.lines.length >= 8) diag = null;
    else if (key && DIAG_KEYS.has(key)) diag.lines.push(l.trim());
  }
  const indent = /^ */.exec(l)[0].length >> 2;
  const sub = /^\s*# Subtest: (.*)$/.exec(l);
  if (sub) {
    subtests.length = indent;
    subtests[indent] = sub[1];
  }
  const point = /^\s*not ok \d+ - (.*)$/.exec(l);
  if (point && !/#\s*(TODO|SKIP)/i.test(point[1]) && failures.length < 50) {
    const test = [...subtests.slice(0, indent), point[1].replace(/ # time=.*$/, '')].join(' > ');
    // A subtest fails because of a point inside it, already recorded: keep only the innermost.
    if (failures.some((f) => f.test.startsWith(`${test} > `))) return;
    diag = { test, lines: [] };
    failures.push(diag);
  }
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
  writeFileSync(join('.tap', 'summary.json'), JSON.stringify({ ...counts, exitCode: exit, signal, failures }, null, 2));
  process.exit(exit);
});
