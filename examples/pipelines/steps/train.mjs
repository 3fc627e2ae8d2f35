#!/usr/bin/env node
// Step "train": fits a model on the run's train.csv (written by prepare-data) and writes model-<STEP_NAME>.json into
// the run's work directory, with the training error. Two algorithms, so that a parallel group can train two
// candidates at once: "ridge" (linear regression with an L2 penalty, closed form on standardized features) and "knn"
// (k nearest neighbours on standardized features).
// Parameters: algorithm ("ridge" | "knn", default ridge), lambda (ridge, >= 0, default 1), k (knn, integer >= 1,
// default 5), workDir (see lib.mjs).
import { join } from 'node:path';
import { StepInputError, param, parseCsv, readEarlier, runStep, scores, solve, workDir, writeJson } from './lib.mjs';
import { predict } from './model.mjs';

await runStep(async (ctx) => {
  const algorithm = param(ctx, 'algorithm', 'string', 'ridge');
  if (algorithm !== 'ridge' && algorithm !== 'knn') throw new StepInputError(`parameter algorithm: expected "ridge" or "knn", got ${JSON.stringify(algorithm)}`);
  const lambda = param(ctx, 'lambda', 'number', 1);
  const k = param(ctx, 'k', 'integer', 5);
  if (lambda < 0) throw new StepInputError(`parameter lambda: expected a number >= 0, got ${lambda}`);
  if (k < 1) throw new StepInputError(`parameter k: expected an integer >= 1, got ${k}`);
  const dir = workDir(ctx);
  const data = JSON.parse(readEarlier(dir, 'data.json', 'prepare-data'));
  const { header, rows } = parseCsv(readEarlier(dir, 'train.csv', 'prepare-data'), 'train.csv');
  const ti = header.indexOf(data.target);
  const fi = data.features.map((f) => header.indexOf(f));
  const X = rows.map((r) => fi.map((i) => r[i]));
  const y = rows.map((r) => r[ti]);
  // Standardize the features: both algorithms are scale-sensitive.
  const mean = fi.map((_, j) => X.reduce((s, x) => s + x[j], 0) / X.length);
  const std = fi.map((_, j) => Math.sqrt(X.reduce((s, x) => s + (x[j] - mean[j]) ** 2, 0) / X.length) || 1);
  const Z = X.map((x) => x.map((v, j) => (v - mean[j]) / std[j]));
  const model = { algorithm, target: data.target, features: data.features, mean, std, trainedBy: { runId: ctx.runId, step: ctx.stepName, attempt: ctx.attempt } };
  if (algorithm === 'ridge') {
    // [1, z] w = y; the intercept is not penalized.
    const d = fi.length + 1;
    const A = Array.from({ length: d }, () => new Array(d).fill(0));
    const b = new Array(d).fill(0);
    for (let r = 0; r < Z.length; r++) {
      const row = [1, ...Z[r]];
      for (let i = 0; i < d; i++) {
        b[i] += row[i] * y[r];
        for (let j = 0; j < d; j++) A[i][j] += row[i] * row[j];
      }
    }
    for (let i = 1; i < d; i++) A[i][i] += lambda;
    Object.assign(model, { lambda, weights: solve(A, b) });
  } else {
    if (k > Z.length) throw new StepInputError(`parameter k: ${k} is more than the ${Z.length} training rows`);
    Object.assign(model, { k, points: Z, targets: y });
  }
  const train = scores(X.map((x) => predict(model, x)), y);
  model.train = train;
  const out = join(dir, `model-${ctx.stepName}.json`);
  writeJson(out, model);
  console.log(`${algorithm}: trained on ${X.length} rows to predict ${data.target}; training rmse ${train.rmse.toFixed(4)}, r2 ${train.r2.toFixed(4)}; wrote ${out}`);
});
