/**
 * Runs the WebAssembly (SIMD) build of the quadrature kernel, `wasm/quadrature.c` (bytes in
 * `quadrature-wasm.gen.ts`, rebuilt by `npm run wasm`). A prepared ensemble is laid out in the module's memory once,
 * the kernel precomputes every edge's coefficients there, then rows are explained in batches of up to
 * {@link QuadratureWasm.lanes} rows that share each tree traversal, one row per SIMD lane.
 *
 * One instance per thread (module scope; each pool worker has its own), holding the last model it was given, so
 * repeated calls on one model copy only the rows. Models the kernel does not cover (no covers, trees deeper than 64,
 * more than 256 values per node, layouts over 2 GiB) and engines without WebAssembly SIMD use the TypeScript kernel.
 */
import type { PreparedEnsemble } from './prepared.js';
import { gaussLegendre01 } from './quadrature.js';
import { wasmBytes as quadratureWasmBytes } from './quadrature-wasm.gen.js';
import { align16, growTo, instantiateKernel, MAX_KERNEL_BYTES, nodeKinds, perThread, type KernelMemory } from './wasm-kernel.js';

interface KernelExports {
  readonly memory: KernelMemory;
  prepareModel(model: number, curZ: number): void;
  explainBatch(model: number, t0: number, t1: number, lanes: number, xT: number, phiT: number, curO: number, sum: number): void;
  interactionsBatch(
    model: number,
    t0: number,
    t1: number,
    lanes: number,
    xT: number,
    phiT: number,
    inter: number,
    on: number,
    off: number,
    curO: number,
    sum: number,
    mark: number,
  ): void;
  maxLanes(): number;
  maxWidth(): number;
  maxQuadrature(): number;
  heapBase(): number;
}

/** Budget for one interaction batch's buffers (nFeatures² x nOutputs values per row). */
const INTERACTION_BYTES = 2 ** 28;

/** Quadrature points for a model: exact for path polynomials of degree <= maxDepth - 1. */
const quadraturePoints = (prep: PreparedEnsemble): number => Math.max(1, Math.ceil(prep.maxDepth / 2));

/** Byte offsets of the model and of one batch's buffers inside the module memory. */
interface Layout {
  readonly model: number;
  readonly xT: number;
  readonly phiT: number;
  readonly curO: number;
  readonly curZ: number;
  readonly sum: number;
  readonly end: number;
}

/** Ints at the head of the C `Model` struct, before its pointers. */
const HEADER_INTS = 5;

/** Node arrays in the order of the C `Model` struct's pointers. */
function modelArrays(prep: PreparedEnsemble): ArrayBufferView[] {
  const m = prep.model;
  const kind = nodeKinds(m);
  const { nodes, weights } = gaussLegendre01(quadraturePoints(prep));
  return [
    m.treeOffsets,
    m.left,
    m.right,
    m.feature,
    prep.outputBase,
    m.catStart,
    m.catLen,
    m.catBits,
    kind,
    m.threshold,
    prep.fractions!,
    prep.values,
    nodes,
    weights,
  ];
}

/**
 * Lays the model out from `base`: header, node arrays, then edge Z and 5 x q coefficients per node, then one batch's
 * rows, SHAP values, masks and the per-level sums S (levels x q x valueWidth x lanes).
 */
function layout(prep: PreparedEnsemble, base: number, lanes: number, arrayBytes: readonly number[]): Layout & { arrays: number[] } {
  const nNodes = prep.model.treeOffsets[prep.model.nTrees];
  const nF = prep.nFeatures;
  const model = align16(base);
  let p = align16(model + 4 * (HEADER_INTS + arrayBytes.length + 2));
  const arrays: number[] = [];
  for (const b of arrayBytes) {
    arrays.push(p);
    p = align16(p + b);
  }
  const edgeZ = p;
  const coef = align16(edgeZ + nNodes * 8);
  const xT = align16(coef + nNodes * 5 * quadraturePoints(prep) * 8);
  const phiT = align16(xT + nF * lanes * 8);
  const curO = align16(phiT + nF * prep.nOutputs * lanes * 8);
  const curZ = align16(curO + nF * lanes * 8);
  const sum = align16(curZ + nF * 8);
  const end = sum + (prep.maxDepth + 2) * quadraturePoints(prep) * prep.valueWidth * lanes * 8;
  return { model, xT, phiT, curO, curZ, sum, end, arrays: [...arrays, edgeZ, coef] };
}

class QuadratureWasm {
  private readonly ex: KernelExports;
  /** Rows per batch (SIMD lanes in all). */
  readonly lanes: number;
  readonly maxQ: number;
  readonly maxWidth: number;
  private loaded: PreparedEnsemble | undefined;
  private layout: Layout | undefined;
  private readonly covered = new WeakMap<PreparedEnsemble, boolean>();

  constructor() {
    this.ex = instantiateKernel<KernelExports>(quadratureWasmBytes);
    this.lanes = this.ex.maxLanes();
    this.maxQ = this.ex.maxQuadrature();
    this.maxWidth = this.ex.maxWidth();
  }

  /** Whether the kernel covers `prep` (covers, depth, values per node, memory); cached per model. */
  supports(prep: PreparedEnsemble): boolean {
    let ok = this.covered.get(prep);
    if (ok === undefined) {
      ok =
        prep.fractions !== undefined &&
        quadraturePoints(prep) <= this.maxQ &&
        prep.valueWidth <= this.maxWidth &&
        layout(prep, this.ex.heapBase(), this.lanes, modelArrays(prep).map((a) => a.byteLength)).end <= MAX_KERNEL_BYTES;
      this.covered.set(prep, ok);
    }
    return ok;
  }

  /** Copies the model into module memory (once per model), precomputes its coefficients, returns the layout. */
  private load(prep: PreparedEnsemble): Layout {
    if (this.loaded === prep && this.layout) return this.layout;
    this.loaded = undefined;
    const arrays = modelArrays(prep);
    const L = layout(prep, this.ex.heapBase(), this.lanes, arrays.map((a) => a.byteLength));
    const mem = this.ex.memory;
    growTo(mem, L.end);
    const heap = new Uint8Array(mem.buffer);
    const header = new Int32Array(mem.buffer, L.model, HEADER_INTS + L.arrays.length);
    header.set([prep.model.nTrees, prep.nFeatures, prep.nOutputs, quadraturePoints(prep), prep.valueWidth]);
    L.arrays.forEach((p, i) => {
      header[HEADER_INTS + i] = p;
      const a = arrays[i];
      if (a) heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), p);
    });
    new Float64Array(mem.buffer, L.curZ, prep.nFeatures).fill(1);
    this.ex.prepareModel(L.model, L.curZ);
    this.loaded = prep;
    this.layout = L;
    return L;
  }

  /**
   * Fills the batch buffers (rows transposed, lane masks, zeroed SHAP values) for rows [r0, r0 + nb) with R lanes
   * and returns the views the caller reads results from.
   */
  private stage(L: Layout, prep: PreparedEnsemble, rows: Float64Array, r0: number, nb: number, R: number): Float64Array {
    const nF = prep.nFeatures;
    const buf = this.ex.memory.buffer;
    const xT = new Float64Array(buf, L.xT, nF * R);
    const curO = new Int32Array(buf, L.curO, 2 * nF * R); // 64-bit lane masks
    for (let r = 0; r < R; r++) {
      const real = r < nb;
      const xo = (r0 + r) * nF;
      const mask = real ? -1 : 0; // a padding lane (odd row count) has all-zero masks and charges nothing
      for (let f = 0; f < nF; f++) {
        xT[f * R + r] = real ? rows[xo + f] : 0;
        curO[2 * (f * R + r)] = mask;
        curO[2 * (f * R + r) + 1] = mask;
      }
    }
    const phiT = new Float64Array(buf, L.phiT, nF * prep.nOutputs * R);
    phiT.fill(0);
    return phiT;
  }

  /** Adds the path-dependent SHAP values of rows [rowStart, rowEnd) into `out` (row rowStart at offset 0). */
  explain(prep: PreparedEnsemble, rows: Float64Array, rowStart: number, rowEnd: number, out: Float64Array): void {
    const L = this.load(prep);
    const stride = prep.nFeatures * prep.nOutputs;
    for (let r0 = rowStart; r0 < rowEnd; r0 += this.lanes) {
      const nb = Math.min(this.lanes, rowEnd - r0);
      const R = nb + (nb & 1); // lanes come in pairs (f64x2)
      const phiT = this.stage(L, prep, rows, r0, nb, R);
      this.ex.explainBatch(L.model, 0, prep.model.nTrees, R, L.xT, L.phiT, L.curO, L.sum);
      for (let r = 0; r < nb; r++) {
        const po = (r0 - rowStart + r) * stride;
        for (let j = 0; j < stride; j++) out[po + j] += phiT[j * R + r];
      }
    }
  }

  /** Lanes per interaction batch: its buffers hold nFeatures² x nOutputs values per lane; 0 when even 2 do not fit. */
  interactionLanes(prep: PreparedEnsemble): number {
    const perLane = prep.nFeatures * prep.nFeatures * prep.nOutputs * 8;
    const fit = Math.floor(INTERACTION_BYTES / perLane);
    return Math.min(this.lanes, fit - (fit & 1));
  }

  /** Path-dependent SHAP interaction values of rows [rowStart, rowEnd) into `out` ([row][j][i][output]). */
  interactions(prep: PreparedEnsemble, rows: Float64Array, rowStart: number, rowEnd: number, out: Float64Array): void {
    const L = this.load(prep);
    const nF = prep.nFeatures;
    const nO = prep.nOutputs;
    const stride = nF * nO;
    const lanes = this.interactionLanes(prep);
    // Interaction buffers after the path layout: inter (nF x stride x lanes), on and off (stride x lanes), mark (nF).
    const inter = align16(L.end);
    const on = align16(inter + nF * stride * lanes * 8);
    const off = align16(on + stride * lanes * 8);
    const mark = align16(off + stride * lanes * 8);
    const end = mark + nF * 4;
    const mem = this.ex.memory;
    growTo(mem, end);
    new Int32Array(mem.buffer, mark, nF).fill(-1);
    for (let r0 = rowStart; r0 < rowEnd; r0 += lanes) {
      const nb = Math.min(lanes, rowEnd - r0);
      const R = nb + (nb & 1);
      const phiT = this.stage(L, prep, rows, r0, nb, R);
      const interT = new Float64Array(mem.buffer, inter, nF * stride * R);
      interT.fill(0);
      this.ex.interactionsBatch(L.model, 0, prep.model.nTrees, R, L.xT, L.phiT, inter, on, off, L.curO, L.sum, mark);
      for (let r = 0; r < nb; r++) {
        const ro = (r0 - rowStart + r) * nF * stride;
        for (let j = 0; j < nF; j++) {
          for (let i = 0; i < stride; i++) out[ro + j * stride + i] += interT[(j * stride + i) * R + r];
        }
        // diagonal: the SHAP value minus the feature's interactions (phiT holds exactly that)
        for (let i = 0; i < nF; i++) {
          for (let o = 0; o < nO; o++) out[ro + i * stride + i * nO + o] = phiT[(i * nO + o) * R + r];
        }
      }
    }
  }
}

/** This thread's kernel instance, or null when the engine cannot run it (no WebAssembly SIMD). */
const kernel = perThread(() => new QuadratureWasm());

function requireKernel(): QuadratureWasm {
  const k = kernel();
  if (!k) throw new Error('WebAssembly SIMD is not available in this engine; use the quadrature-js or classic algorithm');
  return k;
}

/** Whether the WebAssembly kernel runs `prep` here (else the TypeScript quadrature kernel does). */
export function quadratureWasmSupports(prep: PreparedEnsemble): boolean {
  return kernel()?.supports(prep) ?? false;
}

/** Adds path-dependent SHAP values of rows [rowStart, rowEnd) into `out`; check {@link quadratureWasmSupports} first. */
export function quadratureWasmRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
): void {
  requireKernel().explain(prep, rows, rowStart, rowEnd, out);
}

/** Whether the WebAssembly kernel computes interaction values for `prep` here (else the classic recursion does). */
export function quadratureWasmInteractionsSupports(prep: PreparedEnsemble): boolean {
  const k = kernel();
  return k !== null && k.supports(prep) && k.interactionLanes(prep) >= 2;
}

/**
 * Adds path-dependent SHAP interaction values of rows [rowStart, rowEnd) into `out` (`[row][j][i][output]`, zeroed by
 * the caller); check {@link quadratureWasmInteractionsSupports} first.
 */
export function quadratureWasmInteractionsRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
): void {
  requireKernel().interactions(prep, rows, rowStart, rowEnd, out);
}
