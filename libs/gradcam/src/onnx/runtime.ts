/** Lazy onnxruntime-node loader: nothing is imported until the first ONNX call. */
import { GradCamError } from '../errors.js';

export type Ort = typeof import('onnxruntime-node');
let ort: Promise<Ort> | undefined;

export function loadOrt(): Promise<Ort> {
  ort ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: Ort }).default?.InferenceSession ? (m as { default: Ort }).default : m),
    (err: unknown) => {
      ort = undefined;
      throw new GradCamError('MISSING_DEPENDENCY', 'onnxruntime-node is needed to run ONNX models: npm install onnxruntime-node', { cause: err });
    },
  );
  return ort;
}
