/** `--param key=value` (repeatable): values that parse as JSON (numbers, booleans, null, lists) are JSON, else strings. */
import { usageError } from '../errors.js';

export function parseParams(flags: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? '' : f.slice(0, eq).trim();
    if (!key) throw usageError(`--param "${f}": expected key=value, e.g. --param nsamples=2048`);
    if (Object.hasOwn(out, key)) throw usageError(`--param ${key} is given twice`);
    const text = f.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    out[key] = value;
  }
  return out;
}
