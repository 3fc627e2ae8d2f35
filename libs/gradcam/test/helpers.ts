/** Shared test helpers: fixture access and tolerance checks (relative to the reference's largest magnitude). */
import { readFixtureJson } from '../../../tools/fixtures.js';

export interface CamReference {
  target_class: number;
  target_tensor: string;
  logits: number[];
  input: number[][][];
  input_shape: number[];
  activation_shape: number[];
  alpha: number[];
  cam_raw: number[][];
  gradcam: number[][];
  gradcam_plus_plus_weights: number[];
  gradcam_plus_plus: number[][];
  gradcam_upsampled_normalized: number[][];
}

export function camReference(name: string): CamReference {
  return readFixtureJson<CamReference>('oracles', 'cams', name, 'reference.json');
}

/** max |a - b| / max |b| (0 when both are all zeros). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return s === 0 ? d : d / s;
}

export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

export function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[k]!) k = i;
  return k;
}
