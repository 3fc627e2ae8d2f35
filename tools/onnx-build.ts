/** Builds small ONNX models byte by byte for tests of any package (real protobuf, run by onnxruntime). */
import { ProtoWriter } from '@genome/model-format';

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: { name: string; ints?: number[]; i?: number; f?: number }[];
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  data: Float32Array;
}

function initializer(t: InitializerSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, 1).string(8, t.name);
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).finish();
}

function valueInfo(name: string, dims: (number | string)[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) shape.bytes(1, typeof d === 'number' ? new ProtoWriter().varint(1, d).finish() : new ProtoWriter().string(2, d).finish());
  const tensor = new ProtoWriter().varint(1, 1).bytes(2, shape.finish()).finish();
  return new ProtoWriter().string(1, name).bytes(2, new ProtoWriter().bytes(1, tensor).finish()).finish();
}

export function buildModel(nodes: NodeSpec[], input: [string, (number | string)[]], output: [string, (number | string)[]], initializers: InitializerSpec[] = []): Uint8Array {
  const g = new ProtoWriter();
  for (const n of nodes) {
    const w = new ProtoWriter();
    for (const i of n.inputs) w.string(1, i);
    for (const o of n.outputs) w.string(2, o);
    w.string(3, n.outputs[0]!).string(4, n.op);
    for (const a of n.attrs ?? []) {
      const aw = new ProtoWriter().string(1, a.name);
      if (a.f !== undefined) {
        const f = new Uint8Array(5);
        f[0] = (2 << 3) | 5; // field 2 (f), fixed32
        new DataView(f.buffer).setFloat32(1, a.f, true);
        aw.raw(f).varint(20, 1);
      } else if (a.ints) {
        for (const v of a.ints) aw.varint(8, v);
        aw.varint(20, 7);
      } else {
        aw.varint(3, a.i ?? 0).varint(20, 2);
      }
      w.bytes(5, aw.finish());
    }
    g.bytes(1, w.finish());
  }
  g.string(2, 'test');
  for (const t of initializers) g.bytes(5, initializer(t));
  g.bytes(11, valueInfo(input[0], input[1]));
  g.bytes(12, valueInfo(output[0], output[1]));
  return new ProtoWriter().varint(1, 8).bytes(8, new ProtoWriter().varint(2, 17).finish()).bytes(7, g.finish()).finish();
}
