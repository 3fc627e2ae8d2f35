// Everything that also runs in a browser (src/browser.ts, the `browser` export condition) ...
export * from './browser.js';
// ... and the Node-only parts. Their optional peer dependencies (onnxruntime-node, TF.js, @grpc/grpc-js with
// @genome/proto, tar) are imported by the first call that needs them, never at module load.
export { onnxPredictor, type OnnxPredictorOptions } from './predictors/onnx.js';
export {
  remotePredictor,
  remoteTextPredictor,
  type RemotePredictorOptions,
  type RemoteTextPredictorOptions,
} from './predictors/remote.js';
export { tfjsPredictor, type TfjsPredictorOptions } from './predictors/tfjs.js';
export { loadTf, type Tf } from './predictors/tf-loader.js';
export {
  loadGenomePackage,
  type GenomePackage,
  type LoadPackageOptions,
  type OpenedGenomeModel,
  type OpenOptions,
} from './package/load.js';
export { checkGenomeManifest, validateGenomeManifest, type ManifestProblem } from './package/validate.js';
export { GENOME_PACKAGE_SCHEMA_URL, genomePackageSchema } from './package/schema.js';
export { loadOnnxRuntime, type OrtModule } from './predictors/runtime.js';
export { siblingModule, startModuleWorker } from './module-worker.js';
