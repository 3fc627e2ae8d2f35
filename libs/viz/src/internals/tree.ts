/**
 * One tree of a model-format ensemble drawn top-down: split rules with feature and category names, where missing
 * values go, covers, leaf values, yes/no edges; optionally the path a row takes (found by model-format's findLeaf,
 * so it is the path prediction walks).
 */
import { Missing, type RawRow, type TreeEnsemble } from '@genome/model-format';
import type { ChartOptions } from '../core/chart.js';
import { intOption, invalid, sizeOption } from '../core/chart.js';
import { formatNumber } from '../core/format.js';
import { palette } from '../core/palette.js';
import { el, escapeXml, num, svgDocument, text, textWidth, truncate } from '../core/svg.js';
import { header } from './common.js';
import {
  checkTreeModel,
  coverKind,
  describeValue,
  encodeRow,
  featureName,
  formatName,
  missingGoesLeft,
  rowPath,
  splitRule,
  treeOutputName,
  treeStructure,
  type TreeStructure,
} from './tree-model.js';

/** A raw row: values in feature order or keyed by feature name; numbers, category names, null = missing. */
export type TreeRow = RawRow;

export interface TreeOptions extends ChartOptions {
  /** Index of the tree (default 0). */
  tree?: number;
  /** Highlight the path this row takes (raw values, encoded with model-format's encodeRows). */
  row?: TreeRow;
  /** Nodes deeper than this (root = depth 0) collapse into "… N more nodes" boxes, except the row's path (default 6). */
  maxDepth?: number;
}

/** The path one row takes through one tree. */
export interface TreeRowPath {
  /** Global node ids from the root to the leaf. */
  nodes: number[];
  leaf: number;
  /** The leaf's value vector (valueWidth numbers). */
  value: number[];
  /** For each step, whether the row went to the left ("yes") child. */
  wentLeft: boolean[];
}

/** Most boxes drawn; deeper levels are collapsed until the drawing fits. */
const MAX_DRAWN = 2000;

function treeIndex(model: TreeEnsemble, tree: number | undefined): number {
  if (model.nTrees < 1) invalid('the model has no trees');
  return intOption('tree', tree, 0, 0, model.nTrees - 1);
}

function leafValue(model: TreeEnsemble, leaf: number): number[] {
  const W = model.valueWidth;
  return Array.from(model.value.subarray(leaf * W, leaf * W + W));
}

/** The path `row` takes through tree `tree` (model-format's findLeaf), with the leaf's value. */
export function treeRowPath(model: TreeEnsemble, tree: number, row: TreeRow): TreeRowPath {
  checkTreeModel(model, 'treeRowPath');
  const t = treeIndex(model, tree);
  const s = treeStructure(model, t);
  const nodes = rowPath(model, s, encodeRow(model, row));
  const leaf = nodes[nodes.length - 1]!;
  return { nodes, leaf, value: leafValue(model, leaf), wentLeft: nodes.slice(1).map((n, i) => model.left[nodes[i]!] === n) };
}

function formatValueVector(v: readonly number[]): string {
  if (v.length === 1) return formatNumber(v[0]!);
  if (v.length <= 3) return `[${v.map(formatNumber).join(', ')}]`;
  return `[${v.slice(0, 2).map(formatNumber).join(', ')}, … ${v.length} values]`;
}

interface Box {
  id: number;
  kind: 'node' | 'leaf' | 'collapsed';
  depth: number;
  x: number;
  children: Box[];
  /** True for the left ("yes") child of its parent. */
  isLeft: boolean;
  lines: string[];
  /** Tooltip (the full split rule). */
  tip?: string;
}

/** Counts the boxes drawn with depth limit `limit`. */
function countDrawn(model: TreeEnsemble, s: TreeStructure, onPath: Set<number>, limit: number): number {
  let count = 0;
  for (const n of s.order) {
    const d = s.depth.get(n)!;
    const visible = d <= limit || onPath.has(n);
    if (visible) count++;
    else {
      const p = s.parent.get(n)!;
      // A hidden child of a visible node is one box (a leaf or a collapsed subtree).
      if (s.depth.get(p)! <= limit || onPath.has(p)) count++;
    }
  }
  void model;
  return count;
}

/**
 * A diagram of one tree: internal nodes show the split (`age < 30.5`, `colour ∈ {red, blue}`), where missing
 * values go and the cover; leaves their value; edges are labelled yes (condition true) / no, with ", missing" on
 * the side missing values take. With `row`, the path model-format's prediction walks for that row is highlighted
 * (`class="path"` per edge, `class="path-leaf"` on the leaf reached). Kind `tree`.
 */
export function treeSvg(model: TreeEnsemble, options: TreeOptions = {}): string {
  checkTreeModel(model, 'treeSvg');
  const t = treeIndex(model, options.tree);
  const maxDepth = intOption('maxDepth', options.maxDepth, 6, 0, 4096);
  const fs = sizeOption('fontSize', options.fontSize, 12, 72);
  const s = treeStructure(model, t);
  const { left, right } = model;

  let path: number[] = [];
  let x: Float64Array | undefined;
  if (options.row !== undefined && options.row !== null) {
    x = encodeRow(model, options.row);
    path = rowPath(model, s, x);
  }
  const onPath = new Set(path);
  let limit = maxDepth;
  while (limit > 0 && countDrawn(model, s, onPath, limit) > MAX_DRAWN) limit--;
  const collapsedAny = s.order.some((n) => s.depth.get(n)! > limit && left[n]! >= 0 && !onPath.has(n));

  const nanRow = new Float64Array(model.nFeatures).fill(Number.NaN);
  const missLeft = new Map<number, boolean>();
  const coverLine = (n: number) => (model.hasCovers ? `cover ${formatNumber(model.cover[n]!)}` : '');

  // Build the drawn tree.
  const build = (n: number, isLeft: boolean): Box => {
    const d = s.depth.get(n)!;
    const isLeaf = left[n]! < 0;
    if (isLeaf) {
      return { id: n, kind: 'leaf', depth: d, x: 0, children: [], isLeft, lines: [`leaf ${formatValueVector(leafValue(model, n))}`, coverLine(n)] };
    }
    const visible = d <= limit || onPath.has(n);
    if (!visible) {
      const size = s.size.get(n)!;
      const leaves = (size + 1) / 2;
      return { id: n, kind: 'collapsed', depth: d, x: 0, children: [], isLeft, lines: [`… ${size} more nodes`, `(${leaves} leaves)`, coverLine(n)] };
    }
    const goesLeft = missingGoesLeft(model, s, n, nanRow);
    missLeft.set(n, goesLeft);
    const m = model.missing[n];
    const side = goesLeft ? 'yes' : 'no';
    const missingLine = m === Missing.AS_ZERO ? `missing as 0 → ${side}` : m === Missing.ZERO_DEFAULT ? `missing, 0 → ${side}` : `missing → ${side}`;
    return {
      id: n,
      kind: 'node',
      depth: d,
      x: 0,
      isLeft,
      lines: [splitRule(model, n, 3), missingLine, coverLine(n)],
      tip: splitRule(model, n, 100),
      children: [build(left[n]!, true), build(right[n]!, false)],
    };
  };
  const root = build(s.root, false);

  // Box size from the longest line, within bounds.
  const all: Box[] = [];
  const collect = (b: Box) => {
    all.push(b);
    b.children.forEach(collect);
  };
  collect(root);
  const lineH = fs + 4;
  const boxW = Math.min(180, Math.max(96, ...all.flatMap((b) => b.lines.map((l) => textWidth(l, fs) + 14))));
  const boxH = 3 * lineH + 8;
  const gapX = 14;
  const slotW = boxW + gapX;
  const levelH = boxH + 46;

  // Tidy layout (Reingold-Tilford style): each subtree keeps its contour (leftmost and rightmost centre per
  // level); siblings are pushed apart until no level of the two subtrees comes closer than one slot, and every
  // parent is centred over its children.
  const offset = new Map<Box, number>();
  const contour = (b: Box): { lo: number[]; hi: number[] } => {
    if (b.children.length === 0) return { lo: [0], hi: [0] };
    const [l, r] = [b.children[0]!, b.children[b.children.length - 1]!];
    const cl = contour(l);
    const cr = b.children.length > 1 ? contour(r) : cl;
    let shift = 0;
    if (b.children.length > 1) {
      for (let i = 0; i < Math.min(cl.hi.length, cr.lo.length); i++) shift = Math.max(shift, cl.hi[i]! - cr.lo[i]! + slotW);
    }
    offset.set(l, -shift / 2);
    offset.set(r, shift / 2);
    const lo = [0];
    const hi = [0];
    for (let i = 0; i < Math.max(cl.lo.length, cr.lo.length); i++) {
      const a = i < cl.lo.length ? cl.lo[i]! - shift / 2 : Infinity;
      const c = i < cr.lo.length ? cr.lo[i]! + shift / 2 : Infinity;
      const a2 = i < cl.hi.length ? cl.hi[i]! - shift / 2 : -Infinity;
      const c2 = i < cr.hi.length ? cr.hi[i]! + shift / 2 : -Infinity;
      lo.push(Math.min(a, c));
      hi.push(Math.max(a2, c2));
    }
    return { lo, hi };
  };
  const rootContour = contour(root);
  const minX = Math.min(...rootContour.lo);
  const maxX = Math.max(...rootContour.hi);
  const place = (b: Box, x: number) => {
    b.x = x;
    for (const c of b.children) place(c, x + offset.get(c)!);
  };
  place(root, slotW / 2 - minX);
  const depthDrawn = Math.max(...all.map((b) => b.depth));
  const contentW = maxX - minX + slotW;
  const contentH = (depthDrawn + 1) * levelH - (levelH - boxH) + (path.length > 0 ? fs + 10 : 0);

  // Header.
  const nNodes = s.order.length;
  const outName = treeOutputName(model, t);
  const title = options.title ?? `Tree ${t}${outName !== undefined && model.nOutputs > 1 ? ` — ${outName}` : ''}`;
  const subtitles = [
    `${formatName(model)} · tree ${t} of trees 0–${model.nTrees - 1}`,
    `depth ${model.treeDepth[t]} · ${nNodes} nodes (${s.leaves} leaves)${outName !== undefined ? ` · adds to output ${outName}` : ' · one value per output'}`,
    `yes = the condition holds · cover: ${coverKind(model)}${collapsedAny ? ` · nodes deeper than ${limit} collapsed` : ''}`,
  ];
  const leaf = path.length > 0 ? path[path.length - 1]! : -1;
  if (path.length > 0) {
    const v = leafValue(model, leaf);
    const avg = model.aggregate === 'average' ? ` (the ensemble averages ${model.nTrees} trees)` : model.aggregate !== 'sum' ? ` (aggregate: ${model.aggregate})` : '';
    subtitles.push(`the row reaches leaf node ${leaf - s.root} after ${path.length - 1} split${path.length === 2 ? '' : 's'}: value ${v.map(formatNumber).join(', ')}${avg}`);
  }
  const minW = 560;
  const width = options.width !== undefined ? sizeOption('width', options.width, minW) : Math.max(minW, Math.ceil(contentW + 32));
  const head = header(title, subtitles, width, fs);

  // Path steps panel (below the tree).
  const steps: string[] = [];
  if (path.length > 0 && x) {
    for (let i = 0; i + 1 < path.length; i++) {
      const n = path[i]!;
      const f = model.feature[n]!;
      const wentLeft = left[n] === path[i + 1];
      const isMissing = Number.isNaN(x[f]!);
      steps.push(`${i + 1}. ${featureName(model, f)} = ${describeValue(model, f, x[f]!)}: ${splitRule(model, n, 4)} → ${wentLeft ? 'yes' : 'no'}${isMissing ? (model.missing[n] === Missing.AS_ZERO ? ' (missing, taken as 0)' : ' (missing: default direction)') : ''}`);
    }
    steps.push(`${path.length}. leaf ${formatValueVector(leafValue(model, leaf))}`);
    if (steps.length > 40) steps.splice(20, steps.length - 39, `… ${steps.length - 39} more steps`);
  }
  const panelH = steps.length > 0 ? (steps.length + 1) * (fs + 6) + 16 : 0;

  // Scale the tree to the width (and height) asked for.
  const availW = width - 32;
  let scale = Math.min(1, availW / contentW);
  if (options.height !== undefined) {
    const h = sizeOption('height', options.height, 0);
    const availH = h - head.height - panelH - 16;
    if (availH <= 0) invalid(`height ${h} leaves no room for the tree; use at least ${Math.ceil(head.height + panelH + 80)}`);
    scale = Math.min(scale, availH / contentH);
  }
  const height = options.height !== undefined ? options.height : Math.ceil(head.height + contentH * scale + panelH + 16);
  const ox = 16 + Math.max(0, (availW - contentW * scale) / 2);
  const oy = head.height + 6;

  const edges: string[] = [];
  const pathLines: string[] = [];
  const boxes: string[] = [];
  const yOf = (b: Box) => b.depth * levelH;
  const halo = { stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke', 'stroke-linejoin': 'round' } as const;
  const visit = (b: Box) => {
    const y = yOf(b);
    const hl = onPath.has(b.id);
    for (const c of b.children) {
      const cy = yOf(c);
      const x1 = b.x;
      const y1 = y + boxH;
      const x2 = c.x;
      const y2 = cy;
      const goesMissing = missLeft.get(b.id) === c.isLeft;
      const label = `${c.isLeft ? 'yes' : 'no'}${goesMissing ? ', missing' : ''}`;
      const onRowPath = hl && onPath.has(c.id);
      if (onRowPath) {
        pathLines.push(el('line', { x1, y1, x2, y2, stroke: palette.highlight, 'stroke-width': 6, 'stroke-linecap': 'round', class: 'path', 'data-from': b.id, 'data-to': c.id }));
      }
      const mx = x1 + (x2 - x1) * 0.55;
      const my = y1 + (y2 - y1) * 0.55;
      edges.push(
        el(
          'g',
          { class: 'edge', 'data-from': b.id, 'data-to': c.id },
          el('line', { x1, y1, x2, y2, stroke: onRowPath ? '#8a5f00' : palette.axis, 'stroke-width': onRowPath ? 1.5 : 1 }),
          text(mx, my + fs * 0.35, label, { 'text-anchor': 'middle', 'font-size': fs - 1, fill: c.isLeft ? '#00603f' : '#8b1a1a', ...halo }),
        ),
      );
      visit(c);
    }
    const bx = b.x - boxW / 2;
    const fill = b.kind === 'leaf' ? '#eaf3fb' : b.kind === 'collapsed' ? '#f2f2f2' : '#ffffff';
    const stroke = hl ? palette.highlight : b.kind === 'collapsed' ? palette.missing : palette.axis;
    const attrs: Record<string, string | number> = { class: b.kind, 'data-node': b.id };
    if (b.kind === 'leaf') attrs['data-value'] = leafValue(model, b.id).map(String).join(',');
    if (b.kind === 'collapsed') attrs['data-hidden'] = s.size.get(b.id)!;
    if (b.kind === 'node') attrs['data-feature'] = featureName(model, model.feature[b.id]!);
    const lines = b.lines.filter((l) => l.length > 0);
    const startY = y + (boxH - lines.length * lineH) / 2 + lineH - 4;
    boxes.push(
      el(
        'g',
        attrs,
        b.tip ? el('title', {}, escapeXml(b.tip)) : '',
        el('rect', { x: bx, y, width: boxW, height: boxH, rx: b.kind === 'leaf' ? 10 : 3, fill, stroke, 'stroke-width': hl ? 3 : 1, ...(b.kind === 'collapsed' ? { 'stroke-dasharray': '4 3' } : {}) }),
        ...lines.map((l, i) =>
          text(b.x, startY + i * lineH, truncate(l, boxW - 10, fs), {
            'text-anchor': 'middle',
            fill: i === 0 ? palette.text : palette.mutedText,
            ...(i === 0 && b.kind === 'leaf' ? { 'font-weight': 'bold' } : {}),
            ...(i === 0 && b.kind === 'collapsed' ? { 'font-style': 'italic' } : {}),
          }),
        ),
      ),
    );
    if (b.id === leaf) {
      boxes.push(
        el(
          'g',
          { class: 'path-leaf', 'data-node': b.id, 'data-value': leafValue(model, b.id).map(String).join(',') },
          el('rect', { x: bx - 4, y: y - 4, width: boxW + 8, height: boxH + 8, rx: 12, fill: 'none', stroke: palette.highlight, 'stroke-width': 2, 'stroke-dasharray': '6 3' }),
          text(b.x, y + boxH + fs + 8, '▲ this row', { 'text-anchor': 'middle', 'font-weight': 'bold', fill: '#8a5f00' }),
        ),
      );
    }
  };
  visit(root);
  const tree = el('g', { class: 'tree', transform: `translate(${num(ox)} ${num(oy)}) scale(${Math.round(scale * 1000) / 1000})` }, ...pathLines, ...edges, ...boxes);

  let panel = '';
  if (steps.length > 0) {
    const py = head.height + 6 + contentH * scale + 10;
    const parts = [text(16, py + fs + 4, 'Path of this row', { 'font-weight': 'bold', fill: palette.text })];
    steps.forEach((st, i) => parts.push(text(16, py + (i + 2) * (fs + 6), truncate(st, width - 32, fs), { fill: palette.text, class: 'step' })));
    panel = el('g', { class: 'path-steps' }, ...parts);
  }

  return svgDocument(
    { kind: 'tree', title, width, height, fontSize: fs, description: `${subtitles.join('. ')}.` },
    head.svg,
    tree,
    panel,
  );
}
