/** Reads background rows from a CSV file (header row of feature names, then numbers; empty cell = missing). */
import { readFileSync } from 'node:fs';
import { SidecarError } from '../errors.js';

export function readBackgroundCsv(path: string, featureNames: readonly string[] | undefined): { names: string[]; data: Float64Array; rows: number } {
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
  const rows = lines.length - 1;
  const data = new Float64Array(rows * names.length);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1]!.split(',');
    for (let f = 0; f < names.length; f++) {
      const s = (cells[col[f]!] ?? '').trim();
      const v = s === '' ? Number.NaN : Number(s);
      if (Number.isNaN(v) && s !== '' && s.toLowerCase() !== 'nan') {
        throw new SidecarError('CONFIG', `background CSV ${path} line ${r + 2}, column "${names[f]}": "${s}" is not a number`);
      }
      data[r * names.length + f] = v;
    }
  }
  return { names, data, rows };
}
