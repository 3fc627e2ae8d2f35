/**
 * Cells of tabular rows as the user wrote them, and their wire form. A cell is a number, a category name (any text
 * that is not a number), or missing (an empty cell, NaN, JSON null). Rows whose cells are all numbers or missing go
 * as `Row.values` (NaN = missing), which every server version reads; a row holding a category name goes as
 * `Row.cells`; the server encodes category names for the model (and refuses names it does not know).
 */
import type { explain } from '@genome/proto';

/** A number, a category name, or null = missing. */
export type CellValue = number | string | null;

/** Rows read from the command line or a file, with the column names when the source has them. */
export interface RowsInput {
  /** Column names (CSV header, JSON object keys); undefined = the model's feature order. */
  featureNames: string[] | undefined;
  rows: CellValue[][];
  /** Where the rows came from, for messages: "--row", "data.csv". */
  source: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MISSING = /^(nan)?$/i;

/** A cell from text: a decimal number, missing ('' or NaN), else a category name. */
export function parseCell(text: string): CellValue {
  const s = text.trim();
  if (MISSING.test(s)) return null;
  if (NUMBER.test(s)) return Number(s);
  return s;
}

export function isCategory(c: CellValue): c is string {
  return typeof c === 'string';
}

/** The wire row: `values` when every cell is a number or missing, else `cells`. */
export function toRow(row: readonly CellValue[]): explain.Row {
  if (!row.some(isCategory)) return { values: row.map((c) => (c === null ? Number.NaN : (c as number))), cells: [] };
  return {
    values: [],
    cells: row.map((c): explain.Cell => (c === null ? { missing: true } : typeof c === 'number' ? { number: c } : { category: c })),
  };
}

export function tabularInput(input: RowsInput): explain.TabularInput {
  return { featureNames: input.featureNames ?? [], rows: input.rows.map(toRow), values: [] };
}

/** How a cell is shown in a table. */
export function cellText(c: CellValue | undefined): string {
  if (c === undefined) return '';
  if (c === null) return '(missing)';
  return typeof c === 'number' ? String(c) : c;
}
