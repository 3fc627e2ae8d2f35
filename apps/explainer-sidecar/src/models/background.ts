/**
 * Reads background rows from a CSV file (header row of feature names, then one row per sample; empty cell, NA or
 * NaN = missing). Cells are read as raw rows are (`encodeRows` of @genome/model-format): numbers, and category
 * names of the model's categorical features.
 */
import { readFileSync } from 'node:fs';
import { encodeRows, type RawCell, type RowSchema } from '@genome/model-format';
import { SidecarError } from '../errors.js';

export function readBackgroundCsv(path: string, featureNames: readonly string[] | undefined, schema?: Omit<RowSchema, 'featureNames'>): { names: string[]; data: Float64Array; rows: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SidecarError('CONFIG', `cannot read background CSV ${path}: ${(err as Error).message}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new SidecarError('CONFIG', `background CSV ${path} needs a header row and at least one data row`);
  const header = lines[0]!.split(',').map((s) => s.trim());
  const names = featureNames ? [...featureNames] : header;
  const col = names.map((n) => {
    const i = header.indexOf(n);
    if (i < 0) throw new SidecarError('CONFIG', `background CSV ${path} has no column "${n}" (columns: ${header.join(', ')})`);
    return i;
  });
  const raw: RawCell[][] = lines.slice(1).map((line) => {
    const cells = line.split(',');
    return col.map((c) => {
      const s = (cells[c] ?? '').trim();
      if (s === '' || s.toLowerCase() === 'nan' || s === 'NA') return null;
      const v = Number(s);
      return Number.isNaN(v) ? s : v;
    });
  });
  try {
    return { names, data: encodeRows({ ...schema, featureNames: names }, raw), rows: raw.length };
  } catch (err) {
    throw new SidecarError('CONFIG', `background CSV ${path} (row r is line r + 2): ${(err as Error).message}`, { cause: err });
  }
}
