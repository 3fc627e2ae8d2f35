/**
 * Tabular rows as users hold them (numbers, category names, missing cells; arrays or objects keyed by feature
 * name) -> the row-major Float64Array the tree IR and every tabular predictor take.
 */
import { ModelFormatError } from '../errors.js';
import type { FeatureType } from './ensemble.js';

/** One cell: a number, a category name or code, or missing (`null`, `undefined` or `NaN`). */
export type RawCell = number | string | null | undefined;

/** One row: values in the model's feature order, or an object keyed by feature name. */
export type RawRow = readonly RawCell[] | Readonly<Record<string, RawCell>>;

/** What {@link encodeRows} needs; a TreeEnsemble satisfies it. */
export interface RowSchema {
  readonly featureNames: readonly string[];
  readonly featureTypes?: readonly FeatureType[];
  readonly featureCategories?: readonly (readonly string[] | undefined)[];
}

/** How much of a value an error message quotes, and how many known categories it lists. */
const MAX_VALUE_CHARS = 100;
const MAX_LISTED = 20;
const MAX_NAME_CHARS = 60;

interface Column {
  readonly name: string;
  /** 0: numeric; 1: categorical with names; 2: categorical, codes only. */
  readonly kind: 0 | 1 | 2;
  readonly names?: readonly string[];
  readonly byName?: Map<string, number>;
  /** Set when every name is a number written as JavaScript prints it ("4", "-1", "2.5"): numbers look up by value. */
  readonly byNumber?: Map<number, number>;
}

function bad(message: string): ModelFormatError {
  return new ModelFormatError('INVALID_INPUT', message);
}

function quoteName(s: string): string {
  return JSON.stringify(s.length > MAX_NAME_CHARS ? `${s.slice(0, MAX_NAME_CHARS)}…` : s);
}

/** The value as a message shows it: at most ~100 characters. */
function show(v: unknown): string {
  if (typeof v === 'string') return v.length > MAX_VALUE_CHARS ? `${JSON.stringify(v.slice(0, MAX_VALUE_CHARS))}… (${v.length} characters)` : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Object.prototype.toString.call(v);
  }
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).map(quoteName).join(', ');
  return names.length > MAX_LISTED ? `${shown}, … (${names.length} in all)` : shown;
}

function isNumericName(s: string): boolean {
  if (s === '') return false;
  const x = Number(s);
  return Number.isFinite(x) && String(x) === s;
}

function columns(model: RowSchema): Column[] {
  if (model === null || typeof model !== 'object' || !Array.isArray(model.featureNames)) {
    throw bad('encodeRows needs a model (or schema) with featureNames.');
  }
  const F = model.featureNames.length;
  const types = model.featureTypes;
  const cats = model.featureCategories;
  if (types !== undefined && (!Array.isArray(types) || types.length !== F)) throw bad(`the model has ${F} feature names but ${types?.length} feature types.`);
  if (cats !== undefined && (!Array.isArray(cats) || cats.length !== F)) throw bad(`the model has ${F} feature names but ${cats?.length} category lists.`);
  return model.featureNames.map((name, f): Column => {
    const names = cats?.[f];
    if (names !== undefined && names !== null) {
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw bad(`the category list of feature ${quoteName(String(name))} is not a list of strings.`);
      const byName = new Map<string, number>();
      names.forEach((n, c) => {
        if (!byName.has(n)) byName.set(n, c);
      });
      const byNumber = names.length > 0 && names.every(isNumericName) ? new Map(names.map((n, c) => [Number(n), c] as const)) : undefined;
      return { name: String(name), kind: 1, names, byName, ...(byNumber ? { byNumber } : {}) };
    }
    return { name: String(name), kind: types?.[f] === 'categorical' ? 2 : 0 };
  });
}

/**
 * Encodes rows as users hold them into the row-major `nRows x nFeatures` Float64Array that `predict`,
 * `predictRaw`, the explainers and every tabular predictor take. Missing cells become NaN.
 *
 * - A row is an array in the model's feature order (exactly one value per feature), or an object keyed by
 *   feature name (every feature present, no other keys; the error lists the missing or unknown ones).
 * - Numeric feature: a finite number, or missing (`null`, `undefined`, `NaN` -> NaN). Strings are refused, even
 *   "3.5" (XGBoost and pandas do not convert text to numbers either); so are ±Infinity (XGBoost refuses them).
 * - Categorical feature with category names (`featureCategories[f]`): a string is looked up by name; a number is
 *   looked up by value when every name is a number as JavaScript prints it (integer categories: 8 -> the code of
 *   "8"), and is taken as the code itself (an integer in [0, n)) when the names are text. Missing stays missing.
 *   A name not in the list is an error, as in XGBoost's re-coder ("Found a category not in the training set").
 * - Categorical feature without names: a non-negative integer code or missing; a string is an error saying the
 *   model carries no category names.
 *
 * A feature is categorical when `featureTypes[f]` is `'categorical'` or it has category names. Every failure is
 * a `ModelFormatError` with code `INVALID_INPUT` naming the row index, the feature and the value (and, for an
 * unknown category, the known ones).
 */
export function encodeRows(model: RowSchema, rows: readonly RawRow[]): Float64Array {
  const cols = columns(model);
  if (!Array.isArray(rows)) throw bad(`rows must be an array of rows (arrays or objects), got ${kindOf(rows)}.`);
  const F = cols.length;
  const out = new Float64Array(rows.length * F);
  const index = new Map<string, number>();
  cols.forEach((c, f) => {
    if (!index.has(c.name)) index.set(c.name, f);
  });
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as unknown;
    const base = r * F;
    if (Array.isArray(row) || (ArrayBuffer.isView(row) && !(row instanceof DataView))) {
      const cells = row as ArrayLike<unknown>;
      if (cells.length !== F) {
        const names = cols.map((c) => c.name);
        if (cells.length < F) {
          throw bad(`row ${r} has ${cells.length} values but the model takes ${F} features; missing ${listNames(names.slice(cells.length))} (features in order: ${listNames(names)}).`);
        }
        throw bad(`row ${r} has ${cells.length} values but the model takes ${F} features (${listNames(names)}); value ${F} and after have no feature.`);
      }
      for (let f = 0; f < F; f++) out[base + f] = encodeCell(cols[f]!, cells[f], r);
    } else if (row !== null && typeof row === 'object') {
      const obj = row as Record<string, unknown>;
      const keys = Object.keys(obj);
      const unknown = keys.filter((k) => !index.has(k));
      const missing = cols.filter((c) => !Object.prototype.hasOwnProperty.call(obj, c.name)).map((c) => c.name);
      if (unknown.length > 0 || missing.length > 0) {
        const parts: string[] = [];
        if (missing.length > 0) parts.push(`missing feature${missing.length > 1 ? 's' : ''} ${listNames(missing)}`);
        if (unknown.length > 0) parts.push(`unknown key${unknown.length > 1 ? 's' : ''} ${listNames(unknown)}`);
        throw bad(`row ${r}: ${parts.join('; ')}. An object row needs exactly the model's features: ${listNames(cols.map((c) => c.name))}.`);
      }
      for (let f = 0; f < F; f++) out[base + f] = encodeCell(cols[f]!, obj[cols[f]!.name], r);
    } else {
      throw bad(
        `row ${r} is ${kindOf(row)}${row === undefined || row === null ? '' : ` (${show(row)})`}; expected an array of ${F} values or an object keyed by feature name (${listNames(cols.map((c) => c.name))}).`,
      );
    }
  }
  return out;
}

function encodeCell(col: Column, v: unknown, r: number): number {
  if (v === null || v === undefined) return Number.NaN;
  const where = `row ${r}, feature ${quoteName(col.name)}`;
  if (typeof v === 'number') {
    if (v !== v) return Number.NaN;
    if (v === Infinity || v === -Infinity) {
      throw bad(`${where}: ${show(v)} is infinite; XGBoost refuses infinite inputs. Use null (or NaN) for a missing value.`);
    }
    if (col.kind === 0) return v;
    if (col.kind === 2) {
      if (Number.isInteger(v) && v >= 0) return v;
      throw bad(`${where}: ${show(v)} is not a category code; this categorical feature takes a non-negative integer code or null (the model carries no category names).`);
    }
    if (col.byNumber) {
      const code = col.byNumber.get(v);
      if (code !== undefined) return code;
      throw unseen(col, where, v);
    }
    const n = col.names!.length;
    if (Number.isInteger(v) && v >= 0 && v < n) return v;
    throw bad(`${where}: ${show(v)} is neither a category name nor a category code (an integer in [0, ${n})); known categories: ${listNames(col.names!)}.`);
  }
  if (typeof v === 'string') {
    if (col.kind === 0) {
      throw bad(`${where}: ${show(v)} is a string, but the feature is numeric and takes a number or null; strings are not converted to numbers (as in XGBoost and pandas).`);
    }
    if (col.kind === 2) {
      throw bad(`${where}: ${show(v)} is a category name, but the model carries no category names for this feature; pass its integer code (or null).`);
    }
    const code = col.byName!.get(v);
    if (code !== undefined) return code;
    throw unseen(col, where, v);
  }
  const expected = col.kind === 0 ? 'a number or null' : col.kind === 1 ? 'a category name, a number or null' : 'an integer category code or null';
  throw bad(`${where}: ${show(v)} is ${kindOf(v)}; expected ${expected}.`);
}

function unseen(col: Column, where: string, v: string | number): ModelFormatError {
  const names = col.names!;
  const known = names.length === 0 ? 'the model knows no categories for it' : `known categories: ${listNames(names)}`;
  return bad(`${where}: ${show(v)} is not a category the model was trained on (XGBoost's re-coder refuses it too: "Found a category not in the training set"); ${known}.`);
}
