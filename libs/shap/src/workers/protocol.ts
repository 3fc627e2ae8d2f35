/** Messages between {@link TreeShapPool} and its worker threads. */
import type { TreeEnsemble } from '@genome/model-format';

export type TreeTaskKind = 'path' | 'interventional' | 'interactions';

export interface TreeTask {
  readonly id: number;
  readonly kind: TreeTaskKind;
  /** A model registered on the worker before (TreeRegister; messages to a worker arrive in order). */
  readonly modelId: number;
  readonly rows: Float64Array;
  readonly nRows: number;
  readonly algorithm?: 'quadrature' | 'quadrature-js' | 'classic';
  readonly backgroundId?: number;
  /** Sent the first time a worker sees the background. */
  readonly background?: Float64Array;
  readonly nBackground?: number;
  readonly link?: 'identity' | 'logistic' | 'softmax';
}

/**
 * Gives a worker a model (its typed arrays on SharedArrayBuffers, so every worker reads the same memory) to prepare
 * and warm up; the worker answers with a {@link TreeRegistered}.
 */
export interface TreeRegister {
  readonly register: number;
  readonly model: TreeEnsemble;
  readonly interactions: boolean;
}

export type TreeRegistered =
  | { readonly registered: number; readonly ok: true }
  | { readonly registered: number; readonly ok: false; readonly code: string; readonly message: string };

/** Tells a worker to drop a model it holds (sent by {@link TreeShapPool.release}; no answer). */
export interface TreeRelease {
  readonly release: number;
}

export type TreeTaskResult =
  | { readonly id: number; readonly ok: true; readonly values: Float64Array }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };
