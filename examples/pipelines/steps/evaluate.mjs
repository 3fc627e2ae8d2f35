#!/usr/bin/env node
// Step "evaluate" (also "select-best"): scores the models the run's training steps wrote (model-<step>.json) on the
// run's test.csv and writes evaluation.json with every candidate's test rmse and r2 and the best one (lowest rmse).
// Parameters: candidates (the training steps' names; default: every model-*.json of the work directory),
// maxRmse (optional: fail the step when the best model's test rmse is above it), workDir (see lib.mjs).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StepInputError, param, parseCsv, readEarlier, runStep, scores, workDir, writeJson } from './lib.mjs';
import { predict } from './model.mjs';

await runStep(async (ctx) => {
  const dir = workDir(ctx);
  const given = param(ctx, 'candidates', 'string[]', undefined);
  const maxRmse = param(ctx, 'maxRmse', 'number', undefined);
  const candidates = given ?? readdirSync(dir).filter((f) => /^model-.+\.json$/.test(f)).map((f) => f.slice('model-'.length, -'.json'.length)).sort();
  if (candidates.length === 0) throw new StepInputError(`no model-*.json in ${dir}: a training step writes one earlier in the same run`);
  const data = JSON.parse(readEarlier(dir, 'data.json', 'prepare-data'));
  const { header, rows } = parseCsv(readEarlier(dir, 'test.csv', 'prepare-data'), 'test.csv');
  const ti = header.indexOf(data.target);
  const fi = data.features.map((f) => header.indexOf(f));
  const results = candidates.map((step) => {
    const model = JSON.parse(readEarlier(dir, `model-${step}.json`, step));
    const s = scores(rows.map((r) => predict(model, fi.map((i) => r[i]))), rows.map((r) => r[ti]));
    console.log(`${step} (${model.algorithm}): test rmse ${s.rmse.toFixed(4)}, r2 ${s.r2.toFixed(4)}`);
    return { step, algorithm: model.algorithm, rmse: s.rmse, r2: s.r2 };
  });
  const best = results.reduce((a, b) => (b.rmse < a.rmse ? b : a));
  writeJson(join(dir, 'evaluation.json'), { target: data.target, testRows: rows.length, best, candidates: results, evaluatedBy: { runId: ctx.runId, step: ctx.stepName } });
  console.log(`best: ${best.step} (${best.algorithm}), test rmse ${best.rmse.toFixed(4)}`);
  if (maxRmse !== undefined && best.rmse > maxRmse) {
    throw new StepInputError(`the best model's test rmse ${best.rmse.toFixed(4)} is above maxRmse ${maxRmse}: not good enough to register`);
  }
});
