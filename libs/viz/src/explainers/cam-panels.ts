/** Several CAMs side by side: one panel per method (several explanations of one image) or per explained target (rows of one explanation). */
import type { Explanation } from '@genome/model-format';
import { sizeOption, type ChartOptions } from '../core/chart.js';
import { readExplanation, rowIndex } from '../core/explanation.js';
import { palette } from '../core/palette.js';
import { svgDocument, text, truncate } from '../core/svg.js';
import { VizError } from '../errors.js';
import { camMethodOf, camPicture, camRow, colorBar, colorBarHeight, pictureAspect, type CamImage, type CamRowInfo } from './cam-common.js';
import { camScoreText, checkAlpha, pickImage } from './cam-overlay.js';

export interface CamPanelsOptions extends ChartOptions {
  /** With several explanations: the row drawn from each (default 0). */
  row?: number;
  /** With one explanation: the rows drawn (default all). */
  rows?: readonly number[];
  /** The explained image (bytes or pixels), or one per image of the batch (picked by `details.rows[r].image`). */
  image?: CamImage | readonly CamImage[];
  /** Panel titles, one per panel (default: method and target label). */
  labels?: readonly string[];
  /** Panels per line (default: all in one line, at most 4). */
  columns?: number;
  /** Opacity of the heatmaps, in [0, 1] (default 0.5). */
  alpha?: number;
  /** Width of one panel's picture in px (default 200). */
  panelSize?: number;
}

/** Most panels one picture holds. */
export const MAX_PANELS = 64;

/**
 * Side-by-side CAM panels: pass several explanations (e.g. `cam.gradcam`, `cam.gradcam++`, `cam.scorecam` of the
 * same image) for one panel per method, or one explanation for one panel per row (several classes / targets).
 * Each panel is titled with the method and class label and shows the score; one colour bar (each map is scaled
 * to its own range) closes the picture. Kind `cam_panels`.
 */
export function camPanelsSvg(explanations: unknown, options: CamPanelsOptions = {}): string {
  const panels: { e: Explanation; row: CamRowInfo }[] = [];
  if (Array.isArray(explanations)) {
    if (explanations.length === 0) throw new VizError('INVALID_INPUT', 'camPanelsSvg needs at least one explanation');
    if (explanations.length > MAX_PANELS) throw new VizError('INVALID_INPUT', `camPanelsSvg draws at most ${MAX_PANELS} panels, got ${explanations.length} explanations`);
    explanations.forEach((x, i) => {
      let e: Explanation;
      try {
        e = readExplanation(x);
      } catch (err) {
        if (err instanceof VizError) throw new VizError(err.code, `explanations[${i}]: ${err.message}`, { cause: err });
        throw err;
      }
      const method = camMethodOf(e, 'camPanelsSvg');
      panels.push({ e, row: camRow(e, rowIndex(e, options.row), method) });
    });
  } else {
    const e = readExplanation(explanations);
    const method = camMethodOf(e, 'camPanelsSvg');
    const rows = options.rows ?? e.values.map((_, r) => r);
    if (!Array.isArray(rows) || rows.length === 0) throw new VizError('INVALID_INPUT', 'options.rows must list at least one row');
    if (rows.length > MAX_PANELS) throw new VizError('INVALID_INPUT', `camPanelsSvg draws at most ${MAX_PANELS} panels, got ${rows.length} rows (pick some with options.rows)`);
    for (const r of rows) panels.push({ e, row: camRow(e, rowIndex(e, r), method) });
  }
  const n = panels.length;
  if (options.labels !== undefined && (!Array.isArray(options.labels) || options.labels.length !== n || !options.labels.every((l) => typeof l === 'string'))) {
    throw new VizError('INVALID_INPUT', `options.labels must be ${n} strings (one per panel)`);
  }
  const columns = Math.round(sizeOption('columns', options.columns, Math.min(n, 4), MAX_PANELS));
  const alpha = checkAlpha(options.alpha);
  const fontSize = sizeOption('fontSize', options.fontSize, 12, 72);
  const panelW = sizeOption('panelSize', options.panelSize, 200, 2048);
  const images = panels.map((p) => pickImage(options.image, p.row));
  const aspects = panels.map((p, i) => pictureAspect(p.row, images[i]));
  const gap = 16;
  const margin = 20;
  const lines = Math.ceil(n / columns);
  const headH = 2 * fontSize + 10; // panel title + score line
  const picH = panelW * Math.min(2, Math.max(...aspects));
  const width = options.width ?? Math.ceil(2 * margin + columns * panelW + (columns - 1) * gap);
  sizeOption('width', width, 0);
  const scale = Math.min(1, (width - 2 * margin - (columns - 1) * gap) / (columns * panelW));
  const pw = panelW * scale;
  const ph = picH * scale;
  const title = options.title ?? (Array.isArray(explanations) ? 'Class activation maps by method' : `${panels[0]!.row.methodLabel} by target`);
  const titleY = margin + fontSize + 2;
  const top = titleY + 14;
  const barTop = top + lines * (headH + ph + gap);
  const height = options.height ?? Math.ceil(barTop + colorBarHeight(fontSize) + margin);
  const left = (width - (columns * pw + (columns - 1) * gap)) / 2;
  const body: string[] = [
    text(width / 2, titleY, truncate(title, width - 2 * margin, fontSize + 2), { 'text-anchor': 'middle', 'font-size': fontSize + 2, 'font-weight': 'bold', fill: palette.text, class: 'chart-title' }),
  ];
  panels.forEach((p, i) => {
    const col = i % columns;
    const line = Math.floor(i / columns);
    const x = left + col * (pw + gap);
    const y = top + line * (headH + ph + gap);
    const label = options.labels?.[i] ?? `${p.row.methodLabel} · ${p.row.label}`;
    // each picture keeps its aspect inside the panel box
    const a = aspects[i]!;
    const w = Math.min(pw, ph / a);
    const h = w * a;
    body.push(
      text(x + pw / 2, y + fontSize, truncate(label, pw, fontSize), { 'text-anchor': 'middle', 'font-weight': 'bold', fill: palette.text, class: 'panel-title' }),
      text(x + pw / 2, y + 2 * fontSize + 4, truncate(camScoreText(p.row, p.e.outputSpace) || ' ', pw, fontSize - 1), { 'text-anchor': 'middle', 'font-size': fontSize - 1, fill: palette.mutedText, class: 'panel-score' }),
      camPicture(`cam${i}`, x + (pw - w) / 2, y + headH, w, h, p.row, alpha, images[i]),
    );
  });
  const barW = Math.min(width - 4 * margin, 320);
  body.push(colorBar('panels', (width - barW) / 2, barTop, barW, 0, 1, "CAM, scaled to each map's range", fontSize));
  return svgDocument({ kind: 'cam_panels', title, description: panels.map((p, i) => options.labels?.[i] ?? `${p.row.methodLabel} ${p.row.label}`).join('; '), width, height, fontSize }, ...body);
}
