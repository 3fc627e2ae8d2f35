/** Link functions applied to averaged model outputs before attributing (shap's `link`). */
import { ShapError } from './errors.js';

/** `identity` keeps the model's output space; `logit` maps probabilities to log-odds. */
export type Link = 'identity' | 'logit';

export function checkLink(link: unknown): Link {
  if (link === undefined) return 'identity';
  if (link !== 'identity' && link !== 'logit') {
    throw new ShapError('INVALID_OPTION', `link must be 'identity' or 'logit', got ${String(link)}.`);
  }
  return link;
}

/** Applies the link to every value of `v` in place. */
export function applyLink(link: Link, v: Float64Array): void {
  if (link === 'identity') return;
  for (let i = 0; i < v.length; i++) {
    const p = v[i]!;
    if (!(p > 0 && p < 1)) {
      throw new ShapError('MODEL_OUTPUT', `link 'logit' needs model outputs strictly between 0 and 1, got ${p}; use link 'identity' for margins.`);
    }
    v[i] = Math.log(p / (1 - p));
  }
}
