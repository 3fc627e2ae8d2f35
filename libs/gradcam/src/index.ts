export { GradCamError, type GradCamErrorCode } from './errors.js';
export { CAM_METHODS, FORWARD_METHODS, GRADIENT_METHODS, type CamMethod } from './methods.js';
export type { BodyResult, CamModel, ResolvedTarget, TargetFn } from './cam-model.js';
export type { CamTarget, CamTargets } from './targets.js';
export { computeCams, type CamOptions, type CamResult, type CamRun } from './cam/compute.js';
export {
  gradcamPlusPlusWeights,
  gradcamWeights,
  hirescamMap,
  layercamMap,
  minMaxNormalize,
  relu,
  softmax,
  weightedSum,
  xgradcamWeights,
} from './cam/reductions.js';
export { resizeBilinear } from './cam/resize.js';
export { firstComponentProjection } from './cam/eigen.js';
export { loadCamModel, type LoadCamOptions } from './load.js';
export { OnnxCamModel, type OnnxCamOptions } from './onnx/onnx-cam-model.js';
export { SUPPORTED_ONNX_OPS } from './onnx/tf-ops.js';
export { TYPED_HEAD_OPS } from './onnx/typed-head.js';
export { GraphCamModel, LayersCamModel, loadTfjsCamModel, type TfjsCamOptions } from './tfjs/tfjs-cam-model.js';
export type { TfBackendName } from './tfjs/runtime.js';
export { decodeImage, encodePng, type RgbaImage } from './image/decode.js';
export { preprocessImages, resizeWindow, type ImagePreprocessing, type ResizeWindow } from './image/preprocess.js';
export { heatmapPng, jet, overlayHeatmap, overlayPng, type OverlayOptions } from './image/overlay.js';
export { camExplanation, type CamExplanationOptions } from './explanation.js';
export { explainImages, type ExplainImagesOptions, type ImageCamExplanation } from './explain-images.js';
