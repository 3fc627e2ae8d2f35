/**
 * linear_shap: exact SHAP for linear models (ONNX LinearRegressor / LinearClassifier) from @genome/shap, over the
 * raw margins. Parameters: feature_perturbation "interventional" (default) | "correlation_dependent", nsamples, seed.
 */
import type { LinearModel } from '@genome/model-format';
import { LinearExplainer } from '@genome/shap';
import type { LoadedModel } from '../models/types.js';
import { defined, optInt, optString } from './params.js';
import type { ExplainMethod, WorkLimits } from './types.js';

const cache = new WeakMap<LoadedModel, Map<string, LinearExplainer>>();
/** Explainers kept per model (one per perturbation × nsamples × seed a caller asked for; the oldest goes first). */
const PER_MODEL = 8;

function params(p: Record<string, unknown>, limits: WorkLimits) {
  return {
    fp: optString(p, 'feature_perturbation', ['interventional', 'correlation_dependent'] as const) ?? 'interventional',
    nsamples: optInt(p, 'nsamples', 1, { max: limits.maxSamples, flag: '--max-samples' }),
    seed: optInt(p, 'seed', 0),
  };
}

export const linearShap: ExplainMethod = {
  name: 'linear_shap',
  description: 'Exact SHAP of a linear model (raw margins) with feature means (and covariance) from background rows',
  inputs: ['tabular'],
  parameters: ['feature_perturbation', 'nsamples', 'seed'],
  unsupportedReason(model) {
    if (!model.extras?.linear) return 'it is not a linear model';
    if (!model.background) return 'it needs background rows (--background)';
    return null;
  },
  cost(model, _data, p, limits) {
    const { fp, nsamples } = params(p, limits);
    const F = model.description.featureNames.length;
    const O = model.description.outputNames.length;
    // correlation_dependent estimates its transform from nsamples random orderings, each F nested F×F updates per
    // output (once per parameter set, then cached)
    const n = fp === 'correlation_dependent' ? (nsamples ?? 1000) : 0;
    return { modelRowsPerRow: 0, rowOps: n * F * F * F * O + F * O, how: fp === 'correlation_dependent' ? `${n} orderings of ${F} features` : `${F} features`, valuesPerRow: F * O };
  },
  async explain(model, data, p, ctx) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    const { fp, nsamples, seed } = params(p, ctx.limits);
    const key = `${fp}|${nsamples ?? ''}|${seed ?? ''}`;
    let per = cache.get(model);
    if (!per) cache.set(model, (per = new Map()));
    let ex = per.get(key);
    if (!ex) {
      const lin = model.extras!.linear as LinearModel;
      const bg = model.background!;
      ex = new LinearExplainer(
        { coefficients: lin.coefficients, intercepts: lin.intercepts, nFeatures: lin.nFeatures, outputNames: lin.outputNames },
        { data: bg.data, rows: bg.rows, cols: lin.nFeatures },
        defined({ featurePerturbation: fp, nsamples, seed, featureNames: model.description.featureNames }),
      );
      if (per.size >= PER_MODEL) per.delete(per.keys().next().value!);
      per.set(key, ex);
    }
    return ex.explain({ data: data.rows, rows: data.nRows, cols: data.nFeatures });
  },
};
