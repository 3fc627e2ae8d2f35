// Each committed WebAssembly kernel (src/tree/<name>-wasm.gen.ts) must come from the current wasm/<name>.c (see
// tools/wasm-fresh.ts). Run `npm run wasm` when this fails.
import t from 'tap';
import { checkWasmKernels } from '../../../tools/wasm-fresh.js';

await checkWasmKernels(t, 'shap', 2);
