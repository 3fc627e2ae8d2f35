/**
 * Decodes the parts of an ONNX ModelProto the CAM code needs: nodes with attributes, initializers as typed
 * arrays, graph inputs/outputs with shapes, and the byte spans of every graph field so {@link ./surgery.ts} can
 * rewrite the file without re-encoding what it does not touch.
 */
import { GradCamError } from '../errors.js';
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, WireReader } from './wire.js';

export type OnnxAttr =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: OnnxTensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'graph'; value: null };

export interface OnnxNode {
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, OnnxAttr>;
}

/** ONNX TensorProto data types the CAM code understands. */
export const OnnxType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

export interface OnnxTensor {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  /** Float types decode to Float32Array, integer types to Int32Array (int64 values clamped into int32 range are exact for shapes). */
  readonly data: Float32Array | Int32Array;
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: number;
  /** Dimensions; -1 for symbolic or unknown ones. Empty when the shape is not recorded. */
  readonly dims: number[];
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opset: number;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly valueInfo: ReadonlyMap<string, OnnxValueInfo>;
  /** Raw bytes of each field of the GraphProto (tag included), in file order, for rewriting. */
  readonly graphFields: readonly { field: number; chunk: Uint8Array; name?: string }[];
  /** Raw bytes of each field of the ModelProto except `graph`, for rewriting. */
  readonly modelFields: readonly { field: number; chunk: Uint8Array }[];
}

function invalid(msg: string): GradCamError {
  return new GradCamError('INVALID_MODEL', `Not a usable ONNX model: ${msg}.`);
}

function packedOrSingle(r: WireReader, wire: number, out: number[], read: (r: WireReader) => number): void {
  if (wire === WIRE_LEN) {
    const [s, e] = r.span();
    const sub = new WireReader(r.buf, s, e);
    while (!sub.done) out.push(read(sub));
  } else out.push(read(r));
}

export function decodeTensor(r: WireReader): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const doubles: number[] = [];
  let external = false;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1) packedOrSingle(r, wire, dims, (x) => x.int64());
    else if (field === 2 && wire === WIRE_VARINT) dataType = r.varint();
    else if (field === 4) packedOrSingle(r, wire, floats, (x) => x.float32());
    else if (field === 5 || field === 7) packedOrSingle(r, wire, ints, (x) => x.int64());
    else if (field === 8 && wire === WIRE_LEN) name = r.string();
    else if (field === 9 && wire === WIRE_LEN) raw = r.bytes();
    else if (field === 10) packedOrSingle(r, wire, doubles, (x) => x.float64());
    else if (field === 13 && wire === WIRE_LEN) {
      external = true;
      r.skip(wire);
    } else r.skip(wire);
  }
  if (external) throw new GradCamError('UNSUPPORTED', `ONNX tensor '${name}' stores its data in an external file; save the model with all tensors inside the .onnx file.`);
  let size = 1;
  for (const d of dims) {
    if (!(d >= 0)) throw invalid(`tensor '${name}' has a negative dimension`);
    size *= d;
  }
  if (size > 1 << 30) throw invalid(`tensor '${name}' is too large`);
  const isFloat = dataType === OnnxType.FLOAT || dataType === OnnxType.DOUBLE || dataType === OnnxType.FLOAT16;
  let data: Float32Array | Int32Array;
  if (raw) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = dataType === OnnxType.FLOAT || dataType === OnnxType.INT32 ? 4 : dataType === OnnxType.INT64 || dataType === OnnxType.DOUBLE ? 8 : dataType === OnnxType.FLOAT16 ? 2 : 1;
    if (raw.byteLength !== size * width) throw invalid(`tensor '${name}' has ${raw.byteLength} raw bytes for ${size} values`);
    data = isFloat ? new Float32Array(size) : new Int32Array(size);
    for (let i = 0; i < size; i++) {
      switch (dataType) {
        case OnnxType.FLOAT: data[i] = dv.getFloat32(i * 4, true); break;
        case OnnxType.DOUBLE: data[i] = dv.getFloat64(i * 8, true); break;
        case OnnxType.FLOAT16: data[i] = half(dv.getUint16(i * 2, true)); break;
        case OnnxType.INT32: data[i] = dv.getInt32(i * 4, true); break;
        case OnnxType.INT64: data[i] = Number(dv.getBigInt64(i * 8, true)); break;
        case OnnxType.INT8: data[i] = dv.getInt8(i); break;
        default: data[i] = dv.getUint8(i);
      }
    }
  } else if (isFloat) {
    data = Float32Array.from(dataType === OnnxType.DOUBLE ? doubles : dataType === OnnxType.FLOAT16 ? ints.map(half) : floats);
  } else data = Int32Array.from(ints);
  if (data.length !== size) throw invalid(`tensor '${name}' holds ${data.length} values, its shape needs ${size}`);
  return { name, dims, dataType, data };
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function decodeAttr(r: WireReader): [string, OnnxAttr] {
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0;
  let s = '';
  let t: OnnxTensor | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let sawF = false, sawI = false, sawS = false;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) name = r.string();
    else if (field === 20 && wire === WIRE_VARINT) type = r.varint();
    else if (field === 2 && wire === WIRE_I32) { f = r.float32(); sawF = true; }
    else if (field === 3 && wire === WIRE_VARINT) { i = r.int64(); sawI = true; }
    else if (field === 4 && wire === WIRE_LEN) { s = r.string(); sawS = true; }
    else if (field === 5 && wire === WIRE_LEN) { const [a, b] = r.span(); t = decodeTensor(new WireReader(r.buf, a, b)); }
    else if (field === 7) packedOrSingle(r, wire, floats, (x) => x.float32());
    else if (field === 8) packedOrSingle(r, wire, ints, (x) => x.int64());
    else if (field === 9 && wire === WIRE_LEN) strings.push(r.string());
    else r.skip(wire);
  }
  // AttributeType: FLOAT=1 INT=2 STRING=3 TENSOR=4 GRAPH=5 FLOATS=6 INTS=7 STRINGS=8
  switch (type) {
    case 1: return [name, { kind: 'float', value: f }];
    case 2: return [name, { kind: 'int', value: i }];
    case 3: return [name, { kind: 'string', value: s }];
    case 4: return [name, { kind: 'tensor', value: t ?? { name: '', dims: [], dataType: 1, data: new Float32Array(0) } }];
    case 5: return [name, { kind: 'graph', value: null }];
    case 6: return [name, { kind: 'floats', value: floats }];
    case 7: return [name, { kind: 'ints', value: ints }];
    case 8: return [name, { kind: 'strings', value: strings }];
    default:
      // IR < 3 files may omit `type`: infer it from what was set.
      if (t) return [name, { kind: 'tensor', value: t }];
      if (ints.length) return [name, { kind: 'ints', value: ints }];
      if (floats.length) return [name, { kind: 'floats', value: floats }];
      if (sawF) return [name, { kind: 'float', value: f }];
      if (sawS) return [name, { kind: 'string', value: s }];
      if (sawI) return [name, { kind: 'int', value: i }];
      return [name, { kind: 'ints', value: [] }];
  }
}

function decodeNode(r: WireReader, index: number): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attrs = new Map<string, OnnxAttr>();
  let name = '';
  let opType = '';
  let domain = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (wire !== WIRE_LEN) { r.skip(wire); continue; }
    if (field === 1) inputs.push(r.string());
    else if (field === 2) outputs.push(r.string());
    else if (field === 3) name = r.string();
    else if (field === 4) opType = r.string();
    else if (field === 7) domain = r.string();
    else if (field === 5) {
      const [a, b] = r.span();
      const [k, v] = decodeAttr(new WireReader(r.buf, a, b));
      attrs.set(k, v);
    } else r.skip(wire);
  }
  return { index, name, opType, domain, inputs, outputs, attrs };
}

function decodeValueInfo(r: WireReader): OnnxValueInfo {
  let name = '';
  let elemType = 0;
  const dims: number[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) name = r.string();
    else if (field === 2 && wire === WIRE_LEN) {
      const [a, b] = r.span();
      const tr = new WireReader(r.buf, a, b);
      while (!tr.done) {
        const t = tr.tag();
        if (t.field === 1 && t.wire === WIRE_LEN) {
          const [c, d] = tr.span();
          const tt = new WireReader(r.buf, c, d);
          while (!tt.done) {
            const u = tt.tag();
            if (u.field === 1 && u.wire === WIRE_VARINT) elemType = tt.varint();
            else if (u.field === 2 && u.wire === WIRE_LEN) {
              const [e, f] = tt.span();
              const sr = new WireReader(r.buf, e, f);
              while (!sr.done) {
                const v = sr.tag();
                if (v.field === 1 && v.wire === WIRE_LEN) {
                  const [g, h] = sr.span();
                  const dr = new WireReader(r.buf, g, h);
                  let dim = -1;
                  while (!dr.done) {
                    const w = dr.tag();
                    if (w.field === 1 && w.wire === WIRE_VARINT) dim = dr.int64();
                    else dr.skip(w.wire);
                  }
                  dims.push(dim);
                } else sr.skip(v.wire);
              }
            } else tt.skip(u.wire);
          }
        } else tr.skip(t.wire);
      }
    } else r.skip(wire);
  }
  return { name, elemType, dims };
}

/** Decodes an ONNX model. Throws INVALID_MODEL on malformed bytes. */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) throw invalid('expected the bytes of a .onnx file');
  const r = new WireReader(bytes);
  let irVersion = 0;
  let opset = 0;
  let graphSpan: [number, number] | undefined;
  const modelFields: { field: number; chunk: Uint8Array }[] = [];
  while (!r.done) {
    const start = r.pos;
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) irVersion = r.varint();
    else if (field === 7 && wire === WIRE_LEN) {
      graphSpan = r.span();
      continue;
    } else if (field === 8 && wire === WIRE_LEN) {
      const [a, b] = r.span();
      const or = new WireReader(bytes, a, b);
      let domain = '';
      let version = 0;
      while (!or.done) {
        const t = or.tag();
        if (t.field === 1 && t.wire === WIRE_LEN) domain = or.string();
        else if (t.field === 2 && t.wire === WIRE_VARINT) version = or.varint();
        else or.skip(t.wire);
      }
      if (domain === '' || domain === 'ai.onnx') opset = Math.max(opset, version);
    } else r.skip(wire);
    modelFields.push({ field, chunk: bytes.subarray(start, r.pos) });
  }
  if (!graphSpan) throw invalid('the file has no graph');
  const g = new WireReader(bytes, graphSpan[0], graphSpan[1]);
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, OnnxTensor>();
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const valueInfo = new Map<string, OnnxValueInfo>();
  const graphFields: { field: number; chunk: Uint8Array; name?: string }[] = [];
  while (!g.done) {
    const start = g.pos;
    const { field, wire } = g.tag();
    let name: string | undefined;
    if (wire === WIRE_LEN && (field === 1 || field === 5 || field === 11 || field === 12 || field === 13)) {
      const [a, b] = g.span();
      const sub = new WireReader(bytes, a, b);
      if (field === 1) nodes.push(decodeNode(sub, nodes.length));
      else if (field === 5) {
        const t = decodeTensor(sub);
        initializers.set(t.name, t);
        name = t.name;
      } else {
        const vi = decodeValueInfo(sub);
        name = vi.name;
        if (field === 11) inputs.push(vi);
        else if (field === 12) outputs.push(vi);
        else valueInfo.set(vi.name, vi);
      }
    } else g.skip(wire);
    graphFields.push({ field, chunk: bytes.subarray(start, g.pos), name });
  }
  if (nodes.length === 0) throw invalid('the graph has no nodes');
  return { irVersion, opset: opset || 1, nodes, initializers, inputs, outputs, valueInfo, graphFields, modelFields };
}

/** Graph inputs that are real feeds (not initializers listed as inputs, IR < 4 style). */
export function feedInputs(m: OnnxModel): OnnxValueInfo[] {
  return m.inputs.filter((i) => !m.initializers.has(i.name));
}
