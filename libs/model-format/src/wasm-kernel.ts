/**
 * Plumbing shared by the drivers of Genome's WebAssembly kernels (shap's TreeSHAP kernels, gradcam's CAM kernel):
 * compiling a module once per thread, one instance per thread, memory growth and alignment. Runs in browsers too.
 */

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
