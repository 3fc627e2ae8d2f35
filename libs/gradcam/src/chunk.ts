/** Splits a per-row model call into calls of at most `max` rows and concatenates the results. */
export async function chunkRows(rows: Int32Array, max: number, call: (rows: Int32Array, start: number) => Promise<Float32Array>): Promise<Float32Array> {
  if (rows.length <= max) return call(rows, 0);
  const parts: Float32Array[] = [];
  for (let i = 0; i < rows.length; i += max) parts.push(await call(rows.subarray(i, Math.min(i + max, rows.length)), i));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
