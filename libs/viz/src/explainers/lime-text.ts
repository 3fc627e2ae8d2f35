/** LIME text explanations as the original text with each explained word highlighted (HTML, and SVG). */
import type { Explanation } from '@genome/model-format';
import { sizeOption, type ChartOptions } from '../core/chart.js';
import { outputIndex, readExplanation, rowIndex } from '../core/explanation.js';
import { formatNumber, formatSigned } from '../core/format.js';
import { palette } from '../core/palette.js';
import { el, escapeXml, FONT_FAMILY, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { VizError } from '../errors.js';
import { detailNumber, limeWeights, requireMethod, rgba, type LimeWeight } from './lime-common.js';

/** Longest text the LIME text views take (characters). */
export const MAX_TEXT_LENGTH = 100_000;

export interface LimeTextOptions {
  /** Row of the explanation (default 0; lime.text explains one text). */
  row?: number;
  /** Explained output: index or name (default the last one). */
  output?: number | string;
  /** Words listed in the weight table under the text (default 10; 0 leaves the table out). */
  maxDisplay?: number;
}

interface Span {
  start: number;
  end: number;
  feature: number;
  weight: number;
  word: string;
}

interface TextView {
  e: Explanation;
  text: string;
  output: number;
  outName: string;
  weights: LimeWeight[];
  spans: Span[];
  maxAbs: number;
}

const WORD = /[\p{L}\p{N}_]+/gu;

function readView(explanation: unknown, options: { row?: number; output?: number | string }, chart: string): TextView {
  const e = readExplanation(explanation);
  requireMethod(e, chart, ['lime.text'], e.method === 'anchors.text' ? 'use anchorRuleSvg for Anchors' : e.method.startsWith('lime.') ? 'use limeBarSvg' : '');
  const r = rowIndex(e, options.row);
  const o = outputIndex(e, options.output);
  const t = e.details?.text;
  if (typeof t !== 'string') throw new VizError('INVALID_INPUT', 'a lime.text explanation needs the explained text in details.text');
  if (t.length > MAX_TEXT_LENGTH) throw new VizError('INVALID_INPUT', `the text has ${t.length} characters; the LIME text views take up to ${MAX_TEXT_LENGTH}`);
  const weights = limeWeights(e, r, o).filter((w) => w.weight !== 0);
  const byFeature = new Map(weights.map((w) => [w.feature, w]));
  const spans: Span[] = [];
  const positions = e.details?.positions;
  if (Array.isArray(positions) && positions.length === e.featureNames.length) {
    for (const w of weights) {
      const word = e.featureNames[w.feature]!;
      const ps = positions[w.feature];
      if (!Array.isArray(ps) || word.length === 0) continue;
      for (const p of ps) {
        // an offset that does not point at the word (a changed text) is skipped rather than trusted
        if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && t.startsWith(word, p)) spans.push({ start: p, end: p + word.length, feature: w.feature, weight: w.weight, word });
      }
    }
  } else {
    // no offsets: find the words the way lime's default splitter does
    const byWord = new Map<string, LimeWeight>();
    for (const w of byFeature.values()) if (!byWord.has(e.featureNames[w.feature]!)) byWord.set(e.featureNames[w.feature]!, w);
    for (const m of t.matchAll(WORD)) {
      const w = byWord.get(m[0]);
      if (w) spans.push({ start: m.index, end: m.index + m[0].length, feature: w.feature, weight: w.weight, word: m[0] });
    }
  }
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const clean: Span[] = [];
  let last = 0;
  for (const s of spans) {
    if (s.start < last) continue; // overlapping occurrence
    clean.push(s);
    last = s.end;
  }
  const maxAbs = weights.reduce((m, w) => Math.max(m, Math.abs(w.weight)), 0);
  return { e, text: t, output: o, outName: e.outputNames[o]!, weights, spans: clean, maxAbs };
}

/** Background opacity of a word: 0.15 .. 0.85 by |weight| relative to the largest. */
function strength(weight: number, maxAbs: number): number {
  return maxAbs > 0 ? 0.15 + (0.7 * Math.abs(weight)) / maxAbs : 0;
}

function headline(v: TextView): string[] {
  const r = rowIndex(v.e, undefined);
  const parts: string[] = [];
  const p = v.e.predictions?.[r]?.[v.output];
  if (p !== undefined && Number.isFinite(p)) parts.push(`${v.e.outputSpace === 'probability' ? 'probability' : 'model output'} ${formatNumber(p)}`);
  const intercept = detailNumber(v.e, 'intercept', r, v.output);
  if (intercept !== undefined) parts.push(`intercept ${formatNumber(intercept)}`);
  const score = detailNumber(v.e, 'score', r, v.output);
  if (score !== undefined) parts.push(`R² ${formatNumber(score)}`);
  return parts;
}

/**
 * A self-contained HTML fragment (`<div class="genome-lime-text">`, inline styles only) with the explained text,
 * each explained word's background coloured by the sign of its LIME weight (`palette.positive` = toward the
 * explained class) with opacity by |weight| relative to the largest, its weight in a `title` tooltip; a legend,
 * the explained class and the model's probability, and a table of the largest weights. All text is escaped.
 */
export function limeTextHtml(explanation: unknown, options: LimeTextOptions = {}): string {
  const v = readView(explanation, options, 'limeTextHtml');
  const maxDisplay = options.maxDisplay === 0 ? 0 : Math.floor(sizeOption('maxDisplay', options.maxDisplay, 10, 1000));
  const cls = escapeXml(v.outName);
  const body: string[] = [];
  let at = 0;
  for (const s of v.spans) {
    if (s.start > at) body.push(escapeXml(v.text.slice(at, s.start)));
    const sign = s.weight >= 0 ? 'positive' : 'negative';
    const color = rgba(s.weight >= 0 ? palette.positive : palette.negative, strength(s.weight, v.maxAbs));
    body.push(
      `<span class="lime-word lime-${sign}" data-feature="${s.feature}" data-weight="${escapeXml(String(s.weight))}" title="${escapeXml(`${s.word}: ${formatSigned(s.weight)}`)}" style="background-color:${color};border-radius:3px;padding:0 1px">${escapeXml(v.text.slice(s.start, s.end))}</span>`,
    );
    at = s.end;
  }
  if (at < v.text.length) body.push(escapeXml(v.text.slice(at)));
  const swatch = (hex: string): string => `<span style="display:inline-block;width:0.9em;height:0.9em;vertical-align:-0.1em;border-radius:2px;background-color:${rgba(hex, 0.85)}"></span>`;
  const stats = headline(v);
  const rows = v.weights.slice(0, maxDisplay).map((w) => {
    const pct = v.maxAbs > 0 ? Math.round((Math.abs(w.weight) / v.maxAbs) * 1000) / 10 : 0;
    const color = w.weight >= 0 ? palette.positive : palette.negative;
    return (
      `<tr class="lime-weight-row"><td style="padding:1px 8px 1px 0;text-align:right;white-space:nowrap">${escapeXml(w.label)}</td>` +
      `<td style="padding:1px 0;width:12em"><div style="height:0.8em;width:${pct}%;background-color:${color}"></div></td>` +
      `<td style="padding:1px 0 1px 8px;color:${palette.mutedText};font-variant-numeric:tabular-nums">${escapeXml(formatSigned(w.weight))}</td></tr>`
    );
  });
  return (
    `<div class="genome-lime-text" style="font-family:${escapeXml(FONT_FAMILY)};font-size:14px;line-height:1.7;color:${palette.text};max-width:48em">` +
    `<div class="lime-header" style="font-weight:bold;margin-bottom:2px">LIME: why “${cls}”</div>` +
    `<div class="lime-prediction" style="color:${palette.mutedText};font-size:12px">explained class <b style="color:${palette.text}">${cls}</b>${stats.length ? ` · ${escapeXml(stats.join(' · '))}` : ''}</div>` +
    `<div class="lime-legend" style="color:${palette.mutedText};font-size:12px;margin:2px 0 6px">${swatch(palette.positive)} toward ${cls} &#160; ${swatch(palette.negative)} against ${cls} &#160; (stronger colour = larger |weight|)</div>` +
    `<div class="lime-body" style="white-space:pre-wrap;overflow-wrap:anywhere;border-left:3px solid ${palette.grid};padding-left:8px">${body.join('')}</div>` +
    (rows.length ? `<table class="lime-weights" style="border-collapse:collapse;margin-top:8px;font-size:12px">${rows.join('')}</table>` : '') +
    `</div>`
  );
}

/** {@link limeTextHtml} as a complete HTML page (`<!doctype html>`, UTF-8, a title). */
export function limeTextDocument(explanation: unknown, options: LimeTextOptions & { title?: string } = {}): string {
  const fragment = limeTextHtml(explanation, options);
  const e = readExplanation(explanation);
  const title = options.title ?? `LIME text explanation: ${e.outputNames[outputIndex(e, options.output)]}`;
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeXml(title)}</title></head><body style="margin:16px;background:#ffffff">${fragment}</body></html>\n`
  );
}

export interface LimeTextSvgOptions extends LimeTextOptions, ChartOptions {
  /** Most characters of the text drawn (default 2000; the rest is cut with an ellipsis). */
  maxChars?: number;
}

/**
 * The highlighted text as SVG (for PNG export): the text wrapped to the width, explained words on rounded
 * rectangles coloured as in {@link limeTextHtml}, a legend. Kind `lime_text`.
 */
export function limeTextSvg(explanation: unknown, options: LimeTextSvgOptions = {}): string {
  const v = readView(explanation, options, 'limeTextSvg');
  const fontSize = sizeOption('fontSize', options.fontSize, 14, 72);
  const width = sizeOption('width', options.width, 640);
  const maxChars = Math.floor(sizeOption('maxChars', options.maxChars, 2000, MAX_TEXT_LENGTH));
  const margin = 16;
  const lineH = Math.round(fontSize * 1.7);
  const titleY = margin + fontSize + 2;
  const subY = titleY + fontSize + 4;
  const legendY = subY + fontSize + 8;
  const top = legendY + lineH;
  const maxW = width - 2 * margin;
  // tokens: highlighted spans, words and whitespace of the (possibly cut) text
  const cut = v.text.length > maxChars;
  const shown = cut ? v.text.slice(0, maxChars) : v.text;
  const pieces: { s: string; span?: Span }[] = [];
  let at = 0;
  const plain = (s: string): void => {
    for (const m of s.match(/\s+|[^\s]+/g) ?? []) pieces.push({ s: m });
  };
  for (const sp of v.spans) {
    if (sp.end > shown.length) break;
    if (sp.start > at) plain(shown.slice(at, sp.start));
    pieces.push({ s: shown.slice(sp.start, sp.end), span: sp });
    at = sp.end;
  }
  if (at < shown.length) plain(shown.slice(at));
  if (cut) pieces.push({ s: '…' });
  const words: string[] = [];
  let x = margin;
  let line = 0;
  for (const p of pieces) {
    if (!p.span && /^\s+$/.test(p.s)) {
      if (p.s.includes('\n')) {
        line += Math.min(2, p.s.split('\n').length - 1);
        x = margin;
      } else if (x > margin) x += textWidth(' ', fontSize);
      continue;
    }
    let s = p.s;
    let w = textWidth(s, fontSize);
    if (x + w > margin + maxW && x > margin) {
      line++;
      x = margin;
    }
    if (w > maxW) {
      s = truncate(s, maxW, fontSize);
      w = textWidth(s, fontSize);
    }
    const y = top + line * lineH;
    if (p.span) {
      const sign = p.span.weight >= 0 ? 'positive' : 'negative';
      words.push(
        el(
          'g',
          { class: `lime-word lime-${sign}`, 'data-feature': p.span.feature },
          el('title', {}, escapeXml(`${p.span.word}: ${formatSigned(p.span.weight)}`)),
          el('rect', { x: x - 1, y: y - fontSize, width: w + 2, height: fontSize * 1.35, rx: 3, fill: p.span.weight >= 0 ? palette.positive : palette.negative, 'fill-opacity': strength(p.span.weight, v.maxAbs) }),
          text(x, y, s, { fill: palette.text }),
        ),
      );
    } else words.push(text(x, y, s, { fill: palette.text, class: 'lime-plain' }));
    x += w;
  }
  const height = options.height ?? Math.ceil(top + line * lineH + fontSize + margin);
  const title = options.title ?? `LIME: why “${v.outName}”`;
  const sw = fontSize - 2;
  const pos = `toward “${v.outName}”`;
  const negX = margin + sw + 6 + textWidth(pos, fontSize - 2) + 18;
  return svgDocument(
    { kind: 'lime_text', title, description: v.weights.map((w) => `${w.label}: ${formatSigned(w.weight)}`).join('; '), width, height, fontSize },
    text(margin, titleY, truncate(title, maxW, fontSize + 1), { 'font-size': fontSize + 1, 'font-weight': 'bold', fill: palette.text, class: 'chart-title' }),
    text(margin, subY, truncate(headline(v).join(' · '), maxW, fontSize - 2), { 'font-size': fontSize - 2, fill: palette.mutedText, class: 'chart-subtitle' }),
    el(
      'g',
      { class: 'legend', 'font-size': fontSize - 2 },
      el('rect', { x: margin, y: legendY - sw + 1, width: sw, height: sw, fill: palette.positive, 'fill-opacity': 0.85 }),
      text(margin + sw + 6, legendY, pos, { fill: palette.mutedText }),
      el('rect', { x: negX, y: legendY - sw + 1, width: sw, height: sw, fill: palette.negative, 'fill-opacity': 0.85 }),
      text(negX + sw + 6, legendY, `against “${v.outName}”`, { fill: palette.mutedText }),
    ),
    el('g', { class: 'lime-text' }, ...words),
  );
}
