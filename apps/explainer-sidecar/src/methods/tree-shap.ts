/**
 * tree_shap: exact TreeSHAP from @genome/shap on the model's tree IR (path-dependent or interventional).
 * Parameters (shap's names): feature_perturbation "tree_path_dependent" | "interventional" (default: the package's
 * default, else path-dependent when the model has covers), model_output "raw" | "probability" (interventional only),
 * interactions (bool, path-dependent only), algorithm "auto" | "quadrature" | "quadrature-js" | "classic" | "fast-v2".
 * With a worker pool, calls of at least `poolMinRows` rows run on the pool's threads (same values: the workers run
 * the same kernels on row slices); smaller calls stay on the calling thread, where they cost less than a round trip.
 */
import { explainTree, type TreeShapPool } from '@genome/shap';
import type { LoadedModel } from '../models/types.js';
import { optBool, optString } from './params.js';
import type { ExplainMethod } from './types.js';

function defaultPerturbation(model: LoadedModel): 'tree_path_dependent' | 'interventional' {
  const d = model.extras?.defaultMethod;
  if (d === 'tree_shap.interventional' && model.background) return 'interventional';
  if (d === 'tree_shap.path_dependent' && model.ensemble?.hasCovers) return 'tree_path_dependent';
  return model.ensemble?.hasCovers ? 'tree_path_dependent' : 'interventional';
}

export interface TreeShapMethodOptions {
  /** Worker pool for calls with at least `poolMinRows` rows (none = always in-process). */
  pool?: TreeShapPool;
  /** Default 1 (every call on the pool). */
  poolMinRows?: number;
}

/** tree_shap, optionally on a worker pool. */
export function treeShapMethod(options: TreeShapMethodOptions = {}): ExplainMethod {
  const { pool } = options;
  const minRows = options.poolMinRows ?? 1;
  return {
    ...treeShap,
    async explain(model, data, params, ctx) {
      if (data.kind !== 'tabular') throw new Error('unreachable');
      return runTreeShap(model, data.rows, params, pool && data.nRows >= minRows ? pool : undefined);
    },
  };
}

/** tree_shap on the calling thread. */
export const treeShap: ExplainMethod = {
  name: 'tree_shap',
  description: 'Exact TreeSHAP on the tree IR (path-dependent with covers, or interventional over background rows)',
  inputs: ['tabular'],
  parameters: ['feature_perturbation', 'model_output', 'interactions', 'algorithm'],
  unsupportedReason(model) {
    const e = model.ensemble;
    if (!e) return 'it is not a tree ensemble (use kernel_shap or permutation_shap)';
    if (e.aggregate !== 'sum' && e.aggregate !== 'average') return `its trees are combined with "${e.aggregate}", which is not additive`;
    if (!e.hasCovers && !model.background) return 'the model has no node covers and no background rows';
    return null;
  },
  async explain(model, data, params) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    return runTreeShap(model, data.rows, params, undefined);
  },
};

function runTreeShap(model: LoadedModel, rows: Float64Array, params: Record<string, unknown>, pool: TreeShapPool | undefined) {
  const fp = optString(params, 'feature_perturbation', ['tree_path_dependent', 'interventional'] as const) ?? defaultPerturbation(model);
  const output = optString(params, 'model_output', ['raw', 'probability'] as const);
  const interactions = optBool(params, 'interactions');
  const algorithm = optString(params, 'algorithm', ['auto', 'quadrature', 'quadrature-js', 'classic', 'fast-v2'] as const);
  const bg = model.background;
  return explainTree(model.ensemble!, rows, {
    method: fp === 'interventional' ? 'interventional' : 'path_dependent',
    ...(fp === 'interventional' && bg ? { background: bg.data } : {}),
    ...(output ? { output } : {}),
    ...(interactions !== undefined ? { interactions } : {}),
    ...(algorithm ? { algorithm } : {}),
    ...(pool ? { pool } : {}),
    includeData: true,
  });
}
