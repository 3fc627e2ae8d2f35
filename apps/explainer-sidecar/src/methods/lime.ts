/**
 * lime and anchors from @genome/lime: tabular (over the model's predictor and background rows) and text (over a
 * TextPredictor, e.g. a remote Open Inference Protocol model with a BYTES input; one explanation per text, each
 * attributing to its own words, merged over the union of words). Sample counts are bounded by the server's
 * `maxSamples`; the cost estimate covers the model rows and the surrogate fit (samples × features²).
 */
import type { Explanation, Predictor, TextPredictor } from '@genome/model-format';
import { AnchorTabular, AnchorText, LimeTabularExplainer, LimeTextExplainer } from '@genome/lime';
import { mergeExplanations } from '../explain/merge.js';
import { SidecarError } from '../errors.js';
import type { LoadedModel } from '../models/types.js';
import { defined, optBool, optInt, optNumber } from './params.js';
import type { ExplainData, ExplainMethod, WorkLimits } from './types.js';

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

/** Per-text (per-row) explanations with their details as one-element arrays, so texts and chunks concatenate. */
async function each<T>(items: readonly T[], signal: AbortSignal, one: (item: T) => Promise<Explanation>): Promise<Explanation> {
  const parts: Explanation[] = [];
  for (const item of items) {
    if (signal.aborted) throw signal.reason;
    const e = await one(item);
    parts.push({ ...e, ...(e.details ? { details: Object.fromEntries(Object.entries(e.details).map(([k, v]) => [k, [v]])) } : {}) });
  }
  return mergeExplanations(parts);
}

const samplesBound = (limits: WorkLimits) => ({ max: limits.maxSamples, flag: '--max-samples' });

/** Words LIME text sees in each text (its features) and the longest text, for the cost estimate. */
function textShape(data: ExplainData): { words: number; chars: number } {
  if (data.kind !== 'text') return { words: 0, chars: 0 };
  let words = 0;
  let chars = 0;
  for (const t of data.texts) {
    words = Math.max(words, limeText.index(t).numFeatures);
    chars = Math.max(chars, t.length);
  }
  return { words, chars };
}

function limeParams(model: LoadedModel, params: Record<string, unknown>, limits: WorkLimits, nFeatures: number) {
  return {
    topLabels: optInt(params, 'top_labels', 1, model.description.outputNames.length),
    numFeatures: optInt(params, 'num_features', 1, Math.max(1, nFeatures)),
    numSamples: optInt(params, 'num_samples', 2, samplesBound(limits)),
    seed: optInt(params, 'seed', 0),
  };
}

export const lime: ExplainMethod = {
  name: 'lime',
  description: 'LIME: a sparse local linear surrogate fitted on perturbed samples (tabular, text)',
  inputs: ['tabular', 'text'],
  parameters: ['num_features', 'num_samples', 'seed', 'top_labels'],
  unsupportedReason: reason,
  cost(model, data, params, limits) {
    const text = textShape(data);
    const F = data.kind === 'text' ? text.words : model.description.featureNames.length;
    const p = limeParams(model, params, limits, F);
    const n = p.numSamples ?? 5000;
    const labels = p.topLabels ?? model.description.outputNames.length;
    return {
      modelRowsPerRow: n,
      // In ns: the passes over the n × F sample matrix between pauses (allocating it, copying it for the model, the
      // model's input conversion, distances: ~30 ns a cell, ~50 for texts), and the surrogate fit of each label
      // (~F³/2). Sampling (per feature, or every few texts) and the Gram matrix (in steps) pause as they go.
      rowOps: n * F * (data.kind === 'text' ? 50 : 30) + (F ** 3 / 2) * labels,
      how: `${n} samples of ${F} ${data.kind === 'text' ? 'words' : 'features'}`,
      valuesPerRow: F * labels,
    };
  },
  async explain(model, data, params, ctx) {
    const nOut = model.description.outputNames.length;
    const F = data.kind === 'text' ? textShape(data).words : model.description.featureNames.length;
    const p = limeParams(model, params, ctx.limits, F);
    const opts = defined({
      ...(p.topLabels === undefined ? { labels: ctx.outputIndices ? [...ctx.outputIndices] : Array.from({ length: nOut }, (_, i) => i) } : { topLabels: p.topLabels }),
      numFeatures: p.numFeatures,
      numSamples: p.numSamples,
      seed: p.seed,
      signal: ctx.signal,
    });
    if (data.kind === 'text') return each(data.texts, ctx.signal, (text) => limeText.explain(model.predictor as TextPredictor, text, opts));
    if (data.kind !== 'tabular') throw new Error('unreachable');
    let ex = limeCache.get(model);
    if (!ex) {
      ex = new LimeTabularExplainer({ trainingData: bgRows(model), featureNames: model.description.featureNames });
      limeCache.set(model, ex);
    }
    const rows = Array.from({ length: data.nRows }, (_, r) => data.rows.subarray(r * data.nFeatures, (r + 1) * data.nFeatures));
    return ex.explain(model.predictor as Predictor, rows, opts);
  },
};

/** Beam candidates kept per round: each costs a batch of samples per bandit pull, and one candidate per feature. */
const MAX_BEAM = 16;

/**
 * Samples Anchors may draw for one row: it keeps every sample's predicate vector (about 4 predicates a feature for
 * quartile bins), so the cap holds that matrix to 4 MiB.
 */
function anchorSampleCap(nFeatures: number): number {
  return Math.max(1000, Math.floor((1 << 22) / (4 * Math.max(1, nFeatures))));
}

function anchorParams(model: LoadedModel, params: Record<string, unknown>, limits: WorkLimits, nFeatures: number) {
  return {
    threshold: optNumber(params, 'threshold', 0, 1),
    delta: optNumber(params, 'delta', 0, 1),
    tau: optNumber(params, 'tau', 0, 1),
    batchSize: optInt(params, 'batch_size', 1, samplesBound(limits)),
    coverageSamples: optInt(params, 'coverage_samples', 1, samplesBound(limits)),
    beamSize: optInt(params, 'beam_size', 1, MAX_BEAM),
    stopOnFirst: optBool(params, 'stop_on_first'),
    maxAnchorSize: optInt(params, 'max_anchor_size', 1, Math.max(1, nFeatures)),
    seed: optInt(params, 'seed', 0),
  };
}

export const anchors: ExplainMethod = {
  name: 'anchors',
  description: 'Anchors: an if-then rule that keeps the prediction with high precision (tabular, text)',
  inputs: ['tabular', 'text'],
  parameters: ['threshold', 'delta', 'tau', 'batch_size', 'coverage_samples', 'beam_size', 'stop_on_first', 'max_anchor_size', 'seed'],
  unsupportedReason(model) {
    const d = model.description;
    // Anchors keep a predicted class; one regression output has none.
    if (d.outputNames.length === 1 && d.outputSpace === 'regression') return 'Anchors explain classifiers, and this model has a single regression output';
    return reason(model);
  },
  cost(model, data, params, limits) {
    const text = textShape(data);
    const F = data.kind === 'text' ? text.words : model.description.featureNames.length;
    const p = anchorParams(model, params, limits, F);
    const batch = p.batchSize ?? 100;
    const beam = p.beamSize ?? 1;
    const coverage = p.coverageSamples ?? 10_000;
    if (batch * (beam + 1) > anchorSampleCap(F)) {
      throw new SidecarError(
        'OVER_BUDGET',
        `anchors keeps every sample of a row: ${beam} candidate rule${beam === 1 ? '' : 's'} × batches of ${batch} need more than the ${anchorSampleCap(F)} samples a row of ${F} ${data.kind === 'text' ? 'words' : 'features'} may hold; lower batch_size or beam_size`,
      );
    }
    return {
      // Anchors draw samples until the rule is precise enough, up to the per-row share of the budget; they need at
      // least the first batches of every beam candidate.
      modelRowsPerRow: batch * (beam + 1),
      adaptive: true,
      // In ns: one batch of samples drawn and labelled (~300 ns a value, a text's characters ~6 each), and a candidate rule scanned
      // over the coverage samples and every sample drawn so far (~50 ns each; candidates pause between them).
      rowOps: batch * (F * 300 + text.chars * 6) + (coverage + anchorSampleCap(F)) * 50,
      how: `batches of ${batch} samples for ${beam} candidate rule${beam === 1 ? '' : 's'} of ${F} ${data.kind === 'text' ? 'words' : 'features'}, ${coverage} coverage samples`,
      valuesPerRow: F * model.description.outputNames.length,
    };
  },
  async explain(model, data, params, ctx) {
    const F = data.kind === 'text' ? textShape(data).words : model.description.featureNames.length;
    const p = anchorParams(model, params, ctx.limits, F);
    const opts = defined({ ...p, maxSamples: Math.min(ctx.modelRowsPerRow, anchorSampleCap(F)), signal: ctx.signal });
    if (data.kind === 'text') return each(data.texts, ctx.signal, (text) => anchorText.explain(model.predictor as TextPredictor, text, opts));
    if (data.kind !== 'tabular') throw new Error('unreachable');
    let ex = anchorCache.get(model);
    if (!ex) {
      ex = new AnchorTabular({ trainingData: bgRows(model), featureNames: model.description.featureNames });
      anchorCache.set(model, ex);
    }
    // Anchors explain one row at a time; per-row details become one-element arrays so chunks concatenate.
    const rows = Array.from({ length: data.nRows }, (_, r) => data.rows.subarray(r * data.nFeatures, (r + 1) * data.nFeatures));
    return each(rows, ctx.signal, (row) => ex.explain(model.predictor as Predictor, row, opts));
  },
};
