/**
 * The alibi-compatible explanation object (SeldonIO/alibi `alibi/api/defaults.py`, `anchor_base.py`,
 * `anchor_tabular.py`): `{meta: {name, type, explanations, params, version}, data: {anchor, precision,
 * coverage, raw}}`, with `raw = {feature, mean, precision, coverage, examples, all_precision, num_preds,
 * success, names, prediction, instance, instances}` so existing alibi consumers can read it.
 */
import type { BeamResult } from './beam.js';

export const GENOME_LIME_VERSION = '0.1.0';

export interface AlibiAnchorExplanation<E> {
  meta: { name: string; type: string[]; explanations: string[]; params: Record<string, unknown>; version: string };
  data: {
    anchor: string[];
    precision: number;
    coverage: number;
    raw: {
      feature: number[];
      mean: number[];
      precision: number[];
      coverage: number[];
      examples: { covered_true: E[]; covered_false: E[]; uncovered_true: E[]; uncovered_false: E[] }[];
      all_precision: number;
      num_preds: number;
      success: boolean;
      names: string[];
      prediction: number[];
      instance: unknown;
      instances: unknown[];
      [extra: string]: unknown;
    };
  };
}

export function alibiExplanation<E>(
  name: string,
  params: Record<string, unknown>,
  res: BeamResult<E>,
  names: string[],
  features: number[],
  prediction: number,
  instance: unknown,
  extraRaw: Record<string, unknown> = {},
): AlibiAnchorExplanation<E> {
  const precision = res.precision.length === 0 ? res.all_precision : res.precision[res.precision.length - 1]!;
  const coverage = res.coverage.length === 0 ? 1 : res.coverage[res.coverage.length - 1]!;
  return {
    meta: { name, type: ['blackbox'], explanations: ['local'], params, version: GENOME_LIME_VERSION },
    data: {
      anchor: names,
      precision,
      coverage,
      raw: {
        feature: features,
        mean: res.mean,
        precision: res.precision,
        coverage: res.coverage,
        examples: res.examples,
        all_precision: res.all_precision,
        num_preds: res.num_preds,
        success: res.success,
        names,
        prediction: [prediction],
        instance,
        instances: [instance],
        ...extraRaw,
      },
    },
  };
}

/**
 * The Genome `values` of an anchor: the precision gained when each feature's predicate(s) joined the anchor
 * (precision of the empty anchor as the base value; base + sum = the anchor's precision).
 */
export function precisionGains(nFeatures: number, res: BeamResult<unknown>, features: number[]): number[][] {
  const v = Array.from({ length: nFeatures }, () => [0]);
  let prev = res.emptyPrecision;
  res.precision.forEach((p, k) => {
    v[features[k]!]![0]! += p - prev;
    prev = p;
  });
  return v;
}
