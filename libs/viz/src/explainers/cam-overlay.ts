/** Grad-CAM (and the other CAM methods') heatmap over the input image, with a colour bar of the CAM value. */
import { sizeOption, type ChartOptions } from '../core/chart.js';
import { readExplanation, rowIndex } from '../core/explanation.js';
import { formatNumber } from '../core/format.js';
import { palette } from '../core/palette.js';
import { svgDocument, text, truncate } from '../core/svg.js';
import { VizError } from '../errors.js';
import { camMethodOf, camPicture, camRow, colorBar, colorBarHeight, embedImage, pictureAspect, type CamImage, type CamRowInfo, type EmbeddedImage } from './cam-common.js';

export type { CamImage } from './cam-common.js';

export interface CamOverlayOptions extends ChartOptions {
  /** Row of the explanation (one row per explained image and target; default 0). */
  row?: number;
  /**
   * The explained image: PNG/JPEG bytes or `{ width, height, data }` grey/RGB/RGBA bytes; or one per image of the
   * batch, picked by `details.rows[row].image`. Without it the heatmap is drawn alone.
   */
  image?: CamImage | readonly CamImage[];
  /** Opacity of the heatmap over the image, in [0, 1] (default 0.5). */
  alpha?: number;
  /** Draw the colour bar of the CAM value (default true). */
  colorbar?: boolean;
}

export function checkAlpha(alpha: number | undefined): number {
  if (alpha === undefined) return 0.5;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new VizError('INVALID_INPUT', `alpha must be a number in [0, 1], got ${String(alpha).slice(0, 40)}`);
  }
  return alpha;
}

/** The image of a CAM row: `image` itself, or the entry of a per-image list the row points at. */
export function pickImage(image: CamOverlayOptions['image'], row: CamRowInfo): EmbeddedImage | undefined {
  if (image === undefined || image === null) return undefined;
  if (Array.isArray(image)) {
    const list = image as readonly CamImage[];
    if (row.image >= list.length) {
      throw new VizError('INVALID_INPUT', `options.image lists ${list.length} images but the explained row is image ${row.image} of the batch`);
    }
    return embedImage(list[row.image], `options.image[${row.image}]`);
  }
  return embedImage(image);
}

/** `score 12.3 · layer X`: what the subtitle of a CAM picture says. */
export function camScoreText(row: CamRowInfo, outputSpace?: string): string {
  const score = Number.isFinite(row.score) ? `${outputSpace === 'probability' ? 'probability' : 'score'} ${formatNumber(row.score)}` : '';
  return score;
}

/**
 * The CAM of one explained (image, target) row as an inferno heatmap over the image (as a PNG `<image>` layer at
 * `alpha`), titled with the method and the target class, with a colour bar of the CAM value (d3 ticks). Kind
 * `cam_overlay`.
 */
export function camOverlaySvg(explanation: unknown, options: CamOverlayOptions = {}): string {
  const e = readExplanation(explanation);
  const method = camMethodOf(e, 'camOverlaySvg');
  const r = rowIndex(e, options.row);
  const row = camRow(e, r, method);
  const alpha = checkAlpha(options.alpha);
  const fontSize = sizeOption('fontSize', options.fontSize, 12, 72);
  const width = sizeOption('width', options.width, 420);
  const image = pickImage(options.image, row);
  if (options.colorbar !== undefined && typeof options.colorbar !== 'boolean') {
    throw new VizError('INVALID_INPUT', `colorbar must be true or false, got ${JSON.stringify(options.colorbar)?.slice(0, 40)}`);
  }
  const showBar = options.colorbar ?? true;
  const margin = 20;
  const titleY = margin + fontSize + 2;
  const subY = titleY + fontSize + 6;
  const top = subY + 12;
  const barH = showBar ? 14 + colorBarHeight(fontSize) : 0;
  const aspect = pictureAspect(row, image);
  let picW = Math.max(10, width - 2 * margin);
  let picH = picW * aspect;
  const maxPicH = options.height !== undefined ? sizeOption('height', options.height, 0) - top - barH - margin : 2 * picW;
  if (maxPicH < 10) throw new VizError('INVALID_INPUT', `height ${options.height} leaves no room for the picture; use at least ${Math.ceil(top + barH + margin + 10)}`);
  if (picH > maxPicH) {
    picH = maxPicH;
    picW = picH / aspect;
  }
  const height = options.height ?? Math.ceil(top + picH + barH + margin);
  const picX = (width - picW) / 2;
  const title = options.title ?? `${row.methodLabel}: ${row.label}`;
  const sub = [camScoreText(row, e.outputSpace), row.layer ? `layer ${row.layer}` : '', image ? '' : 'no input image given: heatmap only']
    .filter((s) => s.length > 0)
    .join(' · ');
  const body: string[] = [
    text(width / 2, titleY, truncate(title, width - 2 * margin, fontSize + 2), { 'text-anchor': 'middle', 'font-size': fontSize + 2, 'font-weight': 'bold', fill: palette.text, class: 'chart-title' }),
    text(width / 2, subY, truncate(sub, width - 2 * margin, fontSize - 1), { 'text-anchor': 'middle', 'font-size': fontSize - 1, fill: palette.mutedText, class: 'chart-subtitle' }),
    camPicture('cam0', picX, top, picW, picH, row, alpha, image),
  ];
  if (showBar) {
    const barW = Math.min(picW, Math.max(160, width - 4 * margin));
    body.push(colorBar('cam0', (width - barW) / 2, top + picH + 14, barW, row.camMin, row.camMax, `CAM value (${row.methodLabel})`, fontSize));
  }
  return svgDocument(
    { kind: 'cam_overlay', title, description: `${row.methodLabel} heatmap for ${row.label}${sub ? `, ${sub}` : ''}`, width, height, fontSize },
    ...body,
  );
}
