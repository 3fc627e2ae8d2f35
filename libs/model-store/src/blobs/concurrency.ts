/** A bounded-concurrency map for blob operations that fan out, and `missing()` on top of it. */
import { ModelStoreError } from '../errors.js';
import { assertSha256 } from './address.js';

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. After a failure no new
 * call starts, and the returned promise rejects with the first error only once every call already started has ended:
 * a caller that cleans up after a failure (removes a partial download) never races calls still writing.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  async function worker(): Promise<void> {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  if (failed) throw firstError;
  return results;
}

/**
 * `BlobStore.missing()` for a store that checks one address at a time: validates every address, asks `has` for
 * each distinct one (at most `limit` at once) and returns the absent ones, once each, in the order given.
 */
export async function absentOf(sha256s: readonly string[], limit: number, has: (sha256: string) => Promise<boolean>): Promise<string[]> {
  if (!Array.isArray(sha256s)) throw new ModelStoreError('INVALID_ARGUMENT', 'missing() takes an array of SHA-256 strings.');
  sha256s.forEach((s, i) => assertSha256(s, `sha256s[${i}]`));
  const unique = [...new Set(sha256s)];
  const present = await mapLimit(unique, limit, has);
  return unique.filter((_, i) => !present[i]);
}
