/**
 * The per-job CAM work (Grad-CAM / Grad-CAM++ weights, the weighted sum, ReLU, the upsampled and min-max scaled
 * heatmap) in the WebAssembly SIMD kernel of wasm/cam.c, which gives the same bits as the TypeScript functions of
 * reductions.ts and resize.ts in about a third of the time. The job's four maps come back as views of one new
 * Float64Array (one allocation instead of four: at these sizes V8's typed-array allocations cost as much as the
 * arithmetic). Undefined when this engine has no WebAssembly SIMD; maps.ts then runs the TypeScript functions.
 */
import { align16, growTo, instantiateKernel, perThread, type KernelMemory } from '@genome/model-format';
import { wasmBytes } from './cam-wasm.gen.js';
import type { CamMaps, CamSource } from './maps.js';
import { blends, taps, type Taps } from './resize.js';

interface Exports {
  readonly memory: KernelMemory;
  heapBase(): number;
  gradcam_weights(G: number, C: number, S: number, w: number): void;
  gradcampp_weights(A: number, G: number, C: number, S: number, eps: number, w: number): void;
  weighted_sum(A: number, w: number, C: number, S: number, out: number): void;
  relu_copy(raw: number, n: number, cam: number): void;
  upsample_normalized(
    src: number, h: number, w: number, outH: number, outW: number, y0: number, y1: number, fy: number, x0: number, x1: number, fx: number,
    yEnds: number, nYEnds: number, xEnds: number, nXEnds: number, blend: number, rows: number, diffs: number, out: number,
  ): void;
}

/** The largest memory the kernel grows to; larger jobs run in TypeScript. */
const MAX_BYTES = 2 ** 30;

class CamKernel {
  private buffer!: ArrayBuffer;
  private f32!: Float32Array;
  private f64!: Float64Array;
  private i32!: Int32Array;
  private readonly base: number;
  /** The taps in kernel memory (at its base), while the next job has the same sizes. */
  private tapsY?: Taps;
  private tapsX?: Taps;

  constructor(private readonly ex: Exports) {
    this.base = align16(ex.heapBase());
    this.views();
  }

  private views(): void {
    this.buffer = this.ex.memory.buffer;
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
  }

  /** The maps of one job with C channels of h x w, upsampled to outH x outW; undefined when it would not fit. */
  maps(src: CamSource, C: number, h: number, w: number, outH: number, outW: number): CamMaps | undefined {
    const S = h * w;
    const HW = outH * outW;
    const ty = taps(h, outH, false);
    const tx = taps(w, outW, false);
    // layout (bytes, 16-aligned starts): the taps (kept while the sizes repeat), A and G (float32), then weights |
    // raw | cam | heatmap back to back (float64, so one copy returns them), then rows and diffs
    const oFy = this.base;
    const oFx = oFy + 8 * outH;
    const oY0 = oFx + 8 * outW;
    const oY1 = oY0 + 4 * outH;
    const oX0 = oY1 + 4 * outH;
    const oX1 = oX0 + 4 * outW;
    const oYE = oX1 + 4 * outW;
    const oXE = oYE + 4 * ty.ends.length;
    const hasW = src.kind !== 'raw';
    const oA = align16(oXE + 4 * tx.ends.length);
    const oG = align16(oA + (hasW ? 4 * C * S : 0));
    const oW = align16(oG + (src.kind === 'gradcam' || src.kind === 'gradcam++' ? 4 * C * S : 0));
    const nW = hasW ? C : 0;
    const oRaw = oW + 8 * nW;
    const oCam = oRaw + 8 * S;
    const oHeat = oCam + 8 * S;
    const oRows = align16(oHeat + 8 * HW);
    const oDiffs = oRows + 8 * h * outW;
    const end = oDiffs + 8 * h * outW;
    if (end > MAX_BYTES) return undefined;
    try {
      growTo(this.ex.memory, end);
    } catch {
      return undefined; // the engine would not give the memory
    }
    if (this.buffer !== this.ex.memory.buffer) this.views();
    const { f32, f64, i32, ex } = this;
    if (ty !== this.tapsY || tx !== this.tapsX) {
      f64.set(ty.f, oFy >> 3);
      f64.set(tx.f, oFx >> 3);
      i32.set(ty.i0, oY0 >> 2);
      i32.set(ty.i1, oY1 >> 2);
      i32.set(tx.i0, oX0 >> 2);
      i32.set(tx.i1, oX1 >> 2);
      i32.set(ty.ends, oYE >> 2);
      i32.set(tx.ends, oXE >> 2);
      this.tapsY = ty;
      this.tapsX = tx;
    }
    switch (src.kind) {
      case 'gradcam':
      case 'gradcam++':
        f32.set(src.A, oA >> 2);
        f32.set(src.G, oG >> 2);
        if (src.kind === 'gradcam') ex.gradcam_weights(oG, C, S, oW);
        else ex.gradcampp_weights(oA, oG, C, S, src.eps, oW);
        ex.weighted_sum(oA, oW, C, S, oRaw);
        break;
      case 'weights':
        f32.set(src.A, oA >> 2);
        f64.set(src.weights, oW >> 3);
        ex.weighted_sum(oA, oW, C, S, oRaw);
        break;
      case 'raw':
        f64.set(src.raw, oRaw >> 3);
    }
    ex.relu_copy(oRaw, S, oCam);
    ex.upsample_normalized(oCam, h, w, outH, outW, oY0, oY1, oFy, oX0, oX1, oFx, oYE, ty.ends.length, oXE, tx.ends.length, blends(ty, tx) ? 1 : 0, oRows, oDiffs, oHeat);
    const all = f64.slice(oW >> 3, (oHeat >> 3) + HW);
    return {
      weights: hasW ? all.subarray(0, nW) : undefined,
      raw: all.subarray(nW, nW + S),
      cam: all.subarray(nW + S, nW + 2 * S),
      heatmap: all.subarray(nW + 2 * S),
    };
  }
}

const kernel = perThread(() => new CamKernel(instantiateKernel<Exports>(wasmBytes)));

/** The job's maps from the kernel (one per thread, created on first use); undefined without WebAssembly SIMD. */
export function camMapsWasm(src: CamSource, C: number, h: number, w: number, outH: number, outW: number): CamMaps | undefined {
  return kernel()?.maps(src, C, h, w, outH, outW);
}
