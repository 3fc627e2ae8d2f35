/**
 * The seed's walkthrough, end to end, on embedded defaults (SQLite metadata, blobs on disk, the local executor):
 *   1. the seed's forest (ONNX) with covers from its data;  2. a Genome package as the seed's GenomeEstimator builds;
 *   3. saved to the model store with the seed's metadata, alias production;  4. the sidecar on
 *   store://california-housing@production, explained over gRPC (the genome CLI, a Node client, Python grpcio) and
 *   KServe REST, checked against the seed's reference and for additivity;  5. a waterfall and a beeswarm;
 *   6. the seed's pipeline (prepare -> monitor -> retrain) through the sequencer server, which retrains on drift and
 *   moves production; the running sidecar picks the new version up with no failed call.
 *
 *   node --import=tsx --conditions=@genome/source examples/california-housing/walkthrough.ts [--short] [--out DIR] [--fixtures DIR]
 *
 * Prints each step with its timing and exits 1 on any mismatch.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { openModelStore } from '@genome/model-store';
import { explain as pb } from '@genome/proto';
import { explainTree } from '@genome/shap';
import { startServerProcess, type ServerProcess } from '../../tools/test-server-process.js';
import { buildPackage, readSeedData, seedForest } from './package.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const MODEL = 'california-housing';
const PY = '/usr/bin/python3';

const { values: flags } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    out: { type: 'string', default: join(import.meta.dirname, 'out') },
    fixtures: { type: 'string', default: resolve(repoRoot, '../shared/fixtures') },
    keep: { type: 'boolean', default: false },
  },
});
const out = resolve(flags.out!);
const seedDir = join(resolve(flags.fixtures!), 'oracles', 'trees', 'california-housing-rf-seed');
if (!existsSync(join(seedDir, 'model.onnx'))) {
  console.error(`the seed's model is not at ${seedDir}/model.onnx: pass --fixtures DIR (the shared fixtures folder)`);
  process.exit(2);
}

// ------------------------------------------------------------------------------------------------------------------
// Reporting

const failures: string[] = [];
const t0 = performance.now();
let stepStart = t0;
function step(title: string): void {
  stepStart = performance.now();
  console.log(`\n== ${title}`);
}
function done(what: string): void {
  console.log(`   ${what} (${((performance.now() - stepStart) / 1000).toFixed(2)} s)`);
}
function check(ok: boolean, what: string): void {
  console.log(`   ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}
const maxAbsDiff = (a: readonly number[], b: readonly number[]) => (a.length !== b.length ? Infinity : a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0));

interface Reference {
  x: number[][];
  feature_names: string[];
  path_dependent: { expected_value: number | number[]; shap_values: number[][][] | number[][] };
}

// ------------------------------------------------------------------------------------------------------------------
// 1. The seed's forest, with covers from its data

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
step('1. the seed forest: RandomForestRegressor(n_estimators=120, max_depth=5), covers from data.csv');
const data = readSeedData(join(seedDir, 'data.csv'));
const model = seedForest(join(seedDir, 'model.onnx'), data);
const ref = JSON.parse(readFileSync(join(seedDir, 'reference.json'), 'utf8')) as Reference;
const refValues = (ref.path_dependent.shap_values as unknown[]).flat(2) as number[];
const refBase = ([] as number[]).concat(ref.path_dependent.expected_value)[0]!;
// The ONNX file stores leaf values as float32; the reference was computed from scikit-learn's float64 leaves. Every
// value can differ by at most this bound (the largest |leaf| sum, times 2^-24) from the reference, and no more.
let leafBound = 0;
for (let t = 0; t < model.nTrees; t++) {
  let m = 0;
  for (let n = model.treeOffsets[t]!; n < model.treeOffsets[t + 1]!; n++) if (model.left[n]! < 0) m = Math.max(m, Math.abs(model.value[n]!));
  leafBound += m;
}
const float32Bound = ((leafBound / model.nTrees) * 2 ** -24) * 2;
done(`${model.nTrees} trees, ${data.rows.length} data rows, ${data.featureNames.join(', ')}`);

// ------------------------------------------------------------------------------------------------------------------
// 2. The Genome package

step('2. a Genome package, as the seed GenomeEstimator builds one');
const sampleRows = ref.x;
const pkg = await buildPackage(join(out, 'package'), join(seedDir, 'model.onnx'), data, model, sampleRows);
const inProcess = pkg.samples.values.flat(2);
check(maxAbsDiff(inProcess, refValues) <= 1e-9 + float32Bound, `sample explanations = the seed reference (max |diff| ${maxAbsDiff(inProcess, refValues).toExponential(2)} <= 1e-9 + float32 leaf bound ${float32Bound.toExponential(2)})`);
done(`${pkg.dir}: genome.json (target price, TreeSHAP path-dependent, ${sampleRows.length} sample explanations), model.onnx, background.csv`);

// ------------------------------------------------------------------------------------------------------------------
// 3. The model store

step('3. saved to the model store with the seed metadata; alias production');
const storeDir = join(out, 'store');
const store = await openModelStore({ dir: storeDir });
const v1 = await store.saveModel(pkg.dir, {
  canonicalName: MODEL,
  application: 'search',
  pipelineName: 'california-housing-walkthrough',
  pipelineRunId: `walkthrough-${Date.now()}`,
  pipelineStage: 'package',
  framework: 'sklearn',
  inputModality: 'tabular',
  versionName: '1.2.3',
  aliases: ['production'],
  tags: { source: 'seed' },
});
const prod = await store.getVersion(`${MODEL}@production`);
check(prod.version === v1.version, `${MODEL}@production -> version ${prod.version} (versionName ${prod.metadata.versionName}, digest ${prod.digest.slice(0, 12)}…)`);
await store.close();
done(`store at ${storeDir}`);

// ------------------------------------------------------------------------------------------------------------------
// 4. The sidecar on store://california-housing@production, explained over every transport

step('4. the sidecar on store://california-housing@production');
const logs = join(out, 'logs');
mkdirSync(logs, { recursive: true });
const servers: ServerProcess[] = [];
const stopAll = async () => {
  for (const s of servers) {
    s.child.kill('SIGTERM');
    await Promise.race([s.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await s.kill();
  }
};
process.on('exit', () => servers.forEach((s) => s.child.kill('SIGKILL')));
const sidecar = await startServerProcess(
  { main: join(repoRoot, 'apps/explainer-sidecar/src/main.ts'), title: 'the sidecar', logName: 'sidecar', listening: 'sidecar listening' },
  ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--model', `store://${MODEL}@production`, '--store-dir', storeDir, '--store-poll-ms', '200', '--tree-workers', '1', '--log-level', 'info'],
  {},
  join(logs, 'sidecar.log'),
);
servers.push(sidecar);
const address = `127.0.0.1:${sidecar.grpcPort}`;
const client = new pb.ExplainerClient(address, credentials.createInsecure());
const call = <T>(fn: (cb: (err: ServiceError | null, res?: T) => void) => void): Promise<T> =>
  new Promise((res, rej) => fn((err, r) => (err ? rej(err) : res(r!))));
const explainRequest = (rows: number[][]): pb.ExplainRequest =>
  pb.ExplainRequest.fromPartial({
    model: { name: MODEL },
    methodName: 'tree_shap',
    parameters: { feature_perturbation: 'tree_path_dependent' },
    tabular: { rows: rows.map((values) => ({ values })) },
  });
const described = await call<pb.DescribeModelResponse>((cb) => client.describeModel({ model: { name: MODEL, version: '' } }, new Metadata(), cb));
check(described.model?.store?.version === v1.version, `serving version ${described.model?.store?.version} of ${described.model?.store?.ref}`);
done(`gRPC ${address}, REST 127.0.0.1:${sidecar.httpPort}`);

interface Answer {
  values: number[];
  base: number[];
  predictions: number[];
}
const F = data.featureNames.length;
function judge(transport: string, a: Answer): void {
  const d = maxAbsDiff(a.values, refValues);
  check(d <= 1e-9 + float32Bound, `${transport}: values = the seed reference (max |diff| ${d.toExponential(2)})`);
  check(maxAbsDiff(a.values, inProcess) <= 1e-12, `${transport}: values = @genome/shap in process (max |diff| ${maxAbsDiff(a.values, inProcess).toExponential(2)})`);
  check(Math.abs(a.base[0]! - refBase) <= 1e-9 + float32Bound, `${transport}: base value ${a.base[0]} = the seed expected_value ${refBase}`);
  const additive = sampleRows.map((_, i) => Math.abs(a.base[i]! + a.values.slice(i * F, i * F + F).reduce((s, v) => s + v, 0) - a.predictions[i]!));
  check(Math.max(...additive) <= 1e-9, `${transport}: base + sum(values) = prediction (max |diff| ${Math.max(...additive).toExponential(2)})`);
}

step('4a. explain over gRPC with the genome CLI');
const cliOut = execFileSync(process.execPath, [join(repoRoot, 'apps/cli/bin/genome.mjs'), '--address', address, 'explain', '--model', MODEL, '--method', 'tree_shap', '--param', 'feature_perturbation=tree_path_dependent', ...sampleRows.flatMap((r) => ['--row', r.join(',')]), '--output', 'json'], { encoding: 'utf8' });
const cliDocs = JSON.parse(cliOut) as { values: number[][][]; baseValues: number[][]; predictions: number[][] }[];
judge('genome CLI', { values: cliDocs.flatMap((d) => d.values.flat(2)), base: cliDocs.map((d) => d.baseValues[0]![0]!), predictions: cliDocs.map((d) => d.predictions[0]![0]!) });
done(`genome explain --output json: ${cliDocs.length} documents`);

step('4b. explain over gRPC from Node (grpc-js)');
const nodeRes = await call<pb.ExplainResponse>((cb) => client.explain(explainRequest(sampleRows), new Metadata(), cb));
judge('Node grpc-js', { values: nodeRes.values, base: nodeRes.baseValues, predictions: nodeRes.predictions });
done(`method ${nodeRes.method}, model version ${nodeRes.modelVersion}`);

step('4c. explain over gRPC from Python (Debian python3-grpcio, stubs generated from proto/)');
const stubs = join(out, 'python-stubs');
mkdirSync(stubs, { recursive: true });
try {
  execFileSync(PY, ['-m', 'grpc_tools.protoc', `-I${join(repoRoot, 'proto')}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, join(repoRoot, 'proto/genome/explain/v1/explainer.proto')], { stdio: 'pipe' });
  writeFileSync(join(out, 'rows.json'), JSON.stringify(sampleRows));
  const py = JSON.parse(execFileSync(PY, [join(import.meta.dirname, 'client.py'), stubs, address, MODEL, join(out, 'rows.json')], { encoding: 'utf8' })) as { values: number[][]; base_values: number[]; predictions: number[] };
  judge('Python grpcio', { values: py.values.flat(), base: py.base_values, predictions: py.predictions });
  done('client.py');
} catch (err) {
  check(false, `Python client: ${(err as Error).message.split('\n')[0]} (Debian: apt-get install -y python3-grpcio python3-grpc-tools; run with /usr/bin/python3)`);
}

step('4d. explain over KServe REST (POST /v1/models/california-housing:explain)');
const rest = (await (
  await fetch(`http://127.0.0.1:${sidecar.httpPort}/v1/models/${MODEL}:explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: sampleRows.map((r) => Object.fromEntries(data.featureNames.map((f, i) => [f, r[i]]))), method: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent' } }),
  })
).json()) as { explanations: { values: number[][][]; baseValues: number[][]; predictions: number[][] }[] };
judge('REST', { values: rest.explanations.flatMap((d) => d.values.flat(2)), base: rest.explanations.map((d) => d.baseValues[0]![0]!), predictions: rest.explanations.map((d) => d.predictions[0]![0]!) });
done(`${rest.explanations.length} explanations`);

// ------------------------------------------------------------------------------------------------------------------
// 5. Pictures

step('5. a waterfall of one row and a beeswarm of the sample (Visualize)');
for (const [file, kind, explanationJson, format] of [
  ['waterfall.svg', 'waterfall', JSON.stringify(pkg.samples), 'svg'],
  ['waterfall.png', 'waterfall', JSON.stringify(pkg.samples), 'png'],
  ['beeswarm.svg', 'beeswarm', nodeRes.explanationJson, 'svg'],
  ['beeswarm.png', 'beeswarm', nodeRes.explanationJson, 'png'],
] as const) {
  const pic = await call<pb.VisualizeResponse>((cb) => client.visualize(pb.VisualizeRequest.fromPartial({ model: { name: MODEL }, explanationJson, kind, format, options: kind === 'waterfall' ? { row: 0 } : {} }), new Metadata(), cb));
  writeFileSync(join(out, file), pic.content);
  check(pic.content.length > 1000, `${file}: ${pic.contentType}, ${pic.width}x${pic.height}`);
}
done(`written next to the output: ${out}`);

// ------------------------------------------------------------------------------------------------------------------
// 6. The pipeline: prepare -> monitor -> retrain, through the sequencer server

step('6. the seed pipeline through the sequencer server (local executor): prepare -> monitor -> retrain');
const platform = await startServerProcess(
  { main: join(repoRoot, 'apps/sequencer/src/main.ts'), title: 'the platform server', logName: 'genome-platform', listening: 'platform listening' },
  ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--store-dir', storeDir, '--executor', 'local', '--sequencer-state', `sqlite://${join(out, 'sequencer.sqlite')}`, '--step-cwd', repoRoot, '--step-log-dir', join(logs, 'steps'), '--log-level', 'info'],
  {},
  join(logs, 'platform.log'),
);
servers.push(platform);
const pipeline = JSON.parse(readFileSync(join(import.meta.dirname, 'pipeline.json'), 'utf8')) as { steps: { stepName: string; parameters?: Record<string, unknown> }[] };
const runId = `walkthrough-${Date.now()}`;
const work = join(out, 'runs', runId);
for (const s of pipeline.steps) {
  s.parameters = { ...(s.parameters ?? {}), workDir: work };
  if (s.stepName === 'prepare') s.parameters.source = join(seedDir, 'data.csv');
  if (s.stepName === 'prepare' && flags.short) s.parameters.rows = 500;
  if (s.stepName === 'retrain' && flags.short) s.parameters.n_estimators = 40;
}

// Calls the sidecar without pause while the pipeline runs: none may fail, and each names one version.
let calling = true;
const seen = new Map<string, number>();
let callFailures = 0;
const caller = (async () => {
  while (calling) {
    try {
      const r = await call<pb.ExplainResponse>((cb) => client.explain(explainRequest(sampleRows.slice(0, 2)), new Metadata(), { deadline: Date.now() + 10_000 }, cb));
      seen.set(r.modelVersion, (seen.get(r.modelVersion) ?? 0) + 1);
      await new Promise((res) => setTimeout(res, 20));
    } catch (err) {
      callFailures++;
      console.log(`   call failed: ${(err as Error).message}`);
    }
  }
})();

const base = `http://127.0.0.1:${platform.httpPort}/v1.0/genome/compute/sequence`;
const started = await fetch(`${base}/run?runId=${runId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pipeline) });
check(started.status === 201, `run ${runId} started (${started.status})`);
let record: { status: string; reason?: string; steps: { stepName: string; status: string }[] } = { status: 'pending', steps: [] };
const deadline = Date.now() + (flags.short ? 240_000 : 600_000);
while (Date.now() < deadline) {
  record = (await (await fetch(`${base}/runs/${runId}`)).json()) as typeof record;
  if (['succeeded', 'failed', 'cancelled'].includes(record.status)) break;
  await new Promise((r) => setTimeout(r, 500));
}
check(record.status === 'succeeded', `run ${record.status}${record.reason ? `: ${record.reason}` : ''} (${record.steps.map((s) => `${s.stepName} ${s.status}`).join(', ')})`);
for (const s of ['prepare', 'monitor', 'retrain']) {
  const log = await (await fetch(`${base}/runs/${runId}/steps/${s}/logs`)).text();
  console.log(`   --- ${s} log (last lines)\n${log.trim().split('\n').slice(-14).map((l) => `   | ${l}`).join('\n')}`);
}
const monitor = existsSync(join(work, 'monitor.json')) ? (JSON.parse(readFileSync(join(work, 'monitor.json'), 'utf8')) as { retrain: boolean; reasons: string[] }) : undefined;
const retrained = existsSync(join(work, 'retrain.json')) ? (JSON.parse(readFileSync(join(work, 'retrain.json'), 'utf8')) as { retrained: boolean; version?: number; metrics?: Record<string, number>; why?: unknown }) : undefined;
check(monitor !== undefined && retrained !== undefined, 'monitor.json and retrain.json written');
if (monitor?.retrain) {
  check(retrained?.retrained === true, `the monitor asked for retraining (${monitor.reasons.slice(0, 3).join('; ')}); retrained: version ${retrained?.version}, ${JSON.stringify(retrained?.metrics)}`);
  // The sidecar follows the alias: wait for the new version to be served.
  const until = Date.now() + 60_000;
  let served = '';
  while (Date.now() < until) {
    const d = await call<pb.DescribeModelResponse>((cb) => client.describeModel({ model: { name: MODEL, version: '' } }, new Metadata(), cb));
    served = String(d.model?.store?.version ?? '');
    if (served === String(retrained?.version)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  check(served === String(retrained?.version), `the sidecar serves version ${served} of ${MODEL}@production`);
  // A few more calls on the new version.
  const waitNew = Date.now() + 10_000;
  while (Date.now() < waitNew && ![...seen.keys()].some((v) => v !== described.model?.version)) await new Promise((r) => setTimeout(r, 100));
} else {
  check(retrained?.retrained === false, `no retraining: ${JSON.stringify(retrained?.why)}`);
}
calling = false;
await caller;
check(callFailures === 0, `${[...seen.values()].reduce((a, b) => a + b, 0)} explain calls during the pipeline, none failed; versions answered: ${[...seen.entries()].map(([v, n]) => `${v} x${n}`).join(', ')}`);
const after = await openModelStore({ dir: storeDir });
const lineage = await after.runLineage(runId);
console.log(`   lineage of ${runId}: produced ${lineage.produced.map((v) => `${v.name}/${v.version}`).join(', ') || 'nothing'}`);
await after.close();
done('pipeline');

client.close();
await stopAll();
console.log(`\n${failures.length === 0 ? 'walkthrough ok' : `walkthrough FAILED: ${failures.length} check(s)`} in ${((performance.now() - t0) / 1000).toFixed(1)} s; output in ${out}`);
if (!flags.keep && failures.length === 0) rmSync(join(out, 'store', 'cache'), { recursive: true, force: true });
process.exit(failures.length === 0 ? 0 : 1);
