/** Deterministic test bytes (so that a child process and the test agree on a blob without sharing memory). */
import { createCipheriv, createHash } from 'node:crypto';
import type { Cipher } from 'node:crypto';

/** An AES-128-CTR key stream determined by `seed`: its output over zeros is the seed's byte sequence. */
function keyStream(seed: string): Cipher {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}

/** `size` pseudo-random bytes determined by `seed`. */
export function deterministicBytes(seed: string, size: number): Buffer {
  const cipher = keyStream(seed);
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/**
 * The same bytes as `deterministicBytes(seed, size)`, made on the fly in fresh chunks of `chunkBytes`: a big blob's
 * source that never holds the whole blob in memory.
 */
export function* deterministicChunks(seed: string, size: number, chunkBytes: number): Generator<Buffer> {
  const cipher = keyStream(seed);
  for (let offset = 0; offset < size; offset += chunkBytes) yield cipher.update(Buffer.alloc(Math.min(chunkBytes, size - offset)));
}

/** SHA-256 of bytes, lower-case hex. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of `deterministicBytes(seed, size)`, computed without holding the bytes. */
export function deterministicSha256(seed: string, size: number): string {
  const hash = createHash('sha256');
  for (const chunk of deterministicChunks(seed, size, 4 * 1024 * 1024)) hash.update(chunk);
  return hash.digest('hex');
}

/** `bytes` cut at the given sizes (cycled), as an async generator of copies. */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let i = 0;
  while (offset < bytes.byteLength) {
    const n = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    yield Uint8Array.from(bytes.subarray(offset, offset + n));
    offset += n;
  }
}

/** Concatenates an async iterable of chunks. */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}
