/**
 * ONNX graph surgery on the raw protobuf: expose intermediate tensors as graph outputs, and cut out the
 * "head" sub-model that starts at the CAM target tensor (used by Ablation-CAM on onnxruntime).
 */
import type { OnnxModel } from './model.js';
import { WireWriter } from './wire.js';

function valueInfo(name: string, elemType: number): Uint8Array {
  const w = new WireWriter().string(1, name);
  if (elemType > 0) {
    const tensorType = new WireWriter().varint(1, elemType).finish();
    w.bytes(2, new WireWriter().bytes(1, tensorType).finish());
  }
  return w.finish();
}

function rebuild(m: OnnxModel, graph: Uint8Array): Uint8Array {
  const w = new WireWriter();
  for (const f of m.modelFields) w.raw(f.chunk);
  w.bytes(7, graph);
  return w.finish();
}

/** A copy of the model whose graph also outputs the named tensors (elemType per name; 0 = leave untyped). */
export function withExtraOutputs(m: OnnxModel, names: readonly string[], elemTypes: readonly number[]): Uint8Array {
  const g = new WireWriter();
  for (const f of m.graphFields) g.raw(f.chunk);
  const existing = new Set(m.outputs.map((o) => o.name));
  names.forEach((n, i) => {
    if (!existing.has(n)) g.bytes(12, valueInfo(n, elemTypes[i] ?? 1));
  });
  return rebuild(m, g.finish());
}

/**
 * The sub-model made of `nodeIndices` (in graph order) whose graph inputs are `feeds` (tensor name + elem type);
 * initializers are kept, outputs stay the original ones.
 */
export function subModel(m: OnnxModel, nodeIndices: ReadonlySet<number>, feeds: readonly { name: string; elemType: number }[]): Uint8Array {
  const g = new WireWriter();
  const used = new Set<string>();
  m.nodes.forEach((n) => {
    if (nodeIndices.has(n.index)) for (const i of n.inputs) used.add(i);
  });
  let node = 0;
  let wroteInputs = false;
  const writeInputs = (): void => {
    if (wroteInputs) return;
    wroteInputs = true;
    for (const f of feeds) g.bytes(11, valueInfo(f.name, f.elemType));
  };
  for (const f of m.graphFields) {
    if (f.field === 1) {
      if (nodeIndices.has(node)) g.raw(f.chunk);
      node++;
    } else if (f.field === 11) {
      // keep inputs that are initializers (IR < 4 lists them); drop real feeds
      writeInputs();
      if (f.name !== undefined && m.initializers.has(f.name) && used.has(f.name)) g.raw(f.chunk);
    } else if (f.field === 5) {
      if (f.name !== undefined && used.has(f.name)) g.raw(f.chunk);
    } else if (f.field === 13) {
      continue; // value_info may describe tensors that no longer exist; drop it
    } else g.raw(f.chunk);
  }
  writeInputs();
  return rebuild(m, g.finish());
}
