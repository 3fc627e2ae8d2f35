/**
 * Durations as the seed writes them: "360s", "5m", "1h", "2d", "250ms", and sums like "1h30m". A bare number is not
 * accepted (its unit would be a guess).
 */
import { SequencerError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** The longest duration accepted anywhere (365 days): longer values are almost certainly a typo. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/** Milliseconds of `text`, or undefined when it is not a duration (see {@link parseDuration} for the error). */
export function tryParseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 32 || !WHOLE.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Milliseconds of a duration string. Throws INVALID_ARGUMENT naming `field` when it is malformed, zero, or longer
 * than {@link MAX_DURATION_MS}.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw new SequencerError(
      'INVALID_ARGUMENT',
      `${field}: ${JSON.stringify(text)} is not a duration; write a number with a unit, e.g. "360s", "5m", "1h", "1h30m" (units ms, s, m, h, d)`,
    );
  }
  if (ms <= 0) throw new SequencerError('INVALID_ARGUMENT', `${field}: ${JSON.stringify(text)} must be longer than zero`);
  if (ms > MAX_DURATION_MS) {
    throw new SequencerError('INVALID_ARGUMENT', `${field}: ${JSON.stringify(text)} is longer than 365 days; use a shorter duration`);
  }
  return ms;
}

/** "90000" ms -> "1m30s": the shortest form {@link parseDuration} reads back to the same value. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
