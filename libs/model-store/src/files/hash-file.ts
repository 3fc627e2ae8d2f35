/**
 * Small file helpers: SHA-256 of a file as a stream, and (re-exported) the bounded-concurrency map the blob stores use.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 (lower-case hex) and size of a file, read as a stream; `onChunk` gets each chunk's length as it is hashed. */
export async function hashFile(path: string, signal?: AbortSignal, onChunk?: (bytes: number) => void): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
    onChunk?.((chunk as Buffer).byteLength);
  }
  return { sha256: hash.digest('hex'), size };
}

export { mapLimit } from '../blobs/concurrency.js';
