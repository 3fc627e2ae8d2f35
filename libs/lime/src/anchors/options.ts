/** Options of `AnchorTabular.explain` / `AnchorText.explain` (alibi's names in camelCase, alibi's defaults). */
import { LimeError } from '../errors.js';
import { checkInt } from '../model-calls.js';
import type { BeamOptions } from './beam.js';

export interface AnchorExplainOptions {
  /** Minimum precision (default 0.95). */
  readonly threshold?: number;
  /** Significance (default 0.1). */
  readonly delta?: number;
  /** Bandit tolerance (default 0.15). */
  readonly tau?: number;
  /** Samples per bandit pull (default 100). */
  readonly batchSize?: number;
  /** Samples used to estimate coverage (default 10000). */
  readonly coverageSamples?: number;
  /** Candidates kept per round (default 1). */
  readonly beamSize?: number;
  /** Stop at the first valid anchor (default false for tabular, true for text). */
  readonly stopOnFirst?: boolean;
  /** Maximum predicates in the anchor (default: no limit). */
  readonly maxAnchorSize?: number;
  /** Samples of the empty anchor drawn first (default 100). */
  readonly minSamplesStart?: number;
  /** Examples stored per anchor where the label agrees/disagrees (default 10). */
  readonly nCoveredEx?: number;
  /** Confidence margin around the threshold for the final precision check (alibi `epsilon_stop`, default 0.05). */
  readonly epsilonStop?: number;
  /** Hard cap on model-labelled samples (default 1,000,000): bounds the run time on adversarial models. */
  readonly maxSamples?: number;
  /** Default: the explainer's seed (0). The instance draws from the stream of (seed, its values or text): same seed, same instance, same anchor. */
  readonly seed?: number;
  /**
   * Stops the explanation when it aborts (a caller's deadline, `AbortSignal.timeout(ms)`, a cancelled request):
   * checked before every model call (each round of bandit pulls is one batched call), passed to the predictor as its last argument
   * (`{ signal }`); `explain` then rejects with `signal.reason` itself.
   */
  readonly signal?: AbortSignal;
}

export function beamOptions(o: AnchorExplainOptions, stopOnFirstDefault: boolean): BeamOptions & { nCoveredEx: number } {
  const r = {
    threshold: o.threshold ?? 0.95,
    delta: o.delta ?? 0.1,
    epsilon: o.tau ?? 0.15,
    batchSize: o.batchSize ?? 100,
    coverageSamples: o.coverageSamples ?? 10000,
    beamSize: o.beamSize ?? 1,
    stopOnFirst: o.stopOnFirst ?? stopOnFirstDefault,
    maxAnchorSize: o.maxAnchorSize,
    minSamplesStart: o.minSamplesStart ?? 100,
    nCoveredEx: o.nCoveredEx ?? 10,
    epsilonStop: o.epsilonStop ?? 0.05,
    maxSamples: o.maxSamples ?? 1_000_000,
  };
  const prob = (name: string, v: number, lo: number, hi: number): void => {
    if (!(typeof v === 'number' && v > lo && v <= hi)) throw new LimeError('INVALID_INPUT', `${name} must be in (${lo}, ${hi}], got ${v}.`);
  };
  prob('threshold', r.threshold, 0, 1);
  prob('delta', r.delta, 0, 1);
  prob('tau', r.epsilon, 0, 1);
  if (!(r.epsilonStop >= 0 && r.epsilonStop < 1)) throw new LimeError('INVALID_INPUT', `epsilonStop must be in [0, 1), got ${r.epsilonStop}.`);
  checkInt('batchSize', r.batchSize, 1);
  checkInt('coverageSamples', r.coverageSamples, 1);
  checkInt('beamSize', r.beamSize, 1);
  checkInt('minSamplesStart', r.minSamplesStart, 1);
  checkInt('nCoveredEx', r.nCoveredEx, 0);
  checkInt('maxSamples', r.maxSamples, 1);
  if (r.maxAnchorSize !== undefined) checkInt('maxAnchorSize', r.maxAnchorSize, 1);
  return r;
}

/** alibi-style explanation params (snake_case, as alibi stores them in `meta.params`). */
export function alibiParams(r: BeamOptions & { nCoveredEx: number }, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    ...extra,
    threshold: r.threshold,
    delta: r.delta,
    tau: r.epsilon,
    batch_size: r.batchSize,
    coverage_samples: r.coverageSamples,
    beam_size: r.beamSize,
    stop_on_first: r.stopOnFirst,
    max_anchor_size: r.maxAnchorSize ?? null,
    min_samples_start: r.minSamplesStart,
    n_covered_ex: r.nCoveredEx,
    epsilon_stop: r.epsilonStop,
    max_samples: r.maxSamples,
  };
}
