/**
 * Row inputs accepted by every explainer (arrays of rows or a dense row-major matrix), normalised to a
 * Float64Array with checked shapes and NaN rules.
 */
import type { Matrix } from '@genome/model-format';
import { ShapError } from './errors.js';

/** Rows to explain or background rows: `number[][]`, or a dense row-major matrix. */
export type RowsInput =
  | readonly (readonly number[])[]
  | { readonly data: Float64Array | Float32Array | readonly number[]; readonly rows: number; readonly cols: number };

/** Dense row-major float64 rows. */
export interface DenseRows {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Converts and checks rows. `what` names the argument in error messages. NaN is refused unless
 * `allowNaN` (models that route missing values themselves, e.g. tree ensembles); infinities always are.
 */
export function toDenseRows(input: RowsInput, nFeatures: number, what: string, allowNaN: boolean): DenseRows {
  let data: Float64Array;
  let rows: number;
  if (Array.isArray(input)) {
    const arr = input as readonly (readonly number[])[];
    rows = arr.length;
    data = new Float64Array(rows * nFeatures);
    for (let r = 0; r < rows; r++) {
      const row = arr[r];
      if (!Array.isArray(row) && !ArrayBuffer.isView(row)) {
        throw new ShapError('INVALID_INPUT', `${what} row ${r} is not an array of numbers.`);
      }
      if (row.length !== nFeatures) {
        throw new ShapError(
          'INVALID_INPUT',
          `${what} row ${r} has ${row.length} values but the model takes ${nFeatures} features; pass rows with exactly ${nFeatures} columns in the model's feature order.`,
        );
      }
      for (let j = 0; j < nFeatures; j++) data[r * nFeatures + j] = typeof row[j] === 'number' ? row[j]! : Number.NaN;
    }
  } else if (input && typeof input === 'object' && 'data' in input) {
    const m = input as { data: ArrayLike<number>; rows: number; cols: number };
    if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols)) {
      throw new ShapError('INVALID_INPUT', `${what} matrix needs integer rows and cols.`);
    }
    if (m.cols !== nFeatures) {
      throw new ShapError(
        'INVALID_INPUT',
        `${what} has ${m.cols} columns but the model takes ${nFeatures} features; pass rows with exactly ${nFeatures} columns.`,
      );
    }
    if (m.data.length !== m.rows * m.cols) {
      throw new ShapError('INVALID_INPUT', `${what} data has ${m.data.length} values, expected rows*cols = ${m.rows * m.cols}.`);
    }
    rows = m.rows;
    data = m.data instanceof Float64Array ? m.data : Float64Array.from(m.data);
  } else {
    throw new ShapError('INVALID_INPUT', `${what} must be an array of rows or a {data, rows, cols} matrix.`);
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) continue;
    const r = Math.floor(i / nFeatures);
    const j = i % nFeatures;
    if (Number.isNaN(v)) {
      if (allowNaN) continue;
      throw new ShapError(
        'INVALID_INPUT',
        `${what} row ${r}, feature ${j} is NaN (missing). This explainer refuses missing values unless the model handles them: impute them, or pass allowNaN: true if the model routes missing values itself (tree ensembles do).`,
      );
    }
    throw new ShapError('INVALID_INPUT', `${what} row ${r}, feature ${j} is ${v}; only finite numbers (or NaN with allowNaN) are accepted.`);
  }
  return { data, rows, cols: nFeatures };
}

/** Checks a model result: shape `nRows x nOutputs`, all values finite. */
export function checkModelOutput(m: Matrix, nRows: number, nOutputs: number): void {
  if (!m || !(m.data instanceof Float64Array) || m.rows !== nRows || m.cols !== nOutputs || m.data.length !== nRows * nOutputs) {
    throw new ShapError(
      'MODEL_OUTPUT',
      `The model returned a ${m?.rows}x${m?.cols} matrix for ${nRows} rows; expected ${nRows}x${nOutputs} (one column per output name) with Float64Array data.`,
    );
  }
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      throw new ShapError(
        'MODEL_OUTPUT',
        `The model returned a non-finite value (${d[i]}) at row ${Math.floor(i / nOutputs)}, output ${i % nOutputs}; SHAP values cannot be computed from it. Check the inputs (missing values) and the model.`,
      );
    }
  }
}

/** Resolves feature names: given names (checked) or `f0..f{n-1}`. */
export function resolveFeatureNames(names: readonly string[] | undefined, n: number): string[] {
  if (names === undefined) return Array.from({ length: n }, (_, i) => `f${i}`);
  if (!Array.isArray(names) || names.length !== n || names.some((s) => typeof s !== 'string')) {
    throw new ShapError('INVALID_INPUT', `featureNames must be ${n} strings (one per model feature), got ${Array.isArray(names) ? names.length : typeof names}.`);
  }
  return [...names];
}
