/** `--output csv`: a header `row,output,base_value,<feature>...`, then one line per row and output. */
import type { ExplainResult } from '../explain/result.js';

/** RFC 4180 quoting, only where needed. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

const num = (n: number) => (Number.isNaN(n) ? '' : String(n));

export function explainCsv(res: ExplainResult): string {
  const nf = res.featureNames.length;
  const no = res.outputNames.length;
  const lines = [['row', 'output', 'base_value', ...res.featureNames].map(csvField).join(',')];
  for (let r = 0; r < res.rows; r++) {
    for (let o = 0; o < no; o++) {
      const cells = [String(r), csvField(res.outputNames[o]!), num(res.baseValues[r * no + o]!)];
      for (let f = 0; f < nf; f++) cells.push(num(res.values[(r * nf + f) * no + o]!));
      lines.push(cells.join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}
