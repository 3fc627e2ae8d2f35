/**
 * Quickshift superpixels (Vedaldi & Soatto 2008) as skimage `segmentation.quickshift` computes them (lime's
 * default segmentation: kernelSize 4, maxDist 200, ratio 0.2): Parzen density in the joint
 * (ratio·Lab, y, x) space over a 3·kernelSize window, each pixel linked to its nearest higher-density
 * neighbour in the window, links longer than maxDist cut, trees = segments. Ties are broken by a tiny
 * seeded noise on the densities, as skimage does.
 */
import { LimeError } from '../errors.js';
import { Rng } from '../random.js';
import { type HwcImage, checkImage, relabel, rgbToLab } from './image.js';

export interface QuickshiftOptions {
  /** Width of the Gaussian kernel (default 4 in lime, 5 in skimage). */
  readonly kernelSize?: number;
  /** Cut-off for links (default 200 in lime, 10 in skimage). */
  readonly maxDist?: number;
  /** Colour vs space balance (default 0.2 in lime, 1 in skimage). */
  readonly ratio?: number;
  readonly seed?: number;
}

export function quickshift(img: HwcImage, options: QuickshiftOptions = {}): { segments: Int32Array; count: number } {
  const { w, h } = checkImage(img);
  const ks = options.kernelSize ?? 4;
  const maxDist = options.maxDist ?? 200;
  const ratio = options.ratio ?? 0.2;
  if (!(ks > 0) || !(maxDist > 0) || !(ratio >= 0)) throw new LimeError('INVALID_INPUT', 'quickshift needs kernelSize > 0, maxDist > 0 and ratio >= 0.');
  const lab = rgbToLab(img);
  for (let i = 0; i < lab.length; i++) lab[i] *= ratio;
  const n = w * h;
  const inv = -0.5 / (ks * ks);
  const kw = Math.ceil(3 * ks);
  const dens = new Float64Array(n);
  for (let y = 0; y < h; y++) {
    const ya = Math.max(0, y - kw);
    const yb = Math.min(h, y + kw + 1);
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const L = lab[p * 3]!;
      const A = lab[p * 3 + 1]!;
      const B = lab[p * 3 + 2]!;
      const xa = Math.max(0, x - kw);
      const xb = Math.min(w, x + kw + 1);
      let s = 0;
      for (let yy = ya; yy < yb; yy++) {
        const dy = yy - y;
        for (let xx = xa; xx < xb; xx++) {
          const q = yy * w + xx;
          const dl = lab[q * 3]! - L;
          const da = lab[q * 3 + 1]! - A;
          const db = lab[q * 3 + 2]! - B;
          const dx = xx - x;
          s += Math.exp((dl * dl + da * da + db * db + dx * dx + dy * dy) * inv);
        }
      }
      dens[p] = s;
    }
  }
  const rng = new Rng(options.seed ?? 0);
  for (let p = 0; p < n; p++) dens[p] += rng.nextNormal() * 0.00001;
  const parent = new Int32Array(n);
  for (let y = 0; y < h; y++) {
    const ya = Math.max(0, y - kw);
    const yb = Math.min(h, y + kw + 1);
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const dp = dens[p]!;
      const L = lab[p * 3]!;
      const A = lab[p * 3 + 1]!;
      const B = lab[p * 3 + 2]!;
      const xa = Math.max(0, x - kw);
      const xb = Math.min(w, x + kw + 1);
      let closest = Infinity;
      let par = p;
      for (let yy = ya; yy < yb; yy++) {
        const dy = yy - y;
        for (let xx = xa; xx < xb; xx++) {
          const q = yy * w + xx;
          if (dens[q]! <= dp) continue;
          const dl = lab[q * 3]! - L;
          const da = lab[q * 3 + 1]! - A;
          const db = lab[q * 3 + 2]! - B;
          const dx = xx - x;
          const d = dl * dl + da * da + db * db + dx * dx + dy * dy;
          if (d < closest) {
            closest = d;
            par = q;
          }
        }
      }
      parent[p] = Math.sqrt(closest) > maxDist ? p : par;
    }
  }
  // flatten the forest
  const root = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    let r = p;
    while (parent[r] !== r) r = parent[r]!;
    let q = p;
    while (q !== r) {
      const nx = parent[q]!;
      parent[q] = r; // path compression keeps this linear
      q = nx;
    }
    root[p] = r;
  }
  const count = relabel(root);
  return { segments: root, count };
}
