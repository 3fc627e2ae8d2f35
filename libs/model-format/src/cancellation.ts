/**
 * Cancellation shared by the predictors ({@link PredictOptions.signal}) and the explainers built on them: every
 * function rejects with the signal's `reason` itself, never a wrapped error, so a caller's own deadline or
 * cancellation error comes back unchanged; {@link Pacer} lets long synchronous work yield to the event loop.
 */
import type { PredictOptions } from './predictor.js';

/** Throws `signal.reason` when the signal has aborted; a no-op without a signal. One property read on the hot path. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/**
 * Resolves on a later turn of the event loop, after pending timers and I/O callbacks (so a deadline timer or a
 * cancellation can fire): `setImmediate` in Node, `setTimeout(0)` where it is missing (browsers).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** Resolves after `ms` milliseconds, or rejects with `signal.reason` as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts when `a` or `b` does, with the reason of the first to abort (`AbortSignal.any`, with a
 * fallback for Node 20.0-20.2 which lack it). Returns `a` itself when there is no `b`.
 */
export function eitherSignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  if (!b) return a;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const both = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) {
      both.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => both.abort(s.reason), { once: true, signal: both.signal });
  }
  return both.signal;
}

/** True for an AbortSignal (or a look-alike with `aborted` and `addEventListener`, e.g. from another realm). */
export function isAbortSignal(v: unknown): v is AbortSignal {
  const s = v as AbortSignal | null;
  return !!s && typeof s === 'object' && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function';
}

/**
 * Settles like `work`, or rejects with `signal.reason` as soon as the signal aborts (`work` is left to settle on its
 * own; its rejection is handled, so it cannot surface as an unhandled one).
 */
export function raceAbort<T>(work: T | PromiseLike<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(work).then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * The cancellation of one long computation (an explanation): with a signal, {@link pause} throws `signal.reason`
 * when it has aborted and yields to the event loop once `everyMs` of work have passed since the last yield, so
 * timers, I/O and the abort itself can run even while the work is synchronous (an in-process model, sampling,
 * fits); {@link race} stops waiting on a model call at the abort; {@link predictOptions} is what every model call
 * receives. Without a signal it does nothing and costs nothing.
 */
export class Pacer {
  /** `{ signal }` with a signal (allocated once), else undefined: the last argument of every predict call. */
  readonly predictOptions: PredictOptions | undefined;
  private lastYield = performance.now();

  constructor(
    readonly signal?: AbortSignal,
    private readonly everyMs = 10,
  ) {
    this.predictOptions = signal ? { signal } : undefined;
  }

  /** Throws `signal.reason` when the signal has aborted. */
  check(): void {
    if (this.signal?.aborted) throw this.signal.reason;
  }

  /** With a signal: the abort check, and a yield to the event loop when the work has run `everyMs` without one. */
  async pause(): Promise<void> {
    const signal = this.signal;
    if (!signal) return;
    if (signal.aborted) throw signal.reason;
    if (performance.now() - this.lastYield >= this.everyMs) {
      await nextTurn();
      this.lastYield = performance.now();
      if (signal.aborted) throw signal.reason;
    }
  }

  /** `work` itself without a signal; with one, {@link raceAbort}. */
  race<T>(work: T | PromiseLike<T>): T | PromiseLike<T> | Promise<T> {
    return this.signal ? raceAbort(work, this.signal) : work;
  }
}
