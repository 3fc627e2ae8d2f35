/**
 * Plumbing shared by the WebAssembly kernels' drivers (quadrature-wasm.ts, interventional-wasm.ts): compiling a
 * module once per thread, one instance per thread, memory growth, alignment and the packed split kind per node.
 */
import type { TreeEnsemble } from '@genome/model-format';

/** The part of the WebAssembly JS API used here (ES2023 + @types/node do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** A kernel's exported memory. */
export interface KernelMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** Largest memory a kernel may use (wasm32 addresses 4 GiB; leave room below it). */
export const MAX_KERNEL_BYTES = 2 ** 31;
const PAGE = 65536;

/** Offsets in kernel memory start on 16 bytes (v128 loads and stores). */
export const align16 = (x: number): number => Math.ceil(x / 16) * 16;

const modules = new Map<() => Uint8Array, object>();

/** Instantiates a kernel (compiled once per thread) and returns its exports; throws without WebAssembly. */
export function instantiateKernel<E>(bytes: () => Uint8Array): E {
  if (!WebAssemblyApi) throw new Error('this engine has no WebAssembly');
  let mod = modules.get(bytes);
  if (!mod) {
    mod = new WebAssemblyApi.Module(bytes());
    modules.set(bytes, mod);
  }
  return new WebAssemblyApi.Instance(mod, {}).exports as E;
}

/** Grows `memory` so that it holds `end` bytes. */
export function growTo(memory: KernelMemory, end: number): void {
  if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
}

/** Per node: decision | missing << 2 | defaultLeft << 4, the `kind` byte of wasm/split.h. */
export function nodeKinds(m: TreeEnsemble): Uint8Array {
  const nNodes = m.treeOffsets[m.nTrees];
  const kind = new Uint8Array(nNodes);
  for (let n = 0; n < nNodes; n++) kind[n] = m.decision[n] | (m.missing[n] << 2) | (m.defaultLeft[n] << 4);
  return kind;
}

/** A lazily created per-thread kernel driver, or null when this engine cannot run it (no WebAssembly SIMD). */
export function perThread<K>(create: () => K): () => K | null {
  let instance: K | null | undefined;
  return () => {
    if (instance === undefined) {
      try {
        instance = create();
      } catch {
        instance = null;
      }
    }
    return instance;
  };
}
