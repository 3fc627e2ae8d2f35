/** `--output json`: a JSON array with one genome.explanation/v1 document per row, one document per line. */
import type { ExplainResult } from '../explain/result.js';

export function explainJson(res: ExplainResult): string {
  if (res.documents.length === 0) return '[]\n';
  return `[\n${res.documents.map((d) => JSON.stringify(d)).join(',\n')}\n]\n`;
}
