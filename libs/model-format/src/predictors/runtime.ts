/**
 * Lazy loaders for optional native runtimes. Nothing here runs at module load: `import '@genome/model-format'`
 * works without onnxruntime-node or TF.js installed, and the first call that needs one loads it.
 */
import { ModelFormatError } from '../errors.js';

export type OrtModule = typeof import('onnxruntime-node');

let ort: Promise<OrtModule> | undefined;

/** Loads `onnxruntime-node` once; throws MISSING_DEPENDENCY with an install hint when it is absent. */
export function loadOnnxRuntime(): Promise<OrtModule> {
  ort ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: OrtModule }).default?.InferenceSession ? (m as { default: OrtModule }).default : m),
    (err: unknown) => {
      ort = undefined;
      throw new ModelFormatError(
        'MISSING_DEPENDENCY',
        'onnxruntime-node is needed to run ONNX models: npm install onnxruntime-node',
        { cause: err },
      );
    },
  );
  return ort;
}
