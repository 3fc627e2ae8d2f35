import { createHash } from 'node:crypto';

/** Hex SHA-256 of model bytes (the cache key's checksum). */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
