/**
 * Runs the WebAssembly build of the interventional kernel, `wasm/interventional.c` (bytes in
 * `interventional-wasm.gen.ts`, rebuilt by `npm run wasm`): one recursion per (row, tree) that carries the set of
 * background rows sharing its state as a bitset, instead of one recursion per (row, background row, tree) as
 * src/tree/interventional.ts does. Same values as interventionalRange (compute.ts).
 *
 * One instance per thread (module scope; each pool worker has its own). It holds the last model it was given (laid
 * out once) and the last background's per-node bitsets (rows that go left), built from the background routing in
 * the kernel; bitsets are also kept per routing array (WeakMap) so switching back costs one copy. Models and
 * backgrounds the kernel does not cover (more than MAX_BACKGROUND rows, trees deeper than the kernel's limit,
 * layouts over 2 GiB) and engines without WebAssembly SIMD use the TypeScript kernel.
 */
import { applyLink, type Link } from './output-link.js';
import type { PreparedEnsemble } from './prepared.js';
import { wasmBytes as interventionalWasmBytes } from './interventional-wasm.gen.js';
import { align16, growTo, instantiateKernel, MAX_KERNEL_BYTES, perThread, type KernelMemory } from '@genome/model-format';
import { nodeKinds } from './wasm-kernel.js';

interface KernelExports {
  readonly memory: KernelMemory;
  prepareModel(model: number): void;
  buildBits(model: number, dirs: number, cnt: number, word: number): void;
  routeBits(model: number, rows: number, cnt: number, word: number, xT: number, dirs: number): void;
  margins(model: number, xs: number, nRows: number, out: number): void;
  explainRows(model: number, xs: number, nRows: number, phi: number, scale: number): void;
  maxDepthSupported(): number;
  heapBase(): number;
}

/** Largest background the kernel takes (bitsets of 64 words per node). */
export const MAX_BACKGROUND = 4096;

/** Bytes of rows, SHAP values and rescaling factors per kernel call. */
const CHUNK_BYTES = 1 << 20;


/** Ints at the head of the C `Model` struct, before its pointers. */
const HEADER_INTS = 8;
/** Pointers of the C `Model` struct after the node arrays: bgLeft, weights, hist, sets, resP, resN. */
const SCRATCH_POINTERS = 6;

/** Node arrays in the order of the C `Model` struct's pointers. */
function modelArrays(prep: PreparedEnsemble): ArrayBufferView[] {
  const m = prep.model;
  return [m.treeOffsets, m.left, m.right, m.feature, prep.outputBase, m.catStart, m.catLen, m.catBits, nodeKinds(m), m.threshold, prep.values];
}

/** Byte offsets of the per-model part of the module memory. */
interface Layout {
  readonly model: number;
  readonly arrays: number[];
  readonly weights: number;
  readonly hist: number;
  readonly end: number;
}

/** Byte offsets of the per-background part (after the model) and the batch sizes. */
interface BgLayout {
  readonly nBg: number;
  readonly nWords: number;
  /** Rows per call: identity link, logistic / softmax link (they carry nOutputs x nBg factors per row). */
  readonly chunkRows: number;
  readonly linkRows: number;
  readonly bgLeft: number;
  readonly sets: number;
  readonly resP: number;
  readonly resN: number;
  readonly scale: number;
  readonly xs: number;
  readonly phi: number;
  readonly margins: number;
  /** 64 background rows, transposed, and their routing (building bitsets). */
  readonly bgRows: number;
  readonly xT: number;
  readonly dirs: number;
  readonly end: number;
}

function modelLayout(prep: PreparedEnsemble, base: number, arrayBytes: readonly number[]): Layout {
  const model = align16(base);
  let p = align16(model + 4 * (HEADER_INTS + arrayBytes.length + SCRATCH_POINTERS));
  const arrays: number[] = [];
  for (const b of arrayBytes) {
    arrays.push(p);
    p = align16(p + b);
  }
  const levels = prep.maxDepth + 2;
  const weights = p;
  const hist = align16(weights + levels * levels * 8);
  return { model, arrays, weights, hist, end: align16(hist + prep.nFeatures) };
}

function bgLayout(prep: PreparedEnsemble, L: Layout, nBg: number): BgLayout {
  const nNodes = prep.model.treeOffsets[prep.model.nTrees];
  const nF = prep.nFeatures;
  const nO = prep.nOutputs;
  const nWords = 2 * Math.ceil(nBg / 128); // even: the kernel works on 128-bit vectors
  const levels = prep.maxDepth + 2;
  const stride = nF * nO;
  const chunkRows = Math.max(1, Math.min(1024, Math.floor(CHUNK_BYTES / ((nF + stride) * 8))));
  const linkRows = Math.max(1, Math.min(chunkRows, Math.floor(CHUNK_BYTES / (nO * nBg * 8))));
  const bgLeft = L.end;
  const sets = align16(bgLeft + nNodes * nWords * 8);
  const resP = align16(sets + levels * nWords * 8);
  const resN = align16(resP + levels * prep.valueWidth * 8);
  const scale = align16(resN + levels * prep.valueWidth * 8);
  const xs = align16(scale + linkRows * nO * nBg * 8);
  const phi = align16(xs + chunkRows * nF * 8);
  const margins = align16(phi + chunkRows * stride * 8);
  const bgRows = align16(margins + linkRows * nO * 8);
  const xT = align16(bgRows + 64 * nF * 8);
  const dirs = align16(xT + 64 * nF * 8);
  const end = dirs + 64 * nNodes;
  return { nBg, nWords, chunkRows, linkRows, bgLeft, sets, resP, resN, scale, xs, phi, margins, bgRows, xT, dirs, end };
}

/** Bitsets built for one background routing array (and the model it routes). */
interface CachedBits {
  readonly prep: PreparedEnsemble;
  readonly nBg: number;
  readonly bits: Uint8Array;
}

class InterventionalWasm {
  private readonly ex: KernelExports;
  private readonly maxDepth: number;
  private loaded: PreparedEnsemble | undefined;
  private bg: BgLayout | undefined;
  /** Routing array whose bitsets are in memory (for the loaded model). */
  private bgDirs: Uint8Array | undefined;
  private readonly modelLayouts = new WeakMap<PreparedEnsemble, Layout | null>();
  private readonly bitsCache = new WeakMap<Uint8Array, CachedBits>();

  constructor() {
    this.ex = instantiateKernel<KernelExports>(interventionalWasmBytes);
    this.maxDepth = this.ex.maxDepthSupported();
  }

  /** The model's layout, or null when the kernel does not cover it; cached per model. */
  private modelLayout(prep: PreparedEnsemble): Layout | null {
    let L = this.modelLayouts.get(prep);
    if (L === undefined) {
      L = prep.maxDepth <= this.maxDepth ? modelLayout(prep, this.ex.heapBase(), modelArrays(prep).map((a) => a.byteLength)) : null;
      this.modelLayouts.set(prep, L);
    }
    return L;
  }

  supports(prep: PreparedEnsemble, nBg: number): boolean {
    if (!(Number.isInteger(nBg) && nBg >= 1 && nBg <= MAX_BACKGROUND)) return false;
    const L = this.modelLayout(prep);
    return L !== null && bgLayout(prep, L, nBg).end <= MAX_KERNEL_BYTES;
  }

  private header(L: Layout): Int32Array {
    return new Int32Array(this.ex.memory.buffer, L.model, HEADER_INTS + L.arrays.length + SCRATCH_POINTERS);
  }

  /**
   * Lays out `prep` (copied once per model) and buffers for `nBg` background rows; the bitsets in memory are those
   * of `this.bgDirs` when it is set.
   */
  private prepare(prep: PreparedEnsemble, nBg: number): { L: Layout; B: BgLayout } {
    const L = this.modelLayout(prep);
    if (L === null || !this.supports(prep, nBg)) {
      throw new Error('the WebAssembly interventional kernel does not cover this model and background; check interventionalWasmSupports');
    }
    if (this.loaded !== prep) {
      this.loaded = undefined;
      this.bg = undefined;
      this.bgDirs = undefined;
      const arrays = modelArrays(prep);
      growTo(this.ex.memory, L.end);
      const heap = new Uint8Array(this.ex.memory.buffer);
      const header = this.header(L);
      const m = prep.model;
      header.set([m.nTrees, prep.nFeatures, prep.nOutputs, prep.valueWidth, 0, 0, prep.maxDepth, m.treeOffsets[m.nTrees]]);
      L.arrays.forEach((p, i) => {
        header[HEADER_INTS + i] = p;
        const a = arrays[i];
        heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), p);
      });
      header.set([0, L.weights, L.hist, 0, 0, 0], HEADER_INTS + L.arrays.length);
      new Int8Array(this.ex.memory.buffer, L.hist, prep.nFeatures).fill(0);
      this.ex.prepareModel(L.model);
      this.loaded = prep;
    }
    if (this.bg === undefined || this.bg.nBg !== nBg) {
      const B = bgLayout(prep, L, nBg);
      growTo(this.ex.memory, B.end);
      const header = this.header(L);
      header[4] = B.nBg;
      header[5] = B.nWords;
      header.set([B.bgLeft, L.weights, L.hist, B.sets, B.resP, B.resN], HEADER_INTS + L.arrays.length);
      this.bg = B;
      this.bgDirs = undefined;
    }
    return { L, B: this.bg };
  }

  /** Puts the bitsets of routing `bgDirs` in memory: already there, from the cache, or built by the kernel. */
  private loadBackground(prep: PreparedEnsemble, bgDirs: Uint8Array, nBg: number): { L: Layout; B: BgLayout } {
    const { L, B } = this.prepare(prep, nBg);
    if (this.bgDirs === bgDirs) return { L, B };
    const nNodes = prep.model.treeOffsets[prep.model.nTrees];
    const bitBytes = nNodes * B.nWords * 8;
    const hit = this.bitsCache.get(bgDirs);
    if (hit !== undefined && hit.prep === prep && hit.nBg === nBg) {
      new Uint8Array(this.ex.memory.buffer, B.bgLeft, bitBytes).set(hit.bits);
    } else {
      if (bgDirs.length < nBg * nNodes) {
        throw new Error(`background routing holds ${bgDirs.length} bytes, fewer than ${nBg} rows x ${nNodes} nodes`);
      }
      for (let w = 0; 64 * w < nBg; w++) {
        const cnt = Math.min(64, nBg - 64 * w);
        new Uint8Array(this.ex.memory.buffer, B.dirs, cnt * nNodes).set(bgDirs.subarray(64 * w * nNodes, (64 * w + cnt) * nNodes));
        this.ex.buildBits(L.model, B.dirs, cnt, w);
      }
      this.bitsCache.set(bgDirs, { prep, nBg, bits: new Uint8Array(this.ex.memory.buffer, B.bgLeft, bitBytes).slice() });
    }
    this.bgDirs = bgDirs;
    return { L, B };
  }

  /** backgroundDirections (compute.ts) computed by the kernel, which keeps the bitsets it builds on the way. */
  route(prep: PreparedEnsemble, bg: Float64Array, nBg: number): Uint8Array {
    const { L, B } = this.prepare(prep, nBg);
    const nF = prep.nFeatures;
    const nNodes = prep.model.treeOffsets[prep.model.nTrees];
    if (bg.length < nBg * nF) throw new Error(`background holds ${bg.length} values, fewer than ${nBg} rows x ${nF} features`);
    const dirs = new Uint8Array(nBg * nNodes);
    this.bgDirs = undefined;
    for (let w = 0; 64 * w < nBg; w++) {
      const cnt = Math.min(64, nBg - 64 * w);
      const buf = this.ex.memory.buffer;
      new Float64Array(buf, B.bgRows, cnt * nF).set(bg.subarray(64 * w * nF, (64 * w + cnt) * nF));
      this.ex.routeBits(L.model, B.bgRows, cnt, w, B.xT, B.dirs);
      dirs.set(new Uint8Array(buf, B.dirs, cnt * nNodes), 64 * w * nNodes);
    }
    const bitBytes = nNodes * B.nWords * 8;
    this.bitsCache.set(dirs, { prep, nBg, bits: new Uint8Array(this.ex.memory.buffer, B.bgLeft, bitBytes).slice() });
    this.bgDirs = dirs;
    return dirs;
  }

  /** interventionalRange (compute.ts) on the kernel. */
  explain(
    prep: PreparedEnsemble,
    rows: Float64Array,
    rowStart: number,
    rowEnd: number,
    bgDirs: Uint8Array,
    bgMargins: Float64Array,
    nBg: number,
    link: Link,
    out: Float64Array,
  ): void {
    if (rowEnd <= rowStart) return;
    const { L, B } = this.loadBackground(prep, bgDirs, nBg);
    const nF = prep.nFeatures;
    const nO = prep.nOutputs;
    const stride = nF * nO;
    const inv = 1 / nBg;
    const buf = this.ex.memory.buffer;
    const identity = link === 'identity';
    // Per background row and output, link(f(z)); per explained row x, the factors (link(f(x)) - link(f(z))) / (f(x) - f(z)).
    const pz = identity ? undefined : new Float64Array(nBg * nO);
    const px = new Float64Array(nO);
    if (pz !== undefined) for (let b = 0; b < nBg; b++) applyLink(link, bgMargins, b * nO, nO, pz.subarray(b * nO, (b + 1) * nO));
    const per = identity ? B.chunkRows : B.linkRows;
    const base = prep.model.baseScore;
    for (let r0 = rowStart; r0 < rowEnd; r0 += per) {
      const nb = Math.min(per, rowEnd - r0);
      new Float64Array(buf, B.xs, nb * nF).set(rows.subarray(r0 * nF, (r0 + nb) * nF));
      if (pz !== undefined) {
        const mx = new Float64Array(buf, B.margins, nb * nO);
        for (let r = 0; r < nb; r++) for (let o = 0; o < nO; o++) mx[r * nO + o] = base[o] ?? 0;
        this.ex.margins(L.model, B.xs, nb, B.margins);
        const scale = new Float64Array(buf, B.scale, nb * nO * nBg);
        for (let r = 0; r < nb; r++) {
          applyLink(link, mx, r * nO, nO, px);
          for (let o = 0; o < nO; o++) {
            const so = (r * nO + o) * nBg;
            const m = mx[r * nO + o];
            for (let b = 0; b < nBg; b++) {
              const dm = m - bgMargins[b * nO + o];
              scale[so + b] = dm === 0 ? 1 : (px[o] - pz[b * nO + o]) / dm;
            }
          }
        }
      }
      const phi = new Float64Array(buf, B.phi, nb * stride);
      phi.fill(0);
      this.ex.explainRows(L.model, B.xs, nb, B.phi, identity ? 0 : B.scale);
      const po = (r0 - rowStart) * stride;
      for (let q = 0; q < nb * stride; q++) out[po + q] = (out[po + q] + phi[q]) * inv;
    }
  }
}

/** This thread's kernel instance, or null when the engine cannot run it (no WebAssembly SIMD). */
const kernel = perThread(() => new InterventionalWasm());

function requireKernel(): InterventionalWasm {
  const k = kernel();
  if (!k) throw new Error('WebAssembly SIMD is not available in this engine; use the recursion algorithm');
  return k;
}

/** Whether the WebAssembly kernel runs `prep` with `nBg` background rows here (else the TypeScript kernel does). */
export function interventionalWasmSupports(prep: PreparedEnsemble, nBg: number): boolean {
  return kernel()?.supports(prep, nBg) ?? false;
}

/**
 * interventionalRange (compute.ts) on the WebAssembly kernel: SHAP values of rows [rowStart, rowEnd) against the
 * background (routing `bgDirs`, `nBg * nNodes` bytes; margins `bgMargins`), averaged over it, written to `out` (row
 * rowStart at offset 0; like interventionalRange, `out` should hold zeros). Check {@link interventionalWasmSupports} first.
 */
export function interventionalWasmRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  bgDirs: Uint8Array,
  bgMargins: Float64Array,
  nBg: number,
  link: Link,
  out: Float64Array,
): void {
  requireKernel().explain(prep, rows, rowStart, rowEnd, bgDirs, bgMargins, nBg, link, out);
}

/**
 * backgroundDirections (compute.ts) computed by the WebAssembly kernel: the same routing bytes (`nBg * nNodes`,
 * `dirs[b * nNodes + n] = 1` when background row b goes left at n), faster, and the kernel keeps the per-node
 * bitsets it builds on the way for {@link interventionalWasmRange} calls with the returned array. Check
 * {@link interventionalWasmSupports} first.
 */
export function backgroundDirectionsWasm(prep: PreparedEnsemble, bg: Float64Array, nBg: number): Uint8Array {
  return requireKernel().route(prep, bg, nBg);
}
