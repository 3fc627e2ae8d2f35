/**
 * lime and anchors from @genome/lime: tabular (over the model's predictor and background rows) and text (over a
 * TextPredictor, e.g. a remote Open Inference Protocol model with a BYTES input; one explanation per text, each
 * attributing to its own words, merged over the union of words). Sample counts are bounded by the server's
 * `maxSamples`; the cost estimate covers the model rows and the surrogate fit (samples × features²).
 */
import type { Explanation, Predictor, TextPredictor } from '@genome/model-format';
import { AnchorTabular, AnchorText, LimeTabularExplainer, LimeTextExplainer, type AnchorExplainOptions } from '@genome/lime';
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

/**
 * Puts an explanation's outputs on the axis `names`: output o of `e` goes to position `at[o]`, every other position holds
 * 0 (values, base values, predictions) or the `empty` value of each per-row, per-output detail listed there. Rows
 * whose explained outputs differ (LIME's top_labels, Anchors' predicted class) then share one output axis, so texts
 * and chunks merge and a row's entries do not depend on the rows around it.
 */
function onAxis(e: Explanation, names: readonly string[], at: readonly number[], empty: Readonly<Record<string, unknown>> = {}): Explanation {
  const from = new Int32Array(names.length).fill(-1);
  at.forEach((n, o) => (from[n] = o));
  const spread = <T>(xs: readonly T[], zero: T): T[] => Array.from(from, (o) => (o >= 0 ? xs[o]! : zero));
  const d = e.details ?? {};
  const details = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, k in empty ? (v as unknown[][]).map((xs) => spread(xs, empty[k])) : v]));
  return {
    ...e,
    outputNames: [...names],
    values: e.values.map((row) => row.map((f) => spread(f, 0))),
    baseValues: e.baseValues.map((b) => spread(b, 0)),
    ...(e.predictions ? { predictions: e.predictions.map((p) => spread(p, 0)) } : {}),
    ...(e.details ? { details } : {}),
  };
}

/** LIME with top_labels: every model output, 0 outside a row's own labels (`details.labels` = the model outputs explained). */
const overModelOutputs = (e: Explanation, outputs: readonly string[]) =>
  onAxis(e, outputs, e.details!.labels as number[], { intercept: 0, score: 0, localPrediction: 0, explanations: [] });

/** The classes Anchors label a row with (as @genome/lime names them): the model's outputs, or `not X` and `X` for one output. */
const anchorClasses = (outputs: readonly string[]): string[] => (outputs.length === 1 ? [`not ${outputs[0]!}`, outputs[0]!] : [...outputs]);

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
      // Every model output (top_labels answers over all of them, 0 outside a row's labels).
      valuesPerRow: F * model.description.outputNames.length,
    };
  },
  async explain(model, data, params, ctx) {
    const outputs = model.description.outputNames;
    const nOut = outputs.length;
    // num_features was checked against the call's widest text by cost(); a chunk's own texts must not change that.
    const p = limeParams(model, params, ctx.limits, data.kind === 'text' ? Number.MAX_SAFE_INTEGER : model.description.featureNames.length);
    const opts = defined({
      ...(p.topLabels === undefined ? { labels: ctx.outputIndices ? [...ctx.outputIndices] : Array.from({ length: nOut }, (_, i) => i) } : { topLabels: p.topLabels }),
      numFeatures: p.numFeatures,
      numSamples: p.numSamples,
      seed: p.seed,
      signal: ctx.signal,
    });
    const wide = (e: Explanation) => (p.topLabels === undefined ? e : overModelOutputs(e, outputs));
    // Texts: `each` turns details.labels into one list per text, the outputs that text explains.
    if (data.kind === 'text') return each(data.texts, ctx.signal, async (text) => wide(await limeText.explain(model.predictor as TextPredictor, text, opts)));
    if (data.kind !== 'tabular') throw new Error('unreachable');
    let ex = limeCache.get(model);
    if (!ex) {
      ex = new LimeTabularExplainer({ trainingData: bgRows(model), featureNames: model.description.featureNames });
      limeCache.set(model, ex);
    }
    const rows = Array.from({ length: data.nRows }, (_, r) => data.rows.subarray(r * data.nFeatures, (r + 1) * data.nFeatures));
    const e = await ex.explain(model.predictor as Predictor, rows, opts);
    // details.labels per row, as for texts (the library lists the call's labels once, which chunks would repeat).
    const own = (e.details!.topLabels as number[][] | undefined) ?? e.values.map(() => e.details!.labels as number[]);
    const w = wide(e);
    return { ...w, details: { ...w.details, labels: own } };
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
      valuesPerRow: F * anchorClasses(model.description.outputNames).length,
    };
  },
  async explain(model, data, params, ctx) {
    const F = model.description.featureNames.length;
    // max_anchor_size was checked against the call's widest text by cost(); a chunk's own texts must not change that.
    const p = anchorParams(model, params, ctx.limits, data.kind === 'text' ? Number.MAX_SAFE_INTEGER : F);
    const classes = anchorClasses(model.description.outputNames);
    /**
     * One row: its anchor is for its predicted class, so every class is an output (0 for the others); its sample
     * budget (its share of the call's model rows, capped by what its own samples may hold) is a per-row detail,
     * `maxSamples`, rather than a parameter the merged rows would share.
     */
    const one = async (width: number, run: (opts: AnchorExplainOptions) => Promise<Explanation>): Promise<Explanation> => {
      const maxSamples = Math.min(ctx.modelRowsPerRow, anchorSampleCap(width));
      const e = await run(defined({ ...p, maxSamples, signal: ctx.signal }));
      const { max_samples: _, ...parameters } = e.parameters;
      return { ...onAxis(e, classes, [classes.indexOf(e.outputNames[0]!)]), parameters, details: { ...e.details, maxSamples } };
    };
    if (data.kind === 'text') {
      return each(data.texts, ctx.signal, (text) => one(limeText.index(text).numFeatures, (o) => anchorText.explain(model.predictor as TextPredictor, text, o)));
    }
    if (data.kind !== 'tabular') throw new Error('unreachable');
    let ex = anchorCache.get(model);
    if (!ex) {
      ex = new AnchorTabular({ trainingData: bgRows(model), featureNames: model.description.featureNames });
      anchorCache.set(model, ex);
    }
    // Anchors explain one row at a time; per-row details become one-element arrays so chunks concatenate.
    const rows = Array.from({ length: data.nRows }, (_, r) => data.rows.subarray(r * data.nFeatures, (r + 1) * data.nFeatures));
    return each(rows, ctx.signal, (row) => one(F, (o) => ex.explain(model.predictor as Predictor, row, o)));
  },
};
