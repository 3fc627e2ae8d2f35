/** Target specifications (what score a CAM explains) and their resolution against model outputs. */
import type { ResolvedTarget, TargetFn } from './cam-model.js';
import { GradCamError } from './errors.js';
import { loadTf } from './tfjs/runtime.js';

/**
 * What to explain for an image: a class index (raw output, like pytorch-grad-cam's `ClassifierOutputTarget`),
 * `{ class, softmax: true }` (`ClassifierOutputSoftmaxTarget`), or a custom differentiable function of the
 * model output row (TF.js ops).
 */
export type CamTarget = number | { readonly class: number; readonly softmax?: boolean } | { readonly fn: TargetFn; readonly name?: string };

/** Targets for a batch: one for all images, one per image, top-k classes per image, or (undefined) the argmax class. */
export type CamTargets = CamTarget | readonly CamTarget[] | { readonly topK: number } | undefined;

function resolveOne(t: CamTarget, nOut: number): ResolvedTarget {
  if (typeof t === 'number' || 'class' in t) {
    const index = typeof t === 'number' ? t : t.class;
    if (!Number.isInteger(index) || index < 0 || index >= nOut) throw new GradCamError('INVALID_INPUT', `Target class ${index} is out of range: the model has ${nOut} outputs (0..${nOut - 1}).`);
    return { kind: 'class', index, softmax: typeof t !== 'number' && t.softmax === true };
  }
  if (typeof t.fn !== 'function') throw new GradCamError('INVALID_INPUT', 'A custom target needs `fn: (output, tf) => scalar`.');
  return { kind: 'fn', fn: t.fn, name: t.name ?? 'custom' };
}

/** Jobs (image index, target) in image-major order. */
export function resolveTargets(spec: CamTargets, outputs: Float32Array, n: number, nOut: number): { image: number; target: ResolvedTarget }[] {
  const jobs: { image: number; target: ResolvedTarget }[] = [];
  if (spec === undefined || (typeof spec === 'object' && spec !== null && 'topK' in spec)) {
    const k = spec === undefined ? 1 : (spec as { topK: number }).topK;
    if (!Number.isInteger(k) || k < 1 || k > nOut) throw new GradCamError('INVALID_INPUT', `topK must be an integer in 1..${nOut}, got ${k}.`);
    for (let i = 0; i < n; i++) {
      const order = topClasses(outputs.subarray(i * nOut, (i + 1) * nOut), k);
      for (let r = 0; r < k; r++) jobs.push({ image: i, target: { kind: 'class', index: order[r]!, softmax: false } });
    }
    return jobs;
  }
  if (Array.isArray(spec)) {
    if (spec.length !== n) throw new GradCamError('INVALID_INPUT', `Got ${spec.length} targets for ${n} images; pass one per image, a single target, or { topK }.`);
    spec.forEach((t, i) => jobs.push({ image: i, target: resolveOne(t as CamTarget, nOut) }));
    return jobs;
  }
  const t = resolveOne(spec as CamTarget, nOut);
  for (let i = 0; i < n; i++) jobs.push({ image: i, target: t });
  return jobs;
}

/**
 * The k best classes of an output row, best first (ties: lower index first). Selection for small k (no sort of
 * the whole row per image), a full sort otherwise.
 */
export function topClasses(row: Float32Array, k: number): number[] {
  if (k > 8) return Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b).slice(0, k);
  const out: number[] = [];
  for (let r = 0; r < k; r++) {
    let best = -1;
    for (let i = 0; i < row.length; i++) {
      if (out.includes(i)) continue;
      if (best < 0 || row[i]! > row[best]!) best = i;
    }
    out.push(best);
  }
  return out;
}

/** Score of a class target on one output row: the raw output, or its softmax probability. */
export function classScore(t: Extract<ResolvedTarget, { kind: 'class' }>, row: Float32Array): number {
  if (!t.softmax) return row[t.index]!;
  let m = Number.NEGATIVE_INFINITY;
  for (const v of row) if (v > m) m = v;
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return Math.exp(row[t.index]! - m) / s;
}

/** Score of one target on one output row (used by the forward-only methods and reported for all). */
export async function scoreOf(t: ResolvedTarget, row: Float32Array): Promise<number> {
  if (t.kind === 'class') return classScore(t, row);
  const tf = await loadTf();
  return tf.tidy(() => t.fn(tf.tensor1d(row), tf).dataSync()[0]!);
}

export function targetLabel(t: ResolvedTarget, outputNames?: readonly string[]): string {
  if (t.kind === 'fn') return t.name;
  const base = outputNames?.[t.index] ?? `class ${t.index}`;
  return t.softmax ? `softmax(${base})` : base;
}
