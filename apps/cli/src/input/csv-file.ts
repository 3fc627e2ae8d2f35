/**
 * `--csv FILE`: a header of feature names (sent as `tabular.feature_names`, so the columns may come in any order),
 * then one row per line. Empty cells are missing; cells that are not numbers are category names.
 */
import { parse } from 'csv-parse/sync';
import { usageError } from '../errors.js';
import { parseCell, type RowsInput } from './cells.js';
import { readText } from './read-file.js';

export function parseCsv(text: string, source: string): RowsInput {
  let records: string[][];
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw usageError(`bad CSV in ${source}: ${(err as Error).message}`);
  }
  if (records.length === 0) throw usageError(`${source} is empty: expected a header of feature names, then rows`);
  const header = records[0]!;
  const blank = header.findIndex((h) => h === '');
  if (blank >= 0) throw usageError(`${source}: header column ${blank + 1} has no name (the first line must name every feature)`);
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw usageError(`${source}: column "${h}" appears twice in the header`);
    seen.add(h);
  }
  if (records.length === 1) throw usageError(`${source} has a header but no rows`);
  return { featureNames: header, rows: records.slice(1).map((r) => r.map(parseCell)), source };
}

export function readCsv(file: string): RowsInput {
  return parseCsv(readText(file, '--csv'), file);
}
