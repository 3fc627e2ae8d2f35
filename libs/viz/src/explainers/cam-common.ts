/**
 * Shared pieces of the CAM charts: reading a CAM row out of a `cam.<method>` explanation (gradcam's
 * `camExplanation` layout), the caller's input image, and the heatmap layer drawn over it.
 */
import type { Explanation } from '@genome/model-format';
import { VizError } from '../errors.js';
import { linearScale, axis } from '../core/axis.js';
import { invalid } from '../core/chart.js';
import { heatColor, heatRgb, palette } from '../core/palette.js';
import { el, text } from '../core/svg.js';
import { dataUri, encodePng, isJpeg, isPng, jpegSize, pngSize } from './png-encode.js';

/** Largest image side (px) the CAM charts accept, for the input image and the heatmap. */
export const MAX_IMAGE_SIDE = 4096;

/** Raw pixels (row-major, 1 = grey, 3 = RGB or 4 = RGBA bytes per pixel) or encoded PNG / JPEG bytes. */
export type CamImage =
  | Uint8Array
  | { readonly width: number; readonly height: number; readonly data: Uint8Array | Uint8ClampedArray | readonly number[] };

/** Display names of gradcam's methods (pytorch-grad-cam spelling in `method: cam.<name>`). */
export const CAM_METHOD_NAMES: Readonly<Record<string, string>> = {
  gradcam: 'Grad-CAM',
  'gradcam++': 'Grad-CAM++',
  xgradcam: 'XGrad-CAM',
  hirescam: 'HiResCAM',
  layercam: 'LayerCAM',
  scorecam: 'Score-CAM',
  ablationcam: 'Ablation-CAM',
  eigencam: 'Eigen-CAM',
};


/** The CAM method of an explanation (`cam.gradcam` or a bare `gradcam`), or throws UNSUPPORTED naming the method. */
export function camMethodOf(e: Explanation, chart: string): string {
  const m = e.method.startsWith('cam.') ? e.method.slice(4) : e.method;
  if (m in CAM_METHOD_NAMES) return m;
  throw new VizError(
    'UNSUPPORTED',
    `${chart} draws class activation maps (method cam.gradcam, cam.gradcam++, cam.scorecam, ...); this explanation's method is ${JSON.stringify(e.method.slice(0, 80))}`,
  );
}

export interface CamRowInfo {
  method: string;
  methodLabel: string;
  /** The explained target's label (`class 7`, an output name). */
  label: string;
  classIndex?: number;
  score: number;
  /** Index of the explained image in the batch (`details.rows[r].image`). */
  image: number;
  layer?: string;
  /** Heatmap in [0, 1], row-major. */
  heat: Float64Array;
  heatWidth: number;
  heatHeight: number;
  /** Range of the CAM (after ReLU) the heatmap was scaled from. */
  camMin: number;
  camMax: number;
  /** Model input size and resize mode, when the explanation records its preprocessing. */
  preprocessing?: { width: number; height: number; resize: string };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function grid(x: unknown, name: string): { h: number; w: number; data: Float64Array } | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x) || x.length === 0 || !Array.isArray(x[0])) invalid(`${name} must be a non-empty number[][] map`);
  const h = x.length;
  const w = (x[0] as unknown[]).length;
  if (w === 0 || h > MAX_IMAGE_SIDE || w > MAX_IMAGE_SIDE) invalid(`${name} is ${h}x${w}; maps must be between 1x1 and ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE}`);
  const data = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const row = x[y] as unknown;
    if (!Array.isArray(row) || row.length !== w) invalid(`${name}[${y}] must have ${w} numbers like the first row`);
    for (let i = 0; i < w; i++) {
      const v = row[i];
      if (typeof v !== 'number') invalid(`${name}[${y}][${i}] must be a number`);
      data[y * w + i] = Number.isFinite(v) ? v : 0;
    }
  }
  return { h, w, data };
}

function minMax(a: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** Reads row `r` of a CAM explanation: the target, score, map range and the heatmap (or the CAM, scaled, when the heatmap was left out). */
export function camRow(e: Explanation, r: number, method: string): CamRowInfo {
  const details = isRecord(e.details) ? e.details : {};
  const rows = Array.isArray(details.rows) ? details.rows : undefined;
  const d = rows && isRecord(rows[r]) ? (rows[r] as Record<string, unknown>) : {};
  const target = isRecord(d.target) ? d.target : {};
  const classIndex = typeof target.class === 'number' ? target.class : undefined;
  const label = typeof target.label === 'string' ? target.label : classIndex !== undefined ? `class ${classIndex}` : (e.outputNames[0] ?? 'target');
  const score = typeof d.score === 'number' ? d.score : (e.predictions?.[r]?.[0] ?? Number.NaN);
  const image = typeof d.image === 'number' && Number.isInteger(d.image) && d.image >= 0 ? d.image : r;
  // the CAM itself: details.rows[r].cam, else the explanation's values (one feature per CAM cell)
  let cam = grid(d.cam, `details.rows[${r}].cam`);
  if (!cam) {
    const h = details.camHeight;
    const w = details.camWidth;
    const values = e.values[r]!;
    if (typeof h !== 'number' || typeof w !== 'number' || !Number.isInteger(h) || !Number.isInteger(w) || h * w !== values.length || h < 1) {
      invalid('a CAM explanation needs details.rows[r].cam or details.camHeight x details.camWidth matching its features');
    }
    cam = { h, w, data: Float64Array.from(values, (c) => (Number.isFinite(c[0]!) ? c[0]! : 0)) };
  }
  const [camMin, camMax] = minMax(cam.data);
  let heatmap = grid(d.heatmap, `details.rows[${r}].heatmap`);
  if (heatmap) {
    const [lo, hi] = minMax(heatmap.data);
    if (lo < 0 || hi > 1) {
      // not the documented [0, 1] scaling: scale it here
      const span = hi - lo || 1;
      heatmap = { ...heatmap, data: heatmap.data.map((v) => (v - lo) / span) };
    }
  } else {
    const span = camMax - camMin;
    heatmap = { h: cam.h, w: cam.w, data: cam.data.map((v) => (span > 0 ? (v - camMin) / (span + 1e-7) : 0)) };
  }
  const params = isRecord(e.parameters) ? e.parameters : {};
  const pre = isRecord(params.preprocessing) ? params.preprocessing : undefined;
  const preprocessing =
    pre && typeof pre.width === 'number' && typeof pre.height === 'number' && pre.width > 0 && pre.height > 0
      ? { width: pre.width, height: pre.height, resize: typeof pre.resize === 'string' ? pre.resize : 'stretch' }
      : undefined;
  const layer = typeof details.layer === 'string' ? details.layer : typeof params.layer === 'string' ? params.layer : undefined;
  return {
    method,
    methodLabel: CAM_METHOD_NAMES[method] ?? method,
    label,
    ...(classIndex !== undefined ? { classIndex } : {}),
    score,
    image,
    ...(layer !== undefined ? { layer } : {}),
    heat: heatmap.data,
    heatWidth: heatmap.w,
    heatHeight: heatmap.h,
    camMin,
    camMax,
    ...(preprocessing ? { preprocessing } : {}),
  };
}

/** An image ready to embed: its `data:` URI and pixel size. */
export interface EmbeddedImage {
  href: string;
  width: number;
  height: number;
  /** The encoded bytes behind `href` (PNG or JPEG). */
  bytes: Uint8Array;
}

function checkSide(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) invalid(`${what} must have a positive integer width and height, got ${width}x${height}`);
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    invalid(`${what} is ${width}x${height} pixels; the CAM charts take images up to ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE} (downscale it first)`);
  }
}

/** Checks the caller's image and turns it into an embeddable PNG / JPEG (raw pixels are encoded as PNG; encoded bytes are passed through). */
export function embedImage(image: unknown, what = 'options.image'): EmbeddedImage {
  if (image instanceof Uint8Array) {
    if (isPng(image)) {
      const size = pngSize(image);
      if (!size) invalid(`${what} looks like a PNG but its IHDR header is malformed`);
      checkSide(size.width, size.height, what);
      return { href: dataUri(image, 'image/png'), ...size, bytes: image };
    }
    if (isJpeg(image)) {
      const size = jpegSize(image);
      if (!size) invalid(`${what} looks like a JPEG but has no frame header (SOF) with its size`);
      checkSide(size.width, size.height, what);
      return { href: dataUri(image, 'image/jpeg'), ...size, bytes: image };
    }
    invalid(`${what} bytes are neither PNG nor JPEG; pass encoded PNG/JPEG bytes or { width, height, data } pixels`);
  }
  if (!isRecord(image)) invalid(`${what} must be PNG/JPEG bytes (Uint8Array) or { width, height, data } with RGB or RGBA bytes`);
  const { width, height, data } = image as { width: unknown; height: unknown; data: unknown };
  if (typeof width !== 'number' || typeof height !== 'number') invalid(`${what}.width and ${what}.height must be numbers`);
  checkSide(width, height, what);
  const isBytes = data instanceof Uint8Array || data instanceof Uint8ClampedArray;
  if (!isBytes && !Array.isArray(data)) invalid(`${what}.data must be a Uint8Array or number[] of pixel bytes`);
  const src = data as ArrayLike<number>;
  const n = width * height;
  const channels = src.length / n;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    invalid(`${what}.data has ${src.length} values for ${width}x${height} pixels; expected ${n} (grey), ${3 * n} (RGB) or ${4 * n} (RGBA)`);
  }
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = channels === 1 ? src[i]! : src[i * channels + c]!;
      if (!isBytes && (typeof v !== 'number' || !Number.isFinite(v))) invalid(`${what}.data[${i * channels + c}] must be a number in [0, 255]`);
      rgba[i * 4 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
    const a = channels === 4 ? src[i * 4 + 3]! : 255;
    rgba[i * 4 + 3] = a < 0 ? 0 : a > 255 ? 255 : Math.round(a);
  }
  const bytes = encodePng(width, height, rgba, 4);
  return { href: dataUri(bytes), width, height, bytes };
}

let lut: Uint8Array | undefined;
/** Inferno as a 256-entry RGB lookup table (a 4096² heatmap costs a table lookup per pixel, not an interpolation). */
function infernoLut(): Uint8Array {
  if (!lut) {
    lut = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) lut.set(heatRgb(i / 255), i * 3);
  }
  return lut;
}

/** The heatmap (values in [0, 1]) coloured with inferno, as an opaque PNG of the heatmap's own size. */
export function heatmapPng(heat: ArrayLike<number>, width: number, height: number): Uint8Array {
  const table = infernoLut();
  const px = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = heat[i]!;
    const k = Math.round((Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0) * 255) * 3;
    px[i * 3] = table[k]!;
    px[i * 3 + 1] = table[k + 1]!;
    px[i * 3 + 2] = table[k + 2]!;
  }
  return encodePng(width, height, px, 3);
}

/** Where the model input came from in the image (gradcam's `resizeWindow`): stretch = all of it; center-crop and letterbox scale uniformly. */
export function inputWindow(img: { width: number; height: number }, pre: CamRowInfo['preprocessing']): { x: number; y: number; w: number; h: number } {
  if (!pre || (pre.resize !== 'center-crop' && pre.resize !== 'letterbox')) return { x: 0, y: 0, w: img.width, h: img.height };
  const sx = pre.width / img.width;
  const sy = pre.height / img.height;
  const s = pre.resize === 'center-crop' ? Math.max(sx, sy) : Math.min(sx, sy);
  const w = pre.width / s;
  const h = pre.height / s;
  return { x: (img.width - w) / 2, y: (img.height - h) / 2, w, h };
}

/** Aspect ratio (height / width) a CAM picture is drawn with: the image's, or the heatmap's when no image is given. */
export function pictureAspect(row: CamRowInfo, image?: EmbeddedImage): number {
  return image ? image.height / image.width : row.heatHeight / row.heatWidth;
}

/**
 * The picture of one CAM: the image (when given) filling the box, the inferno heatmap on top at `alpha` (at full
 * opacity without an image), mapped onto the part of the image the model saw and clipped to the box.
 */
export function camPicture(id: string, x: number, y: number, w: number, h: number, row: CamRowInfo, alpha: number, image?: EmbeddedImage): string {
  const heatHref = dataUri(heatmapPng(row.heat, row.heatWidth, row.heatHeight));
  const parts: string[] = [];
  let hx = x, hy = y, hw = w, hh = h;
  if (image) {
    parts.push(el('image', { class: 'cam-image', x, y, width: w, height: h, preserveAspectRatio: 'none', href: image.href }));
    const win = inputWindow(image, row.preprocessing);
    const sx = w / image.width;
    const sy = h / image.height;
    hx = x + win.x * sx;
    hy = y + win.y * sy;
    hw = win.w * sx;
    hh = win.h * sy;
  }
  parts.push(
    el('clipPath', { id: `${id}-clip` }, el('rect', { x, y, width: w, height: h })),
    el(
      'g',
      { 'clip-path': `url(#${id}-clip)` },
      el('image', { class: 'cam-heatmap', x: hx, y: hy, width: hw, height: hh, preserveAspectRatio: 'none', opacity: image ? alpha : 1, href: heatHref }),
    ),
    el('rect', { class: 'cam-frame', x, y, width: w, height: h, fill: 'none', stroke: palette.axis, 'stroke-width': 0.5 }),
  );
  return el('g', { class: 'cam-picture', 'data-target': row.label }, ...parts);
}

/** A horizontal inferno colour bar over `[lo, hi]` with d3 ticks, at (x, y), `w` wide. */
export function colorBar(id: string, x: number, y: number, w: number, lo: number, hi: number, label: string, fontSize: number): string {
  const stops: string[] = [];
  for (let i = 0; i <= 10; i++) stops.push(el('stop', { offset: `${i * 10}%`, 'stop-color': heatColor(i / 10) }));
  const barH = 12;
  const scale = linearScale([lo, hi], [x, x + w], { nice: false });
  return el(
    'g',
    { class: 'colorbar' },
    el('defs', {}, el('linearGradient', { id: `${id}-grad`, x1: '0%', x2: '100%', y1: '0%', y2: '0%' }, ...stops)),
    el('rect', { class: 'colorbar-ramp', x, y, width: w, height: barH, fill: `url(#${id}-grad)`, stroke: palette.axis, 'stroke-width': 0.5 }),
    axis({ scale, orient: 'bottom', at: y + barH, ticks: Math.max(2, Math.min(6, Math.floor(w / 60))), fontSize: Math.max(8, fontSize - 2) }),
    text(x + w / 2, y + barH + 2 * fontSize + 8, label, { 'text-anchor': 'middle', fill: palette.mutedText, 'font-size': Math.max(8, fontSize - 1), class: 'colorbar-label' }),
  );
}

/** Height the colour bar takes (ramp, ticks and label). */
export function colorBarHeight(fontSize: number): number {
  return 12 + 2 * fontSize + 14;
}

