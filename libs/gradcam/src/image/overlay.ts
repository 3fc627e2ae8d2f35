/** Heatmap rendering for UIs: jet colormap and alpha blending over the source image, encoded as PNG. */
import { resizeBilinear } from '../cam/resize.js';
import { encodePng, type RgbaImage } from './decode.js';
import type { ResizeWindow } from './preprocess.js';

/** Jet colormap (MATLAB / OpenCV COLORMAP_JET shape) of a value in [0, 1] -> [r, g, b] bytes. */
export function jet(v: number, out: Uint8Array | number[] = [0, 0, 0], o = 0): Uint8Array | number[] {
  const x = v < 0 ? 0 : v > 1 ? 1 : v;
  const f = (t: number): number => Math.round(255 * Math.min(Math.max(1.5 - Math.abs(4 * x - t), 0), 1));
  out[o] = f(3);
  out[o + 1] = f(2);
  out[o + 2] = f(1);
  return out;
}

export interface OverlayOptions {
  /** Heatmap opacity in [0, 1] (default 0.5). */
  alpha?: number;
  /** Where the model input came from in the image (from preprocessing); default the whole image. */
  window?: ResizeWindow;
}

/**
 * Blends a [0, 1] heatmap (`hmH x hmW`, covering `window` of the image) over `image`:
 * `out = (1 - alpha) * image + alpha * jet(heat)`. Pixels outside the window keep the image.
 */
export function overlayHeatmap(image: RgbaImage, heatmap: ArrayLike<number>, hmH: number, hmW: number, options: OverlayOptions = {}): RgbaImage {
  const alpha = Math.min(Math.max(options.alpha ?? 0.5, 0), 1);
  const win = options.window ?? { x: 0, y: 0, w: image.width, h: image.height };
  const { width: W, height: H } = image;
  const out = new Uint8Array(W * H * 4);
  const rgb = new Uint8Array(3);
  // sample the heatmap at image pixels: map pixel centre into heatmap coordinates (half-pixel)
  const full = win.x === 0 && win.y === 0 && win.w === W && win.h === H;
  const hm = full ? resizeBilinear(heatmap, hmH, hmW, H, W, false) : undefined;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      let v: number;
      if (hm) v = hm[y * W + x]!;
      else {
        const u = ((x + 0.5 - win.x) / win.w) * hmW - 0.5;
        const t = ((y + 0.5 - win.y) / win.h) * hmH - 0.5;
        if (u < -0.5 || t < -0.5 || u > hmW - 0.5 || t > hmH - 0.5) v = Number.NaN;
        else {
          const uc = Math.min(Math.max(u, 0), hmW - 1), tc = Math.min(Math.max(t, 0), hmH - 1);
          const x0 = Math.floor(uc), y0 = Math.floor(tc), x1 = Math.min(x0 + 1, hmW - 1), y1 = Math.min(y0 + 1, hmH - 1);
          const ax = uc - x0, ay = tc - y0;
          const top = heatmap[y0 * hmW + x0]! + (heatmap[y0 * hmW + x1]! - heatmap[y0 * hmW + x0]!) * ax;
          const bot = heatmap[y1 * hmW + x0]! + (heatmap[y1 * hmW + x1]! - heatmap[y1 * hmW + x0]!) * ax;
          v = top + (bot - top) * ay;
        }
      }
      if (Number.isNaN(v)) {
        out[i] = image.data[i]!;
        out[i + 1] = image.data[i + 1]!;
        out[i + 2] = image.data[i + 2]!;
      } else {
        jet(v, rgb);
        for (let c = 0; c < 3; c++) out[i + c] = Math.round((1 - alpha) * image.data[i + c]! + alpha * rgb[c]!);
      }
      out[i + 3] = 255;
    }
  }
  return { width: W, height: H, data: out };
}

/** {@link overlayHeatmap} encoded as PNG bytes. */
export function overlayPng(image: RgbaImage, heatmap: ArrayLike<number>, hmH: number, hmW: number, options: OverlayOptions = {}): Uint8Array {
  return encodePng(overlayHeatmap(image, heatmap, hmH, hmW, options));
}

/** The heatmap alone as a jet-coloured PNG (`hmW x hmH`). */
export function heatmapPng(heatmap: ArrayLike<number>, hmH: number, hmW: number): Uint8Array {
  const data = new Uint8Array(hmW * hmH * 4);
  const rgb = new Uint8Array(3);
  for (let i = 0; i < hmW * hmH; i++) {
    jet(heatmap[i]!, rgb);
    data.set(rgb, i * 4);
    data[i * 4 + 3] = 255;
  }
  return encodePng({ width: hmW, height: hmH, data });
}
