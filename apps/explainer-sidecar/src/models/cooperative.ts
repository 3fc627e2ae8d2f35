/**
 * Keeps the event loop responsive while explainers call models: every model call passes through {@link pause}, which
 * yields to the loop when the current synchronous stretch has run for {@link SLICE_MS} and stops the work when the
 * call's signal has aborted. Tabular predictors whose work is synchronous (the tree IR predictor) are also fed in
 * slices sized so that one slice's synchronous part takes about {@link SLICE_MS}; predictors that compute off the
 * thread (onnxruntime, remote servers) get large slices because their synchronous part is small.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AnyPredictor, Matrix, PredictOptions, Predictor, TextPredictor } from '@genome/model-format';

/** Longest synchronous stretch between yields, ms. */
export const SLICE_MS = 8;

let lastYield = performance.now();

/**
 * Throws the signal's reason when it has aborted; yields to the event loop (timers, I/O, other calls) when the
 * thread has been busy for {@link SLICE_MS} since the last yield.
 */
export async function pause(signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason;
  if (performance.now() - lastYield < SLICE_MS) return;
  await nextTurn();
  lastYield = performance.now();
  if (signal?.aborted) throw signal.reason;
}

const MIN_SLICE = 16;
const MAX_SLICE = 1 << 20;

/** A tabular predictor fed in slices of about {@link SLICE_MS} of synchronous work, pausing between slices. */
function cooperativeTabular(p: Predictor): Predictor {
  let slice = 1024;
  /** Starts one call and learns how many rows fit in a slice from the time it took to hand back its promise. */
  const start = (rows: Float64Array, n: number, options: PredictOptions | undefined): Promise<Matrix> => {
    const t0 = performance.now();
    const pending = p.predict(rows, n, options);
    const syncMs = performance.now() - t0;
    if (n >= MIN_SLICE) {
      const fit = syncMs > 0.05 ? (n * SLICE_MS) / syncMs : MAX_SLICE;
      slice = Math.round(Math.min(MAX_SLICE, Math.max(MIN_SLICE, 0.5 * slice + 0.5 * fit)));
    }
    return pending;
  };
  return Object.create(p, {
    predict: {
      async value(rows: Float64Array, n: number, options?: PredictOptions): Promise<Matrix> {
        await pause(options?.signal);
        if (n <= slice) return start(rows, n, options);
        const F = p.nFeatures;
        const cols = p.outputNames.length;
        const out = new Float64Array(n * cols);
        for (let from = 0; from < n; ) {
          if (from > 0) await pause(options?.signal);
          const k = Math.min(slice, n - from);
          const m = await start(rows.subarray(from * F, (from + k) * F), k, options);
          out.set(m.data.subarray(0, k * cols), from * cols);
          from += k;
        }
        return { data: out, rows: n, cols };
      },
    },
  }) as Predictor;
}

function cooperativeText(p: TextPredictor): TextPredictor {
  return Object.create(p, {
    predict: {
      async value(texts: readonly string[], options?: PredictOptions): Promise<Matrix> {
        await pause(options?.signal);
        return p.predict(texts, options);
      },
    },
  }) as TextPredictor;
}

/** The predictor as explainers inside the sidecar see it (image predictors are used by Grad-CAM's own runtime). */
export function cooperative<P extends AnyPredictor>(p: P): P {
  if (p.kind === 'tabular') return cooperativeTabular(p) as P;
  if (p.kind === 'text') return cooperativeText(p) as P;
  return p;
}
