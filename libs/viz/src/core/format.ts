/** Number formats (d3-format) shared by every chart, so a value reads the same on every picture. */
import { format } from 'd3-format';

const general = format('.4~g');
const large = format(',.6~r');
const signed = format('+.3~g');
const short = format('.3~g');
const percent = format('.0%');

/**
 * A feature value or a prediction: up to 4 significant digits, no trailing zeros; from 10,000 to a billion in
 * fixed notation with thousands separators (72,099, not 7.21e+4), up to 6 significant digits.
 */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  const abs = Math.abs(value);
  return (abs >= 1e4 && abs < 1e9 ? large(value) : general(value)).replace('-', '−');
}

/** An attribution, with its sign (`+0.123`, `−1.5`). */
export function formatSigned(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  return signed(value).replace('-', '−');
}

/** A compact value for tight labels (3 significant digits). */
export function formatShort(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  return short(value).replace('-', '−');
}

/** A share in [0, 1] as a whole percentage. */
export function formatPercent(value: number): string {
  return percent(value);
}

/** A cell of an explanation's `data`: numbers formatted, category names as they are, missing values named. */
export function formatDatum(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return 'missing';
  if (typeof value === 'string') return value;
  return formatNumber(value);
}
