/**
 * Encoders for the ONNX protobuf messages a graph is written from (ValueInfoProto, TensorProto, AttributeProto,
 * NodeProto, ModelProto), on {@link ProtoWriter}: for code that builds or extends models (graph surgery, gradcam's
 * backward graphs, test models).
 */
import { OnnxDataType } from './model.js';
import { ProtoWriter } from './protobuf-writer.js';

/**
 * A ValueInfoProto: tensor `name` of `elemType` ({@link OnnxDataType}; 0 leaves it untyped) and, when `dims` is
 * given, its shape (numbers, or names of symbolic dimensions).
 */
export function encodeValueInfo(name: string, elemType: number = OnnxDataType.UNDEFINED, dims?: readonly (number | string)[]): Uint8Array {
  const w = new ProtoWriter().string(1, name);
  if (elemType <= 0) return w.finish();
  const tensor = new ProtoWriter().varint(1, elemType);
  if (dims) {
    const shape = new ProtoWriter();
    for (const d of dims) shape.bytes(1, typeof d === 'number' ? new ProtoWriter().varint(1, d).finish() : new ProtoWriter().string(2, d).finish());
    tensor.bytes(2, shape.finish());
  }
  return w.bytes(2, new ProtoWriter().bytes(1, tensor.finish()).finish()).finish();
}

/** A TensorProto holding its values as raw_data: float32, or int64 from a BigInt64Array. */
export function encodeTensor(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.varint(1, d);
  w.varint(2, data instanceof Float32Array ? OnnxDataType.FLOAT : OnnxDataType.INT64).string(8, name);
  return w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).finish();
}

/** The value of an AttributeProto: an int, a float (stored as float32), ints or a string. */
export type OnnxAttributeValue = { readonly i: number } | { readonly f: number } | { readonly ints: readonly number[] } | { readonly s: string };

/** An AttributeProto with its type set from the value. */
export function encodeAttribute(name: string, v: OnnxAttributeValue): Uint8Array {
  const w = new ProtoWriter().string(1, name);
  if ('f' in v) {
    const f = new Uint8Array(5);
    f[0] = (2 << 3) | 5; // field 2 (f), fixed32
    new DataView(f.buffer).setFloat32(1, v.f, true);
    return w.raw(f).varint(20, 1).finish();
  }
  if ('ints' in v) {
    for (const x of v.ints) w.varint(8, x);
    return w.varint(20, 7).finish();
  }
  if ('s' in v) return w.string(4, v.s).varint(20, 3).finish();
  return w.varint(3, v.i).varint(20, 2).finish();
}

/** A NodeProto of the default domain, named after its first output unless `name` is given. */
export function encodeNode(op: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly Uint8Array[] = [], name = outputs[0] ?? op): Uint8Array {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, name).string(4, op);
  for (const a of attributes) w.bytes(5, a);
  return w.finish();
}

/** The encoded parts of a GraphProto. */
export interface OnnxGraphParts {
  readonly name: string;
  readonly nodes: readonly Uint8Array[];
  readonly initializers?: readonly Uint8Array[];
  readonly inputs: readonly Uint8Array[];
  readonly outputs: readonly Uint8Array[];
}

/** A ModelProto (IR version 8) of one graph, importing the default domain at `opset`. */
export function encodeModel(graph: OnnxGraphParts, opset: number): Uint8Array {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.bytes(1, n);
  g.string(2, graph.name);
  for (const t of graph.initializers ?? []) g.bytes(5, t);
  for (const i of graph.inputs) g.bytes(11, i);
  for (const o of graph.outputs) g.bytes(12, o);
  return new ProtoWriter().varint(1, 8).bytes(8, new ProtoWriter().varint(2, opset).finish()).bytes(7, g.finish()).finish();
}
