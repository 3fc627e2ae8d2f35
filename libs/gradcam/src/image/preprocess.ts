/**
 * Image preprocessing with the Genome package's image block (`GenomeImageInput`: width, height, channels,
 * layout, channelOrder, scale, mean, std, resize): resize (bilinear, half-pixel), channel order, scale, then
 * per-channel `(x * scale - mean) / std`, laid out NCHW or NHWC.
 */
import type { GenomeImageInput } from '@genome/model-format';
import { GradCamError } from '../errors.js';
import type { RgbaImage } from './decode.js';

export type ImagePreprocessing = GenomeImageInput;

/** The region of the source image that ends up in the model input (for mapping heatmaps back). */
export interface ResizeWindow {
  /** Source rectangle (pixels, may extend outside the image for letterbox). */
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export function resizeWindow(img: RgbaImage, p: ImagePreprocessing): ResizeWindow {
  const mode = p.resize ?? 'stretch';
  if (mode === 'stretch') return { x: 0, y: 0, w: img.width, h: img.height };
  const sx = p.width / img.width;
  const sy = p.height / img.height;
  const s = mode === 'center-crop' ? Math.max(sx, sy) : Math.min(sx, sy);
  const w = p.width / s;
  const h = p.height / s;
  return { x: (img.width - w) / 2, y: (img.height - h) / 2, w, h };
}

function sample(img: RgbaImage, fx: number, fy: number, ch: number): number {
  // bilinear at continuous pixel coordinates; outside the image = 0 (letterbox padding)
  if (fx < -0.5 || fy < -0.5 || fx > img.width - 0.5 || fy > img.height - 0.5) return 0;
  const x = Math.min(Math.max(fx, 0), img.width - 1);
  const y = Math.min(Math.max(fy, 0), img.height - 1);
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, img.width - 1), y1 = Math.min(y0 + 1, img.height - 1);
  const ax = x - x0, ay = y - y0;
  const d = img.data;
  const w = img.width;
  const a = d[(y0 * w + x0) * 4 + ch]!, b = d[(y0 * w + x1) * 4 + ch]!;
  const c = d[(y1 * w + x0) * 4 + ch]!, e = d[(y1 * w + x1) * 4 + ch]!;
  const top = a + (b - a) * ax;
  return top + (c + (e - c) * ax - top) * ay;
}

/** Preprocesses decoded images into one batch tensor (Float32Array) in the declared layout. */
export function preprocessImages(images: readonly RgbaImage[], p: ImagePreprocessing): Float32Array {
  const { width: W, height: H, channels: C } = p;
  if (!(W > 0 && H > 0) || ![1, 3, 4].includes(C)) throw new GradCamError('INVALID_INPUT', 'Preprocessing needs width, height > 0 and channels of 1, 3 or 4.');
  const order = p.channelOrder ?? (C === 1 ? 'GRAY' : C === 4 ? 'RGBA' : 'RGB');
  const expected = order === 'GRAY' ? 1 : order === 'RGBA' ? 4 : 3;
  if (expected !== C) throw new GradCamError('INVALID_INPUT', `channelOrder ${order} has ${expected} channels but channels is ${C}.`);
  for (const k of ['mean', 'std'] as const) {
    const v = p[k];
    if (v && v.length !== 1 && v.length !== C) throw new GradCamError('INVALID_INPUT', `${k} must have 1 or ${C} values, got ${v.length}.`);
  }
  const scale = p.scale ?? 1;
  const per = W * H * C;
  const out = new Float32Array(images.length * per);
  const src = [0, 1, 2, 3];
  if (order === 'BGR') src.splice(0, 3, 2, 1, 0);
  const mean = Float64Array.from({ length: C }, (_, c) => p.mean?.[p.mean.length === 1 ? 0 : c] ?? 0);
  const std = Float64Array.from({ length: C }, (_, c) => p.std?.[p.std.length === 1 ? 0 : c] ?? 1);
  const px = new Float64Array(4);
  images.forEach((img, n) => {
    const win = resizeWindow(img, p);
    const o = n * per;
    for (let y = 0; y < H; y++) {
      const fy = win.y + ((y + 0.5) * win.h) / H - 0.5;
      for (let x = 0; x < W; x++) {
        const fx = win.x + ((x + 0.5) * win.w) / W - 0.5;
        for (let ch = 0; ch < 4; ch++) px[ch] = sample(img, fx, fy, ch);
        for (let c = 0; c < C; c++) {
          const raw = order === 'GRAY' ? 0.299 * px[0]! + 0.587 * px[1]! + 0.114 * px[2]! : px[src[c]!]!;
          const v = (raw * scale - mean[c]!) / std[c]!;
          const idx = p.layout === 'NCHW' ? o + c * H * W + y * W + x : o + (y * W + x) * C + c;
          out[idx] = v;
        }
      }
    }
  });
  return out;
}
