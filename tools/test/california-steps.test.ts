// The seed's "learning machine" example (examples/california-housing): the drift statistics of steps/drift.mjs
// against values computed here from their definitions, and the three steps (prepare, monitor, retrain) run as real
// processes with a real step environment against a real model store holding the seed's random forest as
// california-housing/1 (alias production).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import fc from 'fast-check';
import { openModelStore } from '@genome/model-store';
import { loadTreeModel, predict } from '@genome/model-format';
import { parsePipeline } from '@genome/sequencer';
import { fixture, repoRoot } from '../fixtures.js';

// drift.mjs is plain ESM without declarations: imported by URL, typed here.
const { psi, psiDetail, quantileEdges, ksTest, kolmogorovSurvival } = (await import(pathToFileURL(join(repoRoot, 'examples/california-housing/steps/drift.mjs')).href)) as {
  psi: (a: number[], b: number[], o?: { bins?: number; epsilon?: number }) => number;
  psiDetail: (a: number[], b: number[], o?: { bins?: number; epsilon?: number }) => { psi: number; edges: number[]; reference: number[]; current: number[] };
  quantileEdges: (a: number[], bins?: number) => number[];
  ksTest: (a: number[], b: number[]) => { d: number; p: number; n: number; m: number };
  kolmogorovSurvival: (lambda: number) => number;
};

const STEPS = join(repoRoot, 'examples/california-housing/steps');
const PIPELINE = JSON.parse(readFileSync(join(repoRoot, 'examples/california-housing/pipeline.json'), 'utf8')) as {
  pipelineName: string;
  canonicalName: string;
  application: string;
  steps: { stepName: string; stepType: string; parameters: Record<string, unknown>; command: string[] }[];
};
const PYTHON = '/usr/bin/python3';
const DATA = fixture('oracles/trees/california-housing-rf-seed/data.csv');
const ONNX = fixture('oracles/trees/california-housing-rf-seed/model.onnx');
const FEATURES = ['MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];

// ---------------------------------------------------------------------------------------------------------------
// Independent definitions

/** D = max over every observed t of |#{a <= t}/n - #{b <= t}/m|, by brute force. */
function bruteD(a: number[], b: number[]): number {
  let d = 0;
  for (const x of [...a, ...b]) {
    const fa = a.filter((v) => v <= x).length / a.length;
    const fb = b.filter((v) => v <= x).length / b.length;
    d = Math.max(d, Math.abs(fa - fb));
  }
  return d;
}

/** Kolmogorov's series Q(l) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 l^2), summed plainly (fine for l >= 0.25). */
function kolmogorovSeries(l: number): number {
  let s = 0;
  for (let j = 1; j <= 2000; j++) s += (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * l * l);
  return 2 * s;
}

t.test('drift.mjs: PSI', (t) => {
  const x = Array.from({ length: 500 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  t.equal(psi(x, x), 0, 'identical samples: PSI 0');
  t.equal(psi(x, [...x].reverse()), 0, 'the same values in another order: PSI 0');

  // reference 1..10 in 2 bins: the cut is the median 5, bins (-inf, 5], (5, inf) hold 0.5 / 0.5;
  // current has 8 of 10 values <= 5: PSI = (0.8-0.5) ln(0.8/0.5) + (0.2-0.5) ln(0.2/0.5) = 0.3 ln 4 = 0.415888...
  const ref = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const d2 = psiDetail(ref, [1, 2, 2, 3, 4, 5, 5, 5, 8, 9], { bins: 2 });
  t.same(d2.edges, [5], 'the median cuts 2 bins');
  t.same(d2.reference, [0.5, 0.5]);
  t.same(d2.current, [0.8, 0.2]);
  t.ok(Math.abs(d2.psi - 0.3 * Math.log(4)) < 1e-12, `PSI ${d2.psi} = 0.3 ln 4 = 0.415888`);

  // 10 bins of 1..10: cuts 1..9, one value per bin. Current: five 1s and 6..10: bin 1 holds 0.5, bins 2-5 nothing
  // (counted as epsilon = 1e-4), bins 6-10 0.1 each. PSI = 0.4 ln 5 + 4 (1e-4 - 0.1) ln(1e-4 / 0.1) = 3.404114...
  const d10 = psiDetail(ref, [1, 1, 1, 1, 1, 6, 7, 8, 9, 10]);
  t.same(d10.edges, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const want = 0.4 * Math.log(5) + 4 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
  t.ok(Math.abs(d10.psi - want) < 1e-12, `PSI with empty bins ${d10.psi} = ${want}`);
  t.ok(Math.abs(want - 3.404114) < 1e-6, 'which is 3.404114 by hand');
  const e01 = psi(ref, [1, 1, 1, 1, 1, 6, 7, 8, 9, 10], { epsilon: 0.01 });
  t.ok(Math.abs(e01 - (0.4 * Math.log(5) + 4 * (0.01 - 0.1) * Math.log(0.01 / 0.1))) < 1e-12, 'epsilon is a parameter');

  // tied values merge bins; a cut at the maximum is dropped (its bin would always be empty in the reference)
  t.same(quantileEdges([1, 1, 1, 1, 2, 2, 2, 3, 3, 3]), [1, 2], 'ties: cuts 1 and 2 only');
  t.same(psiDetail([1, 1, 1, 1, 2, 2, 2, 3, 3, 3], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]).current, [0, 0, 1]);
  t.same(quantileEdges([4, 4, 4]), [], 'a constant reference: one bin');
  t.equal(psi([4, 4, 4], [1, 9, 100]), 0, 'one bin: PSI 0 whatever the current sample');
  t.throws(() => psi([], [1]), /no finite value/, 'an empty reference is refused');

  fc.assert(
    fc.property(fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 1, maxLength: 60 }), (a, b) => {
      const v = psi(a, b);
      return Number.isFinite(v) && v >= 0 && psi(a, a) === 0;
    }),
    { seed: 11, numRuns: 300 },
  );
  t.pass('property: PSI is finite, >= 0, and 0 against itself');
  t.end();
});

t.test('drift.mjs: two-sample Kolmogorov-Smirnov', (t) => {
  // Q(lambda) against the plain series, on both sides of the switch to the theta form at 1.18
  for (const l of [0.25, 0.3, 0.5, 0.8, 1, 1.17, 1.18, 1.19, 1.5, 2, 3]) {
    t.ok(Math.abs(kolmogorovSurvival(l) - kolmogorovSeries(l)) < 1e-12, `Q(${l}) = ${kolmogorovSeries(l)}`);
  }
  // textbook critical values: P(K > 1.3581) = 0.05, P(K > 1.6276) = 0.01
  t.ok(Math.abs(kolmogorovSurvival(1.358099) - 0.05) < 1e-5, 'Q(1.3581) = 0.05');
  t.ok(Math.abs(kolmogorovSurvival(1.627624) - 0.01) < 1e-5, 'Q(1.6276) = 0.01');
  t.equal(kolmogorovSurvival(0), 1);
  t.ok(Math.abs(kolmogorovSurvival(0.05) - 1) < 1e-15, 'Q of a tiny lambda is 1');

  // 0..99 against 30..129: the CDFs are 0.3 apart from 29 to 99
  const a = Array.from({ length: 100 }, (_, i) => i);
  const b = Array.from({ length: 100 }, (_, i) => i + 30);
  const r = ksTest(a, b);
  t.ok(Math.abs(r.d - 0.3) < 1e-15, `D = ${r.d} = 0.3`);
  t.equal(r.d, bruteD(a, b), 'D as the brute force');
  const wantP = kolmogorovSeries(Math.sqrt((100 * 100) / 200) * 0.3);
  t.ok(Math.abs(r.p - wantP) < 1e-12, `p = Q(sqrt(50) * 0.3) = ${wantP}`);
  // unequal sizes and ties
  const c = [1, 1, 2, 2, 2, 3, 5, 5, 8];
  const e = [2, 2, 3, 3, 3, 3, 4, 9, 9, 9, 9, 10];
  const r2 = ksTest(c, e);
  t.equal(r2.d, bruteD(c, e), `tied samples of 9 and 12: D ${r2.d} as the brute force`);
  t.ok(Math.abs(r2.p - kolmogorovSeries(Math.sqrt((9 * 12) / 21) * r2.d)) < 1e-12, 'and p from the series');
  const same = ksTest(a, [...a].reverse());
  t.equal(same.d, 0);
  t.equal(same.p, 1);

  const sample = fc.array(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })), { minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(sample, sample, (x, y) => {
      const xy = ksTest(x, y);
      const yx = ksTest(y, x);
      const xx = ksTest(x, [...x].reverse());
      return xy.d >= 0 && xy.d <= 1 && xy.d === yx.d && xy.p === yx.p && xy.p >= 0 && xy.p <= 1 && xx.d === 0 && xx.p === 1 && Math.abs(xy.d - bruteD(x, y)) < 1e-15;
    }),
    { seed: 5, numRuns: 500 },
  );
  t.pass('property: D in [0, 1], symmetric, 0 against itself, equal to the brute force; p in [0, 1]');
  t.end();
});

t.test('pipeline.json is the seed\'s pipeline JSON with the three steps', (t) => {
  const p = parsePipeline(PIPELINE);
  t.equal(p.pipelineName, 'california-housing-retrain');
  t.equal(p.canonicalName, 'california-housing');
  t.equal(p.application, 'search');
  t.same(PIPELINE.steps.map((s) => s.stepName), ['prepare', 'monitor', 'retrain']);
  for (const s of PIPELINE.steps) t.ok(existsSync(join(repoRoot, s.command[s.command.length - 1]!)), `${s.stepName}: ${s.command.join(' ')} exists`);
  t.end();
});

// ---------------------------------------------------------------------------------------------------------------
// The steps as processes

const xgboostCheck = spawnSync(PYTHON, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
const hasXgboost = xgboostCheck.status === 0;

interface StepResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

t.test('the three steps, as processes with a step environment, against a real model store', async (t) => {
  if (!hasXgboost) {
    t.fail(`${PYTHON} cannot import xgboost (${(xgboostCheck.stderr || String(xgboostCheck.error)).trim()}): apt-get install -y python3-xgboost`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'genome-california-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const storeDir = join(tmp, 'store');
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TMPDIR: tmp, // the default work directory <tmpdir>/genome-pipelines/<run>, shared by the Node and Python steps
    PIPELINE_NAME: PIPELINE.pipelineName,
    CANONICAL_NAME: PIPELINE.canonicalName,
    APPLICATION: PIPELINE.application,
    GENOME_STORE_DIR: storeDir,
    // The steps import the Genome libraries: from source here, like the rest of the tests (dist works as well).
    NODE_OPTIONS: '--conditions=@genome/source --import=tsx',
  };
  if (process.env.HOME) base.HOME = process.env.HOME;
  const step = (runId: string, name: string, parameters: Record<string, unknown>): StepResult => {
    const spec = PIPELINE.steps.find((s) => s.stepName === name)!;
    const [cmd, ...args] = spec.command;
    const r = spawnSync(cmd!, args, {
      cwd: repoRoot,
      env: { ...base, PIPELINE_RUNID: runId, STEP_NAME: name, STEP_TYPE: spec.stepType, STEP_ATTEMPT: '1', TRANSFORM_PARAMETERS: JSON.stringify(parameters) },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
  };
  const workOf = (runId: string) => join(tmp, 'genome-pipelines', runId);
  const readJson = (runId: string, file: string) => JSON.parse(readFileSync(join(workOf(runId), file), 'utf8'));
  const params = (name: string) => PIPELINE.steps.find((s) => s.stepName === name)!.parameters;
  const prepareParams: Record<string, unknown> = { ...params('prepare'), source: DATA }; // the pipeline's, with the fixture found wherever it is

  // The walkthrough's model: the seed's random forest (ONNX) as california-housing/1, alias production.
  const pkg = join(tmp, 'rf-package');
  mkdirSync(pkg);
  copyFileSync(ONNX, join(pkg, 'model.onnx'));
  const lines = readFileSync(DATA, 'utf8').split('\n');
  const cols = lines[0]!.split(',');
  const keep = FEATURES.map((f) => cols.indexOf(f));
  writeFileSync(join(pkg, 'background.csv'), `${FEATURES.join(',')}\n${lines.slice(1, 101).map((l) => keep.map((k) => l.split(',')[k]).join(',')).join('\n')}\n`);
  writeFileSync(
    join(pkg, 'genome.json'),
    JSON.stringify({
      schemaVersion: 'genome.package/v1',
      name: 'california-housing',
      version: '1.0.0',
      framework: 'onnx',
      task: 'regression',
      artifacts: { model: 'model.onnx', background: 'background.csv' },
      input: { modality: 'tabular', tensorName: 'input', features: FEATURES.map((name) => ({ name, type: 'float' })) },
      output: { space: 'regression', names: ['price'] },
      explainer: { default: 'tree_shap.path_dependent' },
    }),
  );
  {
    const store = await openModelStore({ dir: storeDir });
    const v1 = await store.saveModel(pkg, { canonicalName: 'california-housing', application: 'search', versionName: '1.0.0', pipelineName: 'walkthrough', aliases: ['production'] });
    t.equal(v1.version, 1, 'the seed\'s model is california-housing/1');
    await store.close();
  }

  await t.test('prepare refuses a missing source with a clear message (exit 2)', async (t) => {
    const r = step('run-nosource', 'prepare', { rows: 100 });
    t.equal(r.status, 2, r.stderr);
    t.match(r.stderr, /step prepare: parameter source is missing/);
  });

  await t.test('retrain without monitor.json: exit 2 naming the monitor step', async (t) => {
    const r = step('run-nomonitor', 'retrain', {});
    t.equal(r.status, 2, r.stderr);
    t.match(r.stderr, /monitor\.json is missing: the monitor step writes it/);
    const bad = step('run-nomonitor', 'retrain', { learning_rate: 'fast' });
    t.equal(bad.status, 2, bad.stderr);
    t.match(bad.stderr, /step retrain: parameter learning_rate: expected a number, got "fast"/);
  });

  const calm = 'run-calm-1';
  await t.test('no drift: current = reference, so monitor does not call for a retrain and retrain registers nothing', async (t) => {
    const p = step(calm, 'prepare', prepareParams);
    t.equal(p.status, 0, p.stderr);
    copyFileSync(join(workOf(calm), 'reference.csv'), join(workOf(calm), 'current.csv'));
    const m = step(calm, 'monitor', params('monitor'));
    t.equal(m.status, 0, m.stderr);
    const report = readJson(calm, 'monitor.json');
    t.equal(report.retrain, false, 'retrain: false');
    t.same(report.reasons, []);
    for (const f of FEATURES) {
      t.same([report.inputs[f].psi, report.inputs[f].ks, report.inputs[f].p], [0, 0, 1], `input ${f}: PSI 0, D 0, p 1`);
      t.same([report.attributions[f].psi, report.attributions[f].ks, report.attributions[f].p], [0, 0, 1], `attribution of ${f}: PSI 0, D 0, p 1`);
    }
    t.equal(report.metrics.current.rmse, report.metrics.reference.rmse);
    t.match(m.stdout, /retrain: no/);
    const r = step(calm, 'retrain', params('retrain'));
    t.equal(r.status, 0, r.stderr);
    t.same(readJson(calm, 'retrain.json').retrained, false);
    t.equal(readJson(calm, 'retrain.json').why, 'no drift over the thresholds');
    t.notOk(existsSync(join(workOf(calm), 'package')), 'no package built');
    const store = await openModelStore({ dir: storeDir });
    t.equal((await store.getModel('california-housing')).latestVersion, 1, 'nothing registered');
    await store.close();
  });

  const drifted = 'run-drift-1';
  let monitorReport: { retrain: boolean; reasons: string[]; inputs: Record<string, { psi: number; ks: number; p: number; drift: boolean }>; attributions: Record<string, { psi: number; drift: boolean }>; metrics: Record<string, { rmse: number }> } | undefined;
  await t.test('prepare writes the reference and the drifted current slice', async (t) => {
    const r = step(drifted, 'prepare', prepareParams);
    t.equal(r.status, 0, r.stderr);
    const rows = prepareParams.rows as number;
    const parse = (f: string) => readFileSync(join(workOf(drifted), f), 'utf8').trim().split('\n');
    const ref = parse('reference.csv');
    const cur = parse('current.csv');
    t.equal(ref[0], 'MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,target');
    t.equal(cur[0], ref[0]);
    t.equal(ref.length, rows + 1);
    t.equal(cur.length, rows + 1);
    const south = cur.slice(1).filter((l) => Number(l.split(',')[6]) < 34.5).length / rows;
    t.ok(Math.abs(south - 0.85) < 0.001, `85% of the current rows are south of 34.5° (${south})`);
  });

  await t.test('monitor detects the injected drift', async (t) => {
    const r = step(drifted, 'monitor', params('monitor'));
    t.equal(r.status, 0, r.stderr);
    t.comment(r.stdout.trimEnd());
    const report = readJson(drifted, 'monitor.json');
    monitorReport = report;
    t.equal(report.retrain, true, 'retrain: true');
    t.has(report.model, { name: 'california-housing', version: 1, framework: 'onnx', covers: 'reference.csv' }, 'it monitored california-housing/1, the ONNX forest (covers from the reference rows)');
    for (const f of ['MedInc', 'Latitude', 'Longitude']) {
      t.ok(report.inputs[f].drift, `input ${f} drifted (PSI ${report.inputs[f].psi}, D ${report.inputs[f].ks}, p ${report.inputs[f].p})`);
      t.ok(report.reasons.some((s: string) => s.startsWith(`input ${f} drifted`)), `a reason names input ${f}`);
    }
    // incomes x1.15: a moderate PSI (0.1-0.2) that the KS test, on 2000 rows, finds highly significant
    t.ok(report.inputs.MedInc.psi >= 0.1 && report.inputs.MedInc.p < 1e-10, `MedInc x1.15: PSI ${report.inputs.MedInc.psi} >= 0.1, KS p ${report.inputs.MedInc.p} < 1e-10`);
    t.ok(report.inputs.Latitude.psi >= 0.2 && report.inputs.Longitude.psi >= 0.2, 'the move south is over the PSI threshold');
    t.notOk(report.inputs.HouseAge.drift, 'HouseAge, which the shift leaves alone, does not drift');
    t.ok(Object.values(report.attributions as Record<string, { drift: boolean }>).some((a) => a.drift), 'some attributions drifted');
    t.ok(report.reasons.some((s: string) => s.startsWith('attribution of ')), 'a reason names an attribution');
    t.ok(report.metrics.current.rmse > report.metrics.reference.rmse, 'the model is worse on the current slice');
    // the reported input statistics are drift.mjs's on the CSV columns
    const csv = (f: string) => readFileSync(join(workOf(drifted), f), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    const ref = csv('reference.csv');
    const cur = csv('current.csv');
    const c = FEATURES.indexOf('MedInc');
    t.equal(report.inputs.MedInc.psi, psi(ref.map((x) => x[c]!), cur.map((x) => x[c]!)), 'MedInc PSI as drift.mjs computes it');
    t.equal(report.inputs.MedInc.ks, ksTest(ref.map((x) => x[c]!), cur.map((x) => x[c]!)).d, 'MedInc KS D as drift.mjs computes it');
    t.match(r.stdout, /feature\s+input PSI/);
    t.match(r.stdout, /retrain: yes/);
    const store = await openModelStore({ dir: storeDir });
    t.same((await store.versionLineage('california-housing/1')).consumedBy.filter((x) => x.runId === drifted), [{ runId: drifted, stage: 'monitor' }], 'the run consumed california-housing/1 at stage monitor');
    await store.close();
  });

  await t.test('retrain trains XGBoost and registers california-housing/2 as production', { skip: hasXgboost ? false : 'python3-xgboost missing (failed above)' }, async (t) => {
    t.ok(monitorReport?.retrain, 'the monitor asked for it');
    const r = step(drifted, 'retrain', params('retrain'));
    t.equal(r.status, 0, r.stderr);
    t.comment(r.stdout.trimEnd());
    const result = readJson(drifted, 'retrain.json');
    t.equal(result.retrained, true);
    t.equal(result.version, 2);
    for (const k of ['rmse', 'mae', 'r2']) t.type(result.metrics[k], 'number', `holdout ${k} ${result.metrics[k]}`);
    t.ok(result.metrics.r2 > 0.6, 'a useful model (holdout R² > 0.6)');

    const store = await openModelStore({ dir: storeDir });
    t.teardown(() => store.close());
    const v = await store.getVersion('california-housing@production');
    t.equal(v.version, 2, 'production is california-housing/2');
    t.same(v.metrics, result.metrics, 'with the holdout metrics');
    t.has(v.metadata, {
      application: 'search',
      pipelineName: 'california-housing-retrain',
      pipelineRunId: drifted,
      pipelineStage: 'retrain',
      framework: 'xgboost',
      inputModality: 'tabular',
      versionName: '1.3.0',
    }, 'and the lineage metadata');
    t.equal(v.tags.retrainedFrom, 'california-housing/1');
    const lineage = await store.runLineage(drifted);
    t.same(lineage.produced, [{ name: 'california-housing', version: 2, stage: 'retrain' }], 'the run produced version 2 at stage retrain');
    t.same(lineage.consumed, [{ name: 'california-housing', version: 1, stage: 'monitor' }], 'after consuming version 1 at stage monitor');

    const opened = await store.openPackage('california-housing@production');
    try {
      const m = opened.package.manifest;
      t.same([m.name, m.version, m.framework, m.task, m.output.names, m.explainer?.default], ['california-housing', '1.3.0', 'xgboost', 'regression', ['price'], 'tree_shap.path_dependent']);
      t.same(m.input.features?.map((f) => [f.name, f.type]), FEATURES.map((f) => [f, 'float']));
      const bg = await opened.package.background();
      t.equal(bg?.nRows, 100, '100 background rows');
      const model = loadTreeModel(readFileSync(join(opened.dir, 'model.json')));
      const holdout = readJson(drifted, 'holdout_predictions.json') as { rows: number[][]; predictions: number[] };
      t.equal(holdout.rows.length, 20);
      const ours = predict(model, Float64Array.from(holdout.rows.flat()), holdout.rows.length);
      const worst = Math.max(...holdout.predictions.map((p, i) => Math.abs(p - ours[i]!)));
      t.ok(worst < 1e-5, `model-format's predictions of the 20 holdout rows match XGBoost's (max |diff| ${worst})`);
    } finally {
      await opened.package.close();
    }
  });

  await t.test('monitor reads the retrained XGBoost model in production (covers from the model)', { skip: hasXgboost ? false : 'python3-xgboost missing (failed above)' }, async (t) => {
    const r = step('run-calm-2', 'monitor', { ...params('monitor'), workDir: workOf(calm) }); // current = reference
    t.equal(r.status, 0, r.stderr);
    const report = readJson(calm, 'monitor.json');
    t.has(report.model, { name: 'california-housing', version: 2, framework: 'xgboost', covers: 'model' });
    t.equal(report.retrain, false, 'no drift between identical slices');
    t.ok(report.metrics.reference.r2 > 0.7, `R² ${report.metrics.reference.r2} on data like its training data`);
  });
});
