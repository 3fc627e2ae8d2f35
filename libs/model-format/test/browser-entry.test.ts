// The `browser` entry (src/browser.ts) is everything of the Node entry but its Node-only parts, and a browser bundle
// of it reaches no `node:` module, no optional peer dependency and no worker. The tree layer sits below the format
// loaders: nothing under src/tree/ imports a loader, a predictor or the package code.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import t from 'tap';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** The values only the Node entry exports: files, native runtimes, remote predictors, packages, workers. */
const NODE_ONLY = [
  'GENOME_PACKAGE_SCHEMA_URL',
  'checkGenomeManifest',
  'genomePackageSchema',
  'loadGenomePackage',
  'loadOnnxRuntime',
  'loadTf',
  'onnxPredictor',
  'remotePredictor',
  'remoteTextPredictor',
  'siblingModule',
  'startModuleWorker',
  'tfjsPredictor',
  'validateGenomeManifest',
];

t.test('the browser entry exports every value of the Node entry but the Node-only ones', async (t) => {
  const browserKeys = Object.keys(browser).sort();
  t.same(browserKeys, Object.keys(node).filter((k) => !NODE_ONLY.includes(k)).sort());
  for (const k of browserKeys) t.equal((browser as Record<string, unknown>)[k], (node as Record<string, unknown>)[k], `${k} is the same object`);
  t.ok(browserKeys.includes('loadTreeModel') && browserKeys.includes('treePredictor') && browserKeys.includes('predict'));
});

t.test('a browser bundle of the browser entry reaches no node: module and no optional peer', async (t) => {
  const result = await build({
    entryPoints: [`${src}browser.ts`],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    conditions: ['@genome/source'],
  });
  t.same(result.errors, [], 'esbuild bundles it for the browser without errors');
  const inputs = Object.keys(result.metafile.inputs);
  t.same(inputs.filter((f) => !f.startsWith('src/') || /node_modules/.test(f)), [], 'only model-format sources, no package');
  const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  t.same(imports.filter((p) => !p.startsWith('src/')), [], 'no import leaves the sources (no node:, no package, static or dynamic)');
  t.notMatch(result.outputFiles[0]!.text, /\bnode:|worker_threads|require\(/, 'the bundle names no Node module');
});

t.test('nothing under src/tree/ imports a format loader, a predictor or the package code', async (t) => {
  for (const f of readdirSync(`${src}tree`)) {
    const text = readFileSync(`${src}tree/${f}`, 'utf8');
    const from = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    t.same(from.filter((p) => !/^\.\/|^\.\.\/errors\.js$/.test(p)), [], `src/tree/${f} imports only tree/ modules and errors.js`);
  }
});
