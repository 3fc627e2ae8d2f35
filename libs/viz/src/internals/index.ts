/** Model internals: linear coefficients, tree diagrams and ensemble summaries, drawn from model-format models. */
export { coefficientsSvg, type CoefficientsOptions } from './coefficients.js';
export { treeSvg, treeRowPath, type TreeOptions, type TreeRow, type TreeRowPath } from './tree.js';
export { ensembleSvg, ensembleSummary, type EnsembleOptions, type EnsembleSummary, type EnsembleFeatureSummary } from './ensemble.js';
