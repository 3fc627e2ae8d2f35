/** Parsers of the `genome store` flags (commander argParsers: they throw InvalidArgumentError, a usage error). */
import { InvalidArgumentError } from 'commander';

function splitPair(value: string, example: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, e.g. ${example}`);
  return [value.slice(0, eq).trim(), value.slice(eq + 1)];
}

/** `--tag key=value` (repeatable): the value is everything after the first `=`, possibly empty. */
export function collectTag(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const [k, v] = splitPair(value, 'team=risk');
  if (previous && k in previous) throw new InvalidArgumentError(`tag "${k}" is given twice`);
  return { ...previous, [k]: v };
}

/** `--metric key=number` (repeatable). */
export function collectMetric(value: string, previous: Record<string, number> | undefined): Record<string, number> {
  const [k, v] = splitPair(value, 'rmse=0.42');
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`metric "${k}": expected a finite number after "=", got "${v}"`);
  if (previous && k in previous) throw new InvalidArgumentError(`metric "${k}" is given twice`);
  return { ...previous, [k]: n };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration: `0`, or a number with a unit: `500ms`, `30s`, `10m`, `1h`, `7d`, `2w`, `1.5h`. */
export function parseDuration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
  if (!m || (m[2] === undefined && Number(m[1]) !== 0)) {
    throw new InvalidArgumentError('expected a duration: 0, or a number with a unit ms, s, m, h, d or w (e.g. 30s, 10m, 1h, 7d)');
  }
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!);
}

export interface OrderKey {
  field: string;
  direction: 'asc' | 'desc';
}

/** `--order-by "field [asc|desc]"` (repeatable; also comma-separated: `"metrics.auc desc, version"`). */
export function collectOrderBy(value: string, previous: OrderKey[] | undefined): OrderKey[] {
  const out = [...(previous ?? [])];
  for (const part of value.split(',')) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    const dir = words[1]?.toLowerCase();
    if (words.length === 0 || words.length > 2 || (dir !== undefined && dir !== 'asc' && dir !== 'desc')) {
      throw new InvalidArgumentError('expected "field", "field asc" or "field desc" (comma-separated for several), e.g. "metrics.auc desc"');
    }
    out.push({ field: words[0]!, direction: (dir ?? 'desc') as 'asc' | 'desc' });
  }
  return out;
}

/** The target of `alias set`: a version number (`3`) or a reference (`name/3`, `name@staging`, `name`). */
export function parseAliasTarget(value: string): number | string {
  return /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : value.trim();
}
