/**
 * The one JSON shape every Genome explainer returns (SHAP, LIME, Anchors, Grad-CAM), defined once here so
 * explainers, the sidecar and UIs agree. Plain JSON: `JSON.stringify` round-trips it.
 */
import type { OutputSpace } from './predictor.js';

export const EXPLANATION_SCHEMA = 'genome.explanation/v1' as const;

export interface ExplanationTimings {
  /** Wall time of the whole call in milliseconds. */
  totalMs: number;
  /** Time spent inside the model (black-box methods). */
  modelMs?: number;
  /** Number of batched model calls made. */
  modelCalls?: number;
  /** Number of perturbed samples evaluated by the model. */
  samples?: number;
}

export interface Explanation {
  schema: typeof EXPLANATION_SCHEMA;
  /** e.g. `tree_shap.path_dependent`, `tree_shap.interventional`, `kernel_shap`, `linear_shap`, `exact_shap`, `permutation_shap`, `lime.tabular`, `lime.text`, `lime.image`, `anchors.tabular`, `gradcam`. */
  method: string;
  /** Attribution per explained row, feature and output: `values[row][feature][output]` (shap's layout). */
  values: number[][][];
  /** The reference the attributions add up from, per row and output (shap's expected_value / base_values). */
  baseValues: number[][];
  /** Names of the attributed features (columns, words, superpixels, ...), length = values[r].length. */
  featureNames: string[];
  /** Names of the explained outputs, length = values[r][f].length. */
  outputNames: string[];
  /** The space attributions are expressed in (margin/log-odds, probability, regression value). */
  outputSpace: OutputSpace;
  /** The model's output for each explained row in `outputSpace` (baseValues + sum(values) for additive methods). */
  predictions?: number[][];
  /**
   * The explained inputs, when tabular, as the caller holds them (as shap's `Explanation.data`): numbers, category
   * names of categorical features, `null` for a missing value.
   */
  data?: (number | string | null)[][];
  /** SHAP interaction values `[row][feature][feature][output]` (diagonal = main effects). */
  interactions?: number[][][][];
  /** The parameters the method ran with, after defaults were applied. */
  parameters: Record<string, unknown>;
  /**
   * Seed of the random generator for sampling methods: each row draws from the stream of (seed, the row's content),
   * so this seed and the row reproduce the row's explanation alone or in any batch.
   */
  seed?: number;
  timings: ExplanationTimings;
  /** Method-specific results (LIME intercept/score, Anchors rule, CAM maps), documented by each method. */
  details?: Record<string, unknown>;
}
