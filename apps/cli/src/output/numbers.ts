/** Number formatting for tables: short but exact enough to read; JSON and CSV keep full precision. */
export function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e6 || a < 1e-4) return n.toExponential(4);
  return String(Number(n.toPrecision(6)));
}

/** With an explicit sign, for attributions. */
export function signed(n: number): string {
  const s = fmt(n);
  return n > 0 ? `+${s}` : s;
}
