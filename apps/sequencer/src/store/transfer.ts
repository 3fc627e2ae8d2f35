/**
 * Blob transfers in both directions, verified:
 * - uploads count bytes as they arrive and stop at the first byte over the declared size (or the server's blob
 *   limit), before the store has read a whole oversized body; the store checks SHA-256 and size;
 * - downloads never hand out bytes that have not been checked: a blob of up to {@link FULL_CHECK_BYTES} is read and
 *   verified whole before its first byte is sent; a larger one is streamed with its last chunk held back until the
 *   store has verified every byte, so a corrupted blob ends with DATA_LOSS (gRPC) or a cut connection (REST, after
 *   the status line) and never arrives complete.
 */
import type { Readable } from 'node:stream';
import type { ModelStore } from '@genome/model-store';
import { PlatformError } from '../errors.js';
import { StreamSignal } from '../stream-signal.js';

/** Blobs up to this size are verified before their first byte is sent. */
export const FULL_CHECK_BYTES = 1024 * 1024;
/** Largest chunk handed to a transport (well under the 4 MiB gRPC message limit). */
export const CHUNK_BYTES = 256 * 1024;

/** Passes `chunks` through, failing once more than `size` bytes (the declared size) arrive. */
export async function* boundedChunks(chunks: AsyncIterable<Uint8Array>, size: number, what: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of chunks) {
    if (signal.aborted) throw signal.reason;
    n += c.byteLength;
    if (n > size) throw new PlatformError('INVALID_ARGUMENT', `${what}: more bytes arrived than the declared size of ${size}; declare the blob's exact size`);
    yield c;
  }
}

/**
 * Stores an upload. The store reports a failing source as UNAVAILABLE (for it, a source is I/O); the caller's own
 * fault (more bytes than declared, an undecodable message) and the call's end (deadline, cancel) keep their status.
 */
export async function putUpload(store: ModelStore, source: AsyncIterable<Uint8Array>, expected: { sha256: string; size: number }, signal: AbortSignal) {
  let sourceError: unknown;
  async function* tracked(): AsyncGenerator<Uint8Array> {
    try {
      yield* source;
    } catch (err) {
      sourceError = err;
      throw err;
    }
  }
  try {
    return await store.putBlob(tracked(), { ...expected, signal });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw sourceError ?? err;
  }
}

/** The declared size of an upload, checked against the server's blob limit. */
export function checkDeclaredSize(size: number, maxBlobBytes: number, field: string): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new PlatformError('INVALID_ARGUMENT', `${field} must be the blob's size in bytes (an integer >= 0), got ${String(size)}`);
  if (size > maxBlobBytes) throw new PlatformError('RESOURCE_EXHAUSTED', `${field} is ${size} bytes; this server takes blobs of up to ${maxBlobBytes} bytes (--max-blob-bytes)`);
  return size;
}

function* split(c: Uint8Array): Generator<Uint8Array> {
  for (let o = 0; o < c.byteLength; o += CHUNK_BYTES) yield c.subarray(o, Math.min(c.byteLength, o + CHUNK_BYTES));
}

/**
 * A blob's bytes, verified as described in the module doc. `what` names the blob in a DATA_LOSS message (e.g.
 * `file "model.onnx" of fraud/3`). The promise rejects with NOT_FOUND for an absent blob.
 */
export async function verifiedBlob(store: ModelStore, sha256: string, what: string | undefined, signal: AbortSignal): Promise<{ size: number; chunks: AsyncGenerator<Uint8Array> }> {
  const { size, chunks } = await store.blobs.stream(sha256, what);
  async function* held(): AsyncGenerator<Uint8Array> {
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let started = false;
    for await (const c of chunks) {
      if (signal.aborted) throw signal.reason;
      pending.push(c);
      pendingBytes += c.byteLength;
      if (!started && pendingBytes <= FULL_CHECK_BYTES) continue;
      started = true;
      while (pending.length > 1) yield* split(pending.shift()!);
    }
    // The store's stream ended without an error: every byte matched the address.
    for (const c of pending) yield* split(c);
  }
  return { size, chunks: held() };
}

/**
 * The chunks of a readable (a request body) with flow control. Unlike the stream's own async iterator, leaving the
 * loop early does not destroy the stream: the rest is read and dropped, so the answer can still go out on its
 * connection (the store stops reading an upload of a blob it already holds).
 */
export function readableChunks(stream: Readable): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      const s = new StreamSignal();
      const { notify, end: onEnd, fail: onError } = s;
      const onClose = () => {
        if (!stream.readableEnded) s.error ??= new PlatformError('CANCELLED', 'the client closed the connection before the whole body arrived');
        notify();
      };
      stream.on('readable', notify);
      stream.on('end', onEnd);
      stream.on('error', onError);
      stream.on('close', onClose);
      let cleaned = false;
      const cleanup = () => {
        if (cleaned) return;
        cleaned = true;
        stream.off('readable', notify);
        stream.off('end', onEnd);
        stream.off('close', onClose);
        stream.off('error', onError);
        stream.on('error', () => {});
        stream.resume();
      };
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          for (;;) {
            if (s.error !== undefined) {
              cleanup();
              throw s.error;
            }
            const c = stream.read() as Buffer | null;
            if (c !== null) return { value: c, done: false };
            if (s.ended || stream.readableEnded) {
              cleanup();
              return { value: undefined, done: true };
            }
            await s.wait();
          }
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          cleanup();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
