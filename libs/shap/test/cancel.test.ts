/**
 * Cancellation (`signal`) of the model-agnostic explainers and the failure codes of model calls:
 * RUNTIME for a call that throws, MODEL_OUTPUT for a malformed answer.
 */
import t from 'tap';
import type tap from 'tap';
import type { Explanation, Matrix, PredictOptions, Predictor } from '@genome/model-format';
import { ExactExplainer, KernelExplainer, PermutationExplainer, ShapError } from '../src/index.js';
import { fnPredictor, interactionFn, randomRows } from './kernel-helpers.js';
import { abortAfter, sleep } from '../../../tools/abort-check.js';

const M = 5;
const fn = interactionFn([1, -2, 0.5, 3, -1], [[0, 1, 0.7], [2, 4, -1.2]], 0.4);
const bg = randomRows(8, M, 101);
const X = randomRows(6, M, 102);

/** A tabular predictor whose calls take `delayMs` each; with `honour`, an abort rejects the pending call. */
function slowPredictor(delayMs: number, honour: boolean) {
  const inner = fnPredictor(M, 2, fn);
  const state = {
    calls: 0,
    /** predict calls that started after the signal it was given had aborted */
    callsAfterAbort: 0,
    signals: [] as (AbortSignal | undefined)[],
  };
  const p: Predictor = {
    kind: 'tabular',
    nFeatures: M,
    outputNames: inner.outputNames,
    outputSpace: 'regression',
    predict(rows: Float64Array, n: number, options?: PredictOptions): Promise<Matrix> {
      state.calls++;
      const signal = options?.signal;
      state.signals.push(signal);
      if (signal?.aborted) state.callsAfterAbort++;
      const copy = rows.slice(0, n * M);
      return new Promise<Matrix>((resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(signal!.reason);
        };
        const timer = setTimeout(() => {
          if (honour) signal?.removeEventListener('abort', onAbort);
          resolve(inner.predict(copy, n));
        }, delayMs);
        if (honour && signal) signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
  return { p, state };
}

/** Never resolves until its signal aborts. */
function hangingPredictor() {
  const state = { calls: 0, callsAfterAbort: 0 };
  const p: Predictor = {
    kind: 'tabular',
    nFeatures: M,
    outputNames: ['y0', 'y1'],
    outputSpace: 'regression',
    predict(_rows: Float64Array, _n: number, options?: PredictOptions): Promise<Matrix> {
      state.calls++;
      const signal = options?.signal;
      if (signal?.aborted) state.callsAfterAbort++;
      return new Promise<Matrix>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('predictor saw the abort')), { once: true });
      });
    },
  };
  return { p, state };
}

type Run = (p: Predictor, opts: { signal?: AbortSignal }) => Promise<Explanation>;

/** Each explainer, configured so one explanation makes many model calls (small batches). */
const explainers: Record<string, Run> = {
  kernel: (p, o) => new KernelExplainer(p, bg, { maxBatch: 80 }).explain(X, { nsamples: 30, seed: 3, ...o }),
  permutation: (p, o) => new PermutationExplainer(p, bg, { maxBatch: 40 }).explain(X, { maxEvals: 33, seed: 4, ...o }),
  exact: (p, o) => new ExactExplainer(p, bg, { maxBatch: 64 }).explain(X, o),
};

for (const [name, run] of Object.entries(explainers)) {
  t.test(`${name}: an abort stops the explanation`, async (t) => {
    const slow = slowPredictor(20, true);
    await abortAfter(t, run, slow.p, slow.state, 'slow predictor that honours the signal');
    t.ok(slow.state.signals.every((s) => s !== undefined), 'the signal is passed to every predict call');

    const deaf = slowPredictor(30, false);
    await abortAfter(t, run, deaf.p, deaf.state, 'slow predictor that ignores the signal');

    const hang = hangingPredictor();
    await abortAfter(t, run, hang.p, hang.state, 'predictor that only returns when aborted');
    t.equal(hang.state.calls, 1, 'the hanging call was the only one');
  });

  t.test(`${name}: a pre-aborted signal makes no model call`, async (t) => {
    const slow = slowPredictor(1, true);
    const reason = new Error('already cancelled');
    await t.rejects(run(slow.p, { signal: AbortSignal.abort(reason) }), reason);
    const err = await run(slow.p, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    t.equal(err, reason, 'identity of the reason');
    const signal = AbortSignal.abort();
    const err2 = await run(slow.p, { signal }).catch((e: unknown) => e);
    t.equal(err2, signal.reason, 'the default AbortError reason too');
    t.equal(slow.state.calls, 0, 'no predict call');
  });

  t.test(`${name}: an un-aborted signal changes nothing`, async (t) => {
    const p = fnPredictor(M, 2, fn);
    const plain = await run(p, {});
    const ac = new AbortController();
    const signalled = await run(p, { signal: ac.signal });
    t.strictSame(signalled.values, plain.values, 'values bit-identical');
    t.strictSame(signalled.baseValues, plain.baseValues);
    t.strictSame(signalled.predictions, plain.predictions);
    t.strictSame(signalled.parameters, plain.parameters, 'the signal is not an explanation parameter');
    t.strictSame(signalled.details, plain.details);
    t.equal(signalled.timings.modelCalls, plain.timings.modelCalls);
  });

  t.test(`${name}: failure codes of model calls`, async (t) => {
    const good = fnPredictor(M, 2, fn);
    const boom = new Error('connection refused');
    const failing: Predictor = { ...good, predict: async () => Promise.reject(boom) };
    const e1 = (await run(failing, {}).catch((e: unknown) => e)) as ShapError;
    t.type(e1, ShapError);
    t.equal(e1.code, 'RUNTIME', 'a model call that throws is RUNTIME');
    t.equal(e1.cause, boom, 'the predictor error is the cause');
    t.match(e1.message, /failed.*connection refused/);

    const syncThrow: Predictor = {
      ...good,
      predict: () => {
        throw boom;
      },
    };
    const e2 = (await run(syncThrow, {}).catch((e: unknown) => e)) as ShapError;
    t.equal(e2.code, 'RUNTIME', 'also when predict throws synchronously');
    t.equal(e2.cause, boom);

    const timeout = Object.assign(new Error('infer timed out after 50 ms'), { code: 'TIMEOUT' });
    const slowServer: Predictor = { ...good, predict: async () => Promise.reject(timeout) };
    const e3 = (await run(slowServer, { signal: new AbortController().signal }).catch((e: unknown) => e)) as ShapError;
    t.equal(e3.code, 'RUNTIME', 'a predictor timeout stays RUNTIME');
    t.match(e3.message, /timed out/);
    t.equal(e3.cause, timeout);

    const nan = fnPredictor(M, 2, (_x, out) => {
      out[0] = Number.NaN;
      out[1] = 0;
    });
    await t.rejects(run(nan, {}), { name: 'ShapError', code: 'MODEL_OUTPUT', message: /non-finite/ });
    const wrongShape: Predictor = { ...good, predict: async () => ({ data: new Float64Array(1), rows: 1, cols: 1 }) };
    await t.rejects(run(wrongShape, {}), { code: 'MODEL_OUTPUT' });
  });

  t.test(`${name}: a model call failing because of the abort rejects with the reason`, async (t) => {
    const ac = new AbortController();
    const reason = new Error('caller went away');
    const good = fnPredictor(M, 2, fn);
    let calls = 0;
    const p: Predictor = {
      ...good,
      predict: async (rows, n, options) => {
        if (++calls === 3) {
          ac.abort(reason);
          throw new Error('socket closed');
        }
        return good.predict(rows, n, options);
      },
    };
    const err = await run(p, { signal: ac.signal }).catch((e: unknown) => e);
    t.equal(err, reason, 'not wrapped into a RUNTIME ShapError');
    t.equal(calls, 3);
  });

  t.test(`${name}: a signal that is not an AbortSignal is an option error`, async (t) => {
    await t.rejects(run(fnPredictor(M, 2, fn), { signal: 'soon' as never }), { code: 'INVALID_OPTION', message: /AbortSignal/ });
  });
}

t.test('AbortSignal.timeout stops a long explanation over an in-process model', async (t) => {
  // an async predictor that computes synchronously (like an in-process tree model): no timer ever runs
  // between its calls unless the explainer yields to the event loop
  const F = 10;
  const w = Array.from({ length: F }, (_, j) => (j % 3) - 1);
  const p = fnPredictor(F, 1, (x, out) => {
    let s = 0;
    for (let j = 0; j < F; j++) s += w[j]! * x[j]! + 0.1 * x[j]! * x[(j + 1) % F]!;
    out[0] = s;
  });
  const rows = randomRows(400, F, 7);
  const ex = new KernelExplainer(p, randomRows(20, F, 8), { maxBatch: 2000 });
  const signal = AbortSignal.timeout(50);
  const t0 = performance.now();
  const err = await ex.explain(rows, { signal }).catch((e: unknown) => e);
  const ms = performance.now() - t0;
  t.equal(err, signal.reason, 'rejects with the TimeoutError of the signal');
  t.equal((err as Error).name, 'TimeoutError');
  t.ok(ms < 250, `stopped after ${ms.toFixed(0)} ms (timeout 50 ms)`);
});
