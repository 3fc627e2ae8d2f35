export { ModelFormatError, type ModelFormatErrorCode } from './errors.js';
export {
  Decision,
  Missing,
  type Aggregate,
  type FeatureType,
  type ModelSource,
  type OutputTransform,
  type TreeEnsemble,
} from './tree/ensemble.js';
export type { AnyPredictor, ImagePredictor, Matrix, OutputSpace, Predictor, TextPredictor } from './predictor.js';
export { EXPLANATION_SCHEMA, type Explanation, type ExplanationTimings } from './explanation.js';
