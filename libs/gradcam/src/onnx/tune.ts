/** Timing two ways of computing the same thing, to keep the faster (the evaluator choices of the typed head). */

/** Wall-clock budget of one choice: past it, timing stops once both ways have two measured calls. */
export const TUNE_BUDGET_MS = 250;

/** Calls of each way that warm up (JIT compilation, session creation, onnxruntime's arena) and are not measured. */
const WARM_UP = 2;

function median(v: readonly number[]): number {
  if (v.length === 0) return Number.POSITIVE_INFINITY;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Median times (ms) of two async calls run alternately, at most `calls` in all: medians, not best times, since two
 * paths within 10% of each other (small-cnn-squares' fused and split gradients) swap places by best time from one
 * process to the next, while their medians keep their order. The first {@link WARM_UP} calls of each are not
 * measured. Stops early when, after six calls of each, one is over twice as slow as the other by both its best and
 * its median time (a few 4x outliers in one path's first calls once doubled its median alone, on squeezenet1_1), or
 * when {@link TUNE_BUDGET_MS} has passed and each has two measured calls (a large model's first image should not
 * cost dozens of passes).
 */
export async function timeAlternating(a: () => Promise<unknown>, b: () => Promise<unknown>, calls: number): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  const start = performance.now();
  const slower = (x: number, y: number): boolean => x > 2 * y;
  for (let k = 0; k < calls; k++) {
    const t0 = performance.now();
    await (k % 2 === 0 ? a() : b());
    const dt = performance.now() - t0;
    if (k >= 2 * WARM_UP) times[k % 2]!.push(dt);
    if (k % 2 === 0) continue;
    if (k >= 11) {
      const [ba, bb] = [Math.min(...times[0]), Math.min(...times[1])];
      const [ma, mb] = [median(times[0]), median(times[1])];
      if ((slower(ba, bb) && slower(ma, mb)) || (slower(bb, ba) && slower(mb, ma))) break;
    }
    if (k >= 2 * WARM_UP + 3 && performance.now() - start > TUNE_BUDGET_MS) break;
  }
  return [median(times[0]), median(times[1])];
}
