#!/usr/bin/env node
// Step "prepare": writes the two slices the monitor compares into the run's work directory.
//   reference.csv  a sample of the data the production model was trained on: every k-th row of `source`
//                  (k = floor(N / rows)), the first `rows` of them.
//   current.csv    the "new" data: `rows` rows drawn (seeded, without replacement) from the rows NOT in the reference,
//                  then shifted as `shift` says, to mimic what production sees later.
//   prepare.json   what was written: sizes, the shift, the source.
// Parameters (TRANSFORM_PARAMETERS):
//   source   (required) the CSV (header with the 8 features and the target), relative to the working directory
//   rows     rows per slice (default 2000)
//   seed     integer seed of the current slice's draw (default 7)
//   target   the target column (default "target")
//   shift    optional; null or absent = an unshifted draw. Fields (both optional):
//            region: { feature, below, share }: a `share` (0..1) of the current rows comes from rows whose `feature`
//                    is < `below`, the rest from the others (e.g. Latitude < 34.5: Los Angeles, Orange County, San
//                    Diego; 53% of the data, so share 0.85 moves the population south);
//            scale:  { column: factor }: multiplies columns of the current slice (e.g. MedInc 1.15 and target 1.10:
//                    incomes up 15% and house values up 10% since the training data, as inflation would).
//   workDir  see examples/pipelines/steps/lib.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StepInputError, param, parseCsv, rng, runStep, toCsv, workDir, writeJson } from '../../pipelines/steps/lib.mjs';

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Validates the `shift` parameter; returns { region?, scale? } or null. */
function readShift(ctx, header) {
  const shift = ctx.params.shift;
  if (shift === undefined || shift === null) return null;
  if (!isObject(shift)) throw new StepInputError(`parameter shift: expected an object ({"region": {...}, "scale": {...}}) or null, got ${JSON.stringify(shift)}`);
  for (const k of Object.keys(shift)) {
    if (k !== 'region' && k !== 'scale') throw new StepInputError(`parameter shift: unknown field ${JSON.stringify(k)} (known: region, scale)`);
  }
  const out = {};
  if (shift.region !== undefined && shift.region !== null) {
    const r = shift.region;
    if (!isObject(r)) throw new StepInputError(`parameter shift.region: expected {"feature", "below", "share"}, got ${JSON.stringify(r)}`);
    if (typeof r.feature !== 'string' || !header.includes(r.feature)) throw new StepInputError(`parameter shift.region.feature: ${JSON.stringify(r.feature)} is not a column (columns: ${header.join(', ')})`);
    if (typeof r.below !== 'number' || !Number.isFinite(r.below)) throw new StepInputError(`parameter shift.region.below: expected a number, got ${JSON.stringify(r.below)}`);
    if (typeof r.share !== 'number' || !(r.share >= 0 && r.share <= 1)) throw new StepInputError(`parameter shift.region.share: expected a number between 0 and 1, got ${JSON.stringify(r.share)}`);
    out.region = { feature: r.feature, below: r.below, share: r.share };
  }
  if (shift.scale !== undefined && shift.scale !== null) {
    if (!isObject(shift.scale)) throw new StepInputError(`parameter shift.scale: expected {"column": factor, ...}, got ${JSON.stringify(shift.scale)}`);
    for (const [col, f] of Object.entries(shift.scale)) {
      if (!header.includes(col)) throw new StepInputError(`parameter shift.scale: ${JSON.stringify(col)} is not a column (columns: ${header.join(', ')})`);
      if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0) throw new StepInputError(`parameter shift.scale.${col}: expected a positive number, got ${JSON.stringify(f)}`);
    }
    out.scale = { ...shift.scale };
  }
  return out;
}

/** `count` distinct elements of `pool` (seeded partial Fisher–Yates); the pool is shuffled in place. */
function draw(pool, count, random) {
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

await runStep(async (ctx) => {
  const source = param(ctx, 'source', 'string', undefined);
  if (source === undefined) {
    throw new StepInputError('parameter source is missing: the CSV of the housing data, relative to the working directory (e.g. "../shared/fixtures/oracles/trees/california-housing-rf-seed/data.csv" from the repository root)');
  }
  const rows = param(ctx, 'rows', 'integer', 2000);
  const seed = param(ctx, 'seed', 'integer', 7);
  const target = param(ctx, 'target', 'string', 'target');
  if (rows < 10) throw new StepInputError(`parameter rows: expected an integer >= 10, got ${rows}`);
  let text;
  try {
    text = readFileSync(source, 'utf8');
  } catch (e) {
    throw new StepInputError(`cannot read the source CSV ${JSON.stringify(source)} (${e.code ?? e.message}); paths are relative to the step's working directory (${process.cwd()})`);
  }
  const { header, rows: data } = parseCsv(text, source);
  if (!header.includes(target)) throw new StepInputError(`parameter target: ${JSON.stringify(target)} is not a column of ${source} (columns: ${header.join(', ')})`);
  const shift = readShift(ctx, header);
  if (data.length < 2 * rows) throw new StepInputError(`${source} has ${data.length} rows; two slices of ${rows} need at least ${2 * rows}`);

  // Reference: a systematic sample of the training data (every k-th row).
  const k = Math.floor(data.length / rows);
  const refIdx = [];
  for (let i = 0; i < rows; i++) refIdx.push(i * k);
  const inRef = new Set(refIdx);
  const rest = data.map((_, i) => i).filter((i) => !inRef.has(i));

  // Current: a seeded draw from the other rows, optionally concentrated in a region.
  const random = rng(seed);
  let curIdx;
  if (shift?.region) {
    const { feature, below, share } = shift.region;
    const c = header.indexOf(feature);
    const inside = rest.filter((i) => data[i][c] < below);
    const outside = rest.filter((i) => !(data[i][c] < below));
    const nIn = Math.round(rows * share);
    if (inside.length < nIn || outside.length < rows - nIn) {
      throw new StepInputError(`parameter shift.region: ${nIn} rows with ${feature} < ${below} and ${rows - nIn} others are needed, ${source} has ${inside.length} and ${outside.length} outside the reference`);
    }
    curIdx = [...draw(inside, nIn, random), ...draw(outside, rows - nIn, random)];
    // interleave the two groups (a seeded shuffle), so that any prefix of current.csv is a mixture too
    curIdx = draw(curIdx, curIdx.length, random);
  } else {
    curIdx = draw(rest, rows, random);
  }
  const factors = header.map((h) => shift?.scale?.[h] ?? 1);
  const current = curIdx.map((i) => data[i].map((v, j) => (factors[j] === 1 ? v : v * factors[j])));
  const reference = refIdx.map((i) => data[i]);

  const dir = workDir(ctx);
  writeFileSync(join(dir, 'reference.csv'), toCsv(header, reference));
  writeFileSync(join(dir, 'current.csv'), toCsv(header, current));
  writeJson(join(dir, 'prepare.json'), {
    source,
    target,
    header,
    rows,
    seed,
    reference: { rows: reference.length, every: k },
    current: { rows: current.length, shift },
    preparedBy: { runId: ctx.runId, step: ctx.stepName },
  });
  const described = shift
    ? [
        shift.region ? `${Math.round(shift.region.share * 100)}% with ${shift.region.feature} < ${shift.region.below}` : null,
        shift.scale ? Object.entries(shift.scale).map(([c, f]) => `${c} x${f}`).join(', ') : null,
      ].filter(Boolean).join('; ')
    : 'no shift';
  console.log(`prepared ${reference.length} reference rows (every ${k}th row of ${source}) and ${current.length} current rows (${described}) in ${dir}`);
});
