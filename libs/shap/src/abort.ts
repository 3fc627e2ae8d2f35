/**
 * Cancellation of the model-agnostic explainers: an optional AbortSignal is checked before every model call,
 * between explained rows and between batches, passed to the predictor, and raced against the model call so an
 * explanation stops waiting as soon as the signal aborts; long synchronous steps yield to the event loop every
 * ~10 ms. An abort rejects with `signal.reason` itself. The mechanics are model-format's {@link Pacer}.
 */
import { isAbortSignal, Pacer } from '@genome/model-format';
import { ShapError } from './errors.js';

/** Checks the `signal` option: undefined or an AbortSignal. */
export function checkSignal(v: unknown): AbortSignal | undefined {
  if (v === undefined) return undefined;
  if (!isAbortSignal(v)) {
    throw new ShapError('INVALID_OPTION', `signal must be an AbortSignal (e.g. AbortController.signal or AbortSignal.timeout(ms)), got ${String(v)}.`);
  }
  return v;
}

/** The cancellation state of one explanation (its signal, predict options and last yield). */
export class Cancellation extends Pacer {}
