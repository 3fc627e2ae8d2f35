import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tar from 'tar';
import { zipSync, strToU8 } from 'fflate';
import {
  checkGenomeManifest,
  genomePackageSchema,
  loadGenomePackage,
  loadXGBoostModel,
  ModelFormatError,
  predictRaw,
  validateGenomeManifest,
  type GenomeManifest,
} from '../src/index.js';
import { fixture, readFixtureJson, repoRoot } from '../../../tools/fixtures.js';
import { startRestServer, linear, NF } from './helpers/oip-servers.js';

const example = resolve(repoRoot, 'examples/packages/california-housing-rf');
const tmp = mkdtempSync(join(tmpdir(), 'genome-pkg-test-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const exampleManifest = (): GenomeManifest => JSON.parse(readFileSync(join(example, 'genome.json'), 'utf8'));

t.test('the example package loads, runs on onnxruntime and as the tree IR, and both agree with scikit-learn', async (t) => {
  const ref = readFixtureJson<{ x: number[][]; sklearn_prediction: number[]; feature_names: string[] }>(
    'oracles/trees/california-housing-rf-seed/reference.json',
  );
  const pkg = await loadGenomePackage(example);
  t.equal(pkg.manifest.name, 'california-housing-rf');
  t.same(pkg.manifest.input.features!.map((f) => f.name), ref.feature_names);
  const { predictor, tree } = await pkg.open();
  t.ok(tree, 'tree IR from the ONNX TreeEnsembleRegressor');
  t.equal(predictor.kind, 'tabular');
  t.same(predictor.outputNames, ['MedHouseVal']);
  t.equal(predictor.outputSpace, 'regression');
  const x = Float64Array.from(ref.x.flat());
  const m = await predictor.predict(x as never, ref.x.length);
  const ir = predictRaw(tree!, x, ref.x.length);
  for (let i = 0; i < ref.x.length; i++) {
    const want = ref.sklearn_prediction[i]!;
    t.ok(Math.abs(m.data[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `onnxruntime row ${i}`);
    t.ok(Math.abs(ir[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `tree IR row ${i}`);
  }
  const viaTree = await pkg.open({ engine: 'tree' });
  t.same(Array.from((await viaTree.predictor.predict(x as never, ref.x.length)).data), Array.from(ir));
  const bg = await pkg.background();
  t.equal(bg!.nRows, 100, 'explainer.background.rows caps the rows');
  t.same(bg!.featureNames, ref.feature_names);
  t.ok(bg!.rows.every((v) => Number.isFinite(v)));
  t.same(await pkg.samples(), []);
  await predictor.close?.();
  await pkg.close();
});

t.test('schema file ships with the package and is draft 2020-12', async (t) => {
  const s = genomePackageSchema();
  t.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const pkgJson = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8'));
  t.equal(pkgJson.exports['./genome-package.schema.json'], './schema/genome-package.schema.json');
  t.ok(pkgJson.files.includes('schema'));
  t.same(checkGenomeManifest(exampleManifest()), []);
});

t.test('validation errors name the field path and what was expected', async (t) => {
  const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['bad framework', (m) => (m.framework = 'pytorch'), /\/framework: must be one of "xgboost", "lightgbm", "onnx", "tfjs", "remote" \(got "pytorch"\)/],
    ['feature type', (m) => (m.input.features[2].type = 'double'), /\/input\/features\/2\/type: must be one of "float", "int", "categorical", "bool" \(got "double"\)/],
    ['missing name', (m) => delete m.name, /\/name: is required but missing/],
    ['typo', (m) => (m.output.spaces = 'raw'), /\/output\/spaces: is not a known property/],
    ['categorical without levels', (m) => (m.input.features[0].type = 'categorical'), /\/input\/features\/0\/levels: is required but missing/],
    ['levels on a float', (m) => (m.input.features[1].levels = ['a']), /\/input\/features\/1\/levels: levels are only allowed on categorical features/],
    ['path escape', (m) => (m.artifacts.model = '../../etc/passwd'), /\/artifacts\/model: must be a relative path inside the package/],
    ['absolute path', (m) => (m.artifacts.background = '/etc/passwd'), /\/artifacts\/background: must be a relative path/],
    ['version', (m) => (m.version = 'v1'), /\/version: must be a semantic version like 1\.0\.0 \(got "v1"\)/],
    ['schemaVersion', (m) => (m.schemaVersion = 'genome.package/v9'), /\/schemaVersion: must be "genome.package\/v1"/],
    ['tabular without features', (m) => delete m.input.features, /\/input\/features: is required but missing/],
    ['remote without remote', (m) => ((m.framework = 'remote'), delete m.artifacts), /\/remote: is required but missing/],
    ['output space', (m) => (m.output.space = 'logits'), /\/output\/space: must be one of "raw", "probability", "regression"/],
    ['duplicate feature', (m) => (m.input.features[3].name = 'MedInc'), /\/input\/features\/3\/name: duplicates the name of \/input\/features\/0/],
    ['method vs modality', (m) => (m.explainer.default = 'gradcam'), /\/explainer\/default: "gradcam" cannot explain tabular input/],
    ['unknown method', (m) => (m.explainer.default = 'deep_lift'), /\/explainer\/default: must be one of/],
    ['image mean length', (m) => {
      m.input = { modality: 'image', image: { width: 224, height: 224, channels: 3, layout: 'NHWC', mean: [0.5] } };
      m.explainer.default = 'gradcam';
      delete m.explainer.methods;
    }, /\/input\/image\/mean: must have one value per channel \(3\), got 1/],
    ['not an object', (m) => (m.input = 'tabular'), /\/input: must be of type object/],
  ];
  for (const [name, mutate, expected] of cases) {
    const m = exampleManifest() as Record<string, any>;
    mutate(m);
    const err = (() => {
      try {
        validateGenomeManifest(m);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(err instanceof ModelFormatError && err.code === 'INVALID_PACKAGE', `${name}: INVALID_PACKAGE`);
    t.match((err as Error)?.message ?? '', expected, name);
  }
  t.same(checkGenomeManifest(null)[0], { path: '', message: 'must be of type object (got null)' });
});

function copyExample(name: string): string {
  const d = join(tmp, name);
  cpSync(example, d, { recursive: true });
  return d;
}

t.test('archives: .tar.gz (with a top folder) and .zip load like the directory', async (t) => {
  const tgz = join(tmp, 'pkg.tar.gz');
  await tar.c({ gzip: true, file: tgz, cwd: resolve(example, '..') }, ['california-housing-rf']);
  const a = await loadGenomePackage(tgz);
  t.equal(a.manifest.name, 'california-housing-rf');
  t.not(a.root, example);
  const { predictor } = await a.open();
  t.equal((await predictor.predict(new Float64Array(8) as never, 1)).rows, 1);
  await predictor.close?.();
  const root = a.root;
  await a.close();
  await a.close();
  t.notOk(existsSync(root), 'extracted files removed on close');

  const files: Record<string, Uint8Array> = {};
  for (const f of ['genome.json', 'model.onnx', 'background.csv']) files[f] = new Uint8Array(readFileSync(join(example, f)));
  const zip = join(tmp, 'pkg.zip');
  writeFileSync(zip, zipSync(files));
  const z = await loadGenomePackage(zip);
  t.equal((await z.background())!.nRows, 100);
  await z.close();
});

t.test('hostile and broken packages are refused with INVALID_PACKAGE', async (t) => {
  const evilZip = join(tmp, 'evil.zip');
  writeFileSync(evilZip, zipSync({ 'genome.json': strToU8('{}'), '../escape.txt': strToU8('x') }));
  await t.rejects(loadGenomePackage(evilZip), /points outside the package/);
  t.notOk(existsSync(join(tmp, 'escape.txt')));

  const bomb = join(tmp, 'bomb.zip');
  writeFileSync(bomb, zipSync({ 'genome.json': new Uint8Array(4 << 20) }, { level: 9 }));
  await t.rejects(loadGenomePackage(bomb, { maxBytes: 1 << 20 }), /unpacked size exceeds 1048576 bytes/);

  const notArchive = join(tmp, 'random.bin');
  writeFileSync(notArchive, 'hello');
  await t.rejects(loadGenomePackage(notArchive), { code: 'INVALID_PACKAGE' });
  await t.rejects(loadGenomePackage(join(tmp, 'nope')), /does not exist/);

  const truncated = join(tmp, 'trunc.tar.gz');
  await tar.c({ gzip: true, file: truncated, cwd: example }, ['genome.json', 'model.onnx']);
  writeFileSync(truncated, readFileSync(truncated).subarray(0, 5000));
  await t.rejects(loadGenomePackage(truncated), { code: 'INVALID_PACKAGE' });

  const missing = copyExample('missing-model');
  rmSync(join(missing, 'model.onnx'));
  await t.rejects(loadGenomePackage(missing), /\/artifacts\/model: file "model.onnx" does not exist/);

  const badJson = copyExample('bad-json');
  writeFileSync(join(badJson, 'genome.json'), '{"name": ');
  await t.rejects(loadGenomePackage(badJson), /is not valid JSON/);

  const link = copyExample('link');
  rmSync(join(link, 'background.csv'));
  mkdirSync(join(tmp, 'outside'));
  writeFileSync(join(tmp, 'outside', 'secret.csv'), 'a\n1\n');
  symlinkSync(join(tmp, 'outside', 'secret.csv'), join(link, 'background.csv'));
  await t.rejects(loadGenomePackage(link), /links outside the package/);

  const badCsv = copyExample('bad-csv');
  writeFileSync(join(badCsv, 'background.csv'), 'MedInc,HouseAge\n1,2\n');
  const p = await loadGenomePackage(badCsv);
  await t.rejects(p.background(), /has no column "AveRooms"/);

  const wrongWidth = copyExample('wrong-width');
  const m = JSON.parse(readFileSync(join(wrongWidth, 'genome.json'), 'utf8'));
  m.input.features.pop();
  m.input.tensorName = 'input';
  writeFileSync(join(wrongWidth, 'genome.json'), JSON.stringify(m));
  const w = await loadGenomePackage(wrongWidth);
  await t.rejects(w.open({ engine: 'runtime' }), /lists 7 features but the ONNX model takes 8/);
});

t.test('samples and categorical background columns', async (t) => {
  const d = copyExample('samples');
  const m = JSON.parse(readFileSync(join(d, 'genome.json'), 'utf8'));
  const features = m.input.features.map((f: { name: string }) => f.name);
  const explanation = {
    schema: 'genome.explanation/v1',
    method: 'tree_shap.interventional',
    values: [features.map(() => [0])],
    baseValues: [[0]],
    featureNames: features,
    outputNames: ['MedHouseVal'],
    outputSpace: 'regression',
    parameters: {},
    timings: { totalMs: 1 },
  };
  writeFileSync(join(d, 'e1.json'), JSON.stringify(explanation));
  m.samples = [
    { id: 'inline', input: features.map(() => 1), explanation },
    { id: 'file', explanation: { path: 'e1.json' } },
  ];
  writeFileSync(join(d, 'genome.json'), JSON.stringify(m));
  const p = await loadGenomePackage(d);
  const s = await p.samples();
  t.equal(s.length, 2);
  t.same(s[1]!.explanation, explanation);

  m.samples[0].input = [1, 2];
  writeFileSync(join(d, 'genome.json'), JSON.stringify(m));
  await t.rejects(loadGenomePackage(d), /\/samples\/0\/input: has 2 values but there are 8 features/);

  const c = join(tmp, 'categorical');
  mkdirSync(c);
  writeFileSync(join(c, 'model.json'), '{}');
  writeFileSync(join(c, 'bg.csv'), 'colour,size,target\nred,1.5,0\n"blue",,1\n2,3,1\n');
  writeFileSync(
    join(c, 'genome.json'),
    JSON.stringify({
      schemaVersion: 'genome.package/v1', name: 'cat', version: '0.1.0', framework: 'xgboost',
      artifacts: { model: 'model.json', background: 'bg.csv' },
      input: { modality: 'tabular', features: [{ name: 'colour', type: 'categorical', levels: ['red', 'blue', 'green'] }, { name: 'size', type: 'float' }] },
      output: { space: 'raw' },
    }),
  );
  const cp = await loadGenomePackage(c);
  const bg = (await cp.background())!;
  t.same(Array.from(bg.rows), [0, 1.5, 1, NaN, 2, 3]);
});

t.test('a remote package opens an Open Inference Protocol predictor', async (t) => {
  const srv = await startRestServer();
  t.teardown(() => srv.close());
  const d = join(tmp, 'remote');
  mkdirSync(d);
  writeFileSync(
    join(d, 'genome.json'),
    JSON.stringify({
      schemaVersion: 'genome.package/v1', name: 'remote-linear', version: '2.0.0', framework: 'remote',
      remote: { protocol: 'rest', url: srv.url, model: 'linear', timeoutMs: 2000 },
      input: { modality: 'tabular', features: Array.from({ length: NF }, (_, i) => ({ name: `x${i}`, type: 'float' })) },
      output: { space: 'regression', names: ['a', 'b'] },
      explainer: { default: 'kernel_shap', parameters: { nsamples: 512 } },
    }),
  );
  const p = await loadGenomePackage(d);
  const { predictor, tree } = await p.open();
  t.equal(tree, undefined);
  t.same(predictor.outputNames, ['a', 'b']);
  const x = Float64Array.from([1, 2, 3, 4, -1, 0, 0.5, 2]);
  t.same(Array.from((await predictor.predict(x as never, 2)).data), linear(x, 2));
  await predictor.close?.();
  await t.rejects(p.open({ engine: 'tree' }), { code: 'UNSUPPORTED' });
});

t.test('xgboost and lightgbm packages open on the tree IR', async (t) => {
  const d = join(tmp, 'xgb');
  mkdirSync(d);
  cpSync(fixture('models/xgboost/ankane-regression/model.json'), join(d, 'model.json'));
  const base = {
    schemaVersion: 'genome.package/v1', name: 'xgb', version: '1.0.0', framework: 'xgboost',
    artifacts: { model: 'model.json' }, output: { space: 'regression' },
  };
  const probe = loadXGBoostModel(readFileSync(join(d, 'model.json')));
  const features = Array.from({ length: probe.nFeatures }, (_, i) => ({ name: `f${i}`, type: 'float' }));
  writeFileSync(join(d, 'genome.json'), JSON.stringify({ ...base, input: { modality: 'tabular', features } }));
  const p = await loadGenomePackage(d);
  const { tree, predictor } = await p.open();
  t.ok(tree);
  const x = new Float64Array(probe.nFeatures * 3).map((_, i) => i / 7);
  t.same(Array.from((await predictor.predict(x as never, 3)).data), Array.from(predictRaw(probe, x, 3)));
  await t.rejects(p.open({ engine: 'runtime' }), { code: 'UNSUPPORTED' });
  writeFileSync(join(d, 'genome.json'), JSON.stringify({ ...base, framework: 'lightgbm', input: { modality: 'tabular', features } }));
  const bad = await loadGenomePackage(d);
  await t.rejects(bad.open(), ModelFormatError, 'an XGBoost file declared as LightGBM is refused with a typed error');
});

t.test('an image ONNX package has no tree IR: engine "tree" is UNSUPPORTED, not a crash', async (t) => {
  const d = join(tmp, 'image-onnx');
  mkdirSync(d);
  cpSync(fixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx'), join(d, 'model.onnx'));
  writeFileSync(
    join(d, 'genome.json'),
    JSON.stringify({
      schemaVersion: 'genome.package/v1', name: 'squares', version: '1.0.0', framework: 'onnx', task: 'multiclass',
      artifacts: { model: 'model.onnx' },
      input: { modality: 'image', image: { width: 48, height: 48, channels: 3, layout: 'NCHW', channelOrder: 'RGB', scale: 1 / 255 } },
      output: { space: 'raw', classes: ['top-left', 'top-right', 'bottom-left', 'bottom-right'] },
      explainer: { default: 'gradcam' },
    }),
  );
  const p = await loadGenomePackage(d);
  await t.rejects(p.open({ engine: 'tree' }), { code: 'UNSUPPORTED', message: /only tabular tree ensembles have a tree IR/ });
});
