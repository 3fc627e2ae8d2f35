/**
 * Reads a package's background CSV: a header row, then one row per sample. Columns are matched to the
 * manifest's features by name (other columns, e.g. the target, are ignored); blank cells (and NA, NaN) are missing;
 * the other cells are read as {@link encodeRows} reads raw rows, so a categorical cell means what it means in a
 * request: a level name, or a number looked up by value among numeric level names (else taken as the code).
 */
import { ModelFormatError } from '../errors.js';
import { encodeRows, type RawCell } from '../tree/encode-rows.js';
import type { GenomeFeature } from './manifest.js';

export interface BackgroundData {
  featureNames: string[];
  /** Row-major `nRows x featureNames.length`. */
  rows: Float64Array;
  nRows: number;
}

function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseBackgroundCsv(text: string, features: readonly GenomeFeature[], where: string, maxRows = Infinity): BackgroundData {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new ModelFormatError('INVALID_PACKAGE', `${where} is empty; expected a header row of feature names`);
  const header = splitCsvLine(lines[0]!).map((h) => h.trim());
  const cols = features.map((f) => {
    const c = header.indexOf(f.name);
    if (c < 0) {
      throw new ModelFormatError('INVALID_PACKAGE', `${where} has no column "${f.name}" (header: ${header.slice(0, 12).join(', ')})`);
    }
    return c;
  });
  const n = Math.min(lines.length - 1, maxRows);
  const raw: RawCell[][] = [];
  for (let r = 0; r < n; r++) {
    const cells = splitCsvLine(lines[r + 1]!);
    if (cells.length !== header.length) {
      throw new ModelFormatError('INVALID_PACKAGE', `${where} line ${r + 2} has ${cells.length} cells, the header has ${header.length}`);
    }
    raw.push(
      cols.map((c) => {
        const cell = cells[c]!.trim();
        if (cell === '' || cell === 'NA' || cell === 'NaN') return null;
        const v = Number(cell);
        return Number.isNaN(v) ? cell : v;
      }),
    );
  }
  let rows: Float64Array;
  try {
    rows = encodeRows({ featureNames: features.map((f) => f.name), featureTypes: features.map((f) => (f.type === 'categorical' ? 'categorical' : 'float')), featureCategories: features.map((f) => f.levels) }, raw);
  } catch (err) {
    // encodeRows counts rows from 0; the CSV's first data row is line 2.
    throw new ModelFormatError('INVALID_PACKAGE', `${where} (row r is line r + 2): ${(err as Error).message}`, { cause: err });
  }
  return { featureNames: features.map((f) => f.name), rows, nRows: n };
}
