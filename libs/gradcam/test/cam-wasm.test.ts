/**
 * The WebAssembly kernel (wasm/cam.c) against the TypeScript functions it replaces on the hot path: Grad-CAM and
 * Grad-CAM++ weights, the weighted sum, ReLU and the upsampled, min-max scaled heatmap give the same bits
 * (fast-check over channel counts, map sizes, heatmap sizes, sparse and signed values; both heatmap paths).
 */
import t from 'tap';
import fc from 'fast-check';
import { camMaps, type CamMaps, type CamSource } from '../src/cam/maps.js';
import { camMapsWasm } from '../src/cam/cam-wasm.js';
import { gradcamPlusPlusWeights, gradcamWeights, relu, weightedSum } from '../src/index.js';
import { blends, taps, upsampleNormalized } from '../src/cam/resize.js';

const job = fc.record({
  C: fc.integer({ min: 1, max: 40 }),
  h: fc.integer({ min: 1, max: 16 }),
  w: fc.integer({ min: 1, max: 16 }),
  outH: fc.integer({ min: 1, max: 160 }),
  outW: fc.integer({ min: 1, max: 160 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  zeros: fc.double({ min: 0, max: 0.9, noNaN: true }),
  scale: fc.constantFrom(1e-6, 1e-3, 1, 50),
});

interface Job {
  C: number;
  h: number;
  w: number;
  seed: number;
  zeros: number;
  scale: number;
}

function inputs({ C, h, w, seed, zeros, scale }: Job): { A: Float32Array; G: Float32Array; weights: Float64Array; raw: Float64Array } {
  let r = seed;
  const rnd = (): number => ((r = (r * 1103515245 + 12345) % 2147483648) / 2147483648);
  const S = h * w;
  return {
    A: Float32Array.from({ length: C * S }, () => (rnd() < zeros ? 0 : 3 * rnd())),
    G: Float32Array.from({ length: C * S }, () => (rnd() < zeros ? 0 : (rnd() - 0.5) * scale)),
    weights: Float64Array.from({ length: C }, () => (rnd() < zeros ? 0 : rnd() - 0.4)),
    raw: Float64Array.from({ length: S }, () => rnd() - 0.3),
  };
}

const same = (a: Float64Array | undefined, b: Float64Array | undefined): boolean => a === b || (!!a && !!b && a.length === b.length && a.every((v, i) => Object.is(v, b[i])));

t.test('the kernel runs here; either way the maps of a job are views of one Float64Array', async (t) => {
  const m = camMapsWasm({ kind: 'raw', raw: Float64Array.of(1, 2, 3, 4) }, 1, 2, 2, 4, 4);
  t.ok(m, 'WebAssembly SIMD is available in Node 20');
  t.equal(m!.heatmap.length, 16);
  t.equal(m!.heatmap.buffer, m!.cam.buffer, 'kernel: one allocation holds the maps of a job');
  const A = new Float32Array(8).fill(1);
  const ts = camMaps({ kind: 'gradcam', A, G: A, eps: 1e-6 }, 2, 2, 2, 3, 3, 'ts');
  t.ok([ts.weights!, ts.raw, ts.cam].every((a) => a.buffer === ts.heatmap.buffer), 'TypeScript: the same');
  t.equal(ts.heatmap.buffer.byteLength, 8 * (2 + 4 + 4 + 9), 'weights | raw | cam | heatmap');
});

t.test('kernel = TypeScript, bit for bit, for every source kind', async (t) => {
  let checked = 0;
  let blended = 0;
  fc.assert(
    fc.property(job, (j) => {
      const { A, G, weights, raw } = inputs(j);
      const sources: CamSource[] = [
        { kind: 'gradcam', A, G, eps: 1e-6 },
        { kind: 'gradcam++', A, G, eps: 1e-7 },
        { kind: 'weights', A, weights },
        { kind: 'raw', raw },
      ];
      if (blends(taps(j.h, j.outH, false), taps(j.w, j.outW, false))) blended++;
      for (const src of sources) {
        const k = camMapsWasm(src, j.C, j.h, j.w, j.outH, j.outW)!;
        const ts = camMaps(src, j.C, j.h, j.w, j.outH, j.outW, 'ts');
        for (const key of ['weights', 'raw', 'cam', 'heatmap'] as const) {
          if (!same(k[key], ts[key])) return false;
        }
        checked++;
      }
      return true;
    }),
    { numRuns: 400, seed: 19 },
  );
  t.ok(checked >= 1600, `${checked} jobs`);
  t.ok(blended > 20, `${blended} runs took the blended heatmap path`);
});

t.test('the TypeScript path is the reductions composed', async (t) => {
  const j = { C: 7, h: 5, w: 6, outH: 23, outW: 17, seed: 5, zeros: 0.2, scale: 1e-3 };
  const { A, G } = inputs(j);
  const S = j.h * j.w;
  const w = gradcamPlusPlusWeights(A, G, j.C, S, 1e-6);
  const raw = weightedSum(A, w, j.C, S);
  const cam = relu(Float64Array.from(raw));
  const m: CamMaps = camMaps({ kind: 'gradcam++', A, G, eps: 1e-6 }, j.C, j.h, j.w, j.outH, j.outW);
  t.ok(same(m.weights, w) && same(m.raw, raw) && same(m.cam, cam) && same(m.heatmap, upsampleNormalized(cam, j.h, j.w, j.outH, j.outW)), 'Grad-CAM++: gradcamPlusPlusWeights, weightedSum, relu, upsampleNormalized');
  t.ok(same(camMaps({ kind: 'gradcam', A, G, eps: 0 }, j.C, j.h, j.w, j.outH, j.outW).weights, gradcamWeights(G, j.C, S)), 'Grad-CAM: gradcamWeights');
});

t.test('edge values: NaN and -0 in the map, an all-zero map, flat and near-flat maps, one pixel', async (t) => {
  for (const raw of [Float64Array.of(Number.NaN, -0, 1, 2), Float64Array.of(0, 0, 0, 0), Float64Array.of(-1, -2, -3, -0), Float64Array.of(2.5, 2.5, 2.5, 2.5), Float64Array.of(2, 2 + 1e-9, 2, 2 + 2e-9)]) {
    for (const [outH, outW] of [[7, 5], [64, 64]] as const) {
      const k = camMapsWasm({ kind: 'raw', raw }, 1, 2, 2, outH, outW)!;
      const ts = camMaps({ kind: 'raw', raw }, 1, 2, 2, outH, outW, 'ts');
      t.ok(same(k.cam, ts.cam) && same(k.heatmap, ts.heatmap) && k.heatmap.every((v) => v >= 0 && v <= 1), `[${[...raw]}] to ${outH}x${outW}`);
    }
  }
  const one = camMapsWasm({ kind: 'raw', raw: Float64Array.of(3) }, 1, 1, 1, 1, 1)!;
  t.same([...one.heatmap], [...camMaps({ kind: 'raw', raw: Float64Array.of(3) }, 1, 1, 1, 1, 1, 'ts').heatmap]);
});

t.test('jobs of growing size grow the kernel memory and keep earlier results', async (t) => {
  const small = camMapsWasm({ kind: 'raw', raw: Float64Array.of(1, 2, 3, 4) }, 1, 2, 2, 8, 8)!;
  const copy = Float64Array.from(small.heatmap);
  const C = 256, h = 16, w = 16;
  const A = new Float32Array(C * h * w).fill(1);
  const G = new Float32Array(C * h * w).fill(0.5);
  const big = camMapsWasm({ kind: 'gradcam', A, G, eps: 1e-6 }, C, h, w, 512, 512)!;
  t.equal(big.heatmap.length, 512 * 512);
  const ts = camMaps({ kind: 'gradcam', A, G, eps: 1e-6 }, C, h, w, 512, 512, 'ts');
  t.ok(same(big.weights, ts.weights) && same(big.heatmap, ts.heatmap), '256 x 16 x 16 to 512 x 512 (about 3 MiB of kernel memory)');
  t.ok(same(small.heatmap, copy), 'results are copies, not views of kernel memory');
});
