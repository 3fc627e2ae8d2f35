/** An Anchors explanation as a rule card: IF conditions THEN class, with precision and coverage bars. */
import { sizeOption, type ChartOptions } from '../core/chart.js';
import { readExplanation, rowIndex } from '../core/explanation.js';
import { formatDatum, formatPercent } from '../core/format.js';
import { palette } from '../core/palette.js';
import { el, escapeXml, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { VizError } from '../errors.js';
import { isRecord, requireMethod } from './lime-common.js';

export interface AnchorRuleOptions extends ChartOptions {
  /** Row of the explanation (default 0; Anchors explains one instance). */
  row?: number;
}

/** Most conditions drawn (longer anchors are cut with a note). */
const MAX_CONDITIONS = 40;

function share(x: unknown, name: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1) throw new VizError('INVALID_INPUT', `details.${name} of an Anchors explanation must be a number in [0, 1]`);
  return x;
}

/**
 * A rule card for `anchors.tabular` / `anchors.text`: "IF cond1 AND cond2 ... THEN predict <class>", precision
 * (with the requested threshold marked) and coverage as percentage bars, the explained instance's values of the
 * anchored features (or the explained text), and whether the search succeeded or ran out of its sample budget.
 * Kind `anchor_rule`.
 */
export function anchorRuleSvg(explanation: unknown, options: AnchorRuleOptions = {}): string {
  const e = readExplanation(explanation);
  requireMethod(e, 'anchorRuleSvg', ['anchors.tabular', 'anchors.text'], e.method.startsWith('lime.') ? 'use limeBarSvg or limeTextHtml for LIME' : '');
  const r = rowIndex(e, options.row);
  const d = e.details ?? {};
  const anchor = d.anchor;
  if (!Array.isArray(anchor) || !anchor.every((a) => typeof a === 'string')) throw new VizError('INVALID_INPUT', 'an Anchors explanation needs details.anchor, the rule as an array of strings');
  const precision = share(d.precision, 'precision');
  const coverage = share(d.coverage, 'coverage');
  const isText = e.method === 'anchors.text';
  const fontSize = sizeOption('fontSize', options.fontSize, 13, 72);
  const width = sizeOption('width', options.width, 560);
  const margin = 18;
  const inner = width - 2 * margin;
  if (inner < 120) throw new VizError('INVALID_INPUT', `width ${width} is too small for a rule card; use at least ${2 * margin + 120}`);
  const cls = e.outputNames[0] ?? 'the predicted class';
  const alibi = isRecord(d.alibi) && isRecord(d.alibi.data) ? d.alibi.data : undefined;
  const raw = alibi && isRecord(alibi.raw) ? alibi.raw : undefined;
  const params = isRecord(e.parameters) ? e.parameters : {};
  const threshold = typeof params.threshold === 'number' && params.threshold >= 0 && params.threshold <= 1 ? params.threshold : undefined;
  const lineH = Math.round(fontSize * 1.6);
  const parts: string[] = [];
  let y = margin + fontSize + 2;
  const title = options.title ?? `Anchor: why the model predicts “${cls}”`;
  parts.push(text(margin, y, truncate(title, inner, fontSize + 2), { 'font-size': fontSize + 2, 'font-weight': 'bold', fill: palette.text, class: 'chart-title' }));
  y += lineH + 6;
  // the rule
  const kwW = Math.max(textWidth('THEN', fontSize), textWidth('AND', fontSize), textWidth('IF', fontSize)) + 10;
  const condW = inner - kwW - 16;
  const ruleTop = y - fontSize - 6;
  const rule: string[] = [];
  const conditions = anchor.slice(0, MAX_CONDITIONS) as string[];
  const keyword = (word: string, at: number): string => text(margin + 10, at, word, { 'font-weight': 'bold', fill: palette.highlight, class: 'rule-keyword' });
  if (conditions.length === 0) {
    rule.push(keyword('IF', y), text(margin + 10 + kwW, y, 'any input (the empty anchor already holds)', { fill: palette.mutedText, class: 'anchor-condition empty' }));
    y += lineH;
  }
  conditions.forEach((c, i) => {
    const shown = isText ? `the text contains “${c}”` : c;
    rule.push(
      el(
        'g',
        { class: 'anchor-condition' },
        el('title', {}, escapeXml(shown)),
        keyword(i === 0 ? 'IF' : 'AND', y),
        text(margin + 10 + kwW, y, truncate(shown, condW, fontSize), { fill: palette.text }),
      ),
    );
    y += lineH;
  });
  if (anchor.length > conditions.length) {
    rule.push(text(margin + 10 + kwW, y, `… and ${anchor.length - conditions.length} more conditions`, { fill: palette.mutedText, class: 'more-note' }));
    y += lineH;
  }
  rule.push(keyword('THEN', y), text(margin + 10 + kwW, y, truncate(`predict “${cls}”`, condW, fontSize), { 'font-weight': 'bold', fill: palette.text, class: 'anchor-prediction' }));
  y += lineH;
  parts.push(
    el('rect', { class: 'rule-box', x: margin, y: ruleTop, width: inner, height: y - lineH + fontSize * 0.6 + 4 - ruleTop, rx: 6, fill: '#fdf6e8', stroke: palette.highlight }),
    el('g', { class: 'anchor-rule' }, ...rule),
  );
  y += 14;
  // precision and coverage bars
  const labelW = Math.max(textWidth('Precision', fontSize), textWidth('Coverage', fontSize)) + 12;
  const valueW = textWidth('100%', fontSize) + 10;
  const barX = margin + labelW;
  const barW = inner - labelW - valueW;
  const bar = (name: string, value: number, color: string, note: string, cls2: string, marker?: number): void => {
    const by = y - fontSize + 1;
    const bh = fontSize + 2;
    const items = [
      text(margin, y, name, { fill: palette.text }),
      el('rect', { x: barX, y: by, width: barW, height: bh, fill: palette.grid, rx: 2 }),
      el('rect', { class: 'share-bar', x: barX, y: by, width: Math.max(0, barW * value), height: bh, fill: color, rx: 2 }),
      text(barX + barW + 6, y, formatPercent(value), { fill: palette.text, 'font-weight': 'bold', class: 'share-value' }),
    ];
    if (marker !== undefined) {
      const mx = barX + barW * marker;
      items.push(
        el('line', { class: 'threshold', x1: mx, x2: mx, y1: by - 3, y2: by + bh + 3, stroke: palette.text, 'stroke-width': 1.5 }),
      );
    }
    parts.push(el('g', { class: `anchor-share ${cls2}` }, el('title', {}, escapeXml(`${name}: ${formatPercent(value)}`)), ...items));
    y += fontSize + 2;
    parts.push(text(barX, y + 2, truncate(note, barW + valueW, fontSize - 3), { 'font-size': fontSize - 3, fill: palette.mutedText, class: 'share-note' }));
    y += lineH;
  };
  bar('Precision', precision, palette.highlight, `samples matching the rule that the model labels “${cls}”${threshold !== undefined ? ` (target ${formatPercent(threshold)}: the mark)` : ''}`, 'precision', threshold);
  bar('Coverage', coverage, palette.neutral, 'share of perturbed samples the rule applies to', 'coverage');
  // the explained instance
  const instance: string[] = [];
  if (isText) {
    const t = raw && typeof raw.instance === 'string' ? raw.instance : undefined;
    if (t !== undefined) instance.push(`“${t.length > 400 ? `${t.slice(0, 400)}…` : t}”`);
  } else {
    const row = e.data?.[r];
    const feats = raw && Array.isArray(raw.feature) ? raw.feature : [];
    const seen = new Set<number>();
    for (const f of feats) {
      if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f >= e.featureNames.length || seen.has(f)) continue;
      seen.add(f);
      if (!row) continue;
      // a categorical condition (`name = label`) names the instance's category; numbers are shown as they are
      const name = e.featureNames[f]!;
      const cond = (anchor as string[]).find((c) => c.startsWith(`${name} = `));
      instance.push(`${name} = ${cond !== undefined && typeof row[f] === 'number' ? cond.slice(name.length + 3) : formatDatum(row[f])}`);
    }
  }
  if (instance.length > 0) {
    parts.push(text(margin, y, isText ? 'Explained text' : 'Explained instance (anchored features)', { 'font-weight': 'bold', fill: palette.text, class: 'section-title' }));
    y += lineH;
    for (const line of instance.slice(0, MAX_CONDITIONS)) {
      if (isText) {
        // wrap the text over at most 4 lines
        const wrapped = wrap(line, inner - 10, fontSize - 1, 4);
        for (const w of wrapped) {
          parts.push(text(margin + 10, y, w, { 'font-size': fontSize - 1, fill: palette.text, class: 'anchor-instance-value' }));
          y += lineH - 2;
        }
      } else {
        parts.push(text(margin + 10, y, truncate(line, inner - 10, fontSize - 1), { 'font-size': fontSize - 1, fill: palette.text, class: 'anchor-instance-value' }));
        y += lineH - 2;
      }
    }
    y += 6;
  }
  // flags
  const success = d.success === true;
  const exhausted = d.budgetExhausted === true;
  const flags: string[] = [
    success
      ? `✓ search succeeded: the anchor reached the precision target`
      : `✗ no anchor reached the precision target${typeof d.success === 'boolean' ? '' : ' (not reported)'}: this is the best one found`,
  ];
  if (exhausted) flags.push('⚠ sample budget exhausted: the search stopped at maxSamples');
  for (const f of flags) {
    const ok = f.startsWith('✓');
    parts.push(text(margin, y, truncate(f, inner, fontSize - 1), { 'font-size': fontSize - 1, fill: ok ? '#009E73' : palette.positive, class: `anchor-flag ${ok ? 'success' : f.startsWith('⚠') ? 'budget-exhausted' : 'failure'}` }));
    y += lineH - 2;
  }
  const height = options.height ?? Math.ceil(y + margin - fontSize);
  return svgDocument(
    {
      kind: 'anchor_rule',
      title,
      description: `IF ${anchor.length ? anchor.join(' AND ') : 'any input'} THEN ${cls}; precision ${formatPercent(precision)}, coverage ${formatPercent(coverage)}`,
      width,
      height,
      fontSize,
    },
    ...parts,
  );
}

/** Greedy word wrap to `maxWidth`, at most `maxLines` lines (the last cut with an ellipsis). */
function wrap(s: string, maxWidth: number, fontSize: number, maxLines: number): string[] {
  const words = s.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const next = cur ? `${cur} ${w}` : w;
    if (textWidth(next, fontSize) <= maxWidth || !cur) cur = next;
    else {
      lines.push(cur);
      cur = w;
      if (lines.length === maxLines) break;
    }
  }
  if (lines.length < maxLines && cur) lines.push(cur);
  const cutShort = lines.join(' ').length < words.join(' ').length;
  return lines.slice(0, maxLines).map((l, i, a) => truncate(i === a.length - 1 && cutShort ? `${l}…` : l, maxWidth, fontSize));
}
