/**
 * Runs the WebAssembly (SIMD) build of the quadrature kernel, `wasm/quadrature.c` (bytes in
 * `quadrature-wasm.gen.ts`, rebuilt by `npm run wasm`). A prepared ensemble is laid out in the module's memory once,
 * the kernel precomputes every edge's coefficients there, then rows are explained in batches of up to
 * {@link QuadratureWasm.lanes} rows that share each tree traversal, one row per SIMD lane.
 *
 * One instance per prepared model and thread (the compiled code is shared; each pool worker has its own instances),
 * made when the model is prepared, so calls on any number of models copy only the rows. Models the kernel does not cover (no covers, trees deeper than 64,
 * more than 256 values per node, layouts over 2 GiB) and engines without WebAssembly SIMD use the TypeScript kernel.
 */
import type { PreparedEnsemble } from './prepared.js';
import { gaussLegendre01 } from './quadrature.js';
import { wasmBytes as quadratureWasmBytes } from './quadrature-wasm.gen.js';
import { align16, growTo, instantiateKernel, MAX_KERNEL_BYTES, perThread, type KernelMemory } from '@genome/model-format';
import { nodeKinds } from './wasm-kernel.js';

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

/** What every instance of the module shares: its limits and where its heap starts. */
interface ModuleLimits {
  /** Rows per batch (SIMD lanes in all). */
  readonly lanes: number;
  readonly maxQ: number;
  readonly maxWidth: number;
  readonly heapBase: number;
}

/**
 * One instance of the module holding one model: the model is laid out and its coefficients computed when the
 * instance is made (prepareQuadratureKernel, at model load), so calls copy only rows. The compiled code is shared by
 * every instance of the thread; the instance's memory lives as long as the prepared model does.
 */
class QuadratureKernel {
  private readonly ex: KernelExports;
  readonly lanes: number;
  private readonly L: Layout;

  constructor(private readonly prep: PreparedEnsemble) {
    this.ex = instantiateKernel<KernelExports>(quadratureWasmBytes);
    this.lanes = this.ex.maxLanes();
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
    this.L = L;
  }

  /**
   * Fills the batch buffers (rows transposed, lane masks, zeroed SHAP values) for rows [r0, r0 + nb) with R lanes
   * and returns the view the caller reads SHAP values from.
   */
  private stage(rows: Float64Array, r0: number, nb: number, R: number): Float64Array {
    const { L, prep } = this;
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
  explain(rows: Float64Array, rowStart: number, rowEnd: number, out: Float64Array): void {
    const { L, prep } = this;
    const stride = prep.nFeatures * prep.nOutputs;
    for (let r0 = rowStart; r0 < rowEnd; r0 += this.lanes) {
      const nb = Math.min(this.lanes, rowEnd - r0);
      const R = nb + (nb & 1); // lanes come in pairs (f64x2)
      const phiT = this.stage(rows, r0, nb, R);
      this.ex.explainBatch(L.model, 0, prep.model.nTrees, R, L.xT, L.phiT, L.curO, L.sum);
      for (let r = 0; r < nb; r++) {
        const po = (r0 - rowStart + r) * stride;
        for (let j = 0; j < stride; j++) out[po + j] += phiT[j * R + r];
      }
    }
  }

  /** Path-dependent SHAP interaction values of rows [rowStart, rowEnd) into `out` ([row][j][i][output]). */
  interactions(rows: Float64Array, rowStart: number, rowEnd: number, out: Float64Array): void {
    const { L, prep } = this;
    const nF = prep.nFeatures;
    const nO = prep.nOutputs;
    const stride = nF * nO;
    const lanes = interactionLanes(prep, this.lanes);
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
      const phiT = this.stage(rows, r0, nb, R);
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

/** Lanes per interaction batch: its buffers hold nFeatures² x nOutputs values per lane; 0 when even 2 do not fit. */
function interactionLanes(prep: PreparedEnsemble, lanes: number): number {
  const perLane = prep.nFeatures * prep.nFeatures * prep.nOutputs * 8;
  const fit = Math.floor(INTERACTION_BYTES / perLane);
  return Math.min(lanes, fit - (fit & 1));
}

/** The module's limits on this thread (from one instance), or null when the engine cannot run it (no WebAssembly SIMD). */
const limits = perThread((): ModuleLimits => {
  const ex = instantiateKernel<KernelExports>(quadratureWasmBytes);
  return { lanes: ex.maxLanes(), maxQ: ex.maxQuadrature(), maxWidth: ex.maxWidth(), heapBase: ex.heapBase() };
});

/** Each prepared model's kernel on this thread; null when the kernel does not cover the model. */
const kernels = new WeakMap<PreparedEnsemble, QuadratureKernel | null>();

/**
 * The kernel holding `prep` on this thread, made (model laid out, coefficients computed) on first use; null when the
 * engine has no WebAssembly SIMD or the kernel does not cover the model (no covers, depth, values per node, memory).
 */
function prepareQuadratureKernel(prep: PreparedEnsemble): QuadratureKernel | null {
  let k = kernels.get(prep);
  if (k === undefined) {
    const lim = limits();
    const covered =
      lim !== null &&
      prep.fractions !== undefined &&
      quadraturePoints(prep) <= lim.maxQ &&
      prep.valueWidth <= lim.maxWidth &&
      layout(prep, lim.heapBase, lim.lanes, modelArrays(prep).map((a) => a.byteLength)).end <= MAX_KERNEL_BYTES;
    k = covered ? new QuadratureKernel(prep) : null;
    kernels.set(prep, k);
  }
  return k;
}

function requireKernel(prep: PreparedEnsemble): QuadratureKernel {
  const k = prepareQuadratureKernel(prep);
  if (!k) throw new Error('the WebAssembly quadrature kernel does not run this model here; use the quadrature-js or classic algorithm');
  return k;
}

/** Whether the WebAssembly kernel runs `prep` here (else the TypeScript quadrature kernel does). */
export function quadratureWasmSupports(prep: PreparedEnsemble): boolean {
  return prepareQuadratureKernel(prep) !== null;
}

/** Adds path-dependent SHAP values of rows [rowStart, rowEnd) into `out`; check {@link quadratureWasmSupports} first. */
export function quadratureWasmRange(
  prep: PreparedEnsemble,
  rows: Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
): void {
  requireKernel(prep).explain(rows, rowStart, rowEnd, out);
}

/** Rows per interaction batch of the WebAssembly kernel for `prep` (0 when it does not compute them). */
function quadratureWasmInteractionLanes(prep: PreparedEnsemble): number {
  const k = prepareQuadratureKernel(prep);
  return k === null ? 0 : interactionLanes(prep, k.lanes);
}

/** Whether the WebAssembly kernel computes interaction values for `prep` here (else the classic recursion does). */
export function quadratureWasmInteractionsSupports(prep: PreparedEnsemble): boolean {
  return quadratureWasmInteractionLanes(prep) >= 2;
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
  requireKernel(prep).interactions(rows, rowStart, rowEnd, out);
}
