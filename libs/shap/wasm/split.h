/*
 * The IR's split rule (libs/model-format src/tree/ensemble.ts; the TypeScript twin is libs/shap src/tree/split.ts),
 * shared by the WebAssembly kernels. `kind` packs decision | missing << 2 | defaultLeft << 4 per node.
 */
#ifndef GENOME_SPLIT_H
#define GENOME_SPLIT_H
#include <stdint.h>

/* LightGBM's kZeroThreshold: |x| <= 1e-35 counts as zero for missing_type=Zero. */
#define ZERO_THRESHOLD 1e-35

/* Whether value v goes to the left child of node n (see goesLeft in src/tree/split.ts). */
static inline int goesLeft(int kind, double threshold, const int32_t *catStart, const int32_t *catLen,
                           const uint32_t *catBits, int n, double v) {
  const int dec = kind & 3, miss = (kind >> 2) & 3, dl = (kind >> 4) & 1;
  if (v != v) {
    if (miss == 0) v = 0;
    else return dl;
  } else if (miss == 2 && v <= ZERO_THRESHOLD && v >= -ZERO_THRESHOLD) {
    return dl;
  }
  if (dec == 0) return v < threshold;
  if (dec == 1) return v <= threshold;
  if (v < 0 || !(v < 4294967296.0)) return 0;
  const uint32_t c = (uint32_t)v;
  const uint32_t word = c >> 5;
  if ((int32_t)word >= catLen[n]) return 0;
  return (catBits[catStart[n] + word] >> (c & 31)) & 1;
}

#endif
