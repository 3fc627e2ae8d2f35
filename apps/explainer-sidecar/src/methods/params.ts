/** Small checked readers for method parameters (google.protobuf.Struct / JSON values). */
import { SidecarError } from '../errors.js';
import { quote } from '@genome/server-kit';

const bad = (msg: string) => new SidecarError('INVALID_REQUEST', msg);

export function optString<T extends string>(p: Record<string, unknown>, key: string, allowed?: readonly T[]): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`parameter "${key}" must be a string, got ${quote(v)}`);
  if (allowed && !allowed.includes(v as T)) throw bad(`parameter "${key}" must be one of ${allowed.join(', ')}, got ${quote(v)}`);
  return v as T;
}

/** A server-side bound on a parameter: its value and the flag that raises it. */
export interface Bound {
  max: number;
  flag: string;
}

/**
 * An integer parameter in [min, max]. `max` is a fixed bound or a server limit ({@link Bound}), in which case the
 * message names the flag that raises it.
 */
export function optInt(p: Record<string, unknown>, key: string, min: number, max: number | Bound = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  const hi = typeof max === 'number' ? max : max.max;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw bad(`parameter "${key}" must be an integer in [${min}, ${hi}], got ${quote(v)}`);
  }
  if (v > hi) {
    const why = typeof max === 'number' ? '' : ` (this server's limit; its operator can raise it with ${max.flag})`;
    throw bad(`parameter "${key}" must be an integer in [${min}, ${hi}]${why}, got ${quote(v)}`);
  }
  return v;
}

export function optBool(p: Record<string, unknown>, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(`parameter "${key}" must be true or false, got ${quote(v)}`);
  return v;
}

/** A finite number parameter in (lo, hi]. */
export function optNumber(p: Record<string, unknown>, key: string, lo = -Infinity, hi = Infinity): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > lo && v <= hi)) {
    const range = Number.isFinite(lo) || Number.isFinite(hi) ? ` in (${lo}, ${hi}]` : '';
    throw bad(`parameter "${key}" must be a finite number${range}, got ${quote(v)}`);
  }
  return v;
}

/** Returns `p` without undefined values (so library defaults apply). */
export function defined<T extends Record<string, unknown>>(p: T): T {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as T;
}
