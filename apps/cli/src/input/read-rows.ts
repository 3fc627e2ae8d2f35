/** The rows of `genome explain`, from exactly one of --row, --csv, --json. */
import { usageError } from '../errors.js';
import type { RowsInput } from './cells.js';
import { readCsv } from './csv-file.js';
import { readJson } from './json-file.js';
import { parseRowFlags } from './rows-flag.js';

export interface RowSources {
  row?: string[];
  csv?: string;
  json?: string;
}

export function readRows(o: RowSources): RowsInput {
  const given = [o.row?.length ? '--row' : '', o.csv !== undefined ? '--csv' : '', o.json !== undefined ? '--json' : ''].filter(Boolean);
  if (given.length === 0) throw usageError('no rows: give --row v1,v2,... (repeatable), --csv FILE or --json FILE');
  if (given.length > 1) throw usageError(`give one of --row, --csv, --json (got ${given.join(' and ')})`);
  if (o.csv !== undefined) return readCsv(o.csv);
  if (o.json !== undefined) return readJson(o.json);
  return parseRowFlags(o.row!);
}
