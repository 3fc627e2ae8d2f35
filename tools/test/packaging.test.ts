// Proves each library installs and works alone: `npm pack` every libs/* package, install the tarballs into a
// temporary project outside the workspace (registry for third-party deps), and import each one from there.
// And that the `genome` CLI installs globally from its tarball (with those of the workspace libraries it uses) and runs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { DEFAULT_MODEL_DIR, defaultConfig, startSidecar } from '@genome/explainer-sidecar';
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
    const { tarball, files } = pack(lib.dir, work);
    t.ok(files.includes('dist/index.d.ts'), `${lib.name} tarball ships type declarations`);
    t.notOk(files.some((f) => f.startsWith('src/') || f.startsWith('test/')), `${lib.name} tarball ships no sources or tests`);
    tarballs.set(lib.name, `file:${tarball}`);
  }
  const consumer = join(work, 'consumer');
  mkdirSync(consumer, { recursive: true });
  const deps = Object.fromEntries(tarballs);
  writeFileSync(
    join(consumer, 'package.json'),
    // As a user's project would (npm 11): no install script runs. onnxruntime-node's downloads CUDA files (its CPU
    // binaries ship inside the package); protobufjs's only prints a notice.
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: deps, overrides: deps, allowScripts: { 'onnxruntime-node': false, protobufjs: false, sqlite3: false } }, null, 2),
  );
  const install = spawnSync(npm, ['install', '--no-package-lock', '--omit=optional', '--omit=peer', '--prefer-offline', '--no-fund', '--no-audit'], { cwd: consumer, encoding: 'utf8' });
  t.equal(install.status, 0, 'npm install of the tarballs succeeds', { stderr: install.stderr });
  t.notMatch(install.stderr, /Unknown (project|user|env) config|allowScripts/, 'and is quiet: no unknown config, no unreviewed install scripts', { stderr: install.stderr });

  for (const lib of libs) {
    const script = `const m = await import(${JSON.stringify(lib.name)}); console.log(JSON.stringify(Object.keys(m)));`;
    const keys = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' }),
    ) as string[];
    t.ok(keys.length > 0, `${lib.name} imports from an installed tarball (${keys.length} exports)`);
  }
  // @genome/viz draws from an installed tarball (d3-scale, d3-format and d3-scale-chromatic from the registry).
  const doc = { schema: 'genome.explanation/v1', method: 'kernel_shap', values: [[[1], [-2]]], baseValues: [[0.5]], featureNames: ['a', 'b'], outputNames: ['y'], outputSpace: 'raw', parameters: {}, timings: { totalMs: 1 } };
  const svg = execFileSync(process.execPath, ['--input-type=module', '-e', `import { waterfallSvg } from '@genome/viz'; process.stdout.write(waterfallSvg(${JSON.stringify(doc)}));`], { cwd: consumer, encoding: 'utf8' });
  t.match(svg, /^<svg [^>]*data-chart="waterfall"/, '@genome/viz draws a waterfall from its installed tarball');
  t.end();
});

/** `npm pack` of the package in `dir` into `dest`: the tarball's path and the files it holds. */
function pack(dir: string, dest: string): { tarball: string; files: string[] } {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dest], { cwd: dir, encoding: 'utf8' });
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  return { tarball: join(dest, info[0]!.filename), files: info[0]!.files.map((f) => f.path) };
}

/** A TCP port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

t.test('the genome CLI installs globally from its tarball and @genome/proto\'s, and runs', async (t) => {
  const cliDir = join(repoRoot, 'apps', 'cli');
  const cliPkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
  t.ok(existsSync(join(cliDir, 'dist', 'main.js')), `${cliPkg.name} is built (dist/main.js)`);
  t.same(Object.keys(cliPkg.bin), ['genome'], 'the package provides the genome command');
  const work = mkdtempSync(join(tmpdir(), 'genome-cli-pack-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // The workspace packages the CLI depends on (not on the registry): @genome/proto, for `genome store`
  // @genome/model-store with its @genome/model-format, and for `genome pipeline` @genome/sequencer.
  const libTarballs = ['proto', 'model-format', 'model-store', 'sequencer'].map((l) => pack(join(repoRoot, 'libs', l), work).tarball);
  const cli = pack(cliDir, work);
  t.ok(cli.files.includes('bin/genome.mjs') && cli.files.includes('dist/main.js'), 'the CLI tarball ships its bin and dist/main.js');
  t.ok(cli.files.includes('README.md'), 'and its README');
  t.notOk(cli.files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'and no sources or tests');

  // Every tarball in one global install, as the README says; the registry only for third-party dependencies
  // (--prefer-offline: what npm ci just fetched is taken from npm's cache without asking the registry again).
  // --ignore-scripts: sqlite3's build from source (about 1.5 min here, no prebuilt binary is reachable) is for
  // `genome store`'s default SQLite backend, which this test does not call; the commands it runs need no script.
  const prefix = join(work, 'prefix');
  execFileSync(npm, ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-fund', '--no-audit', ...libTarballs, cli.tarball], { cwd: work, stdio: 'pipe' });
  const bin = process.platform === 'win32' ? join(prefix, 'genome.cmd') : join(prefix, 'bin', 'genome');
  t.ok(existsSync(bin), `${bin} installed`);
  // The bin's shebang is `#!/usr/bin/env node`: put this node first on PATH.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}${process.platform === 'win32' ? ';' : ':'}${process.env.PATH ?? ''}` };
  const run = (...args: string[]) => spawnSync(bin, args, { cwd: work, env, encoding: 'utf8', timeout: 60_000 });

  const help = run('--help');
  t.equal(help.status, 0, 'genome --help exits 0');
  t.match(help.stdout, /Usage: genome \[options\] \[command\]/);
  t.match(help.stdout, /\n  explain /, '--help lists the subcommands');
  t.match(help.stdout, /Exit codes:/, '--help documents the exit codes');
  const explainHelp = run('explain', '--help');
  t.equal(explainHelp.status, 0, 'genome explain --help exits 0');
  t.match(explainHelp.stdout, /Examples:/);
  const version = run('--version');
  t.equal(version.status, 0, 'genome --version exits 0');
  t.equal(version.stdout.trim(), cliPkg.version, 'prints the package version');
  // `genome pipeline` loads @genome/sequencer (and yaml) on first use: a local Argo export from the installed copy.
  const pipelineFile = join(work, 'pipeline.json');
  writeFileSync(pipelineFile, JSON.stringify({ pipelineName: 'p', canonicalName: 'c', application: 'a', steps: [{ stepName: 's', stepType: 't', image: 'i:1' }] }));
  const exported = run('pipeline', 'export', pipelineFile, '--format', 'argo');
  t.equal(exported.status, 0, 'genome pipeline export exits 0', { stderr: exported.stderr });
  t.match(exported.stdout, /^apiVersion: argoproj\.io\/v1alpha1\nkind: Workflow\n/, 'and prints the Argo Workflow as YAML');
  // The installed copy loads grpc-js and the generated clients: a refused connection is exit 3, one line, no stack.
  const unreachable = run('--address', `127.0.0.1:${await closedPort()}`, 'health');
  t.equal(unreachable.status, 3, 'genome health against a closed port exits 3');
  t.match(unreachable.stderr, /^error: UNAVAILABLE: could not reach /);
  t.notMatch(unreachable.stderr, /^\s+at /m, 'no stack trace');

  // A real call from the installed copy: credentials, metadata (the bearer token) and the generated clients agree.
  const token = 'packaging-test-token';
  const sidecar = await startSidecar({
    ...defaultConfig(),
    host: '127.0.0.1',
    grpcPort: 0,
    httpPort: -1,
    logLevel: 'silent',
    treeWorkers: 0,
    models: [{ kind: 'package', path: DEFAULT_MODEL_DIR }],
    authTokens: [{ token, models: ['*'] }],
  });
  t.teardown(() => sidecar.close(100));
  const call = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    // Asynchronous: the sidecar answers from this process.
    const child = spawn(bin, ['--address', `127.0.0.1:${sidecar.grpcPort}`, '--token', token, 'explain', '--model', 'california-housing-rf', '--row', '8.3252,41,6.9841,1.0238,322,2.5556,37.88,-122.23', '--output', 'json'], { cwd: work, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  t.equal(call.status, 0, 'genome explain from the installed copy exits 0', { stderr: call.stderr });
  const docs = JSON.parse(call.stdout || '[]') as { schema: string; values: number[][][] }[];
  t.equal(docs[0]?.schema, 'genome.explanation/v1', 'and prints the explanation');
  t.equal(docs[0]?.values[0]?.length, 8, 'of 8 features');
});
