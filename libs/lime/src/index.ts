export { LimeError, type LimeErrorCode } from './errors.js';
export { Rng } from './random.js';
export {
  LimeTabularExplainer,
  type LimeFeatureWeight,
  type LimeTabularExplainOptions,
  type LimeTabularOptions,
  type TabularTrainingStats,
} from './tabular.js';
export { type BinStats, type DiscretizerKind } from './discretizer.js';
export { type FeatureSelection, type LocalExplanation } from './surrogate.js';
export { type DistanceMetric } from './model-calls.js';
export { DEFAULT_SPLIT_EXPRESSION, IndexedText, type IndexedTextOptions, type SplitExpression } from './indexed-text.js';
export { LimeTextExplainer, type LimeTextExplainOptions, type LimeTextOptions } from './text.js';
export { AnchorTabular, type AnchorTabularOptions } from './anchors/tabular.js';
export { type AnchorExplainOptions } from './anchors/options.js';
export { type AlibiAnchorExplanation } from './anchors/alibi.js';
export { AnchorText, DEFAULT_TOKEN_PATTERN, type AnchorTextOptions } from './anchors/text.js';
export { type HwcImage, rgbToLab } from './image/image.js';
export { slic, enforceConnectivity, type SlicOptions } from './image/slic.js';
export { quickshift, type QuickshiftOptions } from './image/quickshift.js';
export { LimeImageExplainer, type LimeImageExplainOptions, type LimeImageOptions, type Segmentation } from './image/lime-image.js';
export { explanationMask, renderBoundaries, type BoundaryOptions, type MaskOptions } from './image/render.js';
