/** Loads an ONNX or TF.js image model as a {@link CamModel}. */
import type { GraphModel, LayersModel } from '@tensorflow/tfjs';
import type { CamModel } from './cam-model.js';
import { GradCamError } from './errors.js';
import { OnnxCamModel } from './onnx/onnx-cam-model.js';
import { loadTfjsCamModel } from './tfjs/tfjs-cam-model.js';
import type { TfBackendName } from './tfjs/runtime.js';

export interface LoadCamOptions {
  /** The explained layer: ONNX tensor name, TF.js LayersModel layer name, or GraphModel node name. Default: the input of the first global pooling / flatten. */
  target?: string;
  /** ONNX graph output or TF.js GraphModel node to explain (default the model output). */
  output?: string;
  /** ONNX only: input layout override. */
  layout?: 'NCHW' | 'NHWC';
  /** TF.js backend (default 'auto': tfjs-node > wasm > cpu). */
  tfBackend?: TfBackendName;
  /** ONNX only: onnxruntime session options. */
  sessionOptions?: Record<string, unknown>;
  /** ONNX only: 'auto' (default) differentiates supported heads on typed arrays (`TYPED_HEAD_OPS`), others with TF.js; 'tfjs' always uses TF.js. */
  gradientEngine?: 'auto' | 'tfjs';
  /**
   * ONNX typed-array gradients only. 'steps': the backward pass step by step (JavaScript loops, large products on
   * onnxruntime) after the body pass; 'graph': the whole backward pass as one onnxruntime graph after the body
   * pass; 'fused': for raw class scores (the default top class, class indices), the model extended with its
   * backward pass, so one onnxruntime call gives the outputs, the target activations and their gradient (other
   * targets take 'steps' / 'graph'). 'auto' (default) times them on the first image and keeps the fastest. The
   * non-step evaluators need a head whose steps all have a lowering, else the steps run. Pin one where gradients
   * must match across processes bit for bit (they agree to float32 rounding).
   */
  backwardEvaluator?: 'auto' | 'steps' | 'graph' | 'fused';
}

/**
 * `src`: path of a `.onnx` file or its bytes, path of a TF.js `model.json`, or a loaded TF.js LayersModel /
 * GraphModel. Runtimes (onnxruntime-node, @tensorflow/tfjs) are imported at this first call.
 */
export async function loadCamModel(src: string | Uint8Array | LayersModel | GraphModel, options: LoadCamOptions = {}): Promise<CamModel> {
  if (src instanceof Uint8Array || (typeof src === 'string' && /\.onnx$/i.test(src))) {
    return OnnxCamModel.load(src, {
      targetTensor: options.target,
      outputName: options.output,
      layout: options.layout,
      tfBackend: options.tfBackend,
      sessionOptions: options.sessionOptions,
      gradientEngine: options.gradientEngine,
      backwardEvaluator: options.backwardEvaluator,
    });
  }
  if (typeof src === 'string' && !/\.json$/i.test(src)) {
    throw new GradCamError('INVALID_INPUT', `Unknown model file '${src}': pass a .onnx file or a TF.js model.json.`);
  }
  return loadTfjsCamModel(src as string | LayersModel | GraphModel, { targetLayer: options.target, outputNode: options.output, tfBackend: options.tfBackend });
}
