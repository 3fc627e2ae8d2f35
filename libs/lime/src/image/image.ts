/** Images as LIME sees them: height x width x channels (HWC), 1 or 3 channels, float or 8-bit. */
import { LimeError } from '../errors.js';

export interface HwcImage {
  readonly data: Float32Array | Float64Array | Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  /** 1 (grayscale) or 3 (RGB). Default 3. */
  readonly channels?: number;
}

export function checkImage(img: HwcImage): { w: number; h: number; c: number } {
  if (!img || typeof img !== 'object') throw new LimeError('INVALID_INPUT', 'image must be {data, width, height, channels?} in HWC layout.');
  const c = img.channels ?? 3;
  const { width: w, height: h } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new LimeError('INVALID_INPUT', `image width/height must be positive integers, got ${w}x${h}.`);
  if (c !== 1 && c !== 3) throw new LimeError('INVALID_INPUT', `image channels must be 1 (grayscale) or 3 (RGB), got ${c}; drop the alpha channel first.`);
  const ok = img.data instanceof Float32Array || img.data instanceof Float64Array || img.data instanceof Uint8Array || img.data instanceof Uint8ClampedArray;
  if (!ok) throw new LimeError('INVALID_INPUT', 'image.data must be a Float32Array, Float64Array, Uint8Array or Uint8ClampedArray.');
  if (img.data.length !== w * h * c) throw new LimeError('INVALID_INPUT', `image.data has ${img.data.length} values; ${h}x${w}x${c} needs ${w * h * c}.`);
  for (let i = 0; i < img.data.length; i++) if (!Number.isFinite(img.data[i]!)) throw new LimeError('INVALID_INPUT', `image.data[${i}] is not finite.`);
  return { w, h, c };
}

/** sRGB (0..1, or 0..255 for 8-bit data / float data above 1) to CIE L*a*b* (D65), skimage `rgb2lab`. */
export function rgbToLab(img: HwcImage): Float64Array {
  const { w, h, c } = checkImage(img);
  const n = w * h;
  let scale = 1;
  if (img.data instanceof Uint8Array || img.data instanceof Uint8ClampedArray) scale = 1 / 255;
  else {
    let mx = 0;
    for (let i = 0; i < img.data.length; i++) if (img.data[i]! > mx) mx = img.data[i]!;
    if (mx > 1) scale = 1 / 255;
  }
  const out = new Float64Array(n * 3);
  const lin = (v: number): number => (v > 0.04045 ? Math.pow((v + 0.055) / 1.055, 2.4) : v / 12.92);
  const f = (t: number): number => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  for (let p = 0; p < n; p++) {
    const r = lin(img.data[p * c]! * scale);
    const g = lin(img.data[p * c + (c === 3 ? 1 : 0)]! * scale);
    const b = lin(img.data[p * c + (c === 3 ? 2 : 0)]! * scale);
    const x = (0.412453 * r + 0.35758 * g + 0.180423 * b) / 0.95047;
    const y = 0.212671 * r + 0.71516 * g + 0.072169 * b;
    const z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883;
    const fx = f(x);
    const fy = f(y);
    const fz = f(z);
    out[p * 3] = y > 0.008856 ? 116 * fy - 16 : 903.3 * y;
    out[p * 3 + 1] = 500 * (fx - fy);
    out[p * 3 + 2] = 200 * (fy - fz);
  }
  return out;
}

/** Relabels `labels` to 0..K-1 in raster order of first appearance; returns K. */
export function relabel(labels: Int32Array): number {
  const map = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    let v = map.get(labels[i]!);
    if (v === undefined) map.set(labels[i]!, (v = map.size));
    labels[i] = v;
  }
  return map.size;
}
