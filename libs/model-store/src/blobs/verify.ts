/**
 * Read-side verification: a blob's bytes are hashed as they flow and compared with its address. On a mismatch the
 * store moves the damaged copy aside (so that re-saving the package stores the blob again: a put of a blob still held
 * would only touch it) and throws `ModelStoreError` CORRUPT naming the blob, what it is, where it lives and how to
 * recover.
 */
import { createHash } from 'node:crypto';
import { ModelStoreError } from '../errors.js';
import { describeBlob } from './address.js';

/** Where a blob was read from, for the CORRUPT message, and how to move a damaged copy aside. */
export interface BlobPlace {
  /** `on disk` or `in the bucket`. */
  medium: string;
  /** The file path or object URL (`s3://bucket/key`); never holds secrets. */
  at: string;
  /** What to restore: `the file` or `the object`. */
  thing: string;
  /**
   * Moves the damaged copy out of the blob's address (only if it is still the copy that was read) and returns where
   * it went; undefined when it was not moved. Never throws.
   */
  quarantine?: () => Promise<string | undefined>;
}

/** The CORRUPT error for a blob whose bytes hash to `actualSha256` (over `actualSize` bytes). */
function corruptBlobError(
  sha256: string,
  what: string | undefined,
  place: BlobPlace,
  actualSha256: string,
  actualSize: number,
  movedTo: string | undefined,
): ModelStoreError {
  const recovery = movedTo
    ? `The damaged copy was moved aside to ${movedTo}. Re-save the package that holds the blob to store it again, or restore ${place.thing} from a backup to ${place.at}.`
    : `Delete the damaged copy (${place.at}), then re-save the package that holds the blob to store it again, or restore ${place.thing} from a backup.`;
  return new ModelStoreError(
    'CORRUPT',
    `The ${describeBlob(sha256, what)} at ${place.at} is corrupted ${place.medium}: its ${actualSize} bytes hash to sha256:${actualSha256}. ${recovery}`,
  );
}

/** SHA-256 of a buffer, lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function corrupt(sha256: string, what: string | undefined, place: BlobPlace, actual: string, size: number): Promise<ModelStoreError> {
  const movedTo = place.quarantine ? await place.quarantine().catch(() => undefined) : undefined;
  return corruptBlobError(sha256, what, place, actual, size, movedTo);
}

/** Checks a whole buffer against its address; throws CORRUPT (after moving the damaged copy aside) on mismatch. */
export async function verifyBytes(bytes: Uint8Array, sha256: string, what: string | undefined, place: BlobPlace): Promise<Uint8Array> {
  const actual = sha256Hex(bytes);
  if (actual !== sha256) throw await corrupt(sha256, what, place, actual, bytes.byteLength);
  return bytes;
}

/**
 * Passes `chunks` through while hashing them; after the last chunk, throws CORRUPT (after moving the damaged copy
 * aside) when the bytes do not hash to `sha256`.
 */
export async function* verifyingChunks(chunks: AsyncIterable<Uint8Array>, sha256: string, what: string | undefined, place: BlobPlace): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.byteLength;
    yield chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) throw await corrupt(sha256, what, place, actual, size);
}
