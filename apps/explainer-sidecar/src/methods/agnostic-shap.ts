/**
 * kernel_shap, exact_shap and permutation_shap from @genome/shap over the model's tabular predictor. Each bounds its
 * sample parameter by the server's `maxSamples` and estimates its work (model rows = coalitions × background rows
 * per explained row) so calls over the budget are refused before they start.
 */
import type { Predictor } from '@genome/model-format';
import { EXACT_DEFAULT_MAX_FEATURES, ExactExplainer, KernelExplainer, PermutationExplainer, type L1Reg, type Link } from '@genome/shap';
import { SidecarError } from '../errors.js';
import type { LoadedModel } from '../models/types.js';
import { quote } from '@genome/server-kit';
import { defined, optInt, optString } from './params.js';
import type { ExplainMethod, WorkLimits } from './types.js';

function blackBoxReason(model: LoadedModel): string | null {
  if (!model.predictor || model.predictor.kind !== 'tabular') return 'it needs a tabular predictor';
  if (!model.background) return 'it needs background rows (a package with artifacts.background, or --background for a remote model)';
  return null;
}

/**
 * Values held by one batch of synthetic rows (rows × features): the explainers' model calls and their buffers
 * stay under 16 MiB of float64 whatever the feature count.
 */
const BATCH_VALUES = 1 << 18;

/** One explainer instance per (model, link): the background's base value is computed once. */
function cached<E>(make: (p: Predictor, bg: { data: Float64Array; rows: number; cols: number }, link: Link, m: LoadedModel) => E) {
  const cache = new WeakMap<LoadedModel, Map<string, E>>();
  return (m: LoadedModel, link: Link): E => {
    let per = cache.get(m);
    if (!per) cache.set(m, (per = new Map()));
    let e = per.get(link);
    if (!e) {
      const bg = m.background!;
      e = make(m.predictor as Predictor, { data: bg.data, rows: bg.rows, cols: m.description.featureNames.length }, link, m);
      per.set(link, e);
    }
    return e;
  };
}

const LINKS = ['identity', 'logit'] as const;
const common = (m: LoadedModel, link: Link) => {
  const F = m.description.featureNames.length;
  return { link, featureNames: m.description.featureNames, allowNaN: true, maxBatch: Math.max(1, Math.floor(BATCH_VALUES / Math.max(1, F))) };
};

const kernel = cached((p, bg, link, m) => new KernelExplainer(p, bg, common(m, link)));
const exact = cached((p, bg, link, m) => new ExactExplainer(p, bg, common(m, link)));
const permutation = cached((p, bg, link, m) => new PermutationExplainer(p, bg, common(m, link)));

const rowsOf = (d: { rows: Float64Array; nRows: number; nFeatures: number }) => ({ data: d.rows, rows: d.nRows, cols: d.nFeatures });
const samplesBound = (limits: WorkLimits) => ({ max: limits.maxSamples, flag: '--max-samples' });
const dims = (m: LoadedModel) => ({ F: m.description.featureNames.length, O: m.description.outputNames.length, bg: m.background?.rows ?? 0 });

/** shap's l1_reg: false/0 (none), "auto", "aic", "bic" or "num_features(k)". */
function l1Param(params: Record<string, unknown>, nFeatures: number): L1Reg | undefined {
  const v = params.l1_reg;
  if (v === undefined || v === null || v === false || v === 0) return undefined;
  if (v === 'auto' || v === 'aic' || v === 'bic') return v;
  const k = typeof v === 'string' ? /^num_features\((\d{1,9})\)$/.exec(v) : null;
  if (k && Number(k[1]) >= 1 && Number(k[1]) <= nFeatures) return v as L1Reg;
  throw new SidecarError('INVALID_REQUEST', `parameter "l1_reg" must be false, "auto", "aic", "bic" or "num_features(k)" with 1 <= k <= ${nFeatures}, got ${quote(v)}`);
}

function kernelParams(params: Record<string, unknown>, limits: WorkLimits, nFeatures: number) {
  return {
    link: optString(params, 'link', LINKS) ?? 'identity',
    nsamples: (params.nsamples === 'auto' ? 'auto' : optInt(params, 'nsamples', 2, samplesBound(limits))) as number | 'auto' | undefined,
    seed: optInt(params, 'seed', 0),
    l1Reg: l1Param(params, nFeatures),
  };
}

export const kernelShap: ExplainMethod = {
  name: 'kernel_shap',
  description: 'KernelSHAP (model-agnostic, sampled coalitions, weighted linear regression) over background rows',
  inputs: ['tabular'],
  parameters: ['nsamples', 'l1_reg', 'seed', 'link'],
  unsupportedReason: blackBoxReason,
  cost(model, _data, params, limits) {
    const { F, O, bg } = dims(model);
    const { nsamples, l1Reg } = kernelParams(params, limits, F);
    // shap's budget: 'auto' = 2M + 2048 coalitions, never more than the 2^M - 2 proper subsets.
    const wanted = nsamples === undefined || nsamples === 'auto' ? 2 * F + 2048 : nsamples;
    const n = F <= 30 ? Math.min(wanted, 2 ** F - 2) : wanted;
    const l1 = l1Reg !== undefined;
    return {
      modelRowsPerRow: n * bg,
      // In ns: the coalition masks and the passes over them between pauses (the normal equations and l1's Gram
      // statistics are built in steps with pauses), and the F x F factorisations and LARS path.
      rowOps: n * F * 20 * (l1 ? 2 : 1) + F ** 3 * (l1 ? 4 : 1),
      how: `${n} coalitions × ${bg} background rows, and a ${F}-feature regression on ${n} coalitions`,
      valuesPerRow: F * O,
    };
  },
  async explain(model, data, params, ctx) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    const { link, nsamples, seed, l1Reg } = kernelParams(params, ctx.limits, data.nFeatures);
    return kernel(model, link).explain(rowsOf(data), defined({ nsamples, seed, l1Reg, signal: ctx.signal }));
  },
};

export const exactShap: ExplainMethod = {
  name: 'exact_shap',
  description: 'Exact Shapley values by enumerating every feature subset (small feature counts)',
  inputs: ['tabular'],
  parameters: ['link'],
  unsupportedReason(model) {
    const why = blackBoxReason(model);
    if (why) return why;
    const F = model.description.featureNames.length;
    return F > EXACT_DEFAULT_MAX_FEATURES ? `it has ${F} features; exact enumeration stops at ${EXACT_DEFAULT_MAX_FEATURES} (2^M subsets): use kernel_shap or permutation_shap` : null;
  },
  cost(model, _data, params) {
    optString(params, 'link', LINKS);
    const { F, O, bg } = dims(model);
    const subsets = 2 ** F;
    return { modelRowsPerRow: subsets * bg, rowOps: subsets * (F + 8) * 2, how: `2^${F} = ${subsets} subsets × ${bg} background rows`, valuesPerRow: F * O };
  },
  async explain(model, data, params, ctx) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    return exact(model, optString(params, 'link', LINKS) ?? 'identity').explain(rowsOf(data), { signal: ctx.signal });
  },
};

function permutationParams(params: Record<string, unknown>, limits: WorkLimits) {
  return {
    link: optString(params, 'link', LINKS) ?? 'identity',
    maxEvals: optInt(params, 'max_evals', 1, samplesBound(limits)),
    seed: optInt(params, 'seed', 0),
  };
}

export const permutationShap: ExplainMethod = {
  name: 'permutation_shap',
  description: 'Permutation-sampling SHAP (antithetic permutations)',
  inputs: ['tabular'],
  parameters: ['max_evals', 'seed', 'link'],
  unsupportedReason: blackBoxReason,
  cost(model, _data, params, limits) {
    const { maxEvals } = permutationParams(params, limits);
    const { F, O, bg } = dims(model);
    const evals = maxEvals ?? 500;
    return { modelRowsPerRow: evals * bg, rowOps: evals * (F + 8) * 2, how: `${evals} evaluations × ${bg} background rows`, valuesPerRow: F * O };
  },
  async explain(model, data, params, ctx) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    const { link, maxEvals, seed } = permutationParams(params, ctx.limits);
    return permutation(model, link).explain(rowsOf(data), defined({ maxEvals, seed, signal: ctx.signal }));
  },
};
