/** onnxruntime-node for the ONNX CAMs, loaded lazily through @genome/model-format (nothing at module load). */
import { loadOnnxRuntime, type OrtModule } from '@genome/model-format';
import { GradCamError } from '../errors.js';

export type Ort = OrtModule;

export async function loadOrt(): Promise<Ort> {
  try {
    return await loadOnnxRuntime();
  } catch (err) {
    throw new GradCamError('MISSING_DEPENDENCY', 'onnxruntime-node is needed to run ONNX models: npm install onnxruntime-node', { cause: err });
  }
}
