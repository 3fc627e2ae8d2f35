// The staleness check of a library's committed WebAssembly kernels (libs/<lib>/src/**/<name>-wasm.gen.ts), run by
// each library's test/wasm-fresh.test.ts: every kernel must come from the current wasm/<name>.c, by its recorded
// source hash always and byte for byte from a rebuild wherever clang is installed (.ci/run installs Debian clang-14
// and lld-14). Run `npm run wasm` when it fails.
import { pathToFileURL } from 'node:url';
import type { Test } from 'tap';
import { repoRoot } from './fixtures-root.js';

interface Kernel {
  name: string;
  source: string;
  generated: string;
  generatedPath: string;
}
const build = (await import(`${repoRoot}/tools/wasm-build.mjs`)) as {
  kernels(lib: string): Kernel[];
  sourceSha256(source: string): string;
  findClang(): { clang: string; version: string } | undefined;
  compileKernel(clang: string, source: string): Uint8Array;
};
interface ModuleApi {
  new (bytes: Uint8Array): object;
  exports(m: object): { name: string }[];
  imports(m: object): unknown[];
}
const Module = (globalThis as unknown as { WebAssembly: { Module: ModuleApi } }).WebAssembly.Module;

export async function checkWasmKernels(t: Test, lib: string, minKernels = 1): Promise<void> {
  const clang = build.findClang();
  const kernels = build.kernels(lib);
  t.ok(kernels.length >= minKernels, `libs/${lib}/wasm holds the kernels`);
  for (const k of kernels) {
    await t.test(k.name, async (t) => {
      const gen = (await import(pathToFileURL(k.generatedPath).href)) as { wasmSourceSha256: string; wasmBytes(): Uint8Array };
      t.equal(gen.wasmSourceSha256, build.sourceSha256(k.source), `${k.generated} records the hash of wasm/${k.name}.c (else: npm run wasm)`);
      if (clang) {
        const fresh = build.compileKernel(clang.clang, k.source);
        t.ok(Buffer.from(fresh).equals(Buffer.from(gen.wasmBytes())), `a rebuild with ${clang.version} gives the committed bytes`);
      } else {
        t.comment('rebuild check skipped: clang not installed (apt-get install clang-14 lld-14)');
      }
      const mod = new Module(gen.wasmBytes());
      t.same(Module.imports(mod), [], 'no imports: runs in any WebAssembly engine with SIMD');
      t.ok(Module.exports(mod).some((e) => e.name === 'memory'), 'exports its memory');
    });
  }
}
