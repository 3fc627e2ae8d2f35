/**
 * The tree-ensemble intermediate representation (IR) shared by every parser and explainer.
 *
 * All trees of an ensemble live in one set of flat typed arrays ("structure of arrays"). Node ids are
 * global: tree `t` owns nodes `treeOffsets[t] .. treeOffsets[t+1]-1` and its root is `treeOffsets[t]`.
 * Parsers normalise every split to "condition true => go to `left`", so explainers never need to know
 * which format a model came from.
 */

/** How a split compares feature value `x` with the node: the condition that sends a row to `left`. */
export const Decision = {
  /** `x < threshold` (XGBoost, ONNX BRANCH_LT; BRANCH_GTE is stored as LT with children swapped). */
  LT: 0,
  /** `x <= threshold` (LightGBM, scikit-learn, ONNX BRANCH_LEQ; BRANCH_GT stored swapped). */
  LEQ: 1,
  /** `x` (as a non-negative integer category) is in the node's category set (LightGBM/XGBoost categorical, ONNX BRANCH_EQ/NEQ/MEMBER). */
  IN_SET: 2,
} as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

/** What a node does with a missing value (NaN) — and for LightGBM, zero. */
export const Missing = {
  /** NaN is replaced by 0 and then compared (LightGBM `missing_type=None`). */
  AS_ZERO: 0,
  /** NaN follows the node's default direction (`defaultLeft`). XGBoost, LightGBM `NaN`, ONNX. */
  NAN_DEFAULT: 1,
  /** NaN and values with |x| <= 1e-35 follow the default direction (LightGBM `missing_type=Zero`). */
  ZERO_DEFAULT: 2,
} as const;
export type Missing = (typeof Missing)[keyof typeof Missing];

/** How per-tree outputs are combined. Explainers support the linear ones (SUM, AVERAGE). */
export type Aggregate = 'sum' | 'average' | 'min' | 'max';

/** Link from the raw (margin) output to the user-facing prediction. */
export type OutputTransform = 'identity' | 'logistic' | 'softmax' | 'softmax_zero' | 'probit' | 'exp';

/** Feature type as declared by the training library. Categorical features are non-negative integer codes. */
export type FeatureType = 'float' | 'int' | 'categorical';

export interface TreeEnsemble {
  /** Number of input features a row must have. */
  readonly nFeatures: number;
  readonly featureNames: readonly string[];
  readonly featureTypes: readonly FeatureType[];
  /**
   * Category names of categorical features, when the model file (or the Genome package) records them:
   * `featureCategories[f][code]` is the name of category `code` of feature `f` (the integer the splits test);
   * `undefined` for numeric features and for categorical features saved without names. Numeric category
   * values (XGBoost integer categories, LightGBM numeric pandas categories) appear as their decimal strings,
   * e.g. "4", "8". Absent when no feature has names. Sources: XGBoost >= 3.1 `cats` (JSON and UBJSON),
   * LightGBM's `pandas_categorical` trailer, a Genome manifest's `levels`. {@link encodeRows} uses it to turn
   * category names into codes.
   */
  readonly featureCategories?: readonly (readonly string[] | undefined)[];
  /** Number of raw (margin) outputs: 1 for regression and binary classification, K for K-class models. */
  readonly nOutputs: number;
  /** Names of the raw outputs (class labels for classifiers). */
  readonly outputNames: readonly string[];
  /**
   * For binary classifiers that report two probabilities `[1-p, p]` from one margin (ONNX/sklearn convention),
   * the labels of both classes; `undefined` otherwise.
   */
  readonly binaryLabels?: readonly [string, string];
  /** Base score per output in margin space (XGBoost base_score after the objective's link, ONNX base_values). */
  readonly baseScore: Float64Array;
  readonly aggregate: Aggregate;
  readonly transform: OutputTransform;

  readonly nTrees: number;
  /** Length nTrees+1: node range of each tree. */
  readonly treeOffsets: Int32Array;
  /**
   * Width of each node's value vector: 1 (each tree feeds one output, see `treeOutput`) or `nOutputs`
   * (each tree feeds every output, e.g. scikit-learn random-forest classifiers).
   */
  readonly valueWidth: number;
  /** Length nTrees: the output each tree adds to when valueWidth == 1; -1 when valueWidth == nOutputs > 1. */
  readonly treeOutput: Int32Array;
  /** Max depth (edges from root to deepest leaf) per tree. */
  readonly treeDepth: Int32Array;

  /** Per node (global index). -1 marks a leaf. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Split feature per node; -1 for leaves. */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  /** {@link Decision} per node. */
  readonly decision: Uint8Array;
  /** 1 when a missing value goes to `left`, 0 when it goes to `right`. */
  readonly defaultLeft: Uint8Array;
  /** {@link Missing} per node. */
  readonly missing: Uint8Array;
  /**
   * Category sets for IN_SET nodes as bitsets: node `n` uses words `catBits[catStart[n] .. catStart[n]+catLen[n]-1]`;
   * category c (integer >= 0) is in the set when bit (c & 31) of word (c >> 5) is set. catLen is 0 for other nodes.
   */
  readonly catStart: Int32Array;
  readonly catLen: Int32Array;
  readonly catBits: Uint32Array;
  /** Node values, `valueWidth` per node (leaf outputs; internal nodes hold 0 or the cover-weighted mean). */
  readonly value: Float64Array;
  /** Training cover (hessian sum or sample count) per node; all NaN when the format carries none. */
  readonly cover: Float64Array;
  readonly hasCovers: boolean;
  /**
   * Split gain (the loss reduction the split brought in training) per node, NaN at leaves; present only when the
   * format stores it: XGBoost `loss_changes`, LightGBM `split_gain`. ONNX-ML files carry none.
   */
  readonly gain?: Float64Array;

  /** Where the model came from. */
  readonly source: ModelSource;
}

export interface ModelSource {
  readonly format: 'xgboost-json' | 'xgboost-ubjson' | 'lightgbm-text' | 'onnx-ml' | 'ir';
  /** Version of the producing library when recorded (e.g. "1.4.0", "v3"). */
  readonly version?: string;
  /** Training objective or ONNX op name. */
  readonly objective?: string;
  /** XGBoost loaded with an `iterationRange`: the boosting rounds kept, `[begin, end)`. */
  readonly iterationRange?: readonly [number, number];
  /** XGBoost loaded with an `iterationRange`: how many boosting rounds the file holds. */
  readonly rounds?: number;
}
