/**
 * tree_shap: exact TreeSHAP from @genome/shap on the model's tree IR (path-dependent or interventional).
 * Parameters (shap's names): feature_perturbation "tree_path_dependent" | "interventional" (default: the package's
 * default, else path-dependent when the model has covers), model_output "raw" | "probability" (interventional only),
 * interactions (bool, path-dependent only), algorithm "auto" | "quadrature" | "quadrature-js" | "classic".
 * With a worker pool, calls of at least `poolMinRows` rows run on the pool's threads (same values: the workers run
 * the same kernels on row slices); smaller calls stay on the calling thread, where they cost less than a round trip.
 */
import type { TreeEnsemble } from '@genome/model-format';
import { explainTree, PATH_ALGORITHMS, type TreeShapPool } from '@genome/shap';
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

/**
 * Estimated work of TreeSHAP on one row, in nanoseconds of this machine's kernels (about 1.3 ns per
 * tree·leaf·depth for path-dependent values; interventional visits a path per background row and tree; interaction
 * values run two conditioned passes per feature of each tree). Used to keep heavy calls off the event loop.
 */
const treeWork = new WeakMap<TreeEnsemble, { pathDependent: number; depthSum: number; interactions: number }>();

function perRowNs(model: LoadedModel, params: Record<string, unknown>): number {
  const e = model.ensemble!;
  let w = treeWork.get(e);
  if (!w) {
    let pathDependent = 0;
    let depthSum = 0;
    let interactions = 0;
    const seen = new Set<number>();
    for (let t = 0; t < e.nTrees; t++) {
      const nodes = e.treeOffsets[t + 1]! - e.treeOffsets[t]!;
      const depth = e.treeDepth[t]!;
      seen.clear();
      for (let n = e.treeOffsets[t]!; n < e.treeOffsets[t + 1]!; n++) if (e.feature[n]! >= 0) seen.add(e.feature[n]!);
      const pd = ((nodes + 1) / 2) * (depth + 1) * 1.5;
      pathDependent += pd;
      depthSum += depth + 1;
      interactions += pd * (2 * seen.size + 1);
    }
    treeWork.set(e, (w = { pathDependent, depthSum, interactions }));
  }
  const p = treeParams(model, params);
  if (p.fp === 'interventional') return (model.background?.rows ?? 0) * w.depthSum * 4;
  return p.interactions ? w.interactions : w.pathDependent;
}

/** A call estimated above this runs on the pool even when it has fewer than `poolMinRows` rows. */
const IN_PROCESS_NS = 10e6;

/** tree_shap, optionally on a worker pool. */
export function treeShapMethod(options: TreeShapMethodOptions = {}): ExplainMethod {
  const { pool } = options;
  const minRows = options.poolMinRows ?? 1;
  return {
    ...treeShap,
    cost(model, data, params, limits) {
      const c = treeShap.cost!(model, data, params, limits);
      // On the pool the work never blocks the event loop.
      return pool ? { ...c, rowOps: 0 } : c;
    },
    async explain(model, data, params) {
      if (data.kind !== 'tabular') throw new Error('unreachable');
      const onPool = pool && (data.nRows >= minRows || data.nRows * perRowNs(model, params) > IN_PROCESS_NS);
      return runTreeShap(model, data.rows, params, onPool ? pool : undefined);
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
  cost(model, _data, params) {
    const { interactions } = treeParams(model, params);
    const F = model.description.featureNames.length;
    const O = Math.max(model.ensemble!.nOutputs, model.description.outputNames.length);
    return {
      modelRowsPerRow: 0,
      rowOps: perRowNs(model, params),
      how: `TreeSHAP over ${model.ensemble!.nTrees} trees${interactions ? ' with interaction values' : ''}`,
      valuesPerRow: F * O * (interactions ? F + 1 : 1),
    };
  },
  async explain(model, data, params) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    return runTreeShap(model, data.rows, params, undefined);
  },
};

function treeParams(model: LoadedModel, params: Record<string, unknown>) {
  return {
    fp: optString(params, 'feature_perturbation', ['tree_path_dependent', 'interventional'] as const) ?? defaultPerturbation(model),
    output: optString(params, 'model_output', ['raw', 'probability'] as const),
    interactions: optBool(params, 'interactions'),
    algorithm: optString(params, 'algorithm', PATH_ALGORITHMS),
  };
}

function runTreeShap(model: LoadedModel, rows: Float64Array, params: Record<string, unknown>, pool: TreeShapPool | undefined) {
  const { fp, output, interactions, algorithm } = treeParams(model, params);
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
