/**
 * Content-addressed blob storage: every blob lives under the lower-case hex SHA-256 of its bytes. Writes are atomic
 * (a reader sees the whole blob or none), idempotent (a blob already held is not rewritten), and every read is
 * verified against the address before a byte is handed out as good.
 */
import type { Readable } from 'node:stream';

/** Bytes to store: a buffer, or a stream / async iterable of chunks. */
export type BlobSource = Uint8Array | Readable | AsyncIterable<Uint8Array>;

/** Default age after which `list()` counts an upload's leftovers (temp file, temp object, multipart upload) as abandoned: one hour. */
export const DEFAULT_PARTIAL_OLDER_THAN_MS = 60 * 60 * 1000;

export interface PutBlobResult {
  sha256: string;
  size: number;
  /** True when the store already held the blob (it was not rewritten, only touched). */
  existed: boolean;
}

export interface BlobInfo {
  sha256: string;
  size: number;
  /** When the blob was written or last touched (a re-put of the same bytes touches it). */
  modifiedAt: Date;
}

/**
 * A content-addressed blob store. Every method validates its SHA-256 arguments (64 lower-case hex digits, else
 * `ModelStoreError` INVALID_ARGUMENT) and fails only with `ModelStoreError`: UNAVAILABLE when the backend cannot be
 * reached or refuses (the message names the location, never a credential).
 */
export interface BlobStore {
  /** Where the blobs live, for messages (`file:///var/lib/genome/blobs`, `s3://bucket/prefix`); never holds secrets. */
  readonly location: string;
  /**
   * Stores bytes under their SHA-256. With `expected.sha256` (and/or `expected.size`) the bytes must match, else
   * `ModelStoreError` INVALID_ARGUMENT and nothing is stored. A blob already held is touched (its modification time
   * becomes now, so that a garbage collection running at the same time keeps it), not rewritten.
   *
   * When a stream source comes with `expected.sha256` (and `expected.size`, if given, matches the held blob) and the
   * blob is already held, the source is not read at all: it is released (a Readable is destroyed, an async generator
   * returned) and the result has `existed: true`. An aborted `signal` stops the put with CANCELLED; nothing is stored.
   */
  put(source: BlobSource, expected?: { sha256?: string; size?: number; signal?: AbortSignal }): Promise<PutBlobResult>;
  /**
   * The whole blob, verified: a mismatch is `ModelStoreError` CORRUPT naming the blob (and `what`, e.g. the file
   * path), after the damaged copy has been moved aside (so that re-saving the package stores the blob again).
   * An absent blob is NOT_FOUND.
   */
  get(sha256: string, what?: string): Promise<Uint8Array>;
  /**
   * The blob as a stream of chunks; the stream errors with CORRUPT at its end when the bytes do not match the
   * address (consumers must not treat the bytes as good before the stream ends cleanly). An absent blob rejects the
   * returned promise with NOT_FOUND. Iterate the chunks to their end, or break out of the loop, to release the file
   * or connection.
   */
  stream(sha256: string, what?: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> }>;
  /** Size and modification time, or undefined when the blob is absent. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /** The subset of `sha256s` that is absent (each address once, in the order given). */
  missing(sha256s: readonly string[]): Promise<string[]>;
  /** Every blob held (for garbage collection), in no particular order. Also removes abandoned partial uploads older than `partialOlderThanMs`. */
  list(options?: { partialOlderThanMs?: number }): AsyncIterable<BlobInfo>;
  /** Removes a blob; no error when it is absent. */
  delete(sha256: string): Promise<void>;
  /** Releases connections; later calls fail with FAILED_PRECONDITION. */
  close(): Promise<void>;
}
