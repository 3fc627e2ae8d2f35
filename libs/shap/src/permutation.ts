/**
 * Permutation SHAP (shap's PermutationExplainer): random feature orderings, each walked forward (adding
 * features one at a time) and back (removing them in the same order), which is antithetic sampling; exact
 * for models with at most pairwise interactions after one permutation, and always exactly additive.
 */
import { DEFAULT_SEED, Rng, rowStream, type Explanation, type Predictor } from '@genome/model-format';
import { Cancellation, checkSignal } from './abort.js';
import { AgnosticBase, type AgnosticOptions, type CancellableOptions } from './agnostic.js';
import type { Background } from './background.js';
import { varyingFeatures } from './coalitions.js';
import { ShapError } from './errors.js';
import { applyLink } from './link.js';
import { checkSeed } from './seed.js';
import type { RowsInput } from './rows.js';

export interface PermutationExplainOptions extends CancellableOptions {
  /** Model evaluations (coalitions) per row; each permutation costs 2M + 1 (default 500). */
  maxEvals?: number;
  /** Seed; each row draws its orderings from its own stream of (seed, the row's values), whatever the batch. */
  seed?: number;
}

export class PermutationExplainer {
  private readonly base: AgnosticBase;

  constructor(predictor: Predictor, background: RowsInput | Background, options: AgnosticOptions = {}) {
    this.base = new AgnosticBase(predictor, background, options);
  }

  async explain(X: RowsInput, options: PermutationExplainOptions = {}): Promise<Explanation> {
    const startMs = performance.now();
    const b = this.base;
    const cancel = new Cancellation(checkSignal(options.signal));
    cancel.check();
    const maxEvals = options.maxEvals ?? 500;
    if (!Number.isInteger(maxEvals) || maxEvals < 1) throw new ShapError('INVALID_OPTION', `maxEvals must be a positive integer, got ${maxEvals}.`);
    const seed = checkSeed(options.seed ?? DEFAULT_SEED);
    const rows = b.rows(X);
    const F = b.nFeatures;
    const D = b.nOutputs;
    const { ev, base, fx, values, baseOut } = await b.start(rows, cancel);
    const perms: number[] = [];
    for (let r = 0; r < rows.rows; r++) {
      if (cancel.signal) await cancel.pause();
      baseOut.set(base, r * D);
      const x = rows.data.subarray(r * F, r * F + F);
      const players = varyingFeatures(x, b.background, false);
      const M = players.length;
      if (M === 0) {
        perms.push(0);
        continue;
      }
      const per = 2 * M + 1;
      const nPerm = Math.floor(maxEvals / per);
      if (nPerm === 0) {
        throw new ShapError(
          'INVALID_OPTION',
          `maxEvals=${maxEvals} is too low for the permutation explainer: row ${r} has ${M} varying features, so one forward+backward permutation needs 2*M+1 = ${per} evaluations.`,
        );
      }
      const rng = new Rng(rowStream(seed, x));
      const order = new Int32Array(M);
      for (let i = 0; i < M; i++) order[i] = i;
      const nMasks = nPerm * per;
      const masks = new Uint8Array(nMasks * M);
      const orders = new Int32Array(nPerm * M);
      // About a million mask bytes between pauses (the shuffles keep their order).
      const permsPerPause = Math.max(1, Math.floor(1_000_000 / (per * M)));
      for (let k = 0; k < nPerm; k++) {
        if (cancel.signal && k > 0 && k % permsPerPause === 0) await cancel.pause();
        rng.shuffle(order);
        orders.set(order, k * M);
        let o = k * per * M; // mask 0: nothing on
        // Each mask is the previous one with one player switched (a plain loop: copyWithin's call costs more than
        // copying a few dozen bytes).
        for (let i = 0; i < 2 * M; i++) {
          for (let j = 0; j < M; j++) masks[o + M + j] = masks[o + j]!;
          o += M;
          masks[o + order[i % M]!] = i < M ? 1 : 0;
        }
      }
      const v = new Float64Array(nMasks * D);
      await ev.evaluate(x, masks, nMasks, players, v);
      applyLink(b.link, v);
      const phi = new Float64Array(M * D);
      for (let k = 0; k < nPerm; k++) {
        const o = k * per;
        for (let i = 0; i < M; i++) {
          const p = orders[k * M + i]!;
          for (let d = 0; d < D; d++) phi[p * D + d]! += v[(o + i + 1) * D + d]! - v[(o + i) * D + d]!;
        }
        for (let i = 0; i < M; i++) {
          const p = orders[k * M + i]!;
          for (let d = 0; d < D; d++) phi[p * D + d]! += v[(o + M + i) * D + d]! - v[(o + M + i + 1) * D + d]!;
        }
      }
      const scale = 1 / (2 * nPerm);
      for (let p = 0; p < M; p++) for (let d = 0; d < D; d++) values[(r * F + players[p]!) * D + d] = phi[p * D + d]! * scale;
      perms.push(nPerm);
    }
    return b.explanation(ev, rows, {
      method: 'permutation_shap',
      values,
      base: baseOut,
      predictions: fx,
      parameters: { maxEvals, link: b.link, backgroundRows: b.background.rows, maxBatch: b.maxBatch },
      seed,
      startMs,
      details: { permutations: perms },
    });
  }
}
