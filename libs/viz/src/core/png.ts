/**
 * SVG -> PNG in Node with resvg (`@resvg/resvg-js`, whose native binary ships inside its npm package; no browser,
 * no system libraries), on a worker thread. Text is drawn with DejaVu Sans from the `dejavu-fonts-ttf` package
 * (bundled, so a PNG looks the same on every machine; system fonts are not read). resvg is loaded on first use, so
 * SVG-only users never load a native module.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { VizError } from '../errors.js';

export interface PngOptions {
  /** Pixel density: 2 renders a 600 px wide chart as 1200 px (default 1). */
  scale?: number;
  /** Background colour (default: the chart's own white background). */
  background?: string;
  /** Largest picture accepted, in pixels after scaling (default 4096 x 4096). */
  maxPixels?: number;
  /** Cancels the render. */
  signal?: AbortSignal;
}

/** Default bound on the pixels of one PNG (width x height after scaling): 4096 x 4096, 64 MiB of RGBA. */
export const DEFAULT_MAX_PNG_PIXELS = 4096 * 4096;

/** The `width` and `height` of an SVG document's root element, in px. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const read = (name: string) => Number(new RegExp(`\\s${name}="([0-9.]+)(?:px)?"`).exec(root)?.[1] ?? NaN);
  return { width: read('width'), height: read('height') };
}

export interface RasterImage {
  png: Uint8Array;
  width: number;
  height: number;
}

type ResvgModule = typeof import('@resvg/resvg-js');
let resvg: Promise<ResvgModule> | undefined;
let fonts: string[] | undefined;

function fontFiles(): string[] {
  if (!fonts) {
    const require = createRequire(import.meta.url);
    fonts = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSansMono.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));
  }
  return fonts;
}

function missing(cause: unknown): VizError {
  return new VizError('MISSING_DEPENDENCY', 'PNG output needs @resvg/resvg-js and its platform binary; install it with `npm install @resvg/resvg-js` (SVG output works without it)', { cause });
}

function load(): Promise<ResvgModule> {
  resvg ??= import('@resvg/resvg-js').catch((cause: unknown) => {
    resvg = undefined;
    throw missing(cause);
  });
  return resvg;
}

/**
 * The rasteriser's worker thread: resvg parses, draws and encodes there (the PNG encoding alone takes about 20 ms
 * per million pixels, too long for a server's event loop). One worker per process, started on first use, jobs in
 * order; it does not keep the process alive. The code is plain CommonJS, so it runs from source and from dist.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
let resvg;
try { resvg = require(workerData.resvg); } catch (e) { resvg = e; }
parentPort.on('message', ({ id, svg, options }) => {
  if (resvg instanceof Error) return parentPort.postMessage({ id, missing: resvg.message });
  try {
    const image = new resvg.Resvg(svg, options).render();
    const png = image.asPng();
    const out = new Uint8Array(png.buffer, png.byteOffset, png.byteLength).slice();
    parentPort.postMessage({ id, png: out, width: image.width, height: image.height }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

interface WorkerAnswer {
  id: number;
  png?: Uint8Array;
  width?: number;
  height?: number;
  error?: string;
  missing?: string;
}

let worker: Worker | undefined;
let nextJob = 1;
const jobs = new Map<number, { resolve: (a: WorkerAnswer) => void; reject: (e: unknown) => void }>();

function rasteriser(): Worker {
  if (worker) return worker;
  let resvgPath: string;
  try {
    resvgPath = createRequire(import.meta.url).resolve('@resvg/resvg-js');
  } catch (cause) {
    throw missing(cause);
  }
  const w = new Worker(WORKER_CODE, { eval: true, workerData: { resvg: resvgPath } });
  w.on('message', (a: WorkerAnswer) => {
    const job = jobs.get(a.id);
    jobs.delete(a.id);
    idle();
    job?.resolve(a);
  });
  const fail = (err: unknown) => {
    worker = undefined;
    for (const job of jobs.values()) job.reject(new VizError('RUNTIME', `the PNG worker stopped: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
    jobs.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => {
    if (worker === w) fail(new Error(`exit code ${code}`));
  });
  worker = w;
  idle();
  return w;
}

/**
 * The worker keeps the process alive while it has jobs and not when idle (called after every change of `jobs`, and
 * after the listeners are attached: attaching a 'message' listener refs the worker again).
 */
function idle(): void {
  if (jobs.size === 0) worker?.unref();
  else worker?.ref();
}

function onWorker(svg: string, options: Record<string, unknown>, signal: AbortSignal | undefined): Promise<WorkerAnswer> {
  const id = nextJob++;
  return new Promise<WorkerAnswer>((resolve, reject) => {
    const onAbort = () => {
      jobs.delete(id);
      idle();
      reject(signal!.reason);
    };
    jobs.set(id, {
      resolve: (a) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(a);
      },
      reject: (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    const w = rasteriser();
    idle();
    w.postMessage({ id, svg, options });
  });
}

/**
 * Rasterises an SVG document to PNG bytes with the bundled font, on a worker thread (parsing, drawing and PNG
 * encoding), so the calling thread's event loop stays free. The size is checked against `maxPixels` first; a
 * `signal` abort rejects at once (the worker finishes the picture and drops it).
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<RasterImage> {
  const scale = options.scale ?? 1;
  if (typeof scale !== 'number' || !(scale > 0 && scale <= 8)) throw new VizError('INVALID_INPUT', `png scale must be a number in (0, 8], got ${String(scale).slice(0, 40)}`);
  const { width, height } = svgSize(svg);
  if (!(width > 0 && height > 0)) throw new VizError('INVALID_INPUT', 'the SVG root element needs numeric width and height attributes to be rasterised');
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PNG_PIXELS;
  const pixels = Math.ceil(width * scale) * Math.ceil(height * scale);
  if (pixels > maxPixels) {
    throw new VizError('INVALID_INPUT', `a ${Math.ceil(width * scale)} x ${Math.ceil(height * scale)} px PNG is larger than the ${maxPixels} pixels allowed; lower the scale or the chart size, or ask for SVG`);
  }
  if (options.signal?.aborted) throw options.signal.reason;
  const a = await onWorker(
    svg,
    {
      fitTo: { mode: 'zoom', value: scale },
      ...(options.background ? { background: options.background } : {}),
      font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans', monospaceFamily: 'DejaVu Sans Mono' },
      logLevel: 'off',
    },
    options.signal,
  );
  if (a.missing !== undefined) throw missing(new Error(a.missing));
  if (a.error !== undefined || !a.png) throw new VizError('RUNTIME', `the PNG renderer could not draw this SVG: ${a.error ?? 'no image'}`);
  return { png: a.png, width: a.width!, height: a.height! };
}

/**
 * Decodes a PNG made by {@link svgToPng} back to RGBA pixels (resvg reads PNG `<image>`s): used by tests and by
 * callers who want to check a picture is not blank.
 */
export async function pngPixels(png: Uint8Array): Promise<{ width: number; height: number; pixels: Uint8Array }> {
  const { Resvg } = await load();
  const b64 = Buffer.from(png).toString('base64');
  // Read the size from the IHDR chunk, then draw the PNG 1:1 into an SVG of that size.
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${b64}"/></svg>`;
  const image = new Resvg(svg, { font: { loadSystemFonts: false } }).render();
  return { width, height, pixels: new Uint8Array(image.pixels) };
}
