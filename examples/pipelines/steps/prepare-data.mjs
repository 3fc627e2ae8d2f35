#!/usr/bin/env node
// Step "prepare-data": reads a numeric CSV (default: the California housing rows shipped with the example package),
// splits it into a training and a test set with a seeded shuffle, and writes train.csv, test.csv and data.json into
// the run's work directory.
// Parameters: source (CSV path, relative to the working directory), target (the column to predict, default MedInc),
// testFraction (0 < f < 1, default 0.25), seed (integer, default 42), workDir (see lib.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StepInputError, param, parseCsv, rng, runStep, toCsv, workDir, writeJson } from './lib.mjs';

await runStep(async (ctx) => {
  const source = param(ctx, 'source', 'string', 'examples/packages/california-housing-rf/background.csv');
  const target = param(ctx, 'target', 'string', 'MedInc');
  const testFraction = param(ctx, 'testFraction', 'number', 0.25);
  const seed = param(ctx, 'seed', 'integer', 42);
  if (!(testFraction > 0 && testFraction < 1)) throw new StepInputError(`parameter testFraction: expected a number between 0 and 1 (exclusive), got ${testFraction}`);
  let text;
  try {
    text = readFileSync(source, 'utf8');
  } catch (e) {
    throw new StepInputError(`cannot read the source CSV ${JSON.stringify(source)} (${e.code ?? e.message}); paths are relative to the step's working directory (${process.cwd()})`);
  }
  const { header, rows } = parseCsv(text, source);
  if (!header.includes(target)) throw new StepInputError(`parameter target: ${JSON.stringify(target)} is not a column of ${source} (columns: ${header.join(', ')})`);
  if (rows.length < 8) throw new StepInputError(`${source} has ${rows.length} rows; at least 8 are needed for a split`);
  const random = rng(seed);
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nTest = Math.max(2, Math.round(rows.length * testFraction));
  const test = order.slice(0, nTest).map((i) => rows[i]);
  const train = order.slice(nTest).map((i) => rows[i]);
  const dir = workDir(ctx);
  const features = header.filter((h) => h !== target);
  writeJson(join(dir, 'data.json'), { source, target, features, header, trainRows: train.length, testRows: test.length, seed, preparedBy: { runId: ctx.runId, step: ctx.stepName } });
  writeFileSync(join(dir, 'train.csv'), toCsv(header, train));
  writeFileSync(join(dir, 'test.csv'), toCsv(header, test));
  console.log(`prepared ${train.length} training and ${test.length} test rows of ${source} (target ${target}) in ${dir}`);
});
