/**
 * Argument checks of the blob stores. Blob addresses are the lower-case hex SHA-256 of a blob's bytes, validated
 * before any path or key is built from them (an address is joined into file paths and object keys, so a malformed one
 * must never reach the backend).
 */
import { ModelStoreError } from '../errors.js';

/** 64 lower-case hex digits. */
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** True when `value` is a well-formed blob address (64 lower-case hex digits). */
export function isSha256(value: unknown): value is string {
  return typeof value === 'string' && SHA256_PATTERN.test(value);
}

/** Throws `ModelStoreError` INVALID_ARGUMENT unless `value` is 64 lower-case hex digits; `argument` names it in the message. */
export function assertSha256(value: unknown, argument = 'sha256'): asserts value is string {
  if (isSha256(value)) return;
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value) : typeof value;
  const hint =
    typeof value === 'string' && /^[0-9A-Fa-f]{64}$/.test(value)
      ? ' (upper-case hex is not accepted: lower-case it)'
      : typeof value === 'string' && value.startsWith('sha256:')
        ? ' (drop the "sha256:" prefix)'
        : '';
  throw new ModelStoreError('INVALID_ARGUMENT', `${argument} must be a SHA-256 as 64 lower-case hex digits, got ${shown}${hint}.`);
}

/** Throws INVALID_ARGUMENT unless `value` is a non-negative safe integer (a blob size). */
export function assertSize(value: unknown, argument = 'size'): asserts value is number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return;
  throw new ModelStoreError('INVALID_ARGUMENT', `${argument} must be a non-negative integer number of bytes, got ${String(value)}.`);
}

/** Throws INVALID_ARGUMENT unless `value` is a non-negative number of milliseconds (`partialOlderThanMs`); returns it. */
export function assertAgeMs(value: number, argument = 'partialOlderThanMs'): number {
  if (typeof value === 'number' && value >= 0) return value;
  throw new ModelStoreError('INVALID_ARGUMENT', `${argument} must be a non-negative number of milliseconds, got ${String(value)}.`);
}

/** `sha256:<hex>` followed by ` (what)` when `what` is given: how messages name a blob. */
export function describeBlob(sha256: string, what?: string): string {
  return what ? `blob sha256:${sha256} (${what})` : `blob sha256:${sha256}`;
}
