/** SHAP charts (python shap's plots) as standalone SVG documents. */
export { waterfallSvg, type WaterfallOptions } from './waterfall.js';
export { forceSvg, type ForceOptions } from './force.js';
export { forceStackedSvg, similarityOrder, type ForceStackedOptions, type StackedOrder } from './force-stacked.js';
export { beeswarmSvg, swarmOffsets, type BeeswarmOptions } from './beeswarm.js';
export { barSvg, type BarOptions } from './bar.js';
export { dependenceSvg, approximateInteractions, type DependenceOptions } from './dependence.js';
export { decisionSvg, type DecisionOptions } from './decision.js';
