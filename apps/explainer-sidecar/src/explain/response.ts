/** Explanation -> ExplainResponse fields (flat typed values + shape) and KServe V1 per-instance JSON. */
import type { Explanation } from '@genome/model-format';
import type { explain as pb } from '@genome/proto';
import type { ModelDescription } from '../models/types.js';

/** The ExplainResponse of `e` without `explanation_json` (see encode.ts, which appends it). */
export function flatResponse(e: Explanation, model: ModelDescription, requestId: string, elapsedMs: number): pb.ExplainResponse {
  const rows = e.values.length;
  const nf = e.featureNames.length;
  const no = e.outputNames.length;
  const values = new Array<number>(rows * nf * no);
  let k = 0;
  for (const row of e.values) for (const f of row) for (const v of f) values[k++] = v;
  return {
    modelName: model.name,
    modelVersion: model.version,
    method: e.method,
    values,
    shape: [rows, nf, no],
    baseValues: e.baseValues.flat(),
    featureNames: e.featureNames,
    outputNames: e.outputNames,
    outputSpace: e.outputSpace,
    predictions: e.predictions ? e.predictions.flat() : [],
    explanationJson: '',
    elapsedMs,
    requestId,
  };
}

/** One explanation per explained row (KServe V1 `explanations`, one per instance). */
export function splitRows(e: Explanation): Explanation[] {
  const n = e.values.length;
  const row = <T>(a: readonly T[] | undefined, r: number) => (a ? [a[r]!] : undefined);
  return e.values.map((_, r) => {
    const out: Explanation = { ...e, values: [e.values[r]!], baseValues: [e.baseValues[r]!] };
    const p = row(e.predictions, r);
    if (p) out.predictions = p;
    const d = row(e.data, r);
    if (d) out.data = d;
    const i = row(e.interactions, r);
    if (i) out.interactions = i;
    if (e.details) {
      const det: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(e.details)) det[k] = Array.isArray(v) && v.length === n ? [v[r]] : v;
      out.details = det;
    }
    return out;
  });
}
