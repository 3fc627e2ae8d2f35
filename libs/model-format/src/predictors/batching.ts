/**
 * Splits a large batch of rows into chunks of at most `maxBatch` rows, runs them one after another, and
 * assembles one row-major {@link Matrix}. Every predictor batches through here so memory stays bounded.
 */
import { ModelFormatError } from '../errors.js';
import type { Matrix } from '../predictor.js';
import { throwIfAborted } from '../cancellation.js';

/** Output of one chunk: `rows * cols` values, row-major. */
export type ChunkResult = ArrayLike<number>;

/** Per-call options of {@link runBatched}. */
export interface BatchOptions {
  /** Checked before every chunk: once aborted, no further chunk starts and the call rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Names the model in errors about inconsistent chunk outputs, e.g. `remote model "income" at host:8081`. */
  what?: string;
}

/** Checks a `maxBatch` option and returns it (default when undefined). */
export function checkMaxBatch(maxBatch: number | undefined, fallback: number): number {
  const m = maxBatch ?? fallback;
  if (!Number.isInteger(m) || m < 1) {
    throw new ModelFormatError('INVALID_INPUT', `maxBatch must be a positive integer, got ${String(maxBatch)}`);
  }
  return m;
}

/** Checks that `values` holds exactly `nRows` items of `perRow` values. */
export function checkRows(values: ArrayLike<number>, nRows: number, perRow: number, what: string): void {
  if (!Number.isInteger(nRows) || nRows < 0) {
    throw new ModelFormatError('INVALID_INPUT', `${what}: nRows must be a non-negative integer, got ${String(nRows)}`);
  }
  if (values.length !== nRows * perRow) {
    throw new ModelFormatError(
      'INVALID_INPUT',
      `${what}: expected ${nRows} x ${perRow} = ${nRows * perRow} values, got ${values.length}`,
    );
  }
}

/**
 * Runs `run(start, count)` over consecutive chunks of at most `maxBatch` rows and copies each chunk's
 * `count * cols` outputs into one matrix. `cols` is learnt from the first chunk when not given. With
 * `opts.signal`, the signal is checked before each chunk (so an aborted signal runs no chunk at all).
 */
export async function runBatched(
  nRows: number,
  maxBatch: number,
  cols: number | undefined,
  run: (start: number, count: number) => Promise<{ data: ChunkResult; cols: number }>,
  opts: BatchOptions = {},
): Promise<Matrix> {
  const { signal } = opts;
  const what = opts.what ?? 'model';
  throwIfAborted(signal);
  let out: Float64Array | undefined = cols === undefined ? undefined : new Float64Array(nRows * cols);
  let width = cols ?? 0;
  for (let start = 0; start < nRows; start += maxBatch) {
    throwIfAborted(signal);
    const count = Math.min(maxBatch, nRows - start);
    const res = await run(start, count);
    if (out === undefined) {
      width = res.cols;
      out = new Float64Array(nRows * width);
    } else if (res.cols !== width) {
      throw new ModelFormatError('RUNTIME', `${what} returned ${res.cols} outputs per row for one batch and ${width} for another`);
    }
    if (res.data.length !== count * width) {
      throw new ModelFormatError(
        'RUNTIME',
        `${what} returned ${res.data.length} values for ${count} rows x ${width} outputs (expected ${count * width})`,
      );
    }
    const base = start * width;
    const d = res.data;
    for (let i = 0; i < d.length; i++) out[base + i] = Number(d[i]);
  }
  return { data: out ?? new Float64Array(0), rows: nRows, cols: out === undefined ? (cols ?? 0) : width };
}
