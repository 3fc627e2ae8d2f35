/**
 * Per-row genome.explanation/v1 documents. An ExplainResponse carries the attributions twice: flat (`values` with
 * `shape` [rows, features, outputs], `base_values` [rows, outputs], `predictions` [rows, outputs]) and as one JSON
 * document for all its rows (`explanation_json`, `values[row][feature][output]`, with method details). The CLI
 * prints one document per row, as KServe V1 `explanations` does: row-indexed arrays are cut to the row.
 */
import type { explain } from '@genome/proto';
import { CliError } from '../errors.js';

type Doc = Record<string, unknown>;

const ROW_ARRAYS = ['values', 'baseValues', 'predictions', 'data', 'interactions'] as const;

/** Splits one explanation document of `rows` rows into one document per row. */
export function splitDocument(doc: Doc, rows: number): Doc[] {
  return Array.from({ length: rows }, (_, r) => {
    const out: Doc = { ...doc };
    for (const k of ROW_ARRAYS) {
      const a = doc[k];
      if (Array.isArray(a) && a.length === rows) out[k] = [a[r]];
    }
    const details = doc.details;
    if (details !== null && typeof details === 'object' && !Array.isArray(details)) {
      out.details = Object.fromEntries(Object.entries(details).map(([k, v]) => [k, Array.isArray(v) && v.length === rows ? [v[r]] : v]));
    }
    return out;
  });
}

/** A document rebuilt from the flat fields, for a server that sends no explanation_json. */
function documentFromFlat(res: explain.ExplainResponse): Doc {
  const [rows = 0, nf = 0, no = 0] = res.shape;
  const at = (r: number, f: number, o: number) => res.values[(r * nf + f) * no + o]!;
  const doc: Doc = {
    schema: 'genome.explanation/v1',
    method: res.method,
    values: Array.from({ length: rows }, (_, r) => Array.from({ length: nf }, (_, f) => Array.from({ length: no }, (_, o) => at(r, f, o)))),
    baseValues: Array.from({ length: rows }, (_, r) => res.baseValues.slice(r * no, (r + 1) * no)),
    featureNames: res.featureNames,
    outputNames: res.outputNames,
    outputSpace: res.outputSpace,
  };
  if (res.predictions.length > 0) doc.predictions = Array.from({ length: rows }, (_, r) => res.predictions.slice(r * no, (r + 1) * no));
  return doc;
}

/** One document per row of `res`. */
export function rowDocuments(res: explain.ExplainResponse): Doc[] {
  const rows = res.shape[0] ?? 0;
  if (!res.explanationJson) return splitDocument(documentFromFlat(res), rows);
  let doc: unknown;
  try {
    doc = JSON.parse(res.explanationJson);
  } catch (err) {
    throw new CliError('INTERNAL', `the server sent an explanation_json that is not JSON: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new CliError('INTERNAL', 'the server sent an explanation_json that is not an object');
  return splitDocument(doc as Doc, rows);
}
