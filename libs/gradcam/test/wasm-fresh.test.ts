// The committed WebAssembly kernel (src/cam/cam-wasm.gen.ts) must come from the current wasm/cam.c (see
// tools/wasm-fresh.ts). Run `npm run wasm` when this fails.
import t from 'tap';
import { checkWasmKernels } from '../../../tools/wasm-fresh.js';

await checkWasmKernels(t, 'gradcam');
