// Shared helpers of the example steps: the step environment the sequencer gives every step, the parameters
// (TRANSFORM_PARAMETERS), the run's work directory, small CSV and linear-algebra helpers. Plain ESM Node, no build.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** Exit code of a step given bad input (parameters, environment, files): the run's record shows it. */
export const BAD_INPUT = 2;

export class StepInputError extends Error {}

/** Ends the step with a clear message on stderr (the step's log) and a non-zero exit code. */
export function fail(message, code = BAD_INPUT) {
  const who = process.env.STEP_NAME ? `step ${process.env.STEP_NAME}` : 'step';
  process.stderr.write(`${who}: ${message}\n`);
  process.exit(code);
}

/** Runs `main(ctx)`, turning a StepInputError into exit code 2 and anything else into exit code 1, both with a message. */
export async function runStep(main) {
  try {
    await main(stepContext());
  } catch (e) {
    if (e instanceof StepInputError) fail(e.message, BAD_INPUT);
    fail(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 1);
  }
}

function required(name) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new StepInputError(`${name} is not set; this script is a pipeline step: run it through the sequencer (genome pipeline run examples/pipelines/sequential.json) or set the step environment yourself (see examples/pipelines/README.md)`);
  }
  return v;
}

/** The step environment (see @genome/sequencer's stepEnvironment) and the parsed parameters. */
export function stepContext() {
  const runId = required('PIPELINE_RUNID');
  // The run id names a directory: refuse anything that could leave it.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId) || runId.includes('..')) {
    throw new StepInputError(`PIPELINE_RUNID ${JSON.stringify(runId)} is not a run id (letters, digits, '.', '_', '-')`);
  }
  const raw = process.env.TRANSFORM_PARAMETERS ?? '{}';
  let params;
  try {
    params = JSON.parse(raw === '' ? '{}' : raw);
  } catch (e) {
    throw new StepInputError(`TRANSFORM_PARAMETERS is not JSON (${e.message}): ${raw.slice(0, 200)}`);
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new StepInputError(`TRANSFORM_PARAMETERS must be a JSON object (the step's "parameters"), got ${raw.slice(0, 200)}`);
  }
  return {
    runId,
    pipelineName: required('PIPELINE_NAME'),
    stepName: required('STEP_NAME'),
    stepType: process.env.STEP_TYPE ?? '',
    application: process.env.APPLICATION ?? '',
    canonicalName: process.env.CANONICAL_NAME ?? '',
    attempt: Number(process.env.STEP_ATTEMPT ?? '1'),
    params,
  };
}

/** Parameter readers: each says which parameter is wrong and what it expected. */
export function param(ctx, name, type, fallback) {
  const v = ctx.params[name];
  if (v === undefined || v === null) return fallback;
  const ok = type === 'integer' ? Number.isInteger(v) : type === 'number' ? typeof v === 'number' && Number.isFinite(v) : type === 'string[]' ? Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '') : typeof v === type && v !== '';
  if (!ok) throw new StepInputError(`parameter ${name}: expected ${type === 'string[]' ? 'an array of non-empty strings' : `a ${type}`}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The run's work directory, shared by the steps of one run: the `workDir` parameter (relative to the step's working
 * directory), else <os.tmpdir()>/genome-pipelines/<PIPELINE_RUNID>. Created when missing.
 */
export function workDir(ctx) {
  const given = param(ctx, 'workDir', 'string', undefined);
  const dir = given !== undefined ? (isAbsolute(given) ? given : resolve(given)) : join(tmpdir(), 'genome-pipelines', ctx.runId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A file an earlier step of the run wrote, with a message naming the step that writes it when it is missing. */
export function readEarlier(dir, file, writer) {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') throw new StepInputError(`${join(dir, file)} is missing: the ${writer} step writes it earlier in the same run (same PIPELINE_RUNID and workDir)`);
    throw e;
  }
}

/** A numeric CSV with a header line: { header, rows }. */
export function parseCsv(text, what) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new StepInputError(`${what}: expected a header line and at least one row`);
  const header = lines[0].split(',').map((h) => h.trim());
  const rows = lines.slice(1).map((l, i) => {
    const cells = l.split(',');
    if (cells.length !== header.length) throw new StepInputError(`${what}: line ${i + 2} has ${cells.length} cells, the header ${header.length}`);
    return cells.map((c, j) => {
      const x = Number(c);
      if (c.trim() === '' || !Number.isFinite(x)) throw new StepInputError(`${what}: line ${i + 2}, column ${header[j]}: ${JSON.stringify(c)} is not a number`);
      return x;
    });
  });
  return { header, rows };
}

export function toCsv(header, rows) {
  return `${header.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
}

export function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A small deterministic PRNG (mulberry32), so that a seed gives the same split everywhere. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Root mean squared error and R² of predictions against targets. */
export function scores(predicted, actual) {
  const n = actual.length;
  const mean = actual.reduce((s, y) => s + y, 0) / n;
  let se = 0;
  let st = 0;
  for (let i = 0; i < n; i++) {
    se += (predicted[i] - actual[i]) ** 2;
    st += (actual[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), r2: st === 0 ? 0 : 1 - se / st };
}

/** Solves A x = b (A square) by Gaussian elimination with partial pivoting. */
export function solve(A, b) {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (Math.abs(M[p][c]) < 1e-12) throw new Error('singular system: the features are collinear; raise the ridge lambda');
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}
