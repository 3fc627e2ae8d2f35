/**
 * Bit-for-bit comparison of explanation parts for tests: numbers are equal only when `Object.is` says so (so -0 is
 * not 0 and NaN is NaN), arrays and typed arrays element by element, objects key by key.
 */

/** Where `a` and `b` first differ (`values[2][0]: 0.1 vs 0.1000001`), or null when they are bit-identical. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b) ? null : `${path || '(root)'}: ${String(a)} vs ${String(b)}`;
  if (a === b) return null;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return `${path || '(root)'}: ${String(a)} vs ${String(b)}`;
  const listA = Array.isArray(a) || ArrayBuffer.isView(a);
  const listB = Array.isArray(b) || ArrayBuffer.isView(b);
  if (listA !== listB) return `${path || '(root)'}: an array and an object`;
  if (listA) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return `${path || '(root)'}: length ${x.length} vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const d = firstDifference(x[i], y[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}

/** The parts of an explanation {@link rowOf} reads (structural, so tools needs no library). */
interface RowsExplanation {
  readonly values: readonly unknown[];
  readonly baseValues: readonly unknown[];
  readonly predictions?: readonly unknown[];
  readonly data?: readonly unknown[];
  readonly featureNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly parameters: unknown;
  readonly seed?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Everything an explanation says about its row `r`: its values, base values, predictions and data, row `r` of the
 * `details` entries listed in `perRow`, and what all rows share (method, names, parameters, seed); not timings.
 * With `byFeatureName` (texts, whose explanations are merged over the union of their words), the values are keyed by
 * feature name and a feature whose values are all 0 is left out, so a text's words compare whatever the other texts.
 */
export function rowOf(e: RowsExplanation & { readonly method: string }, r: number, perRow: readonly string[] = [], byFeatureName = false): Record<string, unknown> {
  const values = e.values[r] as readonly (readonly number[])[];
  return {
    method: e.method,
    featureNames: byFeatureName ? undefined : e.featureNames,
    outputNames: e.outputNames,
    parameters: e.parameters,
    seed: e.seed,
    values: byFeatureName ? Object.fromEntries(e.featureNames.flatMap((n, f) => (values[f]!.some((v) => v !== 0) ? [[n, values[f]]] : []))) : values,
    baseValues: e.baseValues[r],
    predictions: e.predictions?.[r],
    data: byFeatureName ? undefined : e.data?.[r],
    details: Object.fromEntries(perRow.map((k) => [k, (e.details?.[k] as readonly unknown[] | undefined)?.[r]])),
  };
}

/**
 * Batches of each size in `sizes` holding `x` at position 0, an inner position and the last one (the positions a
 * reproducibility test compares with `x` explained alone); `other(i)` fills the remaining positions.
 */
export function batchesAround<T>(x: T, sizes: readonly number[], other: (i: number) => T): { rows: T[]; at: number[] }[] {
  return sizes.map((n) => {
    const at = [...new Set([0, Math.floor(n / 2), n - 1])];
    return { rows: Array.from({ length: n }, (_, i) => (at.includes(i) ? x : other(i))), at };
  });
}
