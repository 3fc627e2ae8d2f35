/**
 * The browser entry of @genome/shap (the package's `browser` export condition): the whole public API but the
 * worker_threads pool, which src/index.ts adds for Node. TreeSHAP runs here on the calling thread (the synchronous
 * path: `treeShap*`, `explainTree` without a pool); @genome/model-format resolves to its own browser entry.
 */
export { ShapError, type ShapErrorCode } from './errors.js';
export { Rng, DEFAULT_SEED } from '@genome/model-format';
export type { RowsInput } from './rows.js';
export type { Link } from './link.js';
export { makeBackground, sampleBackground, kmeansBackground, type Background } from './background.js';
export type { AgnosticOptions, CancellableOptions } from './agnostic.js';
export { KernelExplainer, type KernelExplainOptions, type L1Reg } from './kernel/explainer.js';
export { ExactExplainer, type ExactOptions, type ExactExplainOptions, EXACT_DEFAULT_MAX_FEATURES, EXACT_HARD_MAX_FEATURES } from './exact.js';
export { PermutationExplainer, type PermutationExplainOptions } from './permutation.js';
export {
  LinearExplainer,
  linearStats,
  type LinearModelLike,
  type LinearStats,
  type LinearOptions,
  type FeaturePerturbation,
} from './linear.js';
export {
  treeShapPathDependent,
  treeShapInterventional,
  treeShapInteractions,
  prepareBackground,
  prepareTreeShap,
  PATH_ALGORITHMS,
  type TreeShapPreparation,
  type TreeShapValues,
  type TreeShapInteractionValues,
  type PathDependentOptions,
  type InterventionalOptions,
  type PreparedBackground,
  type PathAlgorithm,
  type InteractionOptions,
  type InteractionAlgorithm,
  type InterventionalAlgorithm,
} from './tree/tree-shap.js';
export { explainTree, type ExplainTreeOptions, type TreeRows } from './tree/explain.js';
