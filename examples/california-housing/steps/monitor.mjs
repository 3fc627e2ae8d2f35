#!/usr/bin/env node
// Step "monitor": loads the model in production from the model store (CANONICAL_NAME@production, from the store the
// GENOME_STORE_* variables name), and compares the prepare step's reference.csv (data like the model's training data)
// with current.csv (the new data):
//   - drift of every input feature, and of every feature's SHAP attribution (path-dependent TreeSHAP of the
//     production model, @genome/shap's explainTree, on both slices): PSI over 10 quantile bins of the reference and
//     the two-sample KS statistic D with its asymptotic p-value (drift.mjs);
//   - the model's RMSE, MAE and R² against the target on both slices.
// A feature drifts when PSI >= psiThreshold or KS p < ksAlpha; the model should be retrained when any input or
// attribution drifts or the RMSE on the current slice exceeds the reference's by more than maxRmseIncrease.
// Writes monitor.json { model, thresholds, rows, inputs, attributions, metrics, retrain, reasons } into the work
// directory, prints a table, and records in the store that this run (step) consumed the production version.
// Parameters (TRANSFORM_PARAMETERS):
//   alias           the alias of the model to monitor (default "production"); `model` ("name/3") overrides it
//   target          the target column (default "target")
//   psiThreshold    PSI at or above which a feature drifts (default 0.2)
//   ksAlpha         KS p-value below which a feature drifts (default 0.01)
//   bins, epsilon   PSI bins (default 10) and the share an empty bin counts as (default 1e-4)
//   maxRmseIncrease relative RMSE increase, current over reference, that calls for a retrain (default 0.1 = +10%)
//   attributions    also compare the SHAP attributions (default true)
//   recordLineage   record the consumed version in the store (default true)
//   workDir         see examples/pipelines/steps/lib.mjs
import { join } from 'node:path';
import { StepInputError, param, parseCsv, readEarlier, runStep, workDir, writeJson } from '../../pipelines/steps/lib.mjs';
import { columnDrift } from './drift.mjs';

/** RMSE, MAE and R² of predictions against targets. */
function regressionMetrics(predicted, actual) {
  const n = actual.length;
  const mean = actual.reduce((s, y) => s + y, 0) / n;
  let se = 0;
  let ae = 0;
  let st = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i] - actual[i];
    se += e * e;
    ae += Math.abs(e);
    st += (actual[i] - mean) ** 2;
  }
  return { rows: n, rmse: Math.sqrt(se / n), mae: ae / n, r2: st === 0 ? 0 : 1 - se / st };
}

function fmt(x, digits = 3) {
  if (x === 0) return '0';
  if (Math.abs(x) < 10 ** -digits) return x.toExponential(1);
  return x.toFixed(digits);
}

function table(names, inputs, attributions) {
  const head = ['feature', 'input PSI', 'KS D', 'p', '', 'SHAP PSI', 'KS D', 'p', ''];
  const body = names.map((f) => {
    const i = inputs[f];
    const a = attributions?.[f];
    return [f, fmt(i.psi), fmt(i.ks), fmt(i.p), i.drift ? 'DRIFT' : '', a ? fmt(a.psi) : '-', a ? fmt(a.ks) : '-', a ? fmt(a.p) : '-', a?.drift ? 'DRIFT' : ''];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

await runStep(async (ctx) => {
  if (!ctx.canonicalName) throw new StepInputError("CANONICAL_NAME is not set: the model monitored is the pipeline's canonicalName@production");
  const alias = param(ctx, 'alias', 'string', 'production');
  const ref = param(ctx, 'model', 'string', `${ctx.canonicalName}@${alias}`);
  const target = param(ctx, 'target', 'string', 'target');
  const psiThreshold = param(ctx, 'psiThreshold', 'number', 0.2);
  const ksAlpha = param(ctx, 'ksAlpha', 'number', 0.01);
  const bins = param(ctx, 'bins', 'integer', 10);
  const epsilon = param(ctx, 'epsilon', 'number', 1e-4);
  const maxRmseIncrease = param(ctx, 'maxRmseIncrease', 'number', 0.1);
  const withAttributions = param(ctx, 'attributions', 'boolean', true);
  const recordLineage = param(ctx, 'recordLineage', 'boolean', true);
  if (!(psiThreshold > 0)) throw new StepInputError(`parameter psiThreshold: expected a positive number, got ${psiThreshold}`);
  if (!(ksAlpha > 0 && ksAlpha < 1)) throw new StepInputError(`parameter ksAlpha: expected a number in (0, 1), got ${ksAlpha}`);
  if (bins < 2) throw new StepInputError(`parameter bins: expected an integer >= 2, got ${bins}`);
  if (!(epsilon > 0 && epsilon < 0.1)) throw new StepInputError(`parameter epsilon: expected a number in (0, 0.1), got ${epsilon}`);
  if (!(maxRmseIncrease >= 0)) throw new StepInputError(`parameter maxRmseIncrease: expected a number >= 0, got ${maxRmseIncrease}`);

  const dir = workDir(ctx);
  const reference = parseCsv(readEarlier(dir, 'reference.csv', 'prepare'), join(dir, 'reference.csv'));
  const current = parseCsv(readEarlier(dir, 'current.csv', 'prepare'), join(dir, 'current.csv'));
  for (const [what, csv] of [['reference.csv', reference], ['current.csv', current]]) {
    if (!csv.header.includes(target)) throw new StepInputError(`${what} has no target column ${JSON.stringify(target)} (columns: ${csv.header.join(', ')})`);
  }

  const [{ openModelStore }, { predict, withCovers }, { explainTree }] = await Promise.all([
    import('@genome/model-store'),
    import('@genome/model-format'),
    import('@genome/shap'),
  ]).catch((e) => {
    throw new Error(`cannot load the Genome libraries (${e.message}); run the step from the repository (npm install, npm run build) or an image that has them`);
  });
  const store = await openModelStore(); // GENOME_STORE_DIR / _METADATA / _BLOBS from the environment
  try {
    let version;
    try {
      version = await store.getVersion(ref);
    } catch (e) {
      if (e?.code === 'NOT_FOUND' || e?.code === 'INVALID_ARGUMENT') {
        throw new StepInputError(`no model ${ref} in the store named by GENOME_STORE_* (${e.message}); save one first, e.g. genome store save <package> --name ${ctx.canonicalName} --alias ${alias}`);
      }
      throw e;
    }
    const opened = await store.openPackage(`${version.name}/${version.version}`);
    let tree;
    let manifest;
    try {
      manifest = opened.package.manifest;
      const m = await opened.package.open({ engine: 'tree' });
      tree = m.tree;
      await m.predictor.close?.();
    } finally {
      await opened.package.close();
    }
    if (!tree) throw new StepInputError(`${version.name}/${version.version} is not a tree model; the monitor explains tree ensembles (TreeSHAP)`);
    const features = (manifest.input.features ?? []).map((f) => f.name);
    if (features.length !== tree.nFeatures) throw new StepInputError(`${version.name}/${version.version}: the manifest names ${features.length} features, the model has ${tree.nFeatures}`);

    const slice = (csv, what) => {
      const cols = features.map((f) => {
        const c = csv.header.indexOf(f);
        if (c < 0) throw new StepInputError(`${what} has no column ${JSON.stringify(f)}, a feature of ${version.name}/${version.version} (columns: ${csv.header.join(', ')})`);
        return c;
      });
      const n = csv.rows.length;
      const flat = new Float64Array(n * features.length);
      csv.rows.forEach((r, i) => cols.forEach((c, f) => (flat[i * features.length + f] = r[c])));
      const y = csv.rows.map((r) => r[csv.header.indexOf(target)]);
      const columns = Object.fromEntries(features.map((f, k) => [f, csv.rows.map((r) => r[cols[k]])]));
      return { n, flat, y, columns };
    };
    const ref0 = slice(reference, 'reference.csv');
    const cur0 = slice(current, 'current.csv');

    // ONNX carries no covers: the reference rows (a sample of the training data) stand in for them.
    const model = tree.hasCovers ? tree : withCovers(tree, ref0.flat, ref0.n);
    const K = model.nOutputs;
    const firstOutput = (m, n) => Array.from({ length: n }, (_, i) => m[i * K]);
    const metrics = {
      reference: regressionMetrics(firstOutput(predict(model, ref0.flat, ref0.n), ref0.n), ref0.y),
      current: regressionMetrics(firstOutput(predict(model, cur0.flat, cur0.n), cur0.n), cur0.y),
    };

    const opts = { psiThreshold, ksAlpha, bins, epsilon };
    const inputs = columnDrift(ref0.columns, cur0.columns, features, opts);
    let attributions = null;
    if (withAttributions) {
      const shapColumns = async (s) => {
        const e = await explainTree(model, s.flat, { method: 'path_dependent' });
        return Object.fromEntries(features.map((f, k) => [f, e.values.map((row) => row[k][0])]));
      };
      attributions = columnDrift(await shapColumns(ref0), await shapColumns(cur0), features, opts);
    }

    const reasons = [];
    const why = (what, d) => {
      const parts = [];
      if (d.psi >= psiThreshold) parts.push(`PSI ${fmt(d.psi)} >= ${psiThreshold}`);
      if (d.p < ksAlpha) parts.push(`KS D ${fmt(d.ks)}, p ${fmt(d.p)} < ${ksAlpha}`);
      return `${what}: ${parts.join('; ')}`;
    };
    for (const f of features) if (inputs[f].drift) reasons.push(why(`input ${f} drifted`, inputs[f]));
    for (const f of features) if (attributions?.[f].drift) reasons.push(why(`attribution of ${f} drifted`, attributions[f]));
    const increase = metrics.reference.rmse > 0 ? metrics.current.rmse / metrics.reference.rmse - 1 : 0;
    if (increase > maxRmseIncrease) {
      reasons.push(`RMSE on the current data ${fmt(metrics.current.rmse)} is ${(increase * 100).toFixed(1)}% above the reference's ${fmt(metrics.reference.rmse)} (limit +${(maxRmseIncrease * 100).toFixed(0)}%)`);
    }
    const retrain = reasons.length > 0;

    const report = {
      model: { name: version.name, version: version.version, ref, framework: version.metadata.framework, digest: version.digest, covers: tree.hasCovers ? 'model' : 'reference.csv' },
      thresholds: { psi: psiThreshold, ksAlpha, bins, epsilon, maxRmseIncrease },
      rows: { reference: ref0.n, current: cur0.n },
      inputs,
      attributions,
      metrics,
      rmseIncrease: increase,
      retrain,
      reasons,
      monitoredBy: { runId: ctx.runId, step: ctx.stepName },
    };
    writeJson(join(dir, 'monitor.json'), report);

    if (recordLineage) {
      await store.recordLineage({ runId: ctx.runId, stage: ctx.stepName, consumed: [`${version.name}/${version.version}`] });
    }

    const m = (x) => `RMSE ${fmt(x.rmse)}  MAE ${fmt(x.mae)}  R² ${fmt(x.r2)}`;
    console.log(`monitoring ${version.name}/${version.version} (${ref}, ${version.metadata.framework ?? '?'}) on ${ref0.n} reference and ${cur0.n} current rows`);
    console.log(`drift: PSI >= ${psiThreshold} or KS p < ${ksAlpha} (PSI over ${bins} reference quantile bins, empty-bin share ${epsilon}); SHAP = path-dependent TreeSHAP of the model\n`);
    console.log(table(features, inputs, attributions));
    console.log(`\nreference: ${m(metrics.reference)}`);
    console.log(`current:   ${m(metrics.current)}  (RMSE ${increase >= 0 ? '+' : ''}${(increase * 100).toFixed(1)}%)`);
    console.log(retrain ? `\nretrain: yes\n${reasons.map((r) => `  - ${r}`).join('\n')}` : '\nretrain: no (no drift over the thresholds)');
  } finally {
    await store.close();
  }
});
