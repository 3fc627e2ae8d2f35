/*
 * Interventional ("independent") TreeSHAP: the WebAssembly kernel behind src/tree/interventional-wasm.ts. Same
 * mathematics as src/tree/interventional.ts (read its header first), with the background rows handled as a SET:
 *
 *   The per-(x, z, tree) recursion there visits the subtree where x and z part ways. Its state at a node is
 *   (per-feature history H, nX, nAll); every background row z sharing that state contributes the same terms. So
 *   one recursion per (x, tree) carries the bitset S of background rows in the state. At an internal node on
 *   feature f:
 *     H[f] > 0   the whole set follows x's child;
 *     H[f] < 0   the set splits by each row's own direction (per-node bitset of rows that go left) into both
 *                children;
 *     H[f] == 0  the rows that go x's way continue to x's child unchanged; the others branch twice, H[f] = +1 to
 *                x's child (nX + 1, nAll + 1) and H[f] = -1 to the other child (nAll + 1), and phi[f] gains the
 *                positive terms of the first branch plus the negative terms of the second.
 *   Empty sets are dropped. A leaf's term m!(n-1-m)!/n! · value is weighted by the number of rows in the set
 *   (identity link) or by the sum of those rows' per-reference rescaling factors (logistic / softmax links, given
 *   per row x by the caller). Everything is linear in the rows, so the set sums equal the per-row sums.
 *
 * Bitsets are 64-bit words, node-major: bgLeft[node * nWords + w] bit b = background row 64w + b goes left; nWords
 * is even and the recursion works on 128-bit vectors.
 * Routing follows the IR's split rule (split.h). No libc: built with clang --target=wasm32 -nostdlib
 * (tools/wasm-build.mjs). Memory is laid out by the caller.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#include "split.h"

/* Deepest tree (edges) the kernel accepts; the recursion uses one level of scratch per edge. */
#define MAXDEPTH 256

typedef struct {
  /* width: values per node (1, or nOutputs when every tree feeds every output). */
  int32_t nTrees, nFeatures, nOutputs, width, nBg, nWords, maxDepth, nNodes;
  const int32_t *treeOffsets, *left, *right, *feature, *outputBase, *catStart, *catLen;
  const uint32_t *catBits;
  const uint8_t *kind; /* decision | missing << 2 | defaultLeft << 4 */
  const double *threshold, *value;
  /* Scratch and per-background data, laid out by the caller. */
  uint64_t *bgLeft;  /* nNodes * nWords (nWords even: sets are 128-bit vectors; 16-byte aligned) */
  double *weights;   /* (maxDepth + 2)^2, filled by prepareModel */
  int8_t *hist;      /* nFeatures, zero between calls */
  uint64_t *sets;    /* (maxDepth + 2) * nWords, 16-byte aligned */
  double *resP, *resN; /* (maxDepth + 2) * width */
} Model;

/* State of the recursion for the current (row, tree). */
static const int32_t *L, *R, *FE, *CS, *CL;
static const uint32_t *CB;
static const uint8_t *KI;
static const double *TH, *XR; /* XR: the row being explained */
static const v128_t *BG;
static int NV; /* 128-bit vectors per set */
static int8_t *HI;
static v128_t *SETS;
static double *RP, *RN;
static const double *WT;
static int WS;
static const double *VAL;
static double *PHI;
static int NO;
static int WN; /* values per node */
static const double *SC; /* rescaling factors of the tree's first output, [output][row]; 0 for identity */
static int NBG;

/* Fills m.weights[n * (maxDepth + 2) + k] = k! (n - 1 - k)! / n!, the same float64 operations as InterventionalBuffers. */
__attribute__((export_name("prepareModel")))
void prepareModel(const Model *m) {
  const int D = m->maxDepth + 1;
  for (int i = 0; i < (D + 1) * (D + 1); i++) m->weights[i] = 0;
  for (int n = 1; n <= D; n++) {
    for (int k = 0; k < n; k++) {
      double w = 1.0 / n;
      double c = 1;
      for (int j = 1; j <= k; j++) c = (c * (double)(n - k - 1 + j)) / j;
      w /= c;
      m->weights[n * (D + 1) + k] = w;
    }
  }
}

/*
 * Background rows [64w, 64w + cnt) go left or not: dirs[b * nNodes + n] (b < cnt, 0/1 bytes) -> word w of every
 * node's bitset. Sixteen nodes at a time: eight rows' bytes are merged into one byte per node, then scattered.
 */
__attribute__((export_name("buildBits")))
void buildBits(const Model *m, const uint8_t *dirs, int cnt, int w) {
  const int nNodes = m->nNodes;
  const int nw = m->nWords;
  uint8_t *bits = (uint8_t *)m->bgLeft;
  const int ngroups = (cnt + 7) >> 3;
  int n = 0;
  uint8_t tmp[16];
  for (; n + 16 <= nNodes; n += 16) {
    for (int g = 0; g < 8; g++) {
      v128_t acc = wasm_i8x16_splat(0);
      if (g < ngroups) {
        const int bEnd = cnt - 8 * g < 8 ? cnt - 8 * g : 8;
        for (int k = 0; k < bEnd; k++) {
          const v128_t v = wasm_v128_load(dirs + (8 * g + k) * nNodes + n);
          acc = wasm_v128_or(acc, wasm_i8x16_shl(v, k));
        }
      }
      wasm_v128_store(tmp, acc);
      for (int i = 0; i < 16; i++) bits[((n + i) * nw + w) * 8 + g] = tmp[i];
    }
  }
  for (; n < nNodes; n++) {
    uint64_t word = 0;
    for (int b = 0; b < cnt; b++) word |= (uint64_t)(dirs[b * nNodes + n] & 1) << b;
    m->bgLeft[n * nw + w] = word;
  }
}

/* Raw margins of rows xs[r * nFeatures ..] (r < nRows): adds every tree's leaf values to out[r * nOutputs + outputBase + j]
 * in tree order (out holds the base scores), as marginsFromDirections in src/tree/compute.ts. */
__attribute__((export_name("margins")))
void margins(const Model *m, const double *xs, int nRows, double *out) {
  const int vw = m->width;
  for (int r = 0; r < nRows; r++) {
    const double *x = xs + r * m->nFeatures;
    for (int t = 0; t < m->nTrees; t++) {
      int n = m->treeOffsets[t];
      while (m->left[n] >= 0) {
        const int gl = goesLeft(m->kind[n], m->threshold[n], m->catStart, m->catLen, m->catBits, n, x[m->feature[n]]);
        n = gl ? m->left[n] : m->right[n];
      }
      double *o = out + r * m->nOutputs + m->outputBase[t];
      for (int j = 0; j < vw; j++) o[j] += m->value[n * vw + j];
    }
  }
}

/* Whether the row being explained goes left at internal node n: numeric NaN-default splits inline, the rest by split.h. */
static inline __attribute__((always_inline)) int xLeft(int n) {
  const int k = KI[n];
  const double v = XR[FE[n]];
  if ((k & 0xe) == 4) return ((k & 1) ? v <= TH[n] : v < TH[n]) | ((v != v) & (k >> 4));
  return goesLeft(k, TH[n], CS, CL, CB, n, v);
}

/* Sum of the rescaling factors sc[b] over the rows b of set S (nv vectors of 128 rows). */
static inline __attribute__((always_inline)) double setScale(const v128_t *S, const double *sc, const int nv) {
  double s = 0;
  for (int i = 0; i < 2 * nv; i++) {
    uint64_t u = ((const uint64_t *)S)[i];
    const double *p = sc + 64 * i;
    while (u) {
      s += p[__builtin_ctzll(u)];
      u &= u - 1;
    }
  }
  return s;
}

/* Rows in S, or the sum of their rescaling factors when sc is set (logistic / softmax links). */
static inline __attribute__((always_inline)) double setWeight(const v128_t *S, const double *sc, const int nv) {
  if (sc) return setScale(S, sc, nv);
  int c = 0;
  for (int i = 0; i < nv; i++) {
    c += __builtin_popcountll((uint64_t)wasm_i64x2_extract_lane(S[i], 0));
    c += __builtin_popcountll((uint64_t)wasm_i64x2_extract_lane(S[i], 1));
  }
  return (double)c;
}

typedef void (*RecFn)(int node, int d, int nX, int nAll);

/*
 * The recursion for one (row, tree) state: node, level d (its set is S = SETS + d * nv vectors; the callee may
 * change it in place, so callers rebuild a child's set before each call), nX / nAll of the state. The state's
 * positive and negative terms (W values each) come back in RP / RN + d * W. nv, and W = 1, are literals in the
 * specialised copies below.
 */
static inline __attribute__((always_inline)) void recBody(int node, int d, int nX, int nAll, const int nv, const int W,
                                                          RecFn self) {
  v128_t *S = SETS + d * nv;
  v128_t *C = S + nv;
  double *rp = RP + d * W, *rn = RN + d * W;
  const double *cp = rp + W, *cn = rn + W;
  for (int j = 0; j < W; j++) rp[j] = rn[j] = 0;
  for (;;) {
    const int l = L[node];
    if (l < 0) {
      if (nAll == 0) return;
      const double wp = nX > 0 ? WT[nAll * WS + nX - 1] : 0;
      const double wn = nX < nAll ? -WT[nAll * WS + nX] : 0;
      const double *v = VAL + node * W;
      if (SC) {
        for (int j = 0; j < W; j++) {
          const double vj = v[j] * setScale(S, SC + j * NBG, nv);
          rp[j] += vj * wp;
          rn[j] += vj * wn;
        }
      } else {
        const double c = setWeight(S, 0, nv);
        for (int j = 0; j < W; j++) {
          const double vj = v[j] * c;
          rp[j] += vj * wp;
          rn[j] += vj * wn;
        }
      }
      return;
    }
    const int f = FE[node];
    const int h = HI[f];
    const int r = R[node];
    if (h > 0) {
      node = xLeft(node) ? l : r;
      continue;
    }
    const v128_t *bl = BG + node * nv;
    if (h < 0) {
      v128_t anyL = wasm_i64x2_splat(0), anyR = anyL;
      for (int i = 0; i < nv; i++) {
        anyL = wasm_v128_or(anyL, wasm_v128_and(S[i], bl[i]));
        anyR = wasm_v128_or(anyR, wasm_v128_andnot(S[i], bl[i]));
      }
      if (!wasm_v128_any_true(anyR)) {
        node = l;
        continue;
      }
      if (!wasm_v128_any_true(anyL)) {
        node = r;
        continue;
      }
      for (int i = 0; i < nv; i++) C[i] = wasm_v128_and(S[i], bl[i]);
      self(l, d + 1, nX, nAll);
      for (int j = 0; j < W; j++) {
        rp[j] += cp[j];
        rn[j] += cn[j];
      }
      for (int i = 0; i < nv; i++) S[i] = wasm_v128_andnot(S[i], bl[i]);
      node = r;
      continue;
    }
    const int xl = xLeft(node);
    const int cx = xl ? l : r;
    const v128_t flip = wasm_i64x2_splat(xl ? 0 : -1);
    v128_t anyA = wasm_i64x2_splat(0), anyD = anyA;
    for (int i = 0; i < nv; i++) {
      const v128_t a = wasm_v128_xor(bl[i], flip);
      anyA = wasm_v128_or(anyA, wasm_v128_and(S[i], a));
      anyD = wasm_v128_or(anyD, wasm_v128_andnot(S[i], a));
    }
    if (!wasm_v128_any_true(anyD)) {
      node = cx;
      continue;
    }
    double *ph = PHI + f * NO;
    for (int i = 0; i < nv; i++) C[i] = wasm_v128_andnot(S[i], wasm_v128_xor(bl[i], flip));
    HI[f] = 1;
    self(cx, d + 1, nX + 1, nAll + 1);
    for (int j = 0; j < W; j++) {
      ph[j] += cp[j];
      rp[j] += cp[j];
      rn[j] += cn[j];
    }
    for (int i = 0; i < nv; i++) C[i] = wasm_v128_andnot(S[i], wasm_v128_xor(bl[i], flip));
    HI[f] = -1;
    self(xl ? r : l, d + 1, nX, nAll + 1);
    HI[f] = 0;
    for (int j = 0; j < W; j++) {
      ph[j] += cn[j];
      rp[j] += cp[j];
      rn[j] += cn[j];
    }
    if (!wasm_v128_any_true(anyA)) return;
    for (int i = 0; i < nv; i++) S[i] = wasm_v128_and(S[i], wasm_v128_xor(bl[i], flip));
    node = cx;
  }
}

/* Copies specialised on the vectors per set (1: up to 128 background rows, 2: up to 256, any) and on one value
 * per node or WN (the model's width). */
static void rec1v1(int node, int d, int nX, int nAll) { recBody(node, d, nX, nAll, 1, 1, rec1v1); }
static void rec1v2(int node, int d, int nX, int nAll) { recBody(node, d, nX, nAll, 2, 1, rec1v2); }
static void rec1vn(int node, int d, int nX, int nAll) { recBody(node, d, nX, nAll, NV, 1, rec1vn); }
static void recWv1(int node, int d, int nX, int nAll) { recBody(node, d, nX, nAll, 1, WN, recWv1); }
static void recWv2(int node, int d, int nX, int nAll) { recBody(node, d, nX, nAll, 2, WN, recWv2); }
static void recWvn(int node, int d, int nX, int nAll) { recBody(node, d, nX, nAll, NV, WN, recWvn); }

/*
 * Adds the interventional SHAP values of rows xs[r * nFeatures ..] (r < nRows), summed (not yet averaged) over
 * the background, to phi[r * nFeatures * nOutputs + feature * nOutputs + output]. scale: 0 for the identity link,
 * else the rows' rescaling factors scale[(r * nOutputs + output) * nBg + background row]. Trees are the outer loop
 * so each tree stays in cache for the whole batch. Call prepareModel and buildBits (every word) first.
 */
__attribute__((export_name("explainRows")))
void explainRows(const Model *m, const double *xs, int nRows, double *phi, const double *scale) {
  const int nF = m->nFeatures;
  L = m->left;
  R = m->right;
  FE = m->feature;
  KI = m->kind;
  TH = m->threshold;
  CS = m->catStart;
  CL = m->catLen;
  CB = m->catBits;
  BG = (const v128_t *)m->bgLeft;
  NV = m->nWords / 2;
  HI = m->hist;
  SETS = (v128_t *)m->sets;
  RP = m->resP;
  RN = m->resN;
  WT = m->weights;
  WS = m->maxDepth + 2;
  VAL = m->value;
  NO = m->nOutputs;
  WN = m->width;
  NBG = m->nBg;
  const int nb = m->nBg;
  const RecFn rec = WN == 1 ? (NV == 1 ? rec1v1 : NV == 2 ? rec1v2 : rec1vn) : (NV == 1 ? recWv1 : NV == 2 ? recWv2 : recWvn);
  for (int t = 0; t < m->nTrees; t++) {
    const int root = m->treeOffsets[t];
    if (m->left[root] < 0) continue;
    const int ob = m->outputBase[t];
    for (int r = 0; r < nRows; r++) {
      XR = xs + r * nF;
      PHI = phi + r * nF * NO + ob;
      SC = scale ? scale + (r * NO + ob) * nb : 0;
      uint64_t *root64 = (uint64_t *)SETS;
      for (int w = 0; w < 2 * NV; w++) {
        const int rem = nb - 64 * w;
        root64[w] = rem >= 64 ? ~(uint64_t)0 : rem <= 0 ? 0 : (((uint64_t)1 << rem) - 1);
      }
      rec(root, 0, 0, 0);
    }
  }
}

/*
 * Routing of background rows [64w, 64w + cnt) (rows[r * nFeatures ..], r < cnt <= 64) through every node: word w of
 * every node's bitset, and dirs[r * nNodes + n] = 1 when row r goes left at n, 0 otherwise and at leaves (as
 * backgroundDirections in src/tree/compute.ts). xT is scratch for the rows transposed (nFeatures x 64 doubles):
 * numeric splits compare two rows per SIMD lane pair, the rest go through split.h per row.
 */
__attribute__((export_name("routeBits")))
void routeBits(const Model *m, const double *rows, int cnt, int w, double *xT, uint8_t *dirs) {
  const int nNodes = m->nNodes;
  const int nF = m->nFeatures;
  const int nw = m->nWords;
  for (int f = 0; f < nF; f++) {
    for (int r = 0; r < 64; r++) xT[f * 64 + r] = r < cnt ? rows[r * nF + f] : 0;
  }
  for (int n = 0; n < nNodes; n++) {
    uint64_t word = 0;
    if (m->left[n] >= 0) {
      const int k = m->kind[n];
      const double th = m->threshold[n];
      const double *x = xT + m->feature[n] * 64;
      if ((k & 0xe) == 4) {
        /* numeric, NaN takes the default side */
        const v128_t thr = wasm_f64x2_splat(th);
        const v128_t dl = wasm_i64x2_splat((k >> 4) & 1 ? -1 : 0);
        for (int v = 0; v < 32; v++) {
          const v128_t xv = wasm_v128_load(x + 2 * v);
          const v128_t cmp = (k & 1) ? wasm_f64x2_le(xv, thr) : wasm_f64x2_lt(xv, thr);
          const v128_t gl = wasm_v128_or(cmp, wasm_v128_and(wasm_f64x2_ne(xv, xv), dl));
          word |= (uint64_t)wasm_i64x2_bitmask(gl) << (2 * v);
        }
        if (cnt < 64) word &= ((uint64_t)1 << cnt) - 1;
      } else {
        for (int r = 0; r < cnt; r++) word |= (uint64_t)goesLeft(k, th, m->catStart, m->catLen, m->catBits, n, x[r]) << r;
      }
    }
    m->bgLeft[n * nw + w] = word;
    for (int r = 0; r < cnt; r++) dirs[r * nNodes + n] = (word >> r) & 1;
  }
}

__attribute__((export_name("maxDepthSupported")))
int maxDepthSupported(void) { return MAXDEPTH; }

/* Start of the free memory after the module's own data (the caller lays out models and rows from here). */
extern unsigned char __heap_base;
__attribute__((export_name("heapBase")))
uintptr_t heapBase(void) { return (uintptr_t)&__heap_base; }
