/** The packed split kind per node that the TreeSHAP WebAssembly kernels read (their drivers: quadrature-wasm.ts, interventional-wasm.ts). */
import type { TreeEnsemble } from '@genome/model-format';

/** Per node: decision | missing << 2 | defaultLeft << 4, the `kind` byte of wasm/split.h. */
export function nodeKinds(m: TreeEnsemble): Uint8Array {
  const nNodes = m.treeOffsets[m.nTrees];
  const kind = new Uint8Array(nNodes);
  for (let n = 0; n < nNodes; n++) kind[n] = m.decision[n] | (m.missing[n] << 2) | (m.defaultLeft[n] << 4);
  return kind;
}
