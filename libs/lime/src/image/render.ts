/**
 * Rendering helpers for image explanations: lime's `get_image_and_mask` selection as a per-pixel mask, and
 * skimage-style `mark_boundaries` into an RGBA buffer (optionally tinting the explanation's superpixels).
 */
import type { Explanation } from '@genome/model-format';
import { LimeError } from '../errors.js';
import { type HwcImage, checkImage } from './image.js';

export interface MaskOptions {
  /** Index into the explanation's outputs (default 0 = the top label). */
  readonly output?: number;
  /** Only superpixels that push the output up (default true). */
  readonly positiveOnly?: boolean;
  readonly negativeOnly?: boolean;
  /** Default 5. */
  readonly numFeatures?: number;
  /** Default 0. */
  readonly minWeight?: number;
}

/** Per-pixel mask: 1 for selected positive superpixels, -1 for negative ones (when not positiveOnly), else 0. */
export function explanationMask(e: Explanation, options: MaskOptions = {}): Int8Array {
  const d = e.details as { segments?: number[]; explanations?: { segment: number; weight: number }[][][] } | undefined;
  if (e.method !== 'lime.image' || !d?.segments || !d.explanations) throw new LimeError('INVALID_INPUT', 'explanationMask needs a lime.image explanation.');
  const o = options.output ?? 0;
  const list = d.explanations[0]![o];
  if (!list) throw new LimeError('INVALID_INPUT', `The explanation has no output ${o}.`);
  const pos = options.positiveOnly ?? true;
  const neg = options.negativeOnly ?? false;
  if (pos && neg) throw new LimeError('INVALID_INPUT', 'positiveOnly and negativeOnly cannot both be true.');
  const k = options.numFeatures ?? 5;
  const minW = options.minWeight ?? 0;
  const sign = new Map<number, number>();
  if (pos || neg) {
    const fs = list.filter((x) => (pos ? x.weight > 0 && x.weight > minW : x.weight < 0 && Math.abs(x.weight) > minW)).slice(0, k);
    for (const f of fs) sign.set(f.segment, 1);
  } else {
    for (const f of list.slice(0, k)) if (Math.abs(f.weight) >= minW) sign.set(f.segment, f.weight < 0 ? -1 : 1);
  }
  const mask = new Int8Array(d.segments.length);
  for (let p = 0; p < mask.length; p++) mask[p] = sign.get(d.segments[p]!) ?? 0;
  return mask;
}

export interface BoundaryOptions {
  /** RGB 0..255 of boundaries (default yellow [255, 255, 0], skimage's default). */
  readonly color?: readonly number[];
  /** Optional mask (from {@link explanationMask}): 1 tinted green, -1 tinted red. */
  readonly mask?: Int8Array;
  /** Tint strength 0..1 (default 0.5). */
  readonly alpha?: number;
}

/**
 * RGBA (Uint8ClampedArray, width*height*4) rendering of `image` with superpixel boundaries: a pixel is a
 * boundary when a 4-neighbour has another label (skimage `mark_boundaries(mode='thick')`).
 */
export function renderBoundaries(image: HwcImage, segments: ArrayLike<number>, options: BoundaryOptions = {}): Uint8ClampedArray {
  const { w, h, c } = checkImage(image);
  if (segments.length !== w * h) throw new LimeError('INVALID_INPUT', `segments has ${segments.length} labels for ${w * h} pixels.`);
  const color = options.color ?? [255, 255, 0];
  const alpha = options.alpha ?? 0.5;
  const mask = options.mask;
  if (mask && mask.length !== w * h) throw new LimeError('INVALID_INPUT', 'mask must have one entry per pixel.');
  let scale = 1;
  if (!(image.data instanceof Uint8Array || image.data instanceof Uint8ClampedArray)) {
    let mx = 0;
    for (let i = 0; i < image.data.length; i++) if (image.data[i]! > mx) mx = image.data[i]!;
    scale = mx > 1 ? 1 : 255;
  }
  const out = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      let r = image.data[p * c]! * scale;
      let g = image.data[p * c + (c === 3 ? 1 : 0)]! * scale;
      let b = image.data[p * c + (c === 3 ? 2 : 0)]! * scale;
      if (mask && mask[p] === 1) g = g * (1 - alpha) + 255 * alpha;
      else if (mask && mask[p] === -1) r = r * (1 - alpha) + 255 * alpha;
      const s = segments[p]!;
      const boundary =
        (x + 1 < w && segments[p + 1] !== s) || (x > 0 && segments[p - 1] !== s) || (y + 1 < h && segments[p + w] !== s) || (y > 0 && segments[p - w] !== s);
      if (boundary) {
        r = color[0]!;
        g = color[1]!;
        b = color[2]!;
      }
      out[p * 4] = r;
      out[p * 4 + 1] = g;
      out[p * 4 + 2] = b;
      out[p * 4 + 3] = 255;
    }
  }
  return out;
}
