/** Timing two ways of computing the same thing, to keep the faster (the evaluator choices of the typed head). */

/** Wall-clock budget of one choice: past it, timing stops once both ways have two measured calls. */
export const TUNE_BUDGET_MS = 250;

/**
 * Best times (ms) of two async calls run alternately, at most `calls` in all. The first two calls of each warm up
 * (JIT compilation, session creation) and are not measured. Stops early when, after six calls of each, one takes
 * over twice as long as the other, or when {@link TUNE_BUDGET_MS} has passed and each has two measured calls (a
 * large model's first image should not cost dozens of passes).
 */
export async function timeAlternating(a: () => Promise<unknown>, b: () => Promise<unknown>, calls: number): Promise<[number, number]> {
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const start = performance.now();
  for (let k = 0; k < calls; k++) {
    const t0 = performance.now();
    await (k % 2 === 0 ? a() : b());
    const dt = performance.now() - t0;
    if (k >= 4) best[k % 2] = Math.min(best[k % 2]!, dt);
    if (k % 2 === 0) continue;
    if (k >= 11 && (best[0]! > 2 * best[1]! || best[1]! > 2 * best[0]!)) break;
    if (k >= 7 && performance.now() - start > TUNE_BUDGET_MS) break;
  }
  return [best[0]!, best[1]!];
}
