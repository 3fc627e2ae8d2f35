/** Checks user seeds for the sampling explainers (the generator itself is @genome/model-format's `Rng`). */
import { ShapError } from './errors.js';

/** Checks a user seed: a safe integer. */
export function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new ShapError('INVALID_OPTION', `seed must be a safe integer, got ${String(seed)}.`);
  }
  return seed;
}
