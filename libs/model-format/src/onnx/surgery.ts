/**
 * ONNX graph surgery on the serialized ModelProto: expose intermediate tensors as graph outputs (onnxruntime
 * returns only graph outputs, and cannot return ZipMap's `seq(map)`), and cut a sub-model out of the graph
 * (e.g. the head after a CNN layer). Fields that are not changed are copied byte for byte, never re-encoded.
 *
 * Node indices are positions in `decodeOnnxModel(bytes).graph.nodes`. Like the decoder, a file with several
 * `graph` fields is read as its last one. Malformed bytes throw {@link ModelFormatError} INVALID_MODEL.
 */
import { ModelFormatError } from '../errors.js';
import { ProtoReader, WireType } from './protobuf.js';
import { encodeValueInfo } from './encode.js';
import { ProtoWriter } from './protobuf-writer.js';

/** A tensor value for a graph input/output: its name and {@link OnnxDataType} (omitted or 0: left untyped). */
export interface OnnxValueSpec {
  name: string;
  elemType?: number;
}

/** One encoded field of a message: its number, its bytes (tag included) and, for LEN fields, the payload. */
interface Field {
  field: number;
  chunk: Uint8Array;
  payload?: Uint8Array;
}

interface SplitModel {
  /** ModelProto fields before and after the (last) graph field, graph fields left out. */
  before: Field[];
  after: Field[];
  graph: Field[];
}

const GRAPH = 7;
const G_NODE = 1;
const G_INITIALIZER = 5;
const G_INPUT = 11;
const G_OUTPUT = 12;
const G_VALUE_INFO = 13;

function fields(buf: Uint8Array, start: number, end: number, what: string): Field[] {
  const r = new ProtoReader(buf, start, end, what);
  const out: Field[] = [];
  while (r.pos < r.end) {
    const at = r.pos;
    r.next();
    const f: Field = { field: r.field, chunk: buf.subarray(0, 0) };
    if (r.wire === WireType.LEN) f.payload = r.bytes();
    else r.skip();
    f.chunk = buf.subarray(at, r.pos);
    out.push(f);
  }
  return out;
}

function splitModel(bytes: Uint8Array): SplitModel {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError('INVALID_INPUT', 'ONNX graph surgery expects the bytes (Uint8Array) of an .onnx file.');
  const top = fields(bytes, 0, bytes.length, 'ModelProto');
  let at = -1;
  for (let i = 0; i < top.length; i++) if (top[i]!.field === GRAPH && top[i]!.payload) at = i;
  if (at < 0) throw new ModelFormatError('INVALID_MODEL', 'Invalid ONNX model: no graph (ModelProto field 7). Is this really an .onnx file?');
  const p = top[at]!.payload!;
  const graph = fields(p, 0, p.length, 'GraphProto');
  const others = (f: Field) => f.field !== GRAPH;
  return { before: top.slice(0, at).filter(others), after: top.slice(at + 1).filter(others), graph };
}

function rebuild(m: SplitModel, graph: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  for (const f of m.before) w.raw(f.chunk);
  w.bytes(GRAPH, graph);
  for (const f of m.after) w.raw(f.chunk);
  return w.finish();
}

/** Values of the repeated string field `field` of an encoded message. */
function strings(payload: Uint8Array | undefined, field: number, what: string): string[] {
  const out: string[] = [];
  if (!payload) return out;
  const r = new ProtoReader(payload, 0, payload.length, what);
  while (r.next()) {
    if (r.field === field && r.wire === WireType.LEN) out.push(r.string());
    else r.skip();
  }
  return out;
}

/** `name` of a ValueInfoProto (field 1) or TensorProto (field 8). */
function nameOf(f: Field): string | undefined {
  const names = f.field === G_INITIALIZER ? strings(f.payload, 8, 'TensorProto') : strings(f.payload, 1, 'ValueInfoProto');
  return names.at(-1);
}

/**
 * A copy of the model whose graph also outputs the given tensors (a name alone, or a name with its element
 * type). Names that already are graph outputs are left as they are.
 */
export function addOnnxGraphOutputs(bytes: Uint8Array, outputs: readonly (string | OnnxValueSpec)[]): Uint8Array {
  const m = splitModel(bytes);
  const g = new ProtoWriter();
  const existing = new Set<string>();
  for (const f of m.graph) {
    g.raw(f.chunk);
    if (f.field === G_OUTPUT) existing.add(nameOf(f) ?? '');
  }
  for (const o of outputs) {
    const spec = typeof o === 'string' ? { name: o } : o;
    if (existing.has(spec.name)) continue;
    existing.add(spec.name);
    g.bytes(G_OUTPUT, encodeValueInfo(spec.name, spec.elemType));
  }
  return rebuild(m, g.finish());
}

/**
 * The sub-model made of the nodes at `nodes` (indices into the graph's node list, kept in graph order) whose
 * graph inputs are `inputs`. Initializers the kept nodes read are kept (also when IR < 4 lists them as graph
 * inputs), other initializers and all value_info are dropped; graph outputs stay the original ones.
 */
export function extractOnnxSubgraph(bytes: Uint8Array, nodes: Iterable<number>, inputs: readonly OnnxValueSpec[]): Uint8Array {
  const m = splitModel(bytes);
  const keep = new Set(nodes);
  const initializers = new Set<string>();
  const used = new Set<string>();
  let node = 0;
  for (const f of m.graph) {
    if (f.field === G_INITIALIZER) initializers.add(nameOf(f) ?? '');
    else if (f.field === G_NODE) {
      if (keep.has(node)) for (const i of strings(f.payload, 1, 'NodeProto')) used.add(i);
      node++;
    }
  }
  const g = new ProtoWriter();
  let wroteInputs = false;
  const writeInputs = (): void => {
    if (wroteInputs) return;
    wroteInputs = true;
    for (const v of inputs) g.bytes(G_INPUT, encodeValueInfo(v.name, v.elemType));
  };
  node = 0;
  for (const f of m.graph) {
    if (f.field === G_NODE) {
      if (keep.has(node)) g.raw(f.chunk);
      node++;
    } else if (f.field === G_INPUT) {
      // keep inputs that are initializers (IR < 4 lists them); drop real feeds
      writeInputs();
      const name = nameOf(f);
      if (name !== undefined && initializers.has(name) && used.has(name)) g.raw(f.chunk);
    } else if (f.field === G_INITIALIZER) {
      const name = nameOf(f);
      if (name !== undefined && used.has(name)) g.raw(f.chunk);
    } else if (f.field !== G_VALUE_INFO) g.raw(f.chunk); // value_info may describe tensors that no longer exist
  }
  writeInputs();
  return rebuild(m, g.finish());
}

/** Nodes, tensors and values to add to a graph, each already encoded (NodeProto, TensorProto, ValueInfoProto). */
export interface OnnxGraphAdditions {
  nodes?: readonly Uint8Array[];
  initializers?: readonly Uint8Array[];
  inputs?: readonly Uint8Array[];
  /** Graph outputs to add: names (optionally typed) or encoded ValueInfoProto; existing outputs are kept once. */
  outputs?: readonly (string | OnnxValueSpec | Uint8Array)[];
  /** Raise the default-domain opset import to at least this version (the caller checks the model's ops allow it). */
  minOpset?: number;
  /**
   * Outputs to append to existing nodes, each node named by its first output (a MaxPool's Indices, say): the node's
   * outputs become its own followed by `output`.
   */
  nodeOutputs?: readonly { readonly node: string; readonly output: string }[];
}

const M_OPSET_IMPORT = 8;

/** The default-domain version of an encoded OperatorSetIdProto, or undefined for another domain. */
function defaultOpset(payload: Uint8Array): number | undefined {
  const r = new ProtoReader(payload, 0, payload.length, 'OperatorSetIdProto');
  let domain = '';
  let version = 1;
  while (r.next()) {
    if (r.field === 1 && r.wire === WireType.LEN) domain = r.string();
    else if (r.field === 2 && r.wire === WireType.VARINT) version = r.int64();
    else r.skip();
  }
  return domain === '' || domain === 'ai.onnx' ? version : undefined;
}

function irVersion(m: SplitModel): number {
  for (const f of [...m.before, ...m.after]) {
    if (f.field !== 1 || f.payload) continue;
    const r = new ProtoReader(f.chunk, 0, f.chunk.length, 'ModelProto');
    r.next();
    return r.int64();
  }
  return 0;
}

/** The ValueInfoProto (name, element type, dims) of an encoded TensorProto. */
function initializerInput(tensor: Uint8Array): Uint8Array {
  const r = new ProtoReader(tensor, 0, tensor.length, 'TensorProto');
  const dims: number[] = [];
  let type = 0;
  let name = '';
  while (r.next()) {
    if (r.field === 1 && r.wire === WireType.VARINT) dims.push(r.int64());
    else if (r.field === 1 && r.wire === WireType.LEN) {
      const p = r.message('TensorProto.dims');
      while (p.pos < p.end) dims.push(p.int64());
    } else if (r.field === 2 && r.wire === WireType.VARINT) type = r.int64();
    else if (r.field === 8 && r.wire === WireType.LEN) name = r.string();
    else r.skip();
  }
  return encodeValueInfo(name, type, dims);
}

/**
 * A copy of the model with nodes, initializers, inputs and outputs appended to its graph (nodes after the
 * existing ones, so they may read any tensor of the graph), and the default-domain opset raised to `minOpset`.
 */
export function extendOnnxGraph(bytes: Uint8Array, add: OnnxGraphAdditions): Uint8Array {
  const m = splitModel(bytes);
  const g = new ProtoWriter();
  const outputs = new Set<string>();
  let at = 0;
  // NodeProto entries must stay in order: new nodes go right after the last existing one
  let lastNode = -1;
  m.graph.forEach((f, i) => f.field === G_NODE && (lastNode = i));
  const extra = new Map<string, string[]>();
  for (const { node, output } of add.nodeOutputs ?? []) extra.set(node, [...(extra.get(node) ?? []), output]);
  for (const f of m.graph) {
    const node = f.field === G_NODE && extra.size ? (strings(f.payload, 2, 'NodeProto')[0] ?? '') : '';
    const more = node ? extra.get(node) : undefined;
    if (more) {
      // repeated fields may come in any order: the added outputs follow the node's own
      const w = new ProtoWriter().raw(f.payload!);
      for (const o of more) w.string(2, o);
      g.bytes(G_NODE, w.finish());
      extra.delete(node);
    } else g.raw(f.chunk);
    if (f.field === G_OUTPUT) outputs.add(nameOf(f) ?? '');
    if (at++ === lastNode) for (const n of add.nodes ?? []) g.bytes(G_NODE, n);
  }
  if (extra.size) throw new ModelFormatError('INVALID_INPUT', `No node of the graph has the output '${[...extra.keys()][0]}' to append outputs to; name a node by its first output.`);
  if (lastNode < 0) for (const n of add.nodes ?? []) g.bytes(G_NODE, n);
  for (const t of add.initializers ?? []) g.bytes(G_INITIALIZER, t);
  for (const v of add.inputs ?? []) g.bytes(G_INPUT, v);
  // IR < 4: every initializer is also a graph input
  if (irVersion(m) < 4) for (const t of add.initializers ?? []) g.bytes(G_INPUT, initializerInput(t));
  for (const o of add.outputs ?? []) {
    const encoded = o instanceof Uint8Array ? o : typeof o === 'string' ? encodeValueInfo(o) : encodeValueInfo(o.name, o.elemType);
    const name = strings(encoded, 1, 'ValueInfoProto').at(-1) ?? '';
    if (outputs.has(name)) continue;
    outputs.add(name);
    g.bytes(G_OUTPUT, encoded);
  }
  if (add.minOpset !== undefined) {
    let found = false;
    const raise = (fs: Field[]): Field[] =>
      fs.map((f) => {
        if (f.field !== M_OPSET_IMPORT || !f.payload) return f;
        const v = defaultOpset(f.payload);
        if (v === undefined) return f;
        found = true;
        if (v >= add.minOpset!) return f;
        const chunk = new ProtoWriter().bytes(M_OPSET_IMPORT, new ProtoWriter().string(1, '').varint(2, add.minOpset!).finish()).finish();
        return { field: f.field, chunk };
      });
    m.before = raise(m.before);
    m.after = raise(m.after);
    if (!found) m.before.push({ field: M_OPSET_IMPORT, chunk: new ProtoWriter().bytes(M_OPSET_IMPORT, new ProtoWriter().string(1, '').varint(2, add.minOpset).finish()).finish() });
  }
  return rebuild(m, g.finish());
}
