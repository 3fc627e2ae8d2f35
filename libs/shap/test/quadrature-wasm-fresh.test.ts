// The committed WebAssembly kernel (src/tree/quadrature-wasm.gen.ts) must come from the current wasm/quadrature.c:
// the recorded source hash always, and byte-identical bytes from a rebuild wherever clang is installed (.ci/run
// installs Debian clang-14 and lld-14). Run `npm run wasm` when this fails.
import t from 'tap';
import { repoRoot } from '../../../tools/fixtures-root.js';
import { quadratureWasmBytes, quadratureWasmSourceSha256 } from '../src/tree/quadrature-wasm.gen.js';

const build = (await import(`${repoRoot}/tools/wasm-build.mjs`)) as {
  sourceSha256(): string;
  findClang(): { clang: string; version: string } | undefined;
  compileKernel(clang: string): Uint8Array;
};

t.equal(quadratureWasmSourceSha256, build.sourceSha256(), 'generated kernel records the hash of wasm/quadrature.c (else: npm run wasm)');

const clang = build.findClang();
t.test('a rebuild with clang gives the committed bytes', { skip: clang ? false : 'clang not installed (apt-get install clang-14 lld-14)' }, (t) => {
  const fresh = build.compileKernel(clang!.clang);
  t.ok(Buffer.from(fresh).equals(Buffer.from(quadratureWasmBytes())), `same bytes from ${clang!.version}`);
  t.end();
});

t.test('the module validates and exports the kernel', (t) => {
  interface ModuleApi {
    new (bytes: Uint8Array): object;
    exports(m: object): { name: string }[];
    imports(m: object): unknown[];
  }
  const Module = (globalThis as unknown as { WebAssembly: { Module: ModuleApi } }).WebAssembly.Module;
  const mod = new Module(quadratureWasmBytes());
  const names = Module.exports(mod).map((e) => e.name).sort();
  t.same(names, ['explainBatch', 'heapBase', 'maxLanes', 'maxQuadrature', 'maxWidth', 'memory', 'prepareModel']);
  t.same(Module.imports(mod), [], 'no imports: runs in any WebAssembly engine with SIMD');
  t.end();
});
