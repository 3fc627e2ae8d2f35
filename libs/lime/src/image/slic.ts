/**
 * SLIC superpixels (Achanta et al. 2012) in CIELAB, as skimage `segmentation.slic` computes them by default:
 * `nSegments` grid-initialised centres, distance (dc/compactness)² + (ds/step)², 2·step search windows,
 * `maxIter` k-means iterations, then connectivity enforcement merging components smaller than
 * `minSizeFactor` × the mean segment size into an adjacent segment.
 */
import { LimeError } from '../errors.js';
import { type HwcImage, checkImage, relabel, rgbToLab } from './image.js';

export interface SlicOptions {
  /** Approximate number of segments (default 100). */
  readonly nSegments?: number;
  /** Colour vs space trade-off (default 10; larger = squarer). */
  readonly compactness?: number;
  /** Default 10. */
  readonly maxIter?: number;
  /** Default true. */
  readonly enforceConnectivity?: boolean;
  /** Default 0.5. */
  readonly minSizeFactor?: number;
}

/** Returns the label of every pixel (row-major, 0..K-1) and K. */
export function slic(img: HwcImage, options: SlicOptions = {}): { segments: Int32Array; count: number } {
  const { w, h } = checkImage(img);
  const nSeg = options.nSegments ?? 100;
  const m = options.compactness ?? 10;
  const maxIter = options.maxIter ?? 10;
  if (!Number.isInteger(nSeg) || nSeg < 1) throw new LimeError('INVALID_INPUT', `nSegments must be a positive integer, got ${nSeg}.`);
  if (!(m > 0)) throw new LimeError('INVALID_INPUT', `compactness must be > 0, got ${m}.`);
  const lab = rgbToLab(img);
  const n = w * h;
  const step = Math.max(1, Math.sqrt(n / nSeg));
  const gx = Math.max(1, Math.round(w / step));
  const gy = Math.max(1, Math.round(h / step));
  const K = gx * gy;
  const cy = new Float64Array(K);
  const cx = new Float64Array(K);
  const cl = new Float64Array(K * 3);
  for (let j = 0; j < gy; j++) {
    for (let i = 0; i < gx; i++) {
      const k = j * gx + i;
      cy[k] = Math.min(h - 1, ((j + 0.5) * h) / gy);
      cx[k] = Math.min(w - 1, ((i + 0.5) * w) / gx);
      const p = Math.floor(cy[k]!) * w + Math.floor(cx[k]!);
      cl[k * 3] = lab[p * 3]!;
      cl[k * 3 + 1] = lab[p * 3 + 1]!;
      cl[k * 3 + 2] = lab[p * 3 + 2]!;
    }
  }
  const S = Math.max(h / gy, w / gx);
  const spatial = 1 / (S * S);
  const colour = 1 / (m * m);
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  const sum = new Float64Array(K * 6);
  for (let iter = 0; iter < maxIter; iter++) {
    dist.fill(Infinity);
    let changed = false;
    for (let k = 0; k < K; k++) {
      const y0 = Math.max(0, Math.floor(cy[k]! - 2 * S));
      const y1 = Math.min(h - 1, Math.ceil(cy[k]! + 2 * S));
      const x0 = Math.max(0, Math.floor(cx[k]! - 2 * S));
      const x1 = Math.min(w - 1, Math.ceil(cx[k]! + 2 * S));
      const L = cl[k * 3]!;
      const A = cl[k * 3 + 1]!;
      const B = cl[k * 3 + 2]!;
      for (let y = y0; y <= y1; y++) {
        const dy = y - cy[k]!;
        for (let x = x0; x <= x1; x++) {
          const p = y * w + x;
          const dx = x - cx[k]!;
          const dl = lab[p * 3]! - L;
          const da = lab[p * 3 + 1]! - A;
          const db = lab[p * 3 + 2]! - B;
          const D = (dl * dl + da * da + db * db) * colour + (dx * dx + dy * dy) * spatial;
          if (D < dist[p]!) {
            dist[p] = D;
            if (labels[p] !== k) {
              labels[p] = k;
              changed = true;
            }
          }
        }
      }
    }
    sum.fill(0);
    for (let p = 0; p < n; p++) {
      const k = labels[p]!;
      if (k < 0) continue;
      sum[k * 6] += Math.floor(p / w);
      sum[k * 6 + 1] += p % w;
      sum[k * 6 + 2] += lab[p * 3]!;
      sum[k * 6 + 3] += lab[p * 3 + 1]!;
      sum[k * 6 + 4] += lab[p * 3 + 2]!;
      sum[k * 6 + 5]++;
    }
    for (let k = 0; k < K; k++) {
      const c = sum[k * 6 + 5]!;
      if (c === 0) continue;
      cy[k] = sum[k * 6]! / c;
      cx[k] = sum[k * 6 + 1]! / c;
      cl[k * 3] = sum[k * 6 + 2]! / c;
      cl[k * 3 + 1] = sum[k * 6 + 3]! / c;
      cl[k * 3 + 2] = sum[k * 6 + 4]! / c;
    }
    if (!changed) break;
  }
  for (let p = 0; p < n; p++) if (labels[p]! < 0) labels[p] = 0;
  if (options.enforceConnectivity ?? true) {
    const minSize = Math.floor(((options.minSizeFactor ?? 0.5) * n) / K);
    return enforceConnectivity(labels, w, h, minSize);
  }
  const count = relabel(labels);
  return { segments: labels, count };
}

/**
 * Splits every label into 4-connected components; components smaller than `minSize` join the adjacent
 * component met first in raster order (the original SLIC post-processing).
 */
export function enforceConnectivity(labels: Int32Array, w: number, h: number, minSize: number): { segments: Int32Array; count: number } {
  const n = w * h;
  const out = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let next = 0;
  const dx = [1, -1, 0, 0];
  const dy = [0, 0, 1, -1];
  for (let start = 0; start < n; start++) {
    if (out[start]! >= 0) continue;
    // an adjacent, already labelled component to merge into if this one is too small
    let adjacent = -1;
    const sy = Math.floor(start / w);
    const sx = start % w;
    for (let d = 0; d < 4; d++) {
      const x = sx + dx[d]!;
      const y = sy + dy[d]!;
      if (x >= 0 && x < w && y >= 0 && y < h && out[y * w + x]! >= 0) {
        adjacent = out[y * w + x]!;
        break;
      }
    }
    const lab = labels[start]!;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    out[start] = next;
    while (head < tail) {
      const p = queue[head++]!;
      const py = Math.floor(p / w);
      const px = p % w;
      for (let d = 0; d < 4; d++) {
        const x = px + dx[d]!;
        const y = py + dy[d]!;
        if (x < 0 || x >= w || y < 0 || y >= h) continue;
        const q = y * w + x;
        if (out[q]! < 0 && labels[q] === lab) {
          out[q] = next;
          queue[tail++] = q;
        }
      }
    }
    if (tail < minSize && adjacent >= 0) {
      for (let i = 0; i < tail; i++) out[queue[i]!] = adjacent;
    } else next++;
  }
  const count = relabel(out);
  return { segments: out, count };
}
