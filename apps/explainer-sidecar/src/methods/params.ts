/** Small checked readers for method parameters (google.protobuf.Struct / JSON values). */
import { SidecarError } from '../errors.js';

const bad = (msg: string) => new SidecarError('INVALID_REQUEST', msg);

export function optString<T extends string>(p: Record<string, unknown>, key: string, allowed?: readonly T[]): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`parameter "${key}" must be a string, got ${JSON.stringify(v)}`);
  if (allowed && !allowed.includes(v as T)) throw bad(`parameter "${key}" must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

export function optInt(p: Record<string, unknown>, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`parameter "${key}" must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function optBool(p: Record<string, unknown>, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(`parameter "${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Returns `p` without undefined values (so library defaults apply). */
export function defined<T extends Record<string, unknown>>(p: T): T {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as T;
}
