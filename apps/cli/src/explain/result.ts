/** The explanation of all rows of one `genome explain`: one unary answer, or the stream's chunks put together. */
import type { explain } from '@genome/proto';
import { CliError } from '../errors.js';
import { rowDocuments } from './documents.js';

export interface ExplainResult {
  modelName: string;
  modelVersion: string;
  method: string;
  outputSpace: string;
  featureNames: string[];
  outputNames: string[];
  rows: number;
  /** values[row][feature][output], flattened row-major. */
  values: number[];
  /** base values [rows, outputs], flattened. */
  baseValues: number[];
  /** Model outputs [rows, outputs], flattened; empty when the method does not compute them. */
  predictions: number[];
  /** One genome.explanation/v1 document per row. */
  documents: Record<string, unknown>[];
}

const malformed = (why: string) => new CliError('INTERNAL', `malformed answer from the server: ${why}`);

export function resultOf(res: explain.ExplainResponse): ExplainResult {
  const [rows, nf, no] = res.shape;
  if (res.shape.length !== 3 || rows === undefined || nf === undefined || no === undefined) throw malformed(`shape [${res.shape.join(', ')}] is not [rows, features, outputs]`);
  if (res.values.length !== rows * nf * no) throw malformed(`${res.values.length} values for shape [${res.shape.join(', ')}]`);
  if (res.baseValues.length !== rows * no) throw malformed(`${res.baseValues.length} base values for ${rows} rows x ${no} outputs`);
  if (res.featureNames.length !== nf || res.outputNames.length !== no) throw malformed('feature or output names do not match the shape');
  return {
    modelName: res.modelName,
    modelVersion: res.modelVersion,
    method: res.method,
    outputSpace: res.outputSpace,
    featureNames: res.featureNames,
    outputNames: res.outputNames,
    rows,
    values: res.values,
    baseValues: res.baseValues,
    predictions: res.predictions.length === rows * no ? res.predictions : [],
    documents: rowDocuments(res),
  };
}

/** Joins the results of consecutive row chunks (ordered by their first row) into one. */
export function joinResults(parts: readonly { rowOffset: number; result: ExplainResult }[], expectedRows: number): ExplainResult {
  const sorted = [...parts].sort((a, b) => a.rowOffset - b.rowOffset);
  if (sorted.length === 0) throw malformed('the stream ended without results');
  const first = sorted[0]!.result;
  let next = 0;
  for (const p of sorted) {
    if (p.rowOffset !== next) throw malformed(`a chunk starts at row ${p.rowOffset}, expected ${next}`);
    if (p.result.featureNames.join('\u0000') !== first.featureNames.join('\u0000') || p.result.outputNames.join('\u0000') !== first.outputNames.join('\u0000')) {
      throw malformed(`the chunk at row ${p.rowOffset} has other feature or output names`);
    }
    next += p.result.rows;
  }
  if (next !== expectedRows) throw malformed(`${next} rows explained, ${expectedRows} sent`);
  const all = sorted.map((p) => p.result);
  const withPredictions = all.every((r) => r.predictions.length > 0);
  return {
    ...first,
    rows: next,
    values: all.flatMap((r) => r.values),
    baseValues: all.flatMap((r) => r.baseValues),
    predictions: withPredictions ? all.flatMap((r) => r.predictions) : [],
    documents: all.flatMap((r) => r.documents),
  };
}
