/** `--row 1,2,3` (repeatable): one comma-separated row per flag, in the model's feature order. */
import { parse } from 'csv-parse/sync';
import { usageError } from '../errors.js';
import { parseCell, type RowsInput } from './cells.js';

export function parseRowFlags(flags: readonly string[]): RowsInput {
  const rows = flags.map((text, i) => {
    let records: string[][];
    try {
      records = parse(text, { trim: true, relax_quotes: true }) as string[][];
    } catch (err) {
      throw usageError(`--row #${i + 1} "${text}": ${(err as Error).message}`);
    }
    if (records.length !== 1 || records[0]!.length === 0) throw usageError(`--row #${i + 1} "${text}": expected one comma-separated row, e.g. --row 8.3,41,6.9`);
    return records[0]!.map(parseCell);
  });
  const width = rows[0]!.length;
  const bad = rows.findIndex((r) => r.length !== width);
  if (bad >= 0) throw usageError(`--row #${bad + 1} has ${rows[bad]!.length} values but --row #1 has ${width}: every row needs one value per feature`);
  return { featureNames: undefined, rows, source: '--row' };
}
