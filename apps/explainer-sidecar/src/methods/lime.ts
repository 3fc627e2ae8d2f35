/**
 * lime and anchors from @genome/lime: tabular (over the model's predictor and background rows) and text (over a
 * TextPredictor, e.g. a remote Open Inference Protocol model with a BYTES input; one explanation per text, each
 * attributing to its own words, merged over the union of words).
 */
import type { Explanation, Predictor, TextPredictor } from '@genome/model-format';
import { AnchorTabular, AnchorText, LimeTabularExplainer, LimeTextExplainer } from '@genome/lime';
import { mergeExplanations } from '../explain/merge.js';
import { SidecarError } from '../errors.js';
import type { LoadedModel } from '../models/types.js';
import { defined, optBool, optInt } from './params.js';
import type { ExplainMethod } from './types.js';

function reason(model: LoadedModel): string | null {
  if (model.description.kind === 'text') return model.predictor?.kind === 'text' ? null : 'it needs a text predictor';
  if (!model.predictor || model.predictor.kind !== 'tabular') return 'it needs a tabular predictor';
  if (!model.background) return 'it needs training/background rows (a package with a background, or --background)';
  return null;
}

function bgRows(m: LoadedModel): Float64Array[] {
  const bg = m.background!;
  const F = m.description.featureNames.length;
  return Array.from({ length: bg.rows }, (_, r) => bg.data.subarray(r * F, (r + 1) * F));
}

const limeCache = new WeakMap<LoadedModel, LimeTabularExplainer>();
const anchorCache = new WeakMap<LoadedModel, AnchorTabular>();
// Text explainers hold no per-model state (the seed is an explain option).
const limeText = new LimeTextExplainer();
const anchorText = new AnchorText();

/** Per-text explanations with their details as one-element arrays, so texts and chunks concatenate. */
async function perText(texts: readonly string[], signal: AbortSignal, one: (text: string) => Promise<Explanation>): Promise<Explanation> {
  const parts: Explanation[] = [];
  for (const text of texts) {
    if (signal.aborted) throw signal.reason;
    const e = await one(text);
    parts.push({ ...e, ...(e.details ? { details: Object.fromEntries(Object.entries(e.details).map(([k, v]) => [k, [v]])) } : {}) });
  }
  return mergeExplanations(parts);
}

export const lime: ExplainMethod = {
  name: 'lime',
  description: 'LIME: a sparse local linear surrogate fitted on perturbed samples (tabular, text)',
  inputs: ['tabular', 'text'],
  parameters: ['num_features', 'num_samples', 'seed', 'top_labels'],
  unsupportedReason: reason,
  async explain(model, data, params, ctx) {
    const nOutputs = model.description.outputNames.length;
    if (data.kind === 'text') {
      const top = optInt(params, 'top_labels', 1, nOutputs);
      const opts = defined({
        ...(top === undefined ? { labels: ctx.outputIndices ? [...ctx.outputIndices] : Array.from({ length: nOutputs }, (_, i) => i) } : { topLabels: top }),
        numFeatures: optInt(params, 'num_features', 1),
        numSamples: optInt(params, 'num_samples', 2),
        seed: optInt(params, 'seed', 0),
      });
      return perText(data.texts, ctx.signal, (text) => limeText.explain(model.predictor as TextPredictor, text, opts));
    }
    if (data.kind !== 'tabular') throw new Error('unreachable');
    let ex = limeCache.get(model);
    if (!ex) {
      ex = new LimeTabularExplainer({ trainingData: bgRows(model), featureNames: model.description.featureNames });
      limeCache.set(model, ex);
    }
    const nOut = model.description.outputNames.length;
    const rows = Array.from({ length: data.nRows }, (_, r) => data.rows.subarray(r * data.nFeatures, (r + 1) * data.nFeatures));
    const topLabels = optInt(params, 'top_labels', 1, nOut);
    return ex.explain(model.predictor as Predictor, rows, defined({
      ...(topLabels === undefined ? { labels: ctx.outputIndices ? [...ctx.outputIndices] : Array.from({ length: nOut }, (_, i) => i) } : { topLabels }),
      numFeatures: optInt(params, 'num_features', 1),
      numSamples: optInt(params, 'num_samples', 2),
      seed: optInt(params, 'seed', 0),
    }));
  },
};

export const anchors: ExplainMethod = {
  name: 'anchors',
  description: 'Anchors: an if-then rule that keeps the prediction with high precision (tabular, text)',
  inputs: ['tabular', 'text'],
  parameters: ['threshold', 'delta', 'tau', 'batch_size', 'coverage_samples', 'beam_size', 'stop_on_first', 'max_anchor_size', 'seed'],
  unsupportedReason: reason,
  async explain(model, data, params, ctx) {
    const num = (k: string) => {
      const v = params[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new SidecarError('INVALID_REQUEST', `parameter "${k}" must be a number`);
      return v;
    };
    const opts = defined({
      threshold: num('threshold'),
      delta: num('delta'),
      tau: num('tau'),
      batchSize: optInt(params, 'batch_size', 1),
      coverageSamples: optInt(params, 'coverage_samples', 1),
      beamSize: optInt(params, 'beam_size', 1),
      stopOnFirst: optBool(params, 'stop_on_first'),
      maxAnchorSize: optInt(params, 'max_anchor_size', 1),
      seed: optInt(params, 'seed', 0),
    });
    if (data.kind === 'text') return perText(data.texts, ctx.signal, (text) => anchorText.explain(model.predictor as TextPredictor, text, opts));
    if (data.kind !== 'tabular') throw new Error('unreachable');
    let ex = anchorCache.get(model);
    if (!ex) {
      ex = new AnchorTabular({ trainingData: bgRows(model), featureNames: model.description.featureNames });
      anchorCache.set(model, ex);
    }
    // Anchors explain one row at a time; per-row details become one-element arrays so chunks concatenate.
    const parts: Explanation[] = [];
    for (let r = 0; r < data.nRows; r++) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const e = await ex.explain(model.predictor as Predictor, data.rows.subarray(r * data.nFeatures, (r + 1) * data.nFeatures), opts);
      parts.push({ ...e, ...(e.details ? { details: Object.fromEntries(Object.entries(e.details).map(([k, v]) => [k, [v]])) } : {}) });
    }
    return mergeExplanations(parts);
  },
};
