/** kernel_shap, exact_shap and permutation_shap from @genome/shap over the model's tabular predictor. */
import type { Predictor } from '@genome/model-format';
import { ExactExplainer, KernelExplainer, PermutationExplainer, type Link } from '@genome/shap';
import type { LoadedModel } from '../models/types.js';
import { defined, optInt, optString } from './params.js';
import type { ExplainMethod } from './types.js';

function blackBoxReason(model: LoadedModel): string | null {
  if (!model.predictor || model.predictor.kind !== 'tabular') return 'it needs a tabular predictor';
  if (!model.background) return 'it needs background rows (a package with artifacts.background, or --background for a remote model)';
  return null;
}

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
const common = (m: LoadedModel, link: Link) => ({ link, featureNames: m.description.featureNames, allowNaN: true });

const kernel = cached((p, bg, link, m) => new KernelExplainer(p, bg, common(m, link)));
const exact = cached((p, bg, link, m) => new ExactExplainer(p, bg, common(m, link)));
const permutation = cached((p, bg, link, m) => new PermutationExplainer(p, bg, common(m, link)));

const rowsOf = (d: { rows: Float64Array; nRows: number; nFeatures: number }) => ({ data: d.rows, rows: d.nRows, cols: d.nFeatures });

export const kernelShap: ExplainMethod = {
  name: 'kernel_shap',
  description: 'KernelSHAP (model-agnostic, sampled coalitions, weighted linear regression) over background rows',
  inputs: ['tabular'],
  parameters: ['nsamples', 'l1_reg', 'seed', 'link'],
  unsupportedReason: blackBoxReason,
  async explain(model, data, params) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    const link = optString(params, 'link', LINKS) ?? 'identity';
    const nsamples: number | 'auto' | undefined = params.nsamples === 'auto' ? 'auto' : optInt(params, 'nsamples', 2);
    const l1 = params.l1_reg;
    return kernel(model, link).explain(rowsOf(data), defined({ nsamples, seed: optInt(params, 'seed', 0), l1Reg: l1 as never }));
  },
};

export const exactShap: ExplainMethod = {
  name: 'exact_shap',
  description: 'Exact Shapley values by enumerating every feature subset (small feature counts)',
  inputs: ['tabular'],
  parameters: ['link'],
  unsupportedReason: blackBoxReason,
  async explain(model, data, params) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    return exact(model, optString(params, 'link', LINKS) ?? 'identity').explain(rowsOf(data));
  },
};

export const permutationShap: ExplainMethod = {
  name: 'permutation_shap',
  description: 'Permutation-sampling SHAP (antithetic permutations)',
  inputs: ['tabular'],
  parameters: ['max_evals', 'seed', 'link'],
  unsupportedReason: blackBoxReason,
  async explain(model, data, params) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    return permutation(model, optString(params, 'link', LINKS) ?? 'identity').explain(
      rowsOf(data),
      defined({ maxEvals: optInt(params, 'max_evals', 1), seed: optInt(params, 'seed', 0) }),
    );
  },
};
