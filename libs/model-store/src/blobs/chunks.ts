/**
 * Turns a {@link BlobSource} into a stream of non-empty `Uint8Array` chunks, honouring an abort signal even while
 * the source is stalled, and releasing the source (destroying a Readable, returning an iterator) on every exit.
 */
import { Readable } from 'node:stream';
import { ModelStoreError } from '../errors.js';
import type { BlobSource } from './blob-store.js';

/** The `ModelStoreError` CANCELLED thrown when a blob operation's signal aborts (the signal's reason is its cause). */
function cancelledError(signal: AbortSignal, operation: string): ModelStoreError {
  return new ModelStoreError('CANCELLED', `${operation} was cancelled by its signal.`, { cause: signal.reason });
}

/** Throws {@link cancelledError} when `signal` has aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) throw cancelledError(signal, operation);
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new ModelStoreError(
    'INVALID_ARGUMENT',
    `A blob source yielded a ${chunk === null ? 'null' : typeof chunk} chunk; blob sources must yield Uint8Array (or Buffer) chunks.`,
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

/** Throws INVALID_ARGUMENT unless `source` is a Uint8Array, a Readable or an async iterable. */
export function assertBlobSource(source: unknown): asserts source is BlobSource {
  if (source instanceof Uint8Array || source instanceof Readable || isAsyncIterable(source)) return;
  throw new ModelStoreError(
    'INVALID_ARGUMENT',
    `A blob source must be a Uint8Array, a Readable stream or an async iterable of Uint8Array chunks, got ${source === null ? 'null' : typeof source}.`,
  );
}

/**
 * Releases a source that will not be read (or not to its end): destroys a Readable, returns an async iterator.
 * Never throws and never waits.
 */
export function releaseSource(source: BlobSource): void {
  if (source instanceof Readable) {
    if (!source.destroyed) source.destroy();
    return;
  }
  // An async generator object is its own iterator: returning it runs its `finally` blocks.
  const maybeGenerator = source as Partial<AsyncGenerator<unknown>>;
  if (typeof maybeGenerator.return === 'function') void Promise.resolve(maybeGenerator.return(undefined)).catch(() => undefined);
}

/**
 * The source's bytes as non-empty chunks. With a `signal`, a pending read is abandoned as soon as the signal aborts
 * (the source is released) and the iteration throws `ModelStoreError` CANCELLED.
 */
export async function* sourceChunks(source: BlobSource, signal: AbortSignal | undefined, operation: string): AsyncGenerator<Uint8Array> {
  assertBlobSource(source);
  throwIfCancelled(signal, operation);
  if (source instanceof Uint8Array) {
    if (source.byteLength > 0) yield source;
    return;
  }
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let finished = false;
  let onAbort: (() => void) | undefined;
  const aborted = signal
    ? new Promise<never>((_, reject) => {
        onAbort = () => reject(cancelledError(signal, operation));
        signal.addEventListener('abort', onAbort, { once: true });
      })
    : undefined;
  aborted?.catch(() => undefined);
  try {
    for (;;) {
      const next = iterator.next();
      const step = aborted ? await Promise.race([next, aborted]) : await next;
      if (step.done) {
        finished = true;
        return;
      }
      const bytes = toBytes(step.value);
      if (bytes.byteLength > 0) yield bytes;
      throwIfCancelled(signal, operation);
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      if (source instanceof Readable) releaseSource(source);
      else void Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
  }
}
