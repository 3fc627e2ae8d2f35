#!/usr/bin/env node
// `npm test`: runs every project's test target through nx (each project's tap-run.mjs writes .tap/summary.json from
// its real TAP output), then prints the per-project counts and one closing line `N passed, N failed` (assertions;
// a test file that failed outside its assertions, or a project that did not report, counts as failed). Exits
// non-zero on any failure. The closing line is also written to .test-results.txt (read by .ci/run).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lineFile = join(root, '.test-results.txt');
rmSync(lineFile, { force: true });
const projects = ['libs', 'apps']
  .flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((n) => join(d, n)) : []))
  .concat(['tools'])
  .filter((d) => {
    const pkg = join(root, d, 'package.json');
    return existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).scripts?.test;
  });
for (const d of projects) rmSync(join(root, d, '.tap', 'summary.json'), { force: true });

// nx's executable, as its package.json names it (the path moved between nx versions).
const nxPkg = createRequire(join(root, 'package.json')).resolve('nx/package.json');
const nxBin = join(dirname(nxPkg), JSON.parse(readFileSync(nxPkg, 'utf8')).bin.nx);
const nx = spawnSync(process.execPath, [nxBin, 'run-many', '-t', 'test', '--parallel=1', '--outputStyle=stream'], { cwd: root, stdio: 'inherit' });

let passed = 0;
let failed = 0;
let filesOk = 0;
let filesBad = 0;
console.log('\n=== test results');
for (const d of projects) {
  const s = join(root, d, '.tap', 'summary.json');
  if (!existsSync(s)) {
    console.log(`${d}: tests did not run (no .tap/summary.json)`);
    filesBad++;
    failed++;
    continue;
  }
  const r = JSON.parse(readFileSync(s, 'utf8'));
  filesOk += r.files.passed;
  filesBad += r.files.failed;
  passed += r.asserts.passed;
  failed += r.asserts.failed + r.files.failed;
  console.log(`${d}: test files ${r.files.passed} ok / ${r.files.failed} not ok; assertions ${r.asserts.passed} ok / ${r.asserts.failed} not ok`);
}
console.log(`(test files: ${filesOk} ok, ${filesBad} not ok)`);
for (const d of projects) {
  const s = join(root, d, '.tap', 'summary.json');
  const list = existsSync(s) ? (JSON.parse(readFileSync(s, 'utf8')).failures ?? []) : [];
  for (const f of list) console.log(`not ok: ${d}: ${f.test}${f.lines.length ? `\n    ${f.lines.join('\n    ')}` : ''}`);
}
const line = `${passed} passed, ${failed} failed`;
console.log(line);
writeFileSync(lineFile, `${line}\n`);
process.exit(nx.status !== 0 || failed > 0 ? 1 : 0);
