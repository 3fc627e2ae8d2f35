/** Reading LIME and Anchors results (libs/lime's `details`) for the charts. */
import type { Explanation } from '@genome/model-format';
import { featureLabel } from '../core/explanation.js';
import { VizError } from '../errors.js';

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Throws UNSUPPORTED naming the explanation's method unless it is one of `methods`. */
export function requireMethod(e: Explanation, chart: string, methods: readonly string[], hint = ''): void {
  if (methods.includes(e.method)) return;
  throw new VizError(
    'UNSUPPORTED',
    `${chart} draws ${methods.join(' / ')} explanations; this explanation's method is ${JSON.stringify(e.method.slice(0, 80))}${hint ? ` (${hint})` : ''}`,
  );
}

/** `details[key][row][output]` when it is a finite number (LIME's intercept, score, localPrediction). */
export function detailNumber(e: Explanation, key: string, row: number, output: number): number | undefined {
  const v = (e.details?.[key] as unknown[] | undefined)?.[row];
  const x = Array.isArray(v) ? v[output] : undefined;
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

export interface LimeWeight {
  feature: number;
  /** What the chart writes: LIME's condition (`age <= 30.00`, `sex=Male`), the word, or the segment. */
  label: string;
  weight: number;
}

/**
 * The features LIME selected for a row and output, with their weights, sorted by |weight| (ties by feature
 * index). Selected features are those listed in `details.explanations[row][output]` when present, else the
 * non-zero values.
 */
export function limeWeights(e: Explanation, row: number, output: number): LimeWeight[] {
  const values = e.values[row]!;
  const listed = (e.details?.explanations as unknown[] | undefined)?.[row];
  const entries = Array.isArray(listed) ? listed[output] : undefined;
  const selected = new Set<number>();
  if (Array.isArray(entries)) {
    for (const x of entries) {
      const f = isRecord(x) ? (x.feature ?? x.segment) : undefined;
      if (typeof f === 'number' && Number.isInteger(f) && f >= 0 && f < values.length) selected.add(f);
    }
  }
  if (selected.size === 0) values.forEach((cell, f) => cell[output] !== 0 && Number.isFinite(cell[output]!) && selected.add(f));
  const descriptions = (e.details?.featureDescriptions as unknown[] | undefined)?.[row];
  const out: LimeWeight[] = [];
  for (const f of selected) {
    const d = Array.isArray(descriptions) ? descriptions[f] : undefined;
    let label: string;
    if (typeof d === 'string') label = d;
    else if (e.method === 'lime.tabular') label = featureLabel(e, row, f);
    else label = e.featureNames[f]!;
    const w = values[f]![output]!;
    out.push({ feature: f, label, weight: Number.isFinite(w) ? w : 0 });
  }
  return out.sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight) || a.feature - b.feature);
}

/** `#rrggbb` -> `rgba(r, g, b, a)`. */
export function rgba(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  const a = Math.round(Math.min(1, Math.max(0, alpha)) * 1000) / 1000;
  return `rgba(${parseInt(m[1]!, 16)}, ${parseInt(m[2]!, 16)}, ${parseInt(m[3]!, 16)}, ${a})`;
}
