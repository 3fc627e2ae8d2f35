/**
 * The checks every put makes: its arguments before anything is read, and the bytes against the caller's expected
 * hash and size before the blob is stored.
 */
import { ModelStoreError } from '../errors.js';
import { assertSha256, assertSize } from './address.js';
import type { BlobSource } from './blob-store.js';
import { assertBlobSource, throwIfCancelled } from './chunks.js';

/** What a put may be told about the bytes, and its signal. */
export interface PutExpectations {
  sha256?: string;
  size?: number;
  signal?: AbortSignal;
}

/** Throws INVALID_ARGUMENT for a malformed source or expectation, CANCELLED when the signal has already aborted. */
export function checkPutArguments(source: unknown, expected: PutExpectations): asserts source is BlobSource {
  assertBlobSource(source);
  if (expected.sha256 !== undefined) assertSha256(expected.sha256, 'expected.sha256');
  if (expected.size !== undefined) assertSize(expected.size, 'expected.size');
  throwIfCancelled(expected.signal, 'Storing a blob');
}

/** Throws INVALID_ARGUMENT when `sha256`/`size` (of the bytes read) differ from the caller's expectations. */
export function checkPutExpectations(expected: { sha256?: string; size?: number }, sha256: string, size: number): void {
  const shaWrong = expected.sha256 !== undefined && expected.sha256 !== sha256;
  const sizeWrong = expected.size !== undefined && expected.size !== size;
  if (!shaWrong && !sizeWrong) return;
  const want = [expected.sha256 !== undefined ? `sha256:${expected.sha256}` : undefined, expected.size !== undefined ? `${expected.size} bytes` : undefined]
    .filter(Boolean)
    .join(', ');
  const got = `sha256:${sha256}, ${size} bytes`;
  throw new ModelStoreError(
    'INVALID_ARGUMENT',
    `The bytes given to put do not match what was expected (expected ${want}; got ${got}); nothing was stored. ` +
      'Check that the source was not modified while it was read and that the expected hash and size describe it.',
  );
}

/** INVALID_ARGUMENT for a source that yielded more bytes than `expected.size` (the rest of it is not read). */
export function sourceTooLongError(expectedSize: number): ModelStoreError {
  return new ModelStoreError(
    'INVALID_ARGUMENT',
    `The bytes given to put are longer than the expected ${expectedSize} bytes; nothing was stored. ` +
      'Check that the source was not modified while it was read and that the expected size describes it.',
  );
}
