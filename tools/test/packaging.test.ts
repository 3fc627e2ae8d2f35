// Proves each library installs and works alone: `npm pack` every libs/* package, install the tarballs into a
// temporary project outside the workspace (registry for third-party deps), and import each one from there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../fixtures-root.js';

interface Pkg {
  name: string;
  version: string;
  dir: string;
  private?: boolean;
}

const libs: Pkg[] = readdirSync(join(repoRoot, 'libs'))
  .map((d) => join(repoRoot, 'libs', d))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, ...(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Omit<Pkg, 'dir'>) }))
  .filter((p) => !p.private);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

t.test('every library installs from its tarball alone and imports', (t) => {
  const work = mkdtempSync(join(tmpdir(), 'genome-pack-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const tarballs = new Map<string, string>();
  for (const lib of libs) {
    t.ok(existsSync(join(lib.dir, 'dist', 'index.js')), `${lib.name} is built (dist/index.js)`);
    t.ok(existsSync(join(lib.dir, 'README.md')), `${lib.name} has a README`);
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: lib.dir, encoding: 'utf8' });
    const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    const files = info[0]!.files.map((f) => f.path);
    t.ok(files.includes('dist/index.d.ts'), `${lib.name} tarball ships type declarations`);
    t.notOk(files.some((f) => f.startsWith('src/') || f.startsWith('test/')), `${lib.name} tarball ships no sources or tests`);
    tarballs.set(lib.name, `file:${join(work, info[0]!.filename)}`);
  }
  const consumer = join(work, 'consumer');
  execFileSync('mkdir', ['-p', consumer]);
  const deps = Object.fromEntries(tarballs);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: deps, overrides: deps }, null, 2),
  );
  // onnxruntime-node's installer downloads CUDA files; the CPU binaries ship inside the package.
  writeFileSync(join(consumer, '.npmrc'), 'onnxruntime-node-install=skip\nfund=false\naudit=false\n');
  execFileSync(npm, ['install', '--no-package-lock', '--omit=optional', '--omit=peer'], { cwd: consumer, stdio: 'pipe' });

  for (const lib of libs) {
    const script = `const m = await import(${JSON.stringify(lib.name)}); console.log(JSON.stringify(Object.keys(m)));`;
    const keys = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' }),
    ) as string[];
    t.ok(keys.length > 0, `${lib.name} imports from an installed tarball (${keys.length} exports)`);
  }
  t.end();
});
