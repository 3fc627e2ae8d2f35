/** Test helpers: run onnxruntime-node on fixture models and expose intermediate tensors hidden behind ZipMap. */
import * as ort from 'onnxruntime-node';
import { addOnnxGraphOutputs, OnnxDataType } from '../src/index.js';

/** Returns a copy of an ONNX model with extra float tensor graph outputs (so ORT can fetch them). */
export function exposeOutputs(bytes: Uint8Array, names: string[]): Uint8Array {
  return addOnnxGraphOutputs(bytes, names.map((name) => ({ name, elemType: OnnxDataType.FLOAT })));
}

export interface OrtRun {
  outputs: Record<string, { data: Float64Array; dims: readonly number[] }>;
}

/** Runs `rows` (float32-rounded) through ORT one batch at a time, fetching the given tensor outputs. */
export async function runOrt(bytes: Uint8Array, rows: Float64Array, nRows: number, nFeatures: number, fetch: string[], batch: boolean | number = true, dtype: 'float32' | 'float64' = 'float32'): Promise<Record<string, Float64Array>> {
  const sess = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const inName = sess.inputNames[0]!;
  const out: Record<string, number[]> = {};
  const step = batch === true ? nRows : batch === false ? 1 : batch;
  for (let r0 = 0; r0 < nRows; r0 += step) {
    const n = Math.min(step, nRows - r0);
    const slice = rows.subarray(r0 * nFeatures, (r0 + n) * nFeatures);
    const x = dtype === 'float32' ? Float32Array.from(slice) : Float64Array.from(slice);
    const res = await sess.run({ [inName]: new ort.Tensor(dtype, x, [n, nFeatures]) }, fetch);
    for (const k of fetch) (out[k] ??= []).push(...Array.from(res[k]!.data as Float32Array, Number));
  }
  await sess.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Float64Array.from(v)]));
}

/** Deterministic pseudo-random rows in [lo, hi), rounded to float32. */
export function randomRows(nRows: number, nFeatures: number, lo: number, hi: number, seed = 1): Float64Array {
  let s = seed;
  const out = new Float64Array(nRows * nFeatures);
  for (let i = 0; i < out.length; i++) {
    s = (s * 16807) % 2147483647;
    out[i] = Math.fround(lo + (hi - lo) * (s / 2147483647));
  }
  return out;
}

/** Largest |a-b| / max(1, |b|). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
