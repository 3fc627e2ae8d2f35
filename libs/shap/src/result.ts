/** Builds the shared Explanation JSON from flat typed-array results. */
import { EXPLANATION_SCHEMA, type Explanation, type OutputSpace } from '@genome/model-format';

export interface FlatResult {
  method: string;
  nRows: number;
  nFeatures: number;
  nOutputs: number;
  /** `[row][feature][output]` flattened. */
  values: Float64Array;
  /** `[row][output]` flattened. */
  base: Float64Array;
  /** `[row][output]` flattened, in the explanation's output space. */
  predictions: Float64Array;
  /** Explained rows, `[row][feature]` flattened. */
  data: Float64Array;
  featureNames: string[];
  outputNames: readonly string[];
  outputSpace: OutputSpace;
  parameters: Record<string, unknown>;
  seed?: number;
  startMs: number;
  modelMs?: number;
  modelCalls?: number;
  samples?: number;
  details?: Record<string, unknown>;
}

export function buildExplanation(r: FlatResult): Explanation {
  const { nRows, nFeatures: F, nOutputs: D } = r;
  const values: number[][][] = new Array(nRows);
  const baseValues: number[][] = new Array(nRows);
  const predictions: number[][] = new Array(nRows);
  const data: number[][] = new Array(nRows);
  for (let i = 0; i < nRows; i++) {
    const rowV: number[][] = new Array(F);
    for (let j = 0; j < F; j++) {
      const o = (i * F + j) * D;
      rowV[j] = Array.from(r.values.subarray(o, o + D));
    }
    values[i] = rowV;
    baseValues[i] = Array.from(r.base.subarray(i * D, i * D + D));
    predictions[i] = Array.from(r.predictions.subarray(i * D, i * D + D));
    // JSON has no NaN: missing inputs are reported as null
    data[i] = Array.from(r.data.subarray(i * F, i * F + F), (v) => (Number.isNaN(v) ? (null as unknown as number) : v));
  }
  const e: Explanation = {
    schema: EXPLANATION_SCHEMA,
    method: r.method,
    values,
    baseValues,
    featureNames: r.featureNames,
    outputNames: [...r.outputNames],
    outputSpace: r.outputSpace,
    predictions,
    data,
    parameters: r.parameters,
    timings: { totalMs: performance.now() - r.startMs },
  };
  if (r.seed !== undefined) e.seed = r.seed;
  if (r.modelMs !== undefined) e.timings.modelMs = r.modelMs;
  if (r.modelCalls !== undefined) e.timings.modelCalls = r.modelCalls;
  if (r.samples !== undefined) e.timings.samples = r.samples;
  if (r.details !== undefined) e.details = r.details;
  return e;
}
