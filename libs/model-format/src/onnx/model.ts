/**
 * ONNX ModelProto decoder (onnx.proto3 / onnx-ml.proto field numbers), general enough for CNN graphs and
 * ai.onnx.ml operators. Tensors keep `raw_data` as a zero-copy view of the input bytes; typed `*_data`
 * fields are decoded into typed arrays. Use {@link tensorToFloat32Array} / {@link tensorToFloat64Array}
 * to read any numeric tensor.
 */
import { ModelFormatError } from '../errors.js';
import { ProtoReader, decodeUtf8 } from './protobuf.js';

/** TensorProto.DataType values. */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

/** AttributeProto.AttributeType values. */
export const OnnxAttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export interface OnnxTensor {
  name: string;
  /** {@link OnnxDataType} */
  dataType: number;
  dims: number[];
  /** `raw_data`: a view into the model bytes (little-endian), not a copy. */
  rawData?: Uint8Array;
  floatData?: Float32Array;
  doubleData?: Float64Array;
  /** `int32_data` (also carries int8/int16/uint8/uint16/bool/float16 bit patterns). */
  int32Data?: Int32Array;
  /** `int64_data` as numbers (exact up to 2^53). */
  int64Data?: Float64Array;
  /** `uint64_data` (also uint32) as numbers. */
  uint64Data?: Float64Array;
  stringData?: Uint8Array[];
  /** Present when the tensor's data lives in an external file (data_location = EXTERNAL). */
  externalData?: Record<string, string>;
}

export type OnnxType =
  | { kind: 'tensor'; elemType: number; shape?: OnnxDim[] }
  | { kind: 'sparse_tensor'; elemType: number; shape?: OnnxDim[] }
  | { kind: 'sequence'; elemType?: OnnxType }
  | { kind: 'map'; keyType: number; valueType?: OnnxType }
  | { kind: 'optional'; elemType?: OnnxType }
  | { kind: 'unknown' };

/** A dimension: a fixed size, a symbolic name, or null when unknown. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  type: OnnxType;
}

export interface OnnxAttribute {
  name: string;
  /** {@link OnnxAttributeType}; inferred from the populated field for old files that omit it. */
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats?: Float32Array;
  ints?: Float64Array;
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  refAttrName?: string;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxOpsetImport {
  /** '' (or 'ai.onnx') is the default operator set. */
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsetImports: OnnxOpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graph: OnnxGraph;
  metadata: Record<string, string>;
}

const MAX_DEPTH = 32;

function invalid(message: string, cause?: unknown): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid ONNX model: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * Decodes an ONNX ModelProto. Throws {@link ModelFormatError} (INVALID_MODEL) on malformed, truncated or
 * non-ONNX input. The returned tensors' `rawData` views share memory with `bytes`.
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError('INVALID_INPUT', 'decodeOnnxModel expects a Uint8Array (or Buffer) of the .onnx file.');
  if (bytes.length === 0) throw invalid('the file is empty.');
  const r = new ProtoReader(bytes, 0, bytes.length, 'ModelProto');
  const model: OnnxModel = {
    irVersion: 0,
    opsetImports: [],
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    graph: undefined as unknown as OnnxGraph,
    metadata: {},
  };
  let hasGraph = false;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(0, 'ir_version');
        model.irVersion = r.int64();
        break;
      case 2:
        r.expect(2, 'producer_name');
        model.producerName = r.string();
        break;
      case 3:
        r.expect(2, 'producer_version');
        model.producerVersion = r.string();
        break;
      case 4:
        r.expect(2, 'domain');
        model.domain = r.string();
        break;
      case 5:
        r.expect(0, 'model_version');
        model.modelVersion = r.int64();
        break;
      case 6:
        r.expect(2, 'doc_string');
        model.docString = r.string();
        break;
      case 7:
        r.expect(2, 'graph');
        model.graph = readGraph(r.message('GraphProto'), 0);
        hasGraph = true;
        break;
      case 8: {
        r.expect(2, 'opset_import');
        const m = r.message('OperatorSetIdProto');
        const op: OnnxOpsetImport = { domain: '', version: 0 };
        while (m.next()) {
          if (m.field === 1 && m.wire === 2) op.domain = m.string();
          else if (m.field === 2 && m.wire === 0) op.version = m.int64();
          else m.skip();
        }
        model.opsetImports.push(op);
        break;
      }
      case 14: {
        r.expect(2, 'metadata_props');
        const [k, v] = readStringEntry(r);
        model.metadata[k] = v;
        break;
      }
      default:
        r.skip();
    }
  }
  if (!hasGraph) throw invalid('no graph (ModelProto field 7). Is this really an .onnx file?');
  if (model.irVersion <= 0 || model.irVersion > 1000) throw invalid(`ir_version ${model.irVersion} is not a valid ONNX IR version. Is this really an .onnx file?`);
  return model;
}

/** Decodes a serialized TensorProto (e.g. the input_0.pb / output_0.pb files of ONNX test data sets). */
export function decodeOnnxTensor(bytes: Uint8Array): OnnxTensor {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError('INVALID_INPUT', 'decodeOnnxTensor expects a Uint8Array.');
  return readTensor(new ProtoReader(bytes, 0, bytes.length, 'TensorProto'));
}

/** A StringStringEntryProto (metadata_props, external_data) at the reader's current field: [key, value]. */
function readStringEntry(r: ProtoReader): [string, string] {
  const m = r.message('StringStringEntryProto');
  let k = '';
  let v = '';
  while (m.next()) {
    if (m.field === 1 && m.wire === 2) k = m.string();
    else if (m.field === 2 && m.wire === 2) v = m.string();
    else m.skip();
  }
  return [k, v];
}

function readGraph(r: ProtoReader, depth: number): OnnxGraph {
  if (depth > MAX_DEPTH) throw invalid(`subgraphs nested deeper than ${MAX_DEPTH}.`);
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(2, 'node');
        g.nodes.push(readNode(r.message('NodeProto'), depth));
        break;
      case 2:
        r.expect(2, 'name');
        g.name = r.string();
        break;
      case 5:
        r.expect(2, 'initializer');
        g.initializers.push(readTensor(r.message('TensorProto')));
        break;
      case 11:
        r.expect(2, 'input');
        g.inputs.push(readValueInfo(r.message('ValueInfoProto')));
        break;
      case 12:
        r.expect(2, 'output');
        g.outputs.push(readValueInfo(r.message('ValueInfoProto')));
        break;
      case 13:
        r.expect(2, 'value_info');
        g.valueInfo.push(readValueInfo(r.message('ValueInfoProto')));
        break;
      default:
        r.skip();
    }
  }
  return g;
}

function readNode(r: ProtoReader, depth: number): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(2, 'input');
        n.inputs.push(r.string());
        break;
      case 2:
        r.expect(2, 'output');
        n.outputs.push(r.string());
        break;
      case 3:
        r.expect(2, 'name');
        n.name = r.string();
        break;
      case 4:
        r.expect(2, 'op_type');
        n.opType = r.string();
        break;
      case 5:
        r.expect(2, 'attribute');
        n.attributes.push(readAttribute(r.message('AttributeProto'), depth));
        break;
      case 7:
        r.expect(2, 'domain');
        n.domain = r.string();
        break;
      default:
        r.skip();
    }
  }
  return n;
}

function readAttribute(r: ProtoReader, depth: number): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0 };
  let floats: number[] | undefined;
  let ints: number[] | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(2, 'name');
        a.name = r.string();
        break;
      case 2:
        r.expect(5, 'f');
        a.f = r.float();
        break;
      case 3:
        r.expect(0, 'i');
        a.i = r.int64();
        break;
      case 4:
        r.expect(2, 's');
        a.s = r.bytes();
        break;
      case 5:
        r.expect(2, 't');
        a.t = readTensor(r.message('TensorProto'));
        break;
      case 6:
        r.expect(2, 'g');
        a.g = readGraph(r.message('GraphProto'), depth + 1);
        break;
      case 7:
        floats ??= [];
        if (r.wire === 5) floats.push(r.float());
        else r.floats(floats);
        break;
      case 8:
        ints ??= [];
        if (r.wire === 0) ints.push(r.int64());
        else r.int64s(ints);
        break;
      case 9:
        r.expect(2, 'strings');
        (a.strings ??= []).push(r.bytes());
        break;
      case 10:
        r.expect(2, 'tensors');
        (a.tensors ??= []).push(readTensor(r.message('TensorProto')));
        break;
      case 11:
        r.expect(2, 'graphs');
        (a.graphs ??= []).push(readGraph(r.message('GraphProto'), depth + 1));
        break;
      case 20:
        r.expect(0, 'type');
        a.type = r.int32();
        break;
      case 21:
        r.expect(2, 'ref_attr_name');
        a.refAttrName = r.string();
        break;
      default:
        r.skip();
    }
  }
  if (floats) a.floats = Float32Array.from(floats);
  if (ints) a.ints = Float64Array.from(ints);
  if (a.type === 0) a.type = inferAttributeType(a);
  return a;
}

function inferAttributeType(a: OnnxAttribute): number {
  const T = OnnxAttributeType;
  if (a.floats) return T.FLOATS;
  if (a.ints) return T.INTS;
  if (a.strings) return T.STRINGS;
  if (a.tensors) return T.TENSORS;
  if (a.graphs) return T.GRAPHS;
  if (a.f !== undefined) return T.FLOAT;
  if (a.i !== undefined) return T.INT;
  if (a.s !== undefined) return T.STRING;
  if (a.t !== undefined) return T.TENSOR;
  if (a.g !== undefined) return T.GRAPH;
  return T.UNDEFINED;
}

function readTensor(r: ProtoReader): OnnxTensor {
  const t: OnnxTensor = { name: '', dataType: 0, dims: [] };
  let floats: number[] | undefined;
  let int32s: number[] | undefined;
  let int64s: number[] | undefined;
  let uint64s: number[] | undefined;
  let doubles: number[] | undefined;
  let external: Record<string, string> | undefined;
  let dataLocation = 0;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.int64s(t.dims);
        break;
      case 2:
        r.expect(0, 'data_type');
        t.dataType = r.int32();
        break;
      case 4:
        r.floats((floats ??= []));
        break;
      case 5:
        r.int64s((int32s ??= []));
        break;
      case 6:
        r.expect(2, 'string_data');
        (t.stringData ??= []).push(r.bytes());
        break;
      case 7:
        r.int64s((int64s ??= []));
        break;
      case 8:
        r.expect(2, 'name');
        t.name = r.string();
        break;
      case 9:
        r.expect(2, 'raw_data');
        t.rawData = r.bytes();
        break;
      case 10:
        r.doubles((doubles ??= []));
        break;
      case 11:
        r.uint64s((uint64s ??= []));
        break;
      case 13: {
        r.expect(2, 'external_data');
        const [k, v] = readStringEntry(r);
        (external ??= {})[k] = v;
        break;
      }
      case 14:
        r.expect(0, 'data_location');
        dataLocation = r.int32();
        break;
      default:
        r.skip();
    }
  }
  for (const d of t.dims) if (d < 0) throw invalid(`tensor '${t.name}' has negative dimension ${d}.`);
  if (floats) t.floatData = Float32Array.from(floats);
  if (int32s) t.int32Data = Int32Array.from(int32s);
  if (int64s) t.int64Data = Float64Array.from(int64s);
  if (uint64s) t.uint64Data = Float64Array.from(uint64s);
  if (doubles) t.doubleData = Float64Array.from(doubles);
  if (external && dataLocation === 1) t.externalData = external;
  return t;
}

function readValueInfo(r: ProtoReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', type: { kind: 'unknown' } };
  while (r.next()) {
    if (r.field === 1 && r.wire === 2) v.name = r.string();
    else if (r.field === 2 && r.wire === 2) v.type = readType(r.message('TypeProto'), 0);
    else r.skip();
  }
  return v;
}

function readType(r: ProtoReader, depth: number): OnnxType {
  if (depth > MAX_DEPTH) throw invalid(`types nested deeper than ${MAX_DEPTH}.`);
  let type: OnnxType = { kind: 'unknown' };
  while (r.next()) {
    if (r.wire !== 2) {
      r.skip();
      continue;
    }
    switch (r.field) {
      case 1:
      case 8: {
        const m = r.message('TypeProto.Tensor');
        let elemType = 0;
        let shape: OnnxDim[] | undefined;
        while (m.next()) {
          if (m.field === 1 && m.wire === 0) elemType = m.int32();
          else if (m.field === 2 && m.wire === 2) shape = readShape(m.message('TensorShapeProto'));
          else m.skip();
        }
        const tt: { kind: 'tensor' | 'sparse_tensor'; elemType: number; shape?: OnnxDim[] } = { kind: r.field === 1 ? 'tensor' : 'sparse_tensor', elemType };
        if (shape) tt.shape = shape;
        type = tt;
        break;
      }
      case 4:
      case 9: {
        const m = r.message('TypeProto.Sequence');
        const t: { kind: 'sequence' | 'optional'; elemType?: OnnxType } = { kind: r.field === 4 ? 'sequence' : 'optional' };
        while (m.next()) {
          if (m.field === 1 && m.wire === 2) t.elemType = readType(m.message('TypeProto'), depth + 1);
          else m.skip();
        }
        type = t;
        break;
      }
      case 5: {
        const m = r.message('TypeProto.Map');
        const t: { kind: 'map'; keyType: number; valueType?: OnnxType } = { kind: 'map', keyType: 0 };
        while (m.next()) {
          if (m.field === 1 && m.wire === 0) t.keyType = m.int32();
          else if (m.field === 2 && m.wire === 2) t.valueType = readType(m.message('TypeProto'), depth + 1);
          else m.skip();
        }
        type = t;
        break;
      }
      default:
        r.skip();
    }
  }
  return type;
}

function readShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  while (r.next()) {
    if (r.field !== 1 || r.wire !== 2) {
      r.skip();
      continue;
    }
    const m = r.message('TensorShapeProto.Dimension');
    let d: OnnxDim = null;
    while (m.next()) {
      if (m.field === 1 && m.wire === 0) d = m.int64();
      else if (m.field === 2 && m.wire === 2) d = m.string();
      else m.skip();
    }
    dims.push(d);
  }
  return dims;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** Number of elements implied by `dims` (1 for a scalar); throws on absurd sizes. */
export function tensorSize(t: OnnxTensor): number {
  let n = 1;
  for (const d of t.dims) {
    n *= d;
    if (n > 2 ** 40) throw invalid(`tensor '${t.name}' declares more than 2^40 elements.`);
  }
  return n;
}

const BYTES_PER: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

/** Numeric tensor contents as a Float64Array (copy). */
export function tensorToFloat64Array(t: OnnxTensor): Float64Array {
  const f32 = tensorNumbers(t);
  return f32 instanceof Float64Array ? f32 : Float64Array.from(f32);
}

/** Numeric tensor contents as a Float32Array; a zero-copy view of float32 raw_data when it is aligned. */
export function tensorToFloat32Array(t: OnnxTensor): Float32Array {
  const v = tensorNumbers(t);
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/** Strings of a STRING tensor. */
export function tensorStrings(t: OnnxTensor): string[] {
  if (t.dataType !== OnnxDataType.STRING) throw invalid(`tensor '${t.name}' is not a string tensor (data_type ${t.dataType}).`);
  return (t.stringData ?? []).map(decodeUtf8);
}

function tensorNumbers(t: OnnxTensor): Float32Array | Float64Array | Int32Array {
  if (t.externalData) {
    throw new ModelFormatError('UNSUPPORTED', `Tensor '${t.name}' stores its data in an external file (${t.externalData.location ?? '?'}); load models with embedded weights.`);
  }
  const n = tensorSize(t);
  const dt = t.dataType;
  const check = (len: number) => {
    if (len !== n) throw invalid(`tensor '${t.name}' has ${len} values but dims ${JSON.stringify(t.dims)} need ${n}.`);
  };
  if (t.rawData) {
    const raw = t.rawData;
    const width = BYTES_PER[dt];
    if (width === undefined) throw new ModelFormatError('UNSUPPORTED', `Tensor '${t.name}': data_type ${dt} raw_data is not supported.`);
    check(raw.byteLength / width);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (dt) {
      case OnnxDataType.FLOAT:
        if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, n);
        return new Float32Array(Uint8Array.from(raw).buffer, 0, n);
      case OnnxDataType.DOUBLE:
        if (raw.byteOffset % 8 === 0) return new Float64Array(raw.buffer, raw.byteOffset, n);
        return new Float64Array(Uint8Array.from(raw).buffer, 0, n);
      default: {
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          switch (dt) {
            case OnnxDataType.UINT8:
            case OnnxDataType.BOOL:
              out[i] = dv.getUint8(i);
              break;
            case OnnxDataType.INT8:
              out[i] = dv.getInt8(i);
              break;
            case OnnxDataType.UINT16:
              out[i] = dv.getUint16(2 * i, true);
              break;
            case OnnxDataType.INT16:
              out[i] = dv.getInt16(2 * i, true);
              break;
            case OnnxDataType.INT32:
              out[i] = dv.getInt32(4 * i, true);
              break;
            case OnnxDataType.UINT32:
              out[i] = dv.getUint32(4 * i, true);
              break;
            case OnnxDataType.INT64:
              out[i] = Number(dv.getBigInt64(8 * i, true));
              break;
            case OnnxDataType.UINT64:
              out[i] = Number(dv.getBigUint64(8 * i, true));
              break;
            case OnnxDataType.FLOAT16:
              out[i] = halfToFloat(dv.getUint16(2 * i, true));
              break;
            case OnnxDataType.BFLOAT16:
              out[i] = bfloat16ToFloat(dv.getUint16(2 * i, true));
              break;
          }
        }
        return out;
      }
    }
  }
  switch (dt) {
    case OnnxDataType.FLOAT:
      check(t.floatData?.length ?? 0);
      return t.floatData ?? new Float32Array(0);
    case OnnxDataType.DOUBLE:
      check(t.doubleData?.length ?? 0);
      return t.doubleData ?? new Float64Array(0);
    case OnnxDataType.INT64:
      check(t.int64Data?.length ?? 0);
      return t.int64Data ?? new Float64Array(0);
    case OnnxDataType.UINT32:
    case OnnxDataType.UINT64:
      check(t.uint64Data?.length ?? 0);
      return t.uint64Data ?? new Float64Array(0);
    case OnnxDataType.FLOAT16:
    case OnnxDataType.BFLOAT16: {
      const src = t.int32Data ?? new Int32Array(0);
      check(src.length);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dt === OnnxDataType.FLOAT16 ? halfToFloat(src[i]! & 0xffff) : bfloat16ToFloat(src[i]! & 0xffff);
      return out;
    }
    case OnnxDataType.INT32:
    case OnnxDataType.INT16:
    case OnnxDataType.INT8:
    case OnnxDataType.UINT16:
    case OnnxDataType.UINT8:
    case OnnxDataType.BOOL:
      check(t.int32Data?.length ?? 0);
      return t.int32Data ?? new Int32Array(0);
    default:
      throw new ModelFormatError('UNSUPPORTED', `Tensor '${t.name}': data_type ${dt} is not numeric or not supported.`);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const bfBuf = new DataView(new ArrayBuffer(4));
function bfloat16ToFloat(b: number): number {
  bfBuf.setUint32(0, b << 16);
  return bfBuf.getFloat32(0);
}

/** The attribute called `name`, or undefined. */
export function findAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  for (const a of node.attributes) if (a.name === name) return a;
  return undefined;
}

/** Decodes a STRING attribute's value. */
export function attributeString(a: OnnxAttribute | undefined): string | undefined {
  return a?.s === undefined ? undefined : decodeUtf8(a.s);
}

/** Decodes a STRINGS attribute's values. */
export function attributeStrings(a: OnnxAttribute | undefined): string[] | undefined {
  return a?.strings?.map(decodeUtf8);
}

/** Version of the operator set imported for `domain` ('' and 'ai.onnx' are the same), or undefined. */
export function opsetVersion(model: OnnxModel, domain: string): number | undefined {
  const norm = (d: string) => (d === 'ai.onnx' ? '' : d);
  const want = norm(domain);
  for (const o of model.opsetImports) if (norm(o.domain) === want) return o.version;
  return undefined;
}

/** Initializers by name. */
export function initializerMap(graph: OnnxGraph): Map<string, OnnxTensor> {
  const m = new Map<string, OnnxTensor>();
  for (const t of graph.initializers) m.set(t.name, t);
  return m;
}
