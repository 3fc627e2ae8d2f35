/**
 * A small SVG/HTML string builder: attribute values and text are escaped here and nowhere else, numbers are written
 * with at most two decimals so documents stay small and byte-stable across runs.
 */

export type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Readonly<Record<string, AttrValue>>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for SVG/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A coordinate or length as written into the document (two decimals at most, no `-0`). */
export function num(value: number): string {
  if (!Number.isFinite(value)) return '0';
  const rounded = Math.round(value * 100) / 100;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

function attrs(a: Attrs): string {
  let out = '';
  for (const [key, value] of Object.entries(a)) {
    if (value === undefined || value === null || value === false) continue;
    if (value === true) out += ` ${key}`;
    else out += ` ${key}="${typeof value === 'number' ? num(value) : escapeXml(value)}"`;
  }
  return out;
}

/** One element; `children` are already-built markup (use {@link text} or {@link escapeXml} for text). */
export function el(tag: string, a: Attrs = {}, ...children: (string | false | null | undefined)[]): string {
  const body = children.filter((c): c is string => typeof c === 'string' && c.length > 0).join('');
  return body.length > 0 || tag === 'text' || tag === 'title' ? `<${tag}${attrs(a)}>${body}</${tag}>` : `<${tag}${attrs(a)}/>`;
}

/** A `<text>` element with escaped content. */
export function text(x: number, y: number, content: string, a: Attrs = {}): string {
  return el('text', { x, y, ...a }, escapeXml(content));
}

/** Font stack written into every chart: the bundled DejaVu Sans first (what the PNG renderer uses). */
export const FONT_FAMILY = 'DejaVu Sans, Verdana, Arial, sans-serif';

export interface SvgDocumentOptions {
  width: number;
  height: number;
  /** Accessible title (the `<title>` element), also shown by browsers as a tooltip. */
  title: string;
  /** Longer description for screen readers. */
  description?: string;
  /** Chart kind, written as `data-chart` so tests and pages can find it. */
  kind: string;
  fontSize?: number;
}

/** A standalone SVG document with a white background, the font stack and an accessible title. */
export function svgDocument(o: SvgDocumentOptions, ...body: string[]): string {
  const size = o.fontSize ?? 12;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({
      width: o.width,
      height: o.height,
      viewBox: `0 0 ${num(o.width)} ${num(o.height)}`,
      role: 'img',
      'data-chart': o.kind,
      'font-family': FONT_FAMILY,
      'font-size': size,
    })}>` +
    el('title', {}, escapeXml(o.title)) +
    (o.description ? el('desc', {}, escapeXml(o.description)) : '') +
    el('rect', { x: 0, y: 0, width: o.width, height: o.height, fill: '#ffffff' }) +
    body.join('') +
    '</svg>'
  );
}

/**
 * Width of `s` in DejaVu Sans at `fontSize`, estimated from average advance widths (narrow, regular and wide
 * glyph classes); good to a few percent, which is what label layout needs.
 */
export function textWidth(s: string, fontSize: number): number {
  let em = 0;
  for (const ch of s) {
    if ('il.,:;|!\'`'.includes(ch)) em += 0.32;
    else if ('fjrt()[]{} -'.includes(ch)) em += 0.42;
    else if ('mwMW@%'.includes(ch)) em += 0.92;
    else if (ch >= 'A' && ch <= 'Z') em += 0.7;
    else if (ch.charCodeAt(0) > 0x2e80) em += 1;
    else em += 0.61;
  }
  return em * fontSize;
}

/** Shortens `s` with an ellipsis so that it fits `maxWidth` at `fontSize`. */
export function truncate(s: string, maxWidth: number, fontSize: number): string {
  if (textWidth(s, fontSize) <= maxWidth) return s;
  const chars = [...s];
  while (chars.length > 1 && textWidth(chars.join('') + '…', fontSize) > maxWidth) chars.pop();
  return chars.join('') + '…';
}
