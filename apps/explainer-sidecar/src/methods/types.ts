/** The plug-in contract of an explanation method: the sidecar's single method registry holds these. */
import type { Explanation } from '@genome/model-format';
import type { InputKind, LoadedModel } from '../models/types.js';

/** Dense tabular rows in the model's feature order. */
export interface TabularData {
  readonly kind: 'tabular';
  /** nRows x nFeatures, row-major. */
  readonly rows: Float64Array;
  readonly nRows: number;
  readonly nFeatures: number;
}
export interface TextData {
  readonly kind: 'text';
  readonly texts: readonly string[];
}
export interface ImageData {
  readonly kind: 'image';
  /** n images laid out as `shape` (batch first). */
  readonly pixels: Float32Array;
  readonly shape: readonly number[];
  readonly layout: 'NCHW' | 'NHWC';
}
export type ExplainData = TabularData | TextData | ImageData;

export interface MethodContext {
  /** Aborts when the deadline passes, the client cancels or the server shuts down. Check it between batches. */
  readonly signal: AbortSignal;
  /** Output indices the caller asked for (all outputs when undefined). Methods may restrict work to them. */
  readonly outputIndices?: readonly number[];
}

export interface ExplainMethod {
  /** Name used in requests (`tree_shap`, `kernel_shap`, `lime`, ...). */
  readonly name: string;
  /** One line for DescribeModel/README. */
  readonly description: string;
  /** Input kinds the method accepts. */
  readonly inputs: readonly InputKind[];
  /**
   * Parameter keys the method accepts; others are rejected with INVALID_ARGUMENT before any work starts.
   * Undefined = the method validates parameters itself.
   */
  readonly parameters?: readonly string[];
  /** `null` when the method can explain `model`, otherwise why not (FAILED_PRECONDITION message). */
  unsupportedReason(model: LoadedModel): string | null;
  /**
   * Explains `data`. Rows are independent: the sidecar may call this on slices of a request (for cancellation,
   * streaming and fairness) and concatenates the results, so results must not depend on how rows are chunked.
   */
  explain(model: LoadedModel, data: ExplainData, params: Record<string, unknown>, ctx: MethodContext): Promise<Explanation>;
}
