/**
 * Reads a package's background CSV: a header row, then one row per sample. Columns are matched to the
 * manifest's features by name (other columns, e.g. the target, are ignored); blank cells are missing (NaN);
 * categorical cells may hold a level name (mapped to its code) or the code itself.
 */
import { ModelFormatError } from '../errors.js';
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
  const F = features.length;
  const rows = new Float64Array(n * F);
  for (let r = 0; r < n; r++) {
    const cells = splitCsvLine(lines[r + 1]!);
    if (cells.length !== header.length) {
      throw new ModelFormatError('INVALID_PACKAGE', `${where} line ${r + 2} has ${cells.length} cells, the header has ${header.length}`);
    }
    for (let j = 0; j < F; j++) {
      const cell = cells[cols[j]!]!.trim();
      let v: number;
      if (cell === '' || cell === 'NA' || cell === 'NaN') v = Number.NaN;
      else {
        v = Number(cell);
        const levels = features[j]!.levels;
        if (Number.isNaN(v) && levels) v = levels.indexOf(cell);
        if (Number.isNaN(v) || v === -1) {
          throw new ModelFormatError(
            'INVALID_PACKAGE',
            `${where} line ${r + 2}, column "${features[j]!.name}": ${JSON.stringify(cell.slice(0, 40))} is not a number${levels ? ' or a level' : ''}`,
          );
        }
      }
      rows[r * F + j] = v;
    }
  }
  return { featureNames: features.map((f) => f.name), rows, nRows: n };
}
