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
export type {
  AnyPredictor,
  ImagePredictor,
  Matrix,
  OutputSpace,
  PredictOptions,
  Predictor,
  TextPredictor,
} from './predictor.js';
export { EXPLANATION_SCHEMA, type Explanation, type ExplanationTimings } from './explanation.js';
export { onnxPredictor, type OnnxPredictorOptions } from './predictors/onnx.js';
export {
  remotePredictor,
  remoteTextPredictor,
  type RemotePredictorOptions,
  type RemoteTextPredictorOptions,
} from './predictors/remote.js';
export type { OipDatatype, OipNumericDatatype } from './predictors/oip-tensor.js';
export { treePredictor, type TreePredictorOptions } from './predictors/tree.js';
export { isAbortSignal, nextTurn, Pacer, raceAbort, throwIfAborted } from './cancellation.js';
export {
  decodeOnnxModel,
  decodeOnnxTensor,
  findAttribute,
  attributeString,
  attributeStrings,
  initializerMap,
  opsetVersion,
  tensorSize,
  tensorStrings,
  tensorToFloat32Array,
  tensorToFloat64Array,
  OnnxAttributeType,
  OnnxDataType,
  type OnnxAttribute,
  type OnnxDim,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxOpsetImport,
  type OnnxTensor,
  type OnnxType,
  type OnnxValueInfo,
} from './onnx/model.js';
export { addOnnxGraphOutputs, extractOnnxSubgraph, type OnnxValueSpec } from './onnx/surgery.js';
export { ProtoWriter } from './onnx/protobuf-writer.js';
export { loadOnnxTreeEnsemble, type OnnxTreeOptions } from './onnx/tree-ensemble.js';
export { applyTransform, findLeaf, predict, predictLeaves, predictRaw, predictWidth, withCovers } from './tree/predict.js';
export { tfjsPredictor, type TfjsPredictorOptions } from './predictors/tfjs.js';
export { loadTf, type Tf } from './predictors/tf-loader.js';
export { loadXGBoostModel, type XGBoostIterationRange, type XGBoostOptions } from './xgboost/model.js';
export { decodeUbjson, type UbjValue } from './xgboost/ubjson.js';
export { loadLightGBMModel } from './lightgbm/model.js';
export {
  loadGenomePackage,
  type GenomePackage,
  type LoadPackageOptions,
  type OpenedGenomeModel,
  type OpenOptions,
} from './package/load.js';
export { checkGenomeManifest, validateGenomeManifest, type ManifestProblem } from './package/validate.js';
export { GENOME_PACKAGE_SCHEMA_URL, genomePackageSchema } from './package/schema.js';
export type { BackgroundData } from './package/background.js';
export {
  GENOME_PACKAGE_SCHEMA_VERSION,
  type GenomeExplainerMethod,
  type GenomeFeature,
  type GenomeFeatureType,
  type GenomeFramework,
  type GenomeImageInput,
  type GenomeManifest,
  type GenomeModality,
  type GenomeModelOptions,
  type GenomeRemote,
  type GenomeSample,
} from './package/manifest.js';
export { DEFAULT_SEED, Rng } from './random.js';
export { rowStream, type StreamKey } from './row-stream.js';
export { loadOnnxLinearModel, linearPredictRaw, type LinearModel } from './linear/model.js';
export { loadTreeModel, sniffTreeFormat, type TreeModelFormat, type TreeModelOptions } from './tree/sniff.js';
export { encodeRows, type RawCell, type RawRow, type RowSchema } from './tree/encode-rows.js';
export { loadOnnxRuntime, type OrtModule } from './predictors/runtime.js';
export { symmetricEigen } from './symmetric-eigen.js';
export { siblingModule, startModuleWorker } from './module-worker.js';
