/** The plug-in contract of an explanation method: the sidecar's single method registry holds these. */
import type { Explanation, RawCell } from '@genome/model-format';
import type { InputKind, LoadedModel } from '../models/types.js';

/** Dense tabular rows in the model's feature order. */
export interface TabularData {
  readonly kind: 'tabular';
  /** nRows x nFeatures, row-major. */
  readonly rows: Float64Array;
  readonly nRows: number;
  readonly nFeatures: number;
  /**
   * The rows as the caller sent them, in the model's feature order (numbers, category names, null for missing),
   * when they were sent as raw values; the explanation's `data` shows these.
   */
  readonly raw?: readonly (readonly RawCell[])[];
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
  /** The server's bounds on work (the same ones {@link ExplainMethod.cost} checked). */
  readonly limits: WorkLimits;
  /**
   * Model rows each explained row may use: the call's `maxModelRows` shared by its rows. Methods whose sample count
   * adapts to the row (Anchors) stop there.
   */
  readonly modelRowsPerRow: number;
}

/**
 * Bounds on the work one call may ask for, set by the operator (flags `--max-samples`, `--max-model-rows`,
 * `--max-row-ops`). Every method parameter that scales work is checked against them before any work starts.
 */
export interface WorkLimits {
  /** Largest sample or evaluation count a parameter may ask for (nsamples, max_evals, num_samples, coverage_samples). */
  readonly maxSamples: number;
  /**
   * Rows one call may make the model evaluate (the synthetic rows of sampling explainers, the forward passes of CAM
   * methods), counted over all rows of a unary call and per message of ExplainStream.
   */
  readonly maxModelRows: number;
  /**
   * Synchronous operations per explained row between model calls (sample matrices and the regression fits of
   * KernelSHAP and LIME, coalition masks): bounds both the event-loop time of one step and its memory.
   */
  readonly maxRowOps: number;
}

/** What explaining one row costs, estimated from the parameters (and the rows) before any work starts. */
export interface WorkEstimate {
  /**
   * Model rows evaluated per explained row: an upper bound, or for `adaptive` methods the least they need (they stop
   * at {@link MethodContext.modelRowsPerRow}).
   */
  readonly modelRowsPerRow: number;
  /** The method adapts its sampling to the per-row budget it is given (Anchors). */
  readonly adaptive?: boolean;
  /** Synchronous operations per explained row (sample-matrix cells and fit work; an estimate). */
  readonly rowOps: number;
  /** How the figures come about, for error messages ("2064 coalitions × 100 background rows"). */
  readonly how: string;
  /** Values the answer carries per explained row (features × outputs, × features again for interactions). */
  readonly valuesPerRow?: number;
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
   * Checks the parameters against `limits` (throwing INVALID_REQUEST with the bound and the flag that raises it) and
   * estimates the work per row (the largest over `data`'s rows), so the service can refuse a call over its budget before any work starts. Methods
   * without it are only bounded by the row limit and the deadline.
   */
  cost?(model: LoadedModel, data: ExplainData, params: Record<string, unknown>, limits: WorkLimits): WorkEstimate;
  /**
   * Explains `data`. Rows are independent: the sidecar may call this on slices of a request (for cancellation,
   * streaming and fairness) and concatenates the results, so results must not depend on how rows are chunked.
   */
  explain(model: LoadedModel, data: ExplainData, params: Record<string, unknown>, ctx: MethodContext): Promise<Explanation>;
}
