/**
 * linear_shap: exact SHAP for linear models (ONNX LinearRegressor / LinearClassifier) from @genome/shap, over the
 * raw margins. Parameters: feature_perturbation "interventional" (default) | "correlation_dependent", nsamples, seed.
 */
import type { LinearModel } from '@genome/model-format';
import { LinearExplainer } from '@genome/shap';
import type { LoadedModel } from '../models/types.js';
import { defined, optInt, optString } from './params.js';
import type { ExplainMethod } from './types.js';

const cache = new WeakMap<LoadedModel, Map<string, LinearExplainer>>();

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
  async explain(model, data, params) {
    if (data.kind !== 'tabular') throw new Error('unreachable');
    const fp = optString(params, 'feature_perturbation', ['interventional', 'correlation_dependent'] as const) ?? 'interventional';
    const nsamples = optInt(params, 'nsamples', 1);
    const seed = optInt(params, 'seed', 0);
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
      per.set(key, ex);
    }
    return ex.explain({ data: data.rows, rows: data.nRows, cols: data.nFeatures });
  },
};
