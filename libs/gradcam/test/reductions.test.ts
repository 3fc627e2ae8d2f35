/** Properties of the typed-array CAM reductions (fast-check). */
import t from 'tap';
import fc from 'fast-check';
import { firstComponentProjection, gradcamPlusPlusWeights, gradcamWeights, minMaxNormalize, resizeBilinear, weightedSum, xgradcamWeights } from '../src/index.js';
import { upsampleNormalized } from '../src/cam/resize.js';

const dims = fc.record({ C: fc.integer({ min: 1, max: 70 }), S: fc.integer({ min: 2, max: 60 }) });

t.test('Eigen-CAM recovers a rank-1 spatial pattern, ignores per-channel offsets, sign follows the activations', async (t) => {
  fc.assert(
    fc.property(dims, fc.integer({ min: 1, max: 1e6 }), ({ C, S }, seed) => {
      let r = seed;
      const rnd = (): number => ((r = (r * 1103515245 + 12345) % 2147483648) / 2147483648);
      const u = Float64Array.from({ length: S }, () => rnd() - 0.5);
      const v = Float64Array.from({ length: C }, () => rnd() + 0.1); // positive loadings
      const off = Float64Array.from({ length: C }, () => 3 * rnd());
      const A = new Float64Array(C * S);
      for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) A[c * S + s] = u[s]! * v[c]! + off[c]!;
      const p = firstComponentProjection(A, C, S);
      const um = u.reduce((a, b) => a + b, 0) / S;
      let dot = 0, nu = 0, np = 0;
      for (let s = 0; s < S; s++) {
        dot += (u[s]! - um) * p[s]!;
        nu += (u[s]! - um) ** 2;
        np += p[s]! ** 2;
      }
      if (nu < 1e-9) return true;
      const corr = dot / Math.sqrt(nu * np);
      return corr > 1 - 1e-6; // same pattern, positive sign (loadings are positive)
    }),
    { numRuns: 150, seed: 3 },
  );
  t.pass('rank-1 pattern recovered');
});

t.test('Grad-CAM++ with a spatially constant gradient has the closed form S g^3 / (2 g^2 + sum(A) g^3 + eps)', async (t) => {
  fc.assert(
    fc.property(dims, fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 70, maxLength: 70 }), ({ C, S }, gs) => {
      const A = Float64Array.from({ length: C * S }, (_, i) => Math.abs(Math.sin(i)));
      const G = new Float64Array(C * S);
      for (let c = 0; c < C; c++) G.fill(gs[c]!, c * S, (c + 1) * S);
      const w = gradcamPlusPlusWeights(A, G, C, S, 1e-6);
      for (let c = 0; c < C; c++) {
        let sumA = 0;
        for (let s = 0; s < S; s++) sumA += A[c * S + s]!;
        const g = gs[c]!;
        const expected = g > 0 ? (S * g ** 3) / (2 * g * g + sumA * g ** 3 + 1e-6) : 0;
        if (Math.abs(w[c]! - expected) > 1e-9 * Math.max(1, Math.abs(expected))) return false;
      }
      return true;
    }),
    { numRuns: 150, seed: 5 },
  );
  t.pass('closed form holds');
});

t.test('Grad-CAM / XGrad-CAM weights and the weighted sum', async (t) => {
  const C = 3, S = 4;
  const A = Float64Array.from([1, 2, 3, 4, 0, 0, 0, 0, 2, 2, 2, 2]);
  const G = Float64Array.from([1, 1, 1, 1, 5, 5, 5, 5, -1, 1, -1, 1]);
  t.same(Array.from(gradcamWeights(G, C, S)), [1, 5, 0]);
  const xw = xgradcamWeights(A, G, C, S);
  t.ok(Math.abs(xw[0]! - 10 / (10 + 1e-7)) < 1e-12 && xw[1] === 0 && Math.abs(xw[2]!) < 1e-12, 'sum(G A) / (sum(A) + 1e-7)');
  t.same(Array.from(weightedSum(A, [1, 5, 0], C, S)), [1, 2, 3, 4]);
  t.same(Array.from(minMaxNormalize(Float64Array.from([2, 4, 6]))).map((v) => +v.toFixed(6)), [0, 0.5, 1]);
});

t.test('topEigen (Jacobi for n <= 32, power iteration above) returns the largest eigenpair', async (t) => {
  const { topEigen } = await import('../src/cam/eigen.js');
  for (const n of [5, 32, 33, 60]) {
    const X = Float64Array.from({ length: n * (n + 3) }, (_, i) => Math.sin(i * 0.7) + Math.cos(i * 0.13));
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n + 3; k++) K[i * n + j]! += X[i * (n + 3) + k]! * X[j * (n + 3) + k]!;
    const { value, vector } = topEigen(K, n);
    let res = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += K[i * n + j]! * vector[j]!;
      res = Math.max(res, Math.abs(s - value * vector[i]!));
    }
    t.ok(res < 1e-8 * value, `n=${n}: K v = lambda v (residual ${(res / value).toExponential(1)})`);
    // no unit vector has a larger Rayleigh quotient (probe the basis vectors and random directions)
    let maxQ = 0;
    for (let p = 0; p < 50; p++) {
      const r = Float64Array.from({ length: n }, (_, i) => Math.sin((i + 1) * (p + 1) * 1.3));
      const nr = Math.hypot(...r);
      let q = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q += (r[i]! * K[i * n + j]! * r[j]!) / (nr * nr);
      maxQ = Math.max(maxQ, q);
    }
    t.ok(maxQ <= value * (1 + 1e-9), `n=${n}: largest`);
  }
});

t.test('separable bilinear resize = the four-tap formula; fused upsample + min-max = minMaxNormalize(resizeBilinear)', async (t) => {
  // the direct form resizeBilinear had before it became separable (same arithmetic, so equal bit for bit)
  const direct = (src: Float64Array, h: number, w: number, outH: number, outW: number, ac: boolean): Float64Array => {
    const out = new Float64Array(outH * outW);
    const sy = ac ? (outH > 1 ? (h - 1) / (outH - 1) : 0) : h / outH;
    const sx = ac ? (outW > 1 ? (w - 1) / (outW - 1) : 0) : w / outW;
    for (let y = 0; y < outH; y++) {
      let py = ac ? y * sy : (y + 0.5) * sy - 0.5;
      if (py < 0) py = 0;
      const j0 = Math.min(Math.floor(py), h - 1), j1 = Math.min(j0 + 1, h - 1), fy = py - j0;
      for (let x = 0; x < outW; x++) {
        let px = ac ? x * sx : (x + 0.5) * sx - 0.5;
        if (px < 0) px = 0;
        const i0 = Math.min(Math.floor(px), w - 1), i1 = Math.min(i0 + 1, w - 1), fx = px - i0;
        const top = src[j0 * w + i0]! + (src[j0 * w + i1]! - src[j0 * w + i0]!) * fx;
        const bot = src[j1 * w + i0]! + (src[j1 * w + i1]! - src[j1 * w + i0]!) * fx;
        out[y * outW + x] = top + (bot - top) * fy;
      }
    }
    return out;
  };
  const sizes = fc.record({ h: fc.integer({ min: 1, max: 12 }), w: fc.integer({ min: 1, max: 12 }), outH: fc.integer({ min: 1, max: 70 }), outW: fc.integer({ min: 1, max: 70 }), ac: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }) });
  fc.assert(
    fc.property(sizes, ({ h, w, outH, outW, ac, seed }) => {
      const src = Float64Array.from({ length: h * w }, (_, i) => Math.sin(seed + i * 1.37) * 3);
      const a = resizeBilinear(src, h, w, outH, outW, ac);
      const b = direct(src, h, w, outH, outW, ac);
      if (!a.every((v, i) => v === b[i])) return false;
      if (ac) return true;
      const fused = upsampleNormalized(src, h, w, outH, outW);
      const ref = minMaxNormalize(direct(src, h, w, outH, outW, false));
      return fused.every((v, i) => Math.abs(v - ref[i]!) <= 1e-14);
    }),
    { numRuns: 300 },
  );
  t.pass('300 random sizes');
  // large upscales (heatmaps at the input size) take the one-pass blend with extremes from the tap-run ends
  const large = fc.record({ h: fc.integer({ min: 1, max: 8 }), w: fc.integer({ min: 1, max: 8 }), outH: fc.integer({ min: 64, max: 160 }), outW: fc.integer({ min: 64, max: 160 }), seed: fc.integer({ min: 1, max: 1e6 }) });
  fc.assert(
    fc.property(large, ({ h, w, outH, outW, seed }) => {
      const src = Float64Array.from({ length: h * w }, (_, i) => Math.sin(seed + i * 1.37) * 3);
      const ref = minMaxNormalize(direct(src, h, w, outH, outW, false));
      return upsampleNormalized(src, h, w, outH, outW).every((v, i) => Math.abs(v - ref[i]!) <= 1e-14);
    }),
    { numRuns: 100 },
  );
  t.pass('100 large upscales');
  // fast-check found it: two rows resized to one (all 2.308) on a size that takes the blend. Blending normalized rows
  // rounds at the rows' spread over the map's range (here 1e7 times it): scaled to 0 exactly, not -2.3e-9
  const flat = upsampleNormalized(Float64Array.of(Math.sin(1) * 3, Math.sin(2.37) * 3), 2, 1, 1, 17);
  t.same(Array.from(flat), new Array(17).fill(0), 'a flat map scales to zeros');
});
