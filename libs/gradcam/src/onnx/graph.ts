/**
 * The view of an ONNX graph the CAM code works on, built from @genome/model-format's decoder: nodes with
 * attributes by name, initializers as Float32Array (float types) or Int32Array (integer types), graph
 * inputs/outputs with element type and dims. The file's bytes are kept for graph surgery
 * (`addOnnxGraphOutputs`, `extractOnnxSubgraph` in @genome/model-format).
 */
import {
  OnnxAttributeType,
  OnnxDataType,
  ModelFormatError,
  attributeString,
  attributeStrings,
  decodeOnnxModel,
  tensorToFloat32Array,
  tensorToFloat64Array,
  type OnnxAttribute,
  type OnnxNode as DecodedNode,
  type OnnxTensor as DecodedTensor,
  type OnnxValueInfo as DecodedValueInfo,
} from '@genome/model-format';
import { GradCamError } from '../errors.js';

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

export interface OnnxGraphView {
  /** The .onnx file, for graph surgery. */
  readonly bytes: Uint8Array;
  readonly irVersion: number;
  /** Version of the default-domain operator set. */
  readonly opset: number;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly valueInfo: ReadonlyMap<string, OnnxValueInfo>;
}

function invalid(msg: string): GradCamError {
  return new GradCamError('INVALID_MODEL', `Not a usable ONNX model: ${msg}.`);
}

const FLOAT_TYPES: ReadonlySet<number> = new Set([OnnxDataType.FLOAT, OnnxDataType.DOUBLE, OnnxDataType.FLOAT16, OnnxDataType.BFLOAT16]);

function tensor(t: DecodedTensor): OnnxTensor {
  let size = 1;
  for (const d of t.dims) size *= d;
  if (size > 1 << 30) throw invalid(`tensor '${t.name}' is too large`);
  const data = FLOAT_TYPES.has(t.dataType) ? tensorToFloat32Array(t) : Int32Array.from(tensorToFloat64Array(t));
  return { name: t.name, dims: t.dims, dataType: t.dataType, data };
}

const EMPTY_TENSOR: OnnxTensor = { name: '', dims: [], dataType: OnnxDataType.FLOAT, data: new Float32Array(0) };

function attribute(a: OnnxAttribute): OnnxAttr {
  const T = OnnxAttributeType;
  switch (a.type) {
    case T.FLOAT: return { kind: 'float', value: a.f ?? 0 };
    case T.INT: return { kind: 'int', value: a.i ?? 0 };
    case T.STRING: return { kind: 'string', value: attributeString(a) ?? '' };
    case T.TENSOR: return { kind: 'tensor', value: a.t ? tensor(a.t) : EMPTY_TENSOR };
    case T.GRAPH: return { kind: 'graph', value: null };
    case T.FLOATS: return { kind: 'floats', value: Array.from(a.floats ?? []) };
    case T.INTS: return { kind: 'ints', value: Array.from(a.ints ?? []) };
    case T.STRINGS: return { kind: 'strings', value: attributeStrings(a) ?? [] };
    default: return { kind: 'ints', value: [] };
  }
}

function node(n: DecodedNode, index: number): OnnxNode {
  const attrs = new Map<string, OnnxAttr>();
  for (const a of n.attributes) attrs.set(a.name, attribute(a));
  return { index, name: n.name, opType: n.opType, domain: n.domain, inputs: n.inputs, outputs: n.outputs, attrs };
}

function valueInfo(v: DecodedValueInfo): OnnxValueInfo {
  const t = v.type;
  if (t.kind !== 'tensor') return { name: v.name, elemType: 0, dims: [] };
  return { name: v.name, elemType: t.elemType, dims: (t.shape ?? []).map((d) => (typeof d === 'number' ? d : -1)) };
}

/** Reads an ONNX model for the CAM code. Throws GradCamError INVALID_MODEL (or UNSUPPORTED) on unusable bytes. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraphView {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) throw invalid('expected the bytes of a .onnx file');
  try {
    const m = decodeOnnxModel(bytes);
    let opset = 0;
    for (const o of m.opsetImports) if (o.domain === '' || o.domain === 'ai.onnx') opset = Math.max(opset, o.version);
    const g = m.graph;
    if (g.nodes.length === 0) throw invalid('the graph has no nodes');
    const initializers = new Map<string, OnnxTensor>();
    for (const t of g.initializers) initializers.set(t.name, tensor(t));
    const valueInfos = new Map<string, OnnxValueInfo>();
    for (const v of g.valueInfo) valueInfos.set(v.name, valueInfo(v));
    return {
      bytes,
      irVersion: m.irVersion,
      opset: opset || 1,
      nodes: g.nodes.map(node),
      initializers,
      inputs: g.inputs.map(valueInfo),
      outputs: g.outputs.map(valueInfo),
      valueInfo: valueInfos,
    };
  } catch (err) {
    if (err instanceof ModelFormatError) {
      throw new GradCamError(err.code === 'UNSUPPORTED' ? 'UNSUPPORTED' : 'INVALID_MODEL', err.message, { cause: err });
    }
    throw err;
  }
}

/** Graph inputs that are real feeds (not initializers listed as inputs, IR < 4 style). */
export function feedInputs(m: OnnxGraphView): OnnxValueInfo[] {
  return m.inputs.filter((i) => !m.initializers.has(i.name));
}
