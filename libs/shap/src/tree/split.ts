/**
 * The IR's split rule, exactly as documented in `@genome/model-format` `tree/ensemble.ts`: the condition that is
 * true sends a row to `left`. Kept in one place so every TreeSHAP variant routes rows identically.
 */
import type { TreeEnsemble } from '@genome/model-format';

/** LightGBM's kZeroThreshold: |x| <= 1e-35 counts as zero for `missing_type=Zero`. */
const ZERO_THRESHOLD = 1e-35;

/**
 * Whether feature value `v` goes to the left child of internal node `n`.
 * NaN follows `defaultLeft` (NAN_DEFAULT, ZERO_DEFAULT) or is compared as 0 (AS_ZERO); for ZERO_DEFAULT,
 * values with |v| <= 1e-35 also follow the default direction. IN_SET reads `v` as a non-negative integer
 * category (truncated); negative values and categories outside the bitset are "not in the set".
 */
export function goesLeft(m: TreeEnsemble, n: number, v: number): boolean {
  const miss = m.missing[n];
  if (v !== v) {
    if (miss === 0) v = 0;
    else return m.defaultLeft[n] === 1;
  } else if (miss === 2 && v <= ZERO_THRESHOLD && v >= -ZERO_THRESHOLD) {
    return m.defaultLeft[n] === 1;
  }
  const d = m.decision[n];
  if (d === 0) return v < m.threshold[n];
  if (d === 1) return v <= m.threshold[n];
  if (v < 0) return false;
  const c = Math.trunc(v);
  const word = c >>> 5;
  if (!(c < 4294967296) || word >= m.catLen[n]) return false;
  return ((m.catBits[m.catStart[n] + word] >>> (c & 31)) & 1) === 1;
}

/** Child of internal node `n` that a row with feature value `v` follows. */
export function childFor(m: TreeEnsemble, n: number, v: number): number {
  return goesLeft(m, n, v) ? m.left[n] : m.right[n];
}

/**
 * Fills `dir[n - base]` with 1 when `row` goes left at node n and 0 otherwise, for every internal node of
 * nodes `from .. to-1` (leaves get 0). One pass that lets the hot loops read a byte instead of re-testing splits.
 */
export function fillDirections(
  m: TreeEnsemble,
  row: Float64Array,
  rowOffset: number,
  from: number,
  to: number,
  dir: Uint8Array,
  base: number,
): void {
  const feature = m.feature;
  const left = m.left;
  for (let n = from; n < to; n++) {
    if (left[n] < 0) {
      dir[n - base] = 0;
      continue;
    }
    dir[n - base] = goesLeft(m, n, row[rowOffset + feature[n]]) ? 1 : 0;
  }
}
