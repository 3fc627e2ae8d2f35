/** Messages between {@link TreeShapPool} and its worker threads. */
import type { TreeEnsemble } from '@genome/model-format';

export type TreeTaskKind = 'path' | 'interventional' | 'interactions';

export interface TreeTask {
  readonly id: number;
  readonly kind: TreeTaskKind;
  readonly modelId: number;
  /** Sent the first time a worker sees the model; cached there afterwards. */
  readonly model?: TreeEnsemble;
  readonly rows: Float64Array;
  readonly nRows: number;
  readonly algorithm?: 'quadrature' | 'quadrature-js' | 'classic' | 'fast-v2';
  readonly backgroundId?: number;
  /** Sent the first time a worker sees the background. */
  readonly background?: Float64Array;
  readonly nBackground?: number;
  readonly link?: 'identity' | 'logistic' | 'softmax';
}

/** Tells a worker to drop a model it cached (sent by {@link TreeShapPool.release}; no answer). */
export interface TreeRelease {
  readonly release: number;
}

export type TreeTaskResult =
  | { readonly id: number; readonly ok: true; readonly values: Float64Array }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };
