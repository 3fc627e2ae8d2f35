/** A summary of a tree ensemble: size, depth histogram and per-feature split counts, cover and gain. */
import { Decision, type FeatureType, type TreeEnsemble } from '@genome/model-format';
import { format } from 'd3-format';
import { axis, linearScale } from '../core/axis.js';
import type { ChartOptions } from '../core/chart.js';
import { intOption, sizeOption } from '../core/chart.js';
import { formatNumber } from '../core/format.js';
import { palette } from '../core/palette.js';
import { el, svgDocument, text } from '../core/svg.js';
import { header, horizontalBars, linkName } from './common.js';
import { checkTreeModel, coverKind, formatName } from './tree-model.js';

const count = format(',d');
/** Sums of covers and gains: 4 significant digits, no exponent for the usual magnitudes. */
const total = (v: number) => (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e15 ? format(',.4~r')(v) : formatNumber(v));

export interface EnsembleOptions extends ChartOptions {
  /** Most features in each per-feature chart (default 20, most used first). */
  maxDisplay?: number;
}

export interface EnsembleFeatureSummary {
  index: number;
  name: string;
  type: FeatureType;
  /** Internal nodes splitting on the feature, over all trees. */
  splits: number;
  /** Sum of the covers of those nodes; null when the format stores no covers. */
  cover: number | null;
  /** Sum of the split gains; null when the IR carries no gain. */
  gain: number | null;
}

/** Plain JSON numbers about an ensemble (what `ensembleSvg` draws). */
export interface EnsembleSummary {
  format: string;
  objective: string | null;
  trees: number;
  outputs: number;
  outputNames: string[];
  /** Trees adding to each output (valueWidth 1), or every tree for every output (valueWidth > 1). */
  treesPerOutput: number[];
  valueWidth: number;
  aggregate: string;
  transform: string;
  nodes: number;
  /** Internal (split) nodes. */
  splits: number;
  leaves: number;
  categoricalSplits: number;
  maxDepth: number;
  meanDepth: number;
  /** Entry d: the number of trees whose deepest leaf is d edges below the root, for d = 0 .. maxDepth. */
  depthHistogram: { depth: number; trees: number }[];
  hasCovers: boolean;
  /** What cover counts ("sum of hessians", "training rows", "not stored by this format"). */
  coverKind: string;
  hasGain: boolean;
  /** Per feature, in the model's feature order. */
  features: EnsembleFeatureSummary[];
}

function gainArray(model: TreeEnsemble): Float64Array | undefined {
  return model.gain instanceof Float64Array && model.gain.length === model.left.length ? model.gain : undefined;
}

/** Counts an ensemble's trees, nodes, depths and per-feature splits, cover and gain by walking every tree. */
export function ensembleSummary(model: TreeEnsemble): EnsembleSummary {
  checkTreeModel(model, 'ensembleSummary');
  const { nTrees, treeOffsets, left, right, feature, decision, cover, hasCovers } = model;
  const F = model.nFeatures;
  const gain = gainArray(model);
  const splits = new Array<number>(F).fill(0);
  const covers = new Array<number>(F).fill(0);
  const gains = new Array<number>(F).fill(0);
  const depthOfTree: number[] = [];
  const depth = new Int32Array(left.length);
  let nodes = 0;
  let internal = 0;
  let categorical = 0;
  for (let t = 0; t < nTrees; t++) {
    const root = treeOffsets[t]!;
    depth[root] = 0;
    let maxD = 0;
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      nodes++;
      const d = depth[n]!;
      if (d > maxD) maxD = d;
      const l = left[n]!;
      if (l < 0) continue;
      internal++;
      const f = feature[n]!;
      splits[f]!++;
      if (hasCovers) covers[f]! += cover[n]!;
      if (gain) gains[f]! += gain[n]!;
      if (decision[n] === Decision.IN_SET) categorical++;
      depth[l] = d + 1;
      depth[right[n]!] = d + 1;
      stack.push(right[n]!, l);
    }
    depthOfTree.push(maxD);
  }
  const maxDepth = depthOfTree.length ? Math.max(...depthOfTree) : 0;
  const hist = Array.from({ length: maxDepth + 1 }, (_, d) => ({ depth: d, trees: 0 }));
  for (const d of depthOfTree) hist[d]!.trees++;
  const K = model.nOutputs;
  const perOutput = new Array<number>(K).fill(0);
  if (model.valueWidth === 1) for (let t = 0; t < nTrees; t++) perOutput[model.treeOutput[t]!]!++;
  else perOutput.fill(nTrees);
  return {
    format: model.source?.format ?? 'ir',
    objective: model.source?.objective ?? null,
    trees: nTrees,
    outputs: K,
    outputNames: [...model.outputNames],
    treesPerOutput: perOutput,
    valueWidth: model.valueWidth,
    aggregate: model.aggregate,
    transform: model.transform,
    nodes,
    splits: internal,
    leaves: nodes - internal,
    categoricalSplits: categorical,
    maxDepth,
    meanDepth: nTrees ? depthOfTree.reduce((a, b) => a + b, 0) / nTrees : 0,
    depthHistogram: hist,
    hasCovers,
    coverKind: coverKind(model),
    hasGain: gain !== undefined,
    features: Array.from({ length: F }, (_, f) => ({
      index: f,
      name: model.featureNames[f] ?? `f${f}`,
      type: model.featureTypes?.[f] ?? 'float',
      splits: splits[f]!,
      cover: hasCovers ? covers[f]! : null,
      gain: gain ? gains[f]! : null,
    })),
  };
}

/** Vertical bars of the depth histogram with a count axis; returns markup and height. */
function depthHistogram(summary: EnsembleSummary, x: number, y: number, width: number, fs: number): { svg: string; height: number } {
  const plotH = 130;
  const left = x + 56;
  const right = x + width;
  const top = y + 8;
  const bottom = top + plotH;
  const bins = summary.depthHistogram;
  const band = (right - left) / Math.max(1, bins.length);
  const barW = Math.max(1, Math.min(48, band * 0.7));
  const yScale = linearScale([0, Math.max(1, ...bins.map((b) => b.trees))], [bottom, top], { pad: 0 });
  const parts: string[] = [axis({ scale: yScale, orient: 'left', at: left - 4, ticks: 4, gridTo: right, label: 'trees', fontSize: fs - 1 })];
  const every = Math.ceil(bins.length / Math.max(1, Math.floor((right - left) / 28)));
  bins.forEach((b, i) => {
    const cx = left + band * (i + 0.5);
    const top2 = yScale(b.trees);
    parts.push(
      el('rect', {
        x: cx - barW / 2,
        y: top2,
        width: barW,
        height: Math.max(0, bottom - top2),
        fill: palette.neutral,
        class: 'bar',
        'data-series': 'depth',
        'data-depth': b.depth,
        'data-value': String(b.trees),
      }),
    );
    if (b.trees > 0 && band >= 22) parts.push(text(cx, top2 - 4, count(b.trees), { 'text-anchor': 'middle', 'font-size': fs - 2, fill: palette.text, class: 'value-label' }));
    if (i % every === 0) parts.push(text(cx, bottom + fs + 4, String(b.depth), { 'text-anchor': 'middle', 'font-size': fs - 1, fill: palette.mutedText, class: 'tick' }));
  });
  parts.push(el('line', { x1: left - 4, x2: right, y1: bottom, y2: bottom, stroke: palette.axis }));
  parts.push(text((left + right) / 2, bottom + 2 * fs + 10, 'max depth of the tree (edges from the root to its deepest leaf)', { 'text-anchor': 'middle', 'font-size': fs, fill: palette.text, class: 'axis-label' }));
  return { svg: el('g', { class: 'depth-histogram' }, ...parts), height: bottom + 2 * fs + 18 - y };
}

/**
 * An ensemble summary: tree and node counts, a histogram of tree depths, and per-feature split counts, total cover
 * and (when the IR has it) gain as horizontal bars, most used features first. Kind `ensemble`.
 */
export function ensembleSvg(model: TreeEnsemble, options: EnsembleOptions = {}): string {
  const sm = ensembleSummary(model);
  const maxDisplay = intOption('maxDisplay', options.maxDisplay, 20, 1, 1000);
  const width = sizeOption('width', options.width, 720);
  const fs = sizeOption('fontSize', options.fontSize, 12, 72);
  const title = options.title ?? `Tree ensemble — ${formatName(model)}`;
  const outputs = sm.outputs === 1 ? `1 output (${sm.outputNames[0] ?? 'output'})` : `${sm.outputs} outputs`;
  const subtitles = [
    `${count(sm.trees)} trees · ${outputs} · ${count(sm.nodes)} nodes: ${count(sm.splits)} splits${sm.categoricalSplits ? ` (${count(sm.categoricalSplits)} categorical)` : ''}, ${count(sm.leaves)} leaves`,
    `aggregate: ${sm.aggregate} · link: ${linkName(sm.transform)} · depth max ${sm.maxDepth}, mean ${formatNumber(sm.meanDepth)}`,
    `cover: ${sm.coverKind} · ${sm.hasGain ? 'gain: sum of split gains' : 'gain not stored by this format'}`,
  ];
  const head = header(title, subtitles, width, fs);
  const parts: string[] = [head.svg];
  let y = head.height + 6;
  const section = (label: string) => {
    y += fs + 6;
    parts.push(text(16, y, label, { 'font-weight': 'bold', 'font-size': fs + 1, fill: palette.text, class: 'section' }));
    y += 4;
  };

  section('Trees by depth');
  const hist = depthHistogram(sm, 16, y, width - 32, fs);
  parts.push(hist.svg);
  y += hist.height + 8;

  const perFeature = (key: 'splits' | 'cover' | 'gain', label: string, axisLabel: string, fmt: (v: number) => string, color: string) => {
    const used = sm.features.filter((f) => (f[key] ?? 0) !== 0 || (key === 'splits' && f.splits > 0));
    const sorted = used.sort((a, b) => (b[key] ?? 0) - (a[key] ?? 0) || b.splits - a.splits || a.index - b.index);
    const shown = sorted.slice(0, maxDisplay);
    const rest = sorted.length - shown.length;
    const unused = sm.features.length - sm.features.filter((f) => f.splits > 0).length;
    section(label);
    const notes: string[] = [];
    if (rest > 0) notes.push(`… ${rest} more feature${rest === 1 ? '' : 's'}`);
    if (unused > 0 && key === 'splits') notes.push(`${unused} feature${unused === 1 ? '' : 's'} never split on`);
    const bars = horizontalBars({
      x: 16,
      y: y + 4,
      width: width - 32,
      fontSize: fs,
      series: key,
      axisLabel,
      items: shown.map((f) => ({
        label: f.name,
        value: f[key] ?? 0,
        color,
        valueLabel: fmt(f[key] ?? 0),
        attrs: { 'data-feature': f.name, 'data-index': f.index, 'data-value': String(f[key] ?? 0) },
      })),
      ...(notes.length ? { note: notes.join(' · ') } : {}),
    });
    parts.push(bars.svg);
    y += bars.height + 10;
  };
  const noteLine = (label: string, message: string) => {
    section(label);
    y += fs + 4;
    parts.push(text(16, y, message, { fill: palette.mutedText, class: 'note' }));
    y += 8;
  };

  perFeature('splits', 'Splits per feature', 'number of split nodes', count, palette.series[0]!);
  if (sm.hasCovers) perFeature('cover', `Total cover per feature (${sm.coverKind})`, `sum of node covers (${sm.coverKind})`, total, palette.series[2]!);
  else noteLine('Total cover per feature', `cover not stored by this format (${formatName(model)})`);
  if (sm.hasGain) perFeature('gain', 'Total gain per feature', 'sum of split gains', total, palette.series[1]!);
  else noteLine('Total gain per feature', 'gain not stored by this format');

  const height = options.height !== undefined ? sizeOption('height', options.height, 0) : Math.ceil(y + 12);
  return svgDocument({ kind: 'ensemble', title, width, height, fontSize: fs, description: `${subtitles.join('. ')}.` }, ...parts);
}
