// Each committed WebAssembly kernel (src/tree/<name>-wasm.gen.ts) must come from the current wasm/<name>.c: the
// recorded source hash always, and byte-identical bytes from a rebuild wherever clang is installed (.ci/run installs
// Debian clang-14 and lld-14). Run `npm run wasm` when this fails.
import t from 'tap';
import { repoRoot } from '../../../tools/fixtures-root.js';

interface Kernel {
  name: string;
  source: string;
  generated: string;
}
const build = (await import(`${repoRoot}/tools/wasm-build.mjs`)) as {
  kernels(): Kernel[];
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
const clang = build.findClang();

const kernels = build.kernels();
t.ok(kernels.length >= 1, 'wasm/ holds the kernels');
for (const k of kernels) {
  t.test(k.name, async (t) => {
    const gen = (await import(`../src/tree/${k.generated.replace(/\.ts$/, '.js')}`)) as {
      wasmSourceSha256: string;
      wasmBytes(): Uint8Array;
    };
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
