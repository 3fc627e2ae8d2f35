/**
 * Shared by the cancellation tests of the explainer libraries: runs an explanation, aborts its signal after 50 ms,
 * and checks that it stops the way every Genome explainer promises (the signal's reason itself, within 100 ms, and no
 * model call after the abort).
 */

import type { AnyPredictor, Matrix, PredictOptions } from '@genome/model-format';
import type tap from 'tap';

/** The assertions the check makes (tap's `t`). */
export type Asserts = Pick<typeof tap, 'ok' | 'equal'>;

/** What a test predictor records about its calls. */
export interface CallState {
  calls: number;
  /** predict calls that started with an aborted signal */
  callsAfterAbort: number;
  signals: (AbortSignal | undefined)[];
}

/** Where the options argument goes: `predict(texts, options)` vs `predict(rows|pixels, n, options)`. */
const optionsIndex = (p: AnyPredictor): number => (p.kind === 'text' ? 1 : 2);

/** `inner` answering after `delayMs`; with `honour`, an abort rejects the pending call with the reason. */
export function slow<P extends AnyPredictor>(inner: P, delayMs: number, honour: boolean): { p: P; state: CallState } {
  const state: CallState = { calls: 0, callsAfterAbort: 0, signals: [] };
  const k = optionsIndex(inner);
  const call = inner.predict.bind(inner) as (...a: unknown[]) => Promise<Matrix>;
  const predict = (...args: unknown[]): Promise<Matrix> => {
    state.calls++;
    const signal = (args[k] as PredictOptions | undefined)?.signal;
    state.signals.push(signal);
    if (signal?.aborted) state.callsAfterAbort++;
    // Copy typed inputs: callers may reuse their buffers once the call settles.
    const own = args.slice(0, k).map((a) => (ArrayBuffer.isView(a) ? (a as Float64Array).slice() : a));
    return new Promise<Matrix>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        if (honour) signal?.removeEventListener('abort', onAbort);
        resolve(call(...own));
      }, delayMs);
      if (honour && signal) signal.addEventListener('abort', onAbort, { once: true });
    });
  };
  return { p: { ...inner, predict } as P, state };
}

/** `inner` whose calls never answer until their signal aborts (then reject with an error of their own). */
export function hanging<P extends AnyPredictor>(inner: P): { p: P; state: CallState } {
  const state: CallState = { calls: 0, callsAfterAbort: 0, signals: [] };
  const k = optionsIndex(inner);
  const predict = (...args: unknown[]): Promise<Matrix> => {
    state.calls++;
    const signal = (args[k] as PredictOptions | undefined)?.signal;
    state.signals.push(signal);
    if (signal?.aborted) state.callsAfterAbort++;
    return new Promise<Matrix>((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new Error('predictor saw the abort')), { once: true });
    });
  };
  return { p: { ...inner, predict } as P, state };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function abortAfter<P>(t: Asserts, run: (p: P, o: { signal: AbortSignal }) => Promise<unknown>, p: P, state: Pick<CallState, 'calls' | 'callsAfterAbort'>, what: string): Promise<void> {
  const ac = new AbortController();
  const reason = new Error(`deadline (${what})`);
  let abortedAt = 0;
  let callsAtAbort = -1;
  setTimeout(() => {
    abortedAt = performance.now();
    callsAtAbort = state.calls;
    ac.abort(reason);
  }, 50);
  const err = await run(p, { signal: ac.signal }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const latency = performance.now() - abortedAt;
  t.ok(abortedAt > 0, `${what}: the explanation was still running when the signal aborted`);
  t.equal(err, reason, `${what}: rejects with the signal's reason itself`);
  t.ok(latency < 100, `${what}: rejects ${latency.toFixed(1)} ms after the abort (< 100)`);
  await sleep(80);
  t.equal(state.callsAfterAbort, 0, `${what}: no predict call with an aborted signal`);
  t.ok(state.calls <= callsAtAbort, `${what}: predictor not called after the abort (${state.calls} calls, ${callsAtAbort} at abort)`);
}
