// Proves each library installs and works alone: `npm pack` every libs/* package, install the tarballs into a
// temporary project outside the workspace (registry for third-party deps), and import each one from there.
// And that the `genome` CLI installs globally from its tarball (with those of the workspace libraries it uses) and runs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import t from 'tap';
import { DEFAULT_MODEL_DIR, defaultConfig, startSidecar } from '@genome/explainer-sidecar';
import { repoRoot } from '../fixtures-root.js';
import { fixture } from '../fixtures.js';
import { examplePackage } from '../test-packages.js';

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

/** The remote OIP client stack and the tar reader: optional peers of @genome/model-format, never pulled in by shap. */
const REMOTE_STACK = /^(@grpc\/|@genome\/proto$|protobufjs$|@protobufjs\/|@bufbuild\/|tar$|yargs$|minizlib$|long$)/;

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

  // What each library pulls in: its dependency closure in that install (optional peers are not part of it).
  const installed = installedPackages(consumer);
  for (const lib of libs) {
    const closure = dependencyClosure(installed, join(consumer, 'node_modules', lib.name));
    const names = [...new Set(closure.map((p) => p.name))].sort();
    t.comment(`${lib.name} pulls in ${names.length - 1} packages, ${mb(closure.reduce((s, p) => s + p.bytes, 0))}: ${names.filter((n) => n !== lib.name).join(' ') || '(none)'}`);
    if (lib.name === '@genome/shap' || lib.name === '@genome/model-format') {
      t.same(names.filter((n) => REMOTE_STACK.test(n)), [], `${lib.name} pulls in no gRPC, protobuf, generated protos or tar`);
    }
  }
  t.end();
});

t.test('@genome/shap installs alone without a gRPC stack, explains an XGBoost model and bundles for browsers', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'genome-shap-alone-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const shap = pack(join(repoRoot, 'libs', 'shap'), work).tarball;
  const format = pack(join(repoRoot, 'libs', 'model-format'), work).tarball;
  const consumer = join(work, 'consumer');
  mkdirSync(consumer, { recursive: true });
  // As a user would: `npm install @genome/shap` (model-format from its tarball, not the registry), optional peers
  // not installed.
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { '@genome/shap': `file:${shap}` }, overrides: { '@genome/model-format': `file:${format}` } }, null, 2),
  );
  const install = spawnSync(npm, ['install', '--no-package-lock', '--prefer-offline', '--no-fund', '--no-audit'], { cwd: consumer, encoding: 'utf8' });
  t.equal(install.status, 0, 'npm install @genome/shap succeeds', { stderr: install.stderr });
  t.notMatch(install.stderr, /install-scripts|allowScripts/, 'with no install script to review');

  const installed = [...installedPackages(consumer).values()];
  const names = installed.map((p) => p.name).sort();
  const bytes = installed.reduce((s, p) => s + p.bytes, 0);
  t.comment(`@genome/shap install size: ${mb(bytes)} in ${names.length} packages: ${names.join(' ')}`);
  t.same(names.filter((n) => REMOTE_STACK.test(n)), [], 'no gRPC, protobuf, generated protos, yargs or tar package');
  t.same(
    names,
    ['@genome/model-format', '@genome/shap', 'ajv', 'fast-deep-equal', 'fast-uri', 'fflate', 'json-schema-traverse', 'require-from-string'],
    'exactly the libraries, the manifest validator (ajv) and the zip reader (fflate)',
  );
  t.ok(bytes < 8e6, `under 8 MB (libs/shap/README.md records the size; was 25 MB with the gRPC stack): ${mb(bytes)}`);

  // From the installed copy: TreeSHAP on an XGBoost JSON model; base + sum(values) is the margin.
  const xgb = fixture('models', 'xgboost', 'ankane-regression', 'model.json');
  const explained = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { readFileSync } from 'node:fs';
       import { loadTreeModel, predictRaw } from '@genome/model-format';
       import { explainTree } from '@genome/shap';
       const model = loadTreeModel(readFileSync(${JSON.stringify(xgb)}));
       const rows = [[3.7, 1.2, 7.2, 9], [7.5, 0.5, 7.9, 0]];
       const e = await explainTree(model, rows);
       const margins = predictRaw(model, Float64Array.from(rows.flat()), 2);
       console.log(JSON.stringify({ method: e.method, gap: Math.max(...rows.map((_, r) => Math.abs(e.baseValues[r][0] + e.values[r].reduce((s, v) => s + v[0], 0) - margins[r]))) }));`,
    ],
    { cwd: consumer, encoding: 'utf8' },
  );
  const { method, gap } = JSON.parse(explained) as { method: string; gap: number };
  t.equal(method, 'tree_shap.path_dependent', 'explainTree runs from the installed copy');
  t.ok(gap < 1e-9, `and its values add up to the margins (gap ${gap})`);

  // What is not installed fails at first use, naming the packages to install.
  const archive = join(work, 'california-housing-rf.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', examplePackage, '.']);
  const missing = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { loadGenomePackage, remotePredictor } from '@genome/model-format';
       const why = (p) => p.then(() => 'resolved', (e) => e.code + ': ' + e.message);
       console.log(JSON.stringify({
         grpc: await why(remotePredictor({ protocol: 'grpc', url: '127.0.0.1:1', model: 'm', nFeatures: 1 })),
         tar: await why(loadGenomePackage(${JSON.stringify(archive)})),
       }));`,
    ],
    { cwd: consumer, encoding: 'utf8' },
  );
  const errors = JSON.parse(missing) as { grpc: string; tar: string };
  t.match(errors.grpc, /^MISSING_DEPENDENCY: Remote predictors over gRPC .* need @grpc\/grpc-js, .*: npm install @grpc\/grpc-js @genome\/proto$/, 'a gRPC remote predictor: MISSING_DEPENDENCY, install @grpc/grpc-js @genome/proto');
  t.match(errors.tar, /^MISSING_DEPENDENCY: Reading the \.tar\/\.tar\.gz package .* needs tar, .*: npm install tar$/, 'a .tar.gz package: MISSING_DEPENDENCY, install tar');

  // The installed tarballs bundle for browsers (the `browser` export condition): no node: module on the tree path.
  const bundle = await build({
    stdin: {
      contents: "import { loadTreeModel } from '@genome/model-format'; import { explainTree } from '@genome/shap'; export { loadTreeModel, explainTree };",
      resolveDir: consumer,
    },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(bundle.metafile.inputs);
  t.ok(inputs.some((f) => f.endsWith('@genome/shap/dist/browser.js')) && inputs.some((f) => f.endsWith('@genome/model-format/dist/browser.js')), 'esbuild takes both dist/browser.js');
  t.same(inputs.filter((f) => /workers\/|module-worker|node_modules\/(?!@genome\/)/.test(f)), [], 'and bundles neither the worker pool nor any other package');
  t.comment(`browser bundle of loadTreeModel + explainTree: ${(bundle.outputFiles[0]!.text.length / 1024).toFixed(0)} KiB`);
});

interface InstalledPackage {
  name: string;
  dir: string;
  /** Bytes of its files, without its own node_modules. */
  bytes: number;
  /** Names it needs installed: dependencies, optionalDependencies and peers not marked optional. */
  needs: string[];
}

/** Every package under `root`/node_modules (nested ones too), by directory. */
function installedPackages(root: string): Map<string, InstalledPackage> {
  const out = new Map<string, InstalledPackage>();
  const visit = (nodeModules: string) => {
    if (!existsSync(nodeModules)) return;
    for (const entry of readdirSync(nodeModules)) {
      if (entry.startsWith('.')) continue;
      const dirs = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((e) => join(nodeModules, entry, e)) : [join(nodeModules, entry)];
      for (const dir of dirs) {
        if (!existsSync(join(dir, 'package.json'))) continue;
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name: string;
          dependencies?: Record<string, string>;
          optionalDependencies?: Record<string, string>;
          peerDependencies?: Record<string, string>;
          peerDependenciesMeta?: Record<string, { optional?: boolean }>;
        };
        const peers = Object.keys(pkg.peerDependencies ?? {}).filter((n) => !pkg.peerDependenciesMeta?.[n]?.optional);
        out.set(dir, { name: pkg.name, dir, bytes: treeBytes(dir), needs: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...peers] });
        visit(join(dir, 'node_modules'));
      }
    }
  };
  visit(join(root, 'node_modules'));
  return out;
}

/** Bytes of the files under `dir`, not following links and skipping node_modules. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else total += lstatSync(p).size;
  }
  return total;
}

/** The package at `dir` and everything it needs, resolved as Node does (node_modules folders up from each package). */
function dependencyClosure(installed: Map<string, InstalledPackage>, dir: string): InstalledPackage[] {
  const seen = new Map<string, InstalledPackage>();
  const queue = [dir];
  while (queue.length > 0) {
    const d = queue.pop()!;
    const pkg = installed.get(d);
    if (!pkg || seen.has(d)) continue;
    seen.set(d, pkg);
    for (const name of pkg.needs) {
      for (let up = d; ; up = dirname(up)) {
        const candidate = join(up, 'node_modules', name);
        if (installed.has(candidate)) {
          queue.push(candidate);
          break;
        }
        if (dirname(up) === up) break;
      }
    }
  }
  return [...seen.values()];
}

/** Bytes as megabytes (10^6), one decimal. */
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

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
