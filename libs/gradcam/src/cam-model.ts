/**
 * The one internal interface every model kind (ONNX, TF.js LayersModel, TF.js GraphModel) implements for the
 * CAM methods: a body pass that returns the target-layer activations and the model outputs, exact gradients of
 * a target score with respect to those activations, and a head pass from modified activations to outputs.
 * Activations and gradients are always channel-first (`[n, C, h*w]`), whatever the model layout.
 */
import type { GradCamError } from './errors.js';

/** A target resolved for one (image, explanation) job. */
export type ResolvedTarget =
  | { readonly kind: 'class'; readonly index: number; readonly softmax: boolean }
  | { readonly kind: 'fn'; readonly name: string; readonly fn: TargetFn };

/** A differentiable function of one image's model output (a 1-D tf.Tensor) returning a scalar tf.Tensor. */
export type TargetFn = (output: import('@tensorflow/tfjs').Tensor1D, tf: typeof import('@tensorflow/tfjs')) => import('@tensorflow/tfjs').Scalar;

export interface BodyResult {
  readonly n: number;
  /** Target-layer activations, channel-first `[n, C, h, w]` flattened. */
  readonly acts: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Model outputs `[n, nOut]`. */
  readonly outputs: Float32Array;
  readonly nOut: number;
  /** Model-specific data the head needs (other tensors feeding the head), released by {@link CamModel.release}. */
  readonly state: unknown;
}

export interface CamModel {
  readonly kind: 'onnx' | 'tfjs-layers' | 'tfjs-graph';
  /** Per-image input shape in model layout, without the batch dimension. */
  readonly inputShape: readonly number[];
  readonly layout: 'NCHW' | 'NHWC';
  /** Name of the tensor / layer / node whose activations are explained. */
  readonly target: string;
  /** Largest batch one model call accepts (1 for ONNX models exported with a fixed batch of 1). */
  readonly maxBatch: number;
  /** Set when exact gradients are not available for this model/target (forward-only methods still work). */
  readonly gradientError?: GradCamError;
  body(input: Float32Array, n: number): Promise<BodyResult>;
  /**
   * Gradient of `sum_j target_j(output(acts[rows[j]]))` with respect to the activations, channel-first
   * `[rows.length, C, h, w]`.
   */
  gradients(body: BodyResult, rows: Int32Array, targets: readonly ResolvedTarget[]): Promise<Float32Array>;
  /**
   * Body pass and gradient in one model call, for one image and the raw score of a class (`cls`, or -1 for the
   * top-scoring class): the body result (n = 1), the gradient `[C, h, w]` and the class explained. Undefined when
   * the model has no such path for this call, `{ missed: true }` when it made the call but cannot use its result
   * (the caller then runs {@link body} and {@link gradients}).
   */
  bodyAndGradients?(input: Float32Array, cls: number): Promise<{ body: BodyResult; grads: Float32Array; cls: number } | { missed: true } | undefined>;
  /** Model outputs `[rows.length, nOut]` when image `rows[j]`'s activations are replaced by `acts[j]` (channel-first). */
  head(body: BodyResult, rows: Int32Array, acts: Float32Array): Promise<Float32Array>;
  /** Plain forward pass: outputs `[n, nOut]`. */
  forward(input: Float32Array, n: number): Promise<{ outputs: Float32Array; nOut: number }>;
  release(body: BodyResult): void;
  dispose(): Promise<void>;
}
