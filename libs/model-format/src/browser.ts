/**
 * The part of the public API that runs without Node: the tree IR and its loaders (XGBoost JSON/UBJSON, LightGBM
 * text, ONNX-ML), predictions, the ONNX decoder and linear models, row encoding, seeds, cancellation, errors and the
 * explanation schema. No `node:` module, no optional peer dependency and no worker is reachable from here, so a
 * bundler targeting browsers takes this entry (the package's `browser` export condition). src/index.ts re-exports
 * all of it and adds the Node-only parts (files, onnxruntime-node, TF.js, remote predictors, Genome packages, workers).
 */
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
export type { OipDatatype, OipNumericDatatype } from './predictors/oip-tensor.js';
export { treePredictor, type TreePredictorOptions } from './predictors/tree.js';
export { isAbortSignal, nextTurn, Pacer, raceAbort, throwIfAborted } from './cancellation.js';
export { align16, growTo, instantiateKernel, MAX_KERNEL_BYTES, perThread, type KernelMemory } from './wasm-kernel.js';
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
export { addOnnxGraphOutputs, extendOnnxGraph, extractOnnxSubgraph, type OnnxGraphAdditions, type OnnxValueSpec } from './onnx/surgery.js';
export { ProtoWriter } from './onnx/protobuf-writer.js';
export { encodeAttribute, encodeModel, encodeNode, encodeTensor, encodeValueInfo, type OnnxAttributeValue, type OnnxGraphParts } from './onnx/encode.js';
export { loadOnnxTreeEnsemble, type OnnxTreeOptions } from './onnx/tree-ensemble.js';
export { applyTransform, findLeaf, predict, predictLeaves, predictRaw, predictWidth, withCovers } from './tree/predict.js';
export { loadXGBoostModel, type XGBoostIterationRange, type XGBoostOptions } from './xgboost/model.js';
export { decodeUbjson, type UbjValue } from './xgboost/ubjson.js';
export { loadLightGBMModel } from './lightgbm/model.js';
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
export { loadTreeModel, sniffTreeFormat, type TreeModelFormat, type TreeModelOptions } from './load-tree-model.js';
export { encodeRows, type RawCell, type RawRow, type RowSchema } from './tree/encode-rows.js';
export { symmetricEigen } from './symmetric-eigen.js';
