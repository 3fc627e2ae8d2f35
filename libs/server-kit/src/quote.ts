/**
 * How a Genome server echoes what a caller sent: at most about 100 characters of any value, never a throw (a value
 * nested 10,000 deep or a 1 MB string is described, not serialised), and every error message capped, so an error
 * answer stays small whatever the request held.
 */

/** Characters of a caller's value quoted in an error message. */
export const QUOTE_CHARS = 100;
/** Longest error message sent to a client. */
export const MAX_MESSAGE_CHARS = 1000;

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}

/**
 * A short, safe rendering of a caller's value for error messages: JSON for small values (strings keep their quotes,
 * so `"3"` and `3` read differently), a type summary for large or deep ones.
 */
export function quote(v: unknown, max = QUOTE_CHARS): string {
  if (typeof v === 'string') return v.length <= max ? JSON.stringify(v) : `${JSON.stringify(v.slice(0, max))}… (${v.length} characters)`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? String(v) : v > 0 ? 'Infinity' : '-Infinity';
  if (v === null || typeof v === 'boolean' || v === undefined) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) {
    if (v.length > 20 || !shallow(v, 3)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  } else if (typeof v === 'object') {
    const keys = Object.keys(v as object);
    if (keys.length > 20 || !shallow(v, 3)) return `an object with keys ${cut(keys.slice(0, 10).join(', '), max)}${keys.length > 10 ? ', …' : ''}`;
  } else {
    return typeof v;
  }
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'an array' : 'an object';
  }
  return cut(s, max);
}

/** True when `v` nests at most `depth` levels of arrays/objects. */
function shallow(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (depth === 0) return false;
  for (const x of Array.isArray(v) ? v : Object.values(v as object)) if (!shallow(x, depth - 1)) return false;
  return true;
}

/** A name (a key, a field) as the caller wrote it, cut to `max` characters. */
export function clip(name: string, max = 40): string {
  return cut(name, max);
}

/** An error message as it may leave the server: at most {@link MAX_MESSAGE_CHARS} characters. */
export function capMessage(message: string, max = MAX_MESSAGE_CHARS): string {
  return message.length <= max ? message : `${message.slice(0, max)}… (message shortened)`;
}
