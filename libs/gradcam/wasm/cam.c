// Grad-CAM and Grad-CAM++ maps and their upsampled, min-max scaled heatmaps, in WebAssembly SIMD (f64x2).
//
// Every function does the float64 arithmetic of its TypeScript twin in src/cam/reductions.ts and src/cam/resize.ts
// in the same order (the same partial sums, the same sums of products, no fused multiply-add: WebAssembly has none
// without relaxed SIMD), so the results are the same bits; test/cam-wasm.test.ts checks that on random inputs.
// Activations and gradients are float32 (as onnxruntime returns them); everything else is float64.
// Built by tools/wasm-build.mjs into src/cam/cam-wasm.gen.ts.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// The first free byte after the stack and static data: the driver lays its arrays out from here.
extern unsigned char __heap_base;
EXPORT(heapBase) unsigned long heapBase(void) { return (unsigned long)&__heap_base; }

static inline v128_t load2f(const float *p) { return wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(p)); }

// sum(x[0 .. n)) as span() in reductions.ts: four partial sums over i mod 4, then (s0 + s1) + (s2 + s3).
static double span(const float *x, int n) {
  v128_t a = wasm_f64x2_splat(0), b = wasm_f64x2_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    a = wasm_f64x2_add(a, load2f(x + i));
    b = wasm_f64x2_add(b, load2f(x + i + 2));
  }
  double s0 = wasm_f64x2_extract_lane(a, 0), s1 = wasm_f64x2_extract_lane(a, 1);
  double s2 = wasm_f64x2_extract_lane(b, 0), s3 = wasm_f64x2_extract_lane(b, 1);
  for (; i < n; i++) s0 += x[i];
  return s0 + s1 + (s2 + s3);
}

// Grad-CAM weights: w[c] = mean of G[c, :].
EXPORT(gradcam_weights) void gradcam_weights(const float *G, int C, int S, double *w) {
  for (int c = 0; c < C; c++) w[c] = span(G + (long)c * S, S) / S;
}

// One Grad-CAM++ term: G^3 / (2 G^2 + sum(A) G^3 + eps) where G > 0, else +0.
static inline v128_t pp_terms(v128_t g, v128_t sa, v128_t e) {
  const v128_t g2 = wasm_f64x2_mul(g, g);
  const v128_t den = wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_splat(2), g2), wasm_f64x2_mul(wasm_f64x2_mul(sa, g2), g)), e);
  return wasm_v128_and(wasm_f64x2_div(wasm_f64x2_mul(g, g2), den), wasm_f64x2_gt(g, wasm_f64x2_splat(0)));
}

// Grad-CAM++ weights: w[c] = the sum of the terms over G[c, :], in four partial sums as span().
EXPORT(gradcampp_weights) void gradcampp_weights(const float *A, const float *G, int C, int S, double eps, double *w) {
  const v128_t e = wasm_f64x2_splat(eps);
  for (int c = 0; c < C; c++) {
    const float *a = A + (long)c * S, *g = G + (long)c * S;
    const double sumA = span(a, S);
    const v128_t sa = wasm_f64x2_splat(sumA);
    v128_t w01 = wasm_f64x2_splat(0), w23 = wasm_f64x2_splat(0);
    int i = 0;
    for (; i + 4 <= S; i += 4) {
      // four gradients at or below 0 add four +0 terms: skip their divisions (gradients below ReLUs and max pools are
      // mostly 0)
      if (!wasm_v128_any_true(wasm_f32x4_gt(wasm_v128_load(g + i), wasm_f32x4_splat(0)))) continue;
      w01 = wasm_f64x2_add(w01, pp_terms(load2f(g + i), sa, e));
      w23 = wasm_f64x2_add(w23, pp_terms(load2f(g + i + 2), sa, e));
    }
    double w0 = wasm_f64x2_extract_lane(w01, 0), w1 = wasm_f64x2_extract_lane(w01, 1);
    double w2 = wasm_f64x2_extract_lane(w23, 0), w3 = wasm_f64x2_extract_lane(w23, 1);
    for (; i < S; i++) {
      const double gi = g[i];
      if (!(gi > 0)) continue;
      const double g2 = gi * gi;
      w0 += (gi * g2) / (2 * g2 + sumA * g2 * gi + eps);
    }
    w[c] = w0 + w1 + (w2 + w3);
  }
}

// out[s] = sum_c w[c] A[c, s], four channels per pass (weightedSum in reductions.ts).
EXPORT(weighted_sum) void weighted_sum(const float *A, const double *w, int C, int S, double *out) {
  for (int i = 0; i < S; i++) out[i] = 0;
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    const double w0 = w[c], w1 = w[c + 1], w2 = w[c + 2], w3 = w[c + 3];
    if (w0 == 0 && w1 == 0 && w2 == 0 && w3 == 0) continue;
    const float *a0 = A + (long)c * S, *a1 = a0 + S, *a2 = a1 + S, *a3 = a2 + S;
    const v128_t v0 = wasm_f64x2_splat(w0), v1 = wasm_f64x2_splat(w1), v2 = wasm_f64x2_splat(w2), v3 = wasm_f64x2_splat(w3);
    int i = 0;
    for (; i + 2 <= S; i += 2) {
      const v128_t s01 = wasm_f64x2_add(wasm_f64x2_mul(v0, load2f(a0 + i)), wasm_f64x2_mul(v1, load2f(a1 + i)));
      const v128_t s23 = wasm_f64x2_add(wasm_f64x2_mul(v2, load2f(a2 + i)), wasm_f64x2_mul(v3, load2f(a3 + i)));
      wasm_v128_store(out + i, wasm_f64x2_add(wasm_v128_load(out + i), wasm_f64x2_add(s01, s23)));
    }
    for (; i < S; i++) out[i] += w0 * a0[i] + w1 * a1[i] + (w2 * a2[i] + w3 * a3[i]);
  }
  for (; c < C; c++) {
    const double wc = w[c];
    if (wc == 0) continue;
    const float *a = A + (long)c * S;
    for (int i = 0; i < S; i++) out[i] += wc * a[i];
  }
}

// cam = relu(raw): +0 where raw is not > 0 (NaN and -0 included), as relu() in reductions.ts.
EXPORT(relu_copy) void relu_copy(const double *raw, int n, double *cam) {
  const v128_t zero = wasm_f64x2_splat(0);
  int i = 0;
  for (; i + 2 <= n; i += 2) {
    const v128_t v = wasm_v128_load(raw + i);
    wasm_v128_store(cam + i, wasm_v128_and(v, wasm_f64x2_gt(v, zero)));
  }
  for (; i < n; i++) cam[i] = raw[i] > 0 ? raw[i] : 0;
}

// The horizontal pass (resizeRows in resize.ts): rows[j, x] = a + (b - a) fx[x] for each of the h source rows.
static void resize_rows(const double *src, int h, int w, int outW, const int *x0, const int *x1, const double *fx, double *rows) {
  for (int j = 0; j < h; j++) {
    const double *r = src + (long)j * w;
    double *o = rows + (long)j * outW;
    for (int x = 0; x < outW; x++) {
      const double a = r[x0[x]], b = r[x1[x]];
      o[x] = a + (b - a) * fx[x];
    }
  }
}

// p[i] = (p[i] - lo) * inv for i < n (the min-max scaling, times the reciprocal as resize.ts).
static void scale(double *p, long n, double lo, double inv) {
  const v128_t vlo = wasm_f64x2_splat(lo), vinv = wasm_f64x2_splat(inv);
  long i = 0;
  for (; i + 2 <= n; i += 2) wasm_v128_store(p + i, wasm_f64x2_mul(wasm_f64x2_sub(wasm_v128_load(p + i), vlo), vinv));
  for (; i < n; i++) p[i] = (p[i] - lo) * inv;
}

// resizeNormalized (resize.ts): each output row blended from two resized rows while taking the extremes, then scaled.
// The extremes per lane, `if (v < lo) lo = v` as pmin / pmax, merged at the end (min and max are exact, so the
// order does not matter).
static void resize_normalized(const double *rows, int outH, int outW, const int *y0, const int *y1, const double *fy, double *out) {
  double lo = __builtin_inf(), hi = -__builtin_inf();
  v128_t vlo = wasm_f64x2_splat(lo), vhi = wasm_f64x2_splat(hi);
  for (int y = 0; y < outH; y++) {
    const double *r0 = rows + (long)y0[y] * outW, *r1 = rows + (long)y1[y] * outW;
    double *o = out + (long)y * outW;
    const double f = fy[y];
    const v128_t vf = wasm_f64x2_splat(f);
    int x = 0;
    for (; x + 2 <= outW; x += 2) {
      const v128_t top = wasm_v128_load(r0 + x);
      const v128_t v = wasm_f64x2_add(top, wasm_f64x2_mul(wasm_f64x2_sub(wasm_v128_load(r1 + x), top), vf));
      wasm_v128_store(o + x, v);
      vlo = wasm_f64x2_pmin(vlo, v);
      vhi = wasm_f64x2_pmax(vhi, v);
    }
    for (; x < outW; x++) {
      const double top = r0[x];
      const double v = top + (r1[x] - top) * f;
      o[x] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const double lanes[4] = {wasm_f64x2_extract_lane(vlo, 0), wasm_f64x2_extract_lane(vlo, 1), wasm_f64x2_extract_lane(vhi, 0), wasm_f64x2_extract_lane(vhi, 1)};
  for (int k = 0; k < 2; k++) {
    if (lanes[k] < lo) lo = lanes[k];
    if (lanes[2 + k] > hi) hi = lanes[2 + k];
  }
  scale(out, (long)outH * outW, lo, 1 / (1e-7 + (hi - lo)));
}

// blendNormalized (resize.ts): the extremes at the tap-run ends (yEnds x xEnds), the h resized rows normalized, each
// output row blended from two of them.
static void blend_normalized(double *rows, double *diffs, int h, int outH, int outW, const int *y0, const int *y1, const double *fy,
                             const int *yEnds, int nYEnds, const int *xEnds, int nXEnds, double *out) {
  double lo = __builtin_inf(), hi = -__builtin_inf();
  for (int a = 0; a < nYEnds; a++) {
    const int y = yEnds[a];
    const double *r0 = rows + (long)y0[y] * outW, *r1 = rows + (long)y1[y] * outW;
    const double f = fy[y];
    for (int b = 0; b < nXEnds; b++) {
      const int x = xEnds[b];
      const double top = r0[x];
      const double v = top + (r1[x] - top) * f;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const double inv = 1 / (1e-7 + (hi - lo));
  const int n = h * outW;
  // near-flat maps (the rows' spread over 4 times the map's range): resize first, as resize.ts
  double spread = 0;
  for (int i = 0; i < n; i++) {
    const double dev = __builtin_fabs(rows[i] - lo);
    spread = dev > spread ? dev : spread;
  }
  if (spread * inv > 4) {
    resize_normalized(rows, outH, outW, y0, y1, fy, out);
    return;
  }
  scale(rows, n, lo, inv);
  // diffs[j] = row j+1 - row j; 0 for the last row (whose taps are both j)
  int i = 0;
  for (; i + 2 <= n - outW; i += 2) wasm_v128_store(diffs + i, wasm_f64x2_sub(wasm_v128_load(rows + i + outW), wasm_v128_load(rows + i)));
  for (; i < n - outW; i++) diffs[i] = rows[i + outW] - rows[i];
  for (i = n - outW; i < n; i++) diffs[i] = 0;
  for (int y = 0; y < outH; y++) {
    const double *t = rows + (long)y0[y] * outW, *d = diffs + (long)y0[y] * outW;
    double *o = out + (long)y * outW;
    const double f = fy[y];
    const v128_t vf = wasm_f64x2_splat(f);
    int x = 0;
    for (; x + 2 <= outW; x += 2) wasm_v128_store(o + x, wasm_f64x2_add(wasm_v128_load(t + x), wasm_f64x2_mul(wasm_v128_load(d + x), vf)));
    for (; x < outW; x++) o[x] = t[x] + d[x] * f;
  }
}

// upsampleNormalized (resize.ts): the map resized bilinearly to outH x outW (taps given: y0/y1/fy per output row,
// x0/x1/fx per output column) and min-max scaled, by blend_normalized when blend != 0 (large upscales), else by
// resize_normalized. rows and diffs: h * outW doubles of scratch.
EXPORT(upsample_normalized)
void upsample_normalized(const double *src, int h, int w, int outH, int outW, const int *y0, const int *y1, const double *fy, const int *x0,
                         const int *x1, const double *fx, const int *yEnds, int nYEnds, const int *xEnds, int nXEnds, int blend, double *rows,
                         double *diffs, double *out) {
  resize_rows(src, h, w, outW, x0, x1, fx, rows);
  if (blend) blend_normalized(rows, diffs, h, outH, outW, y0, y1, fy, yEnds, nYEnds, xEnds, nXEnds, out);
  else resize_normalized(rows, outH, outW, y0, y1, fy, out);
}
