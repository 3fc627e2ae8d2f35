/*
 * Path-dependent TreeSHAP by Gauss-Legendre quadrature: the WebAssembly (SIMD) kernel behind
 * src/tree/quadrature-wasm.ts. Same mathematics as quadratureBatch1 in src/tree/quadrature.ts (read its header
 * first), with two changes that remove per-feature accumulators:
 *
 *   Telescoping. A leaf's term for feature i is charged to the deepest edge on i. Instead of subtracting the
 *   deeper edges' leaf sums from the shallower edge (the accumulators of the TypeScript kernel), every edge e on i
 *   adds  w_k · [ (O_e − Z_e)/A_e(t_k) − (O_p − Z_p)/A_p(t_k) ] · S(c)(t_k),  where p is the previous edge on i
 *   above e (O_p = Z_p = 1 and the second term 0 when e is the first). Summed along a leaf's path the terms
 *   telescope to the deepest edge's term. The coefficient takes one of three values per k, selected by the row's
 *   (O_e, O_p) in {(1,1), (0,1), (0,0)}; it is 0 for (0,0).
 *
 *   Lanes across rows. Up to MAXR rows share one traversal of a tree; every per-row array is [level][k][row], so
 *   the row loops are straight f64x2 code with no branch: a row's O values are 64-bit lane masks and the three
 *   cases are picked with v128.bitselect. A padding lane (odd row count) has all-zero masks and charges nothing.
 *
 *   Per-model coefficients. Z of an edge depends on the tree alone, so prepareModel stores every edge's Z and its
 *   coefficients (A_e/A_p for the prefix products, the charge weights above) once; the row loops never divide.
 *
 * Routing follows the IR's split rule (libs/model-format tree/ensemble.ts, libs/shap src/tree/split.ts).
 * No libc: built with clang --target=wasm32 -nostdlib (tools/wasm-build.mjs). Memory is laid out by the caller.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#include "split.h"

#define MAXR 64
#define MAXQ 32
#define MAXL (2 * MAXQ + 2)
#define MAXW 256

typedef struct {
  /* width: values per node (1, or nOutputs when every tree feeds every output, e.g. forest classifiers). */
  int32_t nTrees, nFeatures, nOutputs, q, width;
  const int32_t *treeOffsets, *left, *right, *feature, *outputBase, *catStart, *catLen;
  const uint32_t *catBits;
  const uint8_t *kind; /* decision | missing << 2 | defaultLeft << 4 */
  const double *threshold, *fraction, *value, *tk, *wk;
  /* Filled by prepareModel, per node c (the edge into c): Z of the edge, then 5 x q coefficients
   * f11, f01, f00 (times the leaf value when width is 1), g11, g01. */
  double *edgeZ, *coef;
} Model;

/* Per level (node depth) state of the depth-first traversal; row masks are all-ones (true) or zero per lane. */
static int32_t nodeAt[MAXL], featAt[MAXL];
static uint8_t stageAt[MAXL];
static const double *coefAt[MAXL];
static double pzAt[MAXL]; /* Z of the level's edge feature before that edge (prepareModel) */
static v128_t goLeft[MAXL * MAXR / 2]; /* the row goes left at the level's node */
static v128_t oAt[MAXL * MAXR / 2];    /* O of the edge into the level's node */
static v128_t poAt[MAXL * MAXR / 2];   /* O of its feature before that edge */
static v128_t prefix[MAXL * MAXQ * MAXR / 2];
static v128_t cv[5 * MAXQ]; /* the edge's coefficients, splatted */
static v128_t chW[MAXW];    /* one lane pair's charges per output */
static const double noCharge[5 * MAXQ]; /* coefficients of a conditioned edge: it charges nothing */

/* Routing masks of node n for V lane pairs; rows are xT[feature * 2V + lane]. Numeric splits are vectorised (the
 * NaN-default kind, the most common, on its own path); category sets go through the scalar rule. */
static void route(const Model *m, int n, int V, const double *xT, v128_t *gl) {
  const v128_t *x = (const v128_t *)(xT + m->feature[n] * 2 * V);
  const int k = m->kind[n];
  const int dec = k & 3, miss = (k >> 2) & 3;
  const v128_t thr = wasm_f64x2_splat(m->threshold[n]);
  const v128_t dl = wasm_i64x2_splat(((k >> 4) & 1) ? -1 : 0);
  if (dec == 2) {
    const double *xs = (const double *)x;
    for (int v = 0; v < V; v++) {
      const int a = goesLeft(k, m->threshold[n], m->catStart, m->catLen, m->catBits, n, xs[2 * v]);
      const int b = goesLeft(k, m->threshold[n], m->catStart, m->catLen, m->catBits, n, xs[2 * v + 1]);
      gl[v] = wasm_i64x2_make(a ? -1 : 0, b ? -1 : 0);
    }
  } else if (miss == 1) {
    for (int v = 0; v < V; v++) {
      const v128_t xv = x[v];
      const v128_t cmp = dec == 0 ? wasm_f64x2_lt(xv, thr) : wasm_f64x2_le(xv, thr);
      gl[v] = wasm_v128_or(cmp, wasm_v128_and(wasm_f64x2_ne(xv, xv), dl));
    }
  } else {
    /* AS_ZERO: NaN compares as 0. ZERO_DEFAULT: NaN and |x| <= 1e-35 take the default side. */
    const v128_t asZero = wasm_i64x2_splat(miss == 0 ? -1 : 0);
    const v128_t eps = wasm_f64x2_splat(ZERO_THRESHOLD);
    for (int v = 0; v < V; v++) {
      const v128_t xv = x[v];
      const v128_t nan = wasm_f64x2_ne(xv, xv);
      const v128_t xz = wasm_v128_andnot(xv, wasm_v128_and(nan, asZero));
      const v128_t cmp = dec == 0 ? wasm_f64x2_lt(xz, thr) : wasm_f64x2_le(xz, thr);
      const v128_t dflt = wasm_v128_andnot(wasm_v128_or(nan, wasm_f64x2_le(wasm_f64x2_abs(xv), eps)), asZero);
      gl[v] = wasm_v128_bitselect(dl, cmp, dflt);
    }
  }
}

/* Per-edge coefficients (see the header): f = A_e / A_p and g = w · ((O_e − Z)/A_e − (O_p − pz)/A_p) per k. */
static void coefficients(int q, const double *tk, const double *wk, double Z, double pz, double v, double *out) {
  double *f11 = out, *f01 = out + q, *f00 = out + 2 * q, *g11 = out + 3 * q, *g01 = out + 4 * q;
  for (int k = 0; k < q; k++) {
    const double t = tk[k];
    const double a1 = Z + (1 - Z) * t;
    const double a0 = Z * (1 - t);
    const double q1 = pz + (1 - pz) * t;
    const double ip1 = 1 / q1;
    const double ip0 = pz == 0 ? 0 : 1 / (pz * (1 - t));
    f11[k] = v * a1 * ip1;
    f01[k] = v * a0 * ip1;
    f00[k] = v * a0 * ip0;
    const double tp1 = (1 - pz) * ip1;
    g11[k] = wk[k] * ((1 - Z) / a1 - tp1);
    /* O_e = 0: (0 − Z)/(Z(1 − t)) = −1/(1 − t); with Z = 0 the row's S(c) is 0, so any finite value will do. */
    g01[k] = wk[k] * ((Z == 0 ? 0 : -1 / (1 - t)) - tp1);
  }
}

/*
 * Walks every tree once with the running per-feature Z to store each edge's Z and coefficients (they depend on
 * the tree alone, not on the rows). curZ (nFeatures) must hold 1; it is restored.
 */
__attribute__((export_name("prepareModel")))
void prepareModel(const Model *m, double *curZ) {
  const int q = m->q;
  for (int t = 0; t < m->nTrees; t++) {
    const int root = m->treeOffsets[t];
    if (m->left[root] < 0) continue;
    nodeAt[0] = root;
    stageAt[0] = 0;
    int d = 0;
    for (;;) {
      const int n = nodeAt[d];
      const int st = stageAt[d];
      if (st < 2) {
        stageAt[d] = st + 1;
        const int c = st == 0 ? m->left[n] : m->right[n];
        const int f = m->feature[n];
        const double pz = curZ[f];
        const double Z = pz * m->fraction[c];
        m->edgeZ[c] = Z;
        const int leaf = m->left[c] < 0;
        coefficients(q, m->tk, m->wk, Z, pz, leaf && m->width == 1 ? m->value[c] : 1.0, m->coef + c * 5 * q);
        if (leaf) continue;
        nodeAt[d + 1] = c;
        stageAt[d + 1] = 0;
        featAt[d + 1] = f;
        pzAt[d + 1] = pz;
        curZ[f] = Z;
        d += 1;
        continue;
      }
      if (d == 0) break;
      curZ[featAt[d]] = pzAt[d];
      d -= 1;
    }
  }
}

/*
 * Leaf child c reached from level d, in place: S(c) = v · prefix(parent) · A_e / A_p, charged with g and added to
 * the parent's S. W is a literal 1 at one call site (v is folded into the coefficients) so that copy inlines to the
 * single-output loop.
 */
static inline __attribute__((always_inline)) void leafEdge(const v128_t *pp, v128_t *sp, v128_t *ph, int phiW,
                                                          const v128_t *gl, v128_t flip, const v128_t *co,
                                                          const double *val, int q, int V, const int W) {
  const v128_t zero = wasm_f64x2_splat(0);
  for (int v = 0; v < V; v++) {
    const v128_t po = co[v];
    const v128_t o = wasm_v128_and(wasm_v128_xor(gl[v], flip), po);
    for (int w = 0; w < W; w++) chW[w] = zero;
    for (int k = 0; k < q; k++) {
      const v128_t fac = wasm_v128_bitselect(wasm_v128_bitselect(cv[k], cv[q + k], o), cv[2 * q + k], po);
      const v128_t g = wasm_v128_and(wasm_v128_bitselect(cv[3 * q + k], cv[4 * q + k], o), po);
      const v128_t base = wasm_f64x2_mul(pp[k * V + v], fac);
      const v128_t gb = wasm_f64x2_mul(g, base);
      for (int w = 0; w < W; w++) {
        v128_t *sw = sp + (k * W + w) * V + v;
        if (W == 1) {
          chW[0] = wasm_f64x2_add(chW[0], gb);
          *sw = wasm_f64x2_add(*sw, base);
        } else {
          const v128_t vw = wasm_v128_load64_splat(val + w);
          chW[w] = wasm_f64x2_add(chW[w], wasm_f64x2_mul(vw, gb));
          *sw = wasm_f64x2_add(*sw, wasm_f64x2_mul(vw, base));
        }
      }
    }
    for (int w = 0; w < W; w++) ph[w * phiW + v] = wasm_f64x2_add(ph[w * phiW + v], chW[w]);
  }
}

/* Both children of the level-d node done: charge the edge into it with g and hand S up to level d − 1. */
static inline __attribute__((always_inline)) void closeEdge(const v128_t *s, v128_t *up, v128_t *ph, int phiW,
                                                           const v128_t *os, const v128_t *pos, v128_t *co,
                                                           const double *cf, int q, int V, const int W) {
  const v128_t zero = wasm_f64x2_splat(0);
  for (int v = 0; v < V; v++) {
    const v128_t o = os[v];
    const v128_t po = pos[v];
    for (int w = 0; w < W; w++) chW[w] = zero;
    for (int k = 0; k < q; k++) {
      const v128_t g = wasm_v128_and(
          wasm_v128_bitselect(wasm_v128_load64_splat(cf + 3 * q + k), wasm_v128_load64_splat(cf + 4 * q + k), o), po);
      for (int w = 0; w < W; w++) {
        const int i = (k * W + w) * V + v;
        const v128_t sv = s[i];
        chW[w] = wasm_f64x2_add(chW[w], wasm_f64x2_mul(g, sv));
        up[i] = wasm_f64x2_add(up[i], sv);
      }
    }
    for (int w = 0; w < W; w++) ph[w * phiW + v] = wasm_f64x2_add(ph[w * phiW + v], chW[w]);
    co[v] = po;
  }
}

/*
 * One tree for V lane pairs. condF >= 0 conditions on feature condF (for interaction values): its edges multiply by
 * O (condOn, the feature is always present) or by Z (always absent) instead of A(t), and charge nothing.
 */
static void explainTree(const Model *m, int t, int V, const double *xT, double *phiT, v128_t *curO, v128_t *sum,
                        int condF, int condOn) {
  const int root = m->treeOffsets[t];
  if (m->left[root] < 0) return;
  const int q = m->q;
  const int W = m->width;
  const int QV = q * V;
  const int SV = q * W * V; /* one level of S */
  const int32_t *left = m->left, *right = m->right, *feature = m->feature;
  const double *edgeZ = m->edgeZ, *coef = m->coef;
  v128_t *phiTree = (v128_t *)(phiT + m->outputBase[t] * 2 * V);
  const int phiStride = m->nOutputs * V;
  const v128_t zero = wasm_f64x2_splat(0);
  const v128_t one = wasm_f64x2_splat(1);

  nodeAt[0] = root;
  stageAt[0] = 0;
  for (int i = 0; i < QV; i++) prefix[i] = one;
  for (int i = 0; i < SV; i++) sum[i] = zero;
  route(m, root, V, xT, goLeft);
  int d = 0;
  for (;;) {
    const int n = nodeAt[d];
    const int st = stageAt[d];
    if (st < 2) {
      stageAt[d] = st + 1;
      const int c = st == 0 ? left[n] : right[n];
      const int f = feature[n];
      v128_t *co = curO + f * V;
      const v128_t *gl = goLeft + d * V;
      /* O of the edge: the row takes this child and satisfied every earlier split on f. */
      const v128_t flip = st == 0 ? wasm_i64x2_splat(0) : wasm_i64x2_splat(-1);
      if (edgeZ[c] == 0) {
        v128_t any = wasm_i64x2_splat(0);
        for (int v = 0; v < V; v++) any = wasm_v128_or(any, wasm_v128_and(wasm_v128_xor(gl[v], flip), co[v]));
        if (!wasm_v128_any_true(any)) continue; /* no leaf below carries weight */
      }
      const double *cf = coef + c * 5 * q;
      const v128_t *pp = prefix + d * QV;
      for (int i = 0; i < 5 * q; i++) cv[i] = wasm_v128_load64_splat(cf + i);
      if (f == condF) {
        /* On: the factor is O_e / O_p (1 for rows still on the feature's path, else 0). Off: Z_e / Z_p. */
        const double v = left[c] < 0 && W == 1 ? m->value[c] : 1.0;
        const v128_t on = wasm_f64x2_splat(v), off = wasm_f64x2_splat(v * m->fraction[c]);
        for (int k = 0; k < q; k++) {
          cv[k] = condOn ? on : off;
          cv[q + k] = cv[2 * q + k] = condOn ? zero : off;
          cv[3 * q + k] = cv[4 * q + k] = zero;
        }
        cf = noCharge;
      }
      if (left[c] < 0) {
        v128_t *sp = sum + d * SV;
        v128_t *ph = phiTree + f * phiStride;
        if (W == 1) leafEdge(pp, sp, ph, V, gl, flip, co, 0, q, V, 1);
        else leafEdge(pp, sp, ph, V, gl, flip, co, m->value + c * W, q, V, W);
        continue;
      }
      const int d1 = d + 1;
      nodeAt[d1] = c;
      stageAt[d1] = 0;
      featAt[d1] = f;
      coefAt[d1] = cf;
      v128_t *cp = prefix + d1 * QV;
      v128_t *cs = sum + d1 * SV;
      for (int v = 0; v < V; v++) {
        const v128_t po = co[v];
        const v128_t o = wasm_v128_and(wasm_v128_xor(gl[v], flip), po);
        oAt[d1 * V + v] = o;
        poAt[d1 * V + v] = po;
        co[v] = o;
        for (int k = 0; k < q; k++) {
          const v128_t fac = wasm_v128_bitselect(wasm_v128_bitselect(cv[k], cv[q + k], o), cv[2 * q + k], po);
          cp[k * V + v] = wasm_f64x2_mul(pp[k * V + v], fac);
        }
      }
      for (int i = 0; i < SV; i++) cs[i] = zero;
      route(m, c, V, xT, goLeft + d1 * V);
      d = d1;
      continue;
    }
    if (d == 0) return;
    const int f = featAt[d];
    const v128_t *s = sum + d * SV;
    v128_t *up = sum + (d - 1) * SV;
    v128_t *ph = phiTree + f * phiStride;
    v128_t *co = curO + f * V;
    if (W == 1) closeEdge(s, up, ph, V, oAt + d * V, poAt + d * V, co, coefAt[d], q, V, 1);
    else closeEdge(s, up, ph, V, oAt + d * V, poAt + d * V, co, coefAt[d], q, V, W);
    d -= 1;
  }
}

/*
 * Adds the path-dependent SHAP values of trees [t0, t1) for one batch of `lanes` rows (even, <= maxLanes()) to
 * phiT[(feature * nOutputs + output) * lanes + row]. xT[feature * lanes + row] holds the rows (padding: any value).
 * curO (nFeatures * lanes 64-bit masks) must be all-ones for the batch's real rows and zero for padding; it is
 * restored on return. sum is scratch for (depth + 2) * q * width * lanes doubles. Call prepareModel first.
 */
__attribute__((export_name("explainBatch")))
void explainBatch(const Model *m, int t0, int t1, int lanes, const double *xT, double *phiT, v128_t *curO, v128_t *sum) {
  for (int t = t0; t < t1; t++) explainTree(m, t, lanes / 2, xT, phiT, curO, sum, -1, 0);
}

/*
 * SHAP interaction values (shap's definition) of trees [t0, t1) for one batch, as explainBatch's layout: adds the
 * SHAP values to phiT, and for every feature j of each tree (phi_i | j on − phi_i | j off) / 2 to
 * inter[(j * nFeatures * nOutputs + i * nOutputs + o) * lanes + row] while subtracting it from phiT, so phiT ends as
 * the diagonal. on and off are scratch like phiT; mark (nFeatures ints) must hold -1.
 */
__attribute__((export_name("interactionsBatch")))
void interactionsBatch(const Model *m, int t0, int t1, int lanes, const double *xT, double *phiT, double *inter,
                       double *on, double *off, v128_t *curO, v128_t *sum, int32_t *mark) {
  const int V = lanes / 2;
  const int n = m->nFeatures * m->nOutputs * lanes;
  for (int t = t0; t < t1; t++) {
    explainTree(m, t, V, xT, phiT, curO, sum, -1, 0);
    for (int node = m->treeOffsets[t]; node < m->treeOffsets[t + 1]; node++) {
      const int j = m->feature[node];
      if (m->left[node] < 0 || mark[j] == t) continue;
      mark[j] = t;
      for (int i = 0; i < n; i++) on[i] = off[i] = 0;
      explainTree(m, t, V, xT, on, curO, sum, j, 1);
      explainTree(m, t, V, xT, off, curO, sum, j, 0);
      double *row = inter + j * n;
      for (int i = 0; i < n; i++) {
        const double h = 0.5 * (on[i] - off[i]);
        row[i] += h;
        phiT[i] -= h;
      }
    }
  }
  for (int t = t0; t < t1; t++)
    for (int node = m->treeOffsets[t]; node < m->treeOffsets[t + 1]; node++)
      if (m->left[node] >= 0) mark[m->feature[node]] = -1;
}

__attribute__((export_name("maxWidth")))
int maxWidth(void) { return MAXW; }

__attribute__((export_name("maxLanes")))
int maxLanes(void) { return MAXR; }

__attribute__((export_name("maxQuadrature")))
int maxQuadrature(void) { return MAXQ; }

/* Start of the free memory after the module's own data (the caller lays out models and rows from here). */
extern unsigned char __heap_base;
__attribute__((export_name("heapBase")))
uintptr_t heapBase(void) { return (uintptr_t)&__heap_base; }
