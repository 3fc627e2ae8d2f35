/**
 * Open Inference Protocol (KServe V2 / Triton / MLServer) tensors, independent of the transport: encoding rows
 * or strings into an input tensor and decoding an output tensor (typed contents, JSON data or raw little-endian
 * bytes) into float64 values.
 */
import { ModelFormatError } from '../errors.js';

/** OIP tensor datatypes ("Tensor Data Types" of the OIP spec). */
export type OipDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BF16'
  | 'BYTES';

/** Datatypes a numeric input may be sent as. */
export type OipNumericDatatype = 'FP32' | 'FP64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64';

const SIZE: Record<string, number> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  BF16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** A transport-neutral input tensor: numbers (row-major) or strings (BYTES). */
export interface OipInput {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  values: ArrayLike<number> | readonly string[];
}

/** A transport-neutral decoded output tensor. */
export interface OipOutput {
  name: string;
  datatype: string;
  shape: number[];
  values: Float64Array;
}

export function isNumericDatatype(d: string): d is OipNumericDatatype {
  return d !== 'BYTES' && d !== 'BOOL' && d !== 'FP16' && d !== 'BF16' && d in SIZE;
}

/** Converts values to what an integer datatype can hold; throws INVALID_INPUT on fractions or NaN. */
export function checkIntegers(values: ArrayLike<number>, datatype: OipNumericDatatype, where?: string): void {
  if (datatype === 'FP32' || datatype === 'FP64') return;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i])) {
      throw new ModelFormatError(
        'INVALID_INPUT',
        `${where ? `${where}: ` : ''}value ${values[i]} at index ${i} cannot be sent as ${datatype} (the model takes integers)`,
      );
    }
  }
}

/** Little-endian raw bytes of numeric values as `datatype` (OIP raw_input_contents layout). */
export function encodeRaw(values: ArrayLike<number>, datatype: OipNumericDatatype): Uint8Array {
  const n = values.length;
  const size = SIZE[datatype]!;
  const buf = new Uint8Array(n * size);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const o = i * size;
    switch (datatype) {
      case 'FP32': view.setFloat32(o, v, true); break;
      case 'FP64': view.setFloat64(o, v, true); break;
      case 'INT8': view.setInt8(o, v); break;
      case 'UINT8': view.setUint8(o, v); break;
      case 'INT16': view.setInt16(o, v, true); break;
      case 'UINT16': view.setUint16(o, v, true); break;
      case 'INT32': view.setInt32(o, v, true); break;
      case 'UINT32': view.setUint32(o, v, true); break;
      case 'INT64': view.setBigInt64(o, BigInt(v), true); break;
      case 'UINT64': view.setBigUint64(o, BigInt(v), true); break;
    }
  }
  return buf;
}

/** OIP BYTES raw layout: each element is a 4-byte little-endian length followed by its bytes. */
export function encodeRawStrings(values: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const parts = values.map((s) => enc.encode(s));
  const total = parts.reduce((a, p) => a + 4 + p.length, 0);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint32(o, p.length, true);
    buf.set(p, o + 4);
    o += 4 + p.length;
  }
  return buf;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes raw little-endian bytes of an output tensor into float64 values. */
export function decodeRaw(raw: Uint8Array, datatype: string, where: string): Float64Array {
  if (datatype === 'BYTES') return parseNumberStrings(decodeRawStrings(raw, where), where);
  const size = SIZE[datatype];
  if (size === undefined) throw new ModelFormatError('UNSUPPORTED', `${where}: unknown datatype ${datatype}`);
  if (raw.length % size !== 0) {
    throw new ModelFormatError('RUNTIME', `${where}: ${raw.length} raw bytes is not a whole number of ${datatype} values`);
  }
  const n = raw.length / size;
  const out = new Float64Array(n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (datatype) {
      case 'FP32': out[i] = view.getFloat32(o, true); break;
      case 'FP64': out[i] = view.getFloat64(o, true); break;
      case 'FP16': out[i] = halfToFloat(view.getUint16(o, true)); break;
      case 'BF16': {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint16(0, view.getUint16(o, true), false);
        out[i] = tmp.getFloat32(0, false);
        break;
      }
      case 'BOOL': out[i] = view.getUint8(o) ? 1 : 0; break;
      case 'INT8': out[i] = view.getInt8(o); break;
      case 'UINT8': out[i] = view.getUint8(o); break;
      case 'INT16': out[i] = view.getInt16(o, true); break;
      case 'UINT16': out[i] = view.getUint16(o, true); break;
      case 'INT32': out[i] = view.getInt32(o, true); break;
      case 'UINT32': out[i] = view.getUint32(o, true); break;
      case 'INT64': out[i] = Number(view.getBigInt64(o, true)); break;
      case 'UINT64': out[i] = Number(view.getBigUint64(o, true)); break;
    }
  }
  return out;
}

export function decodeRawStrings(raw: Uint8Array, where: string): string[] {
  const dec = new TextDecoder();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  let o = 0;
  while (o < raw.length) {
    if (o + 4 > raw.length) throw new ModelFormatError('RUNTIME', `${where}: truncated BYTES element length`);
    const len = view.getUint32(o, true);
    if (o + 4 + len > raw.length) throw new ModelFormatError('RUNTIME', `${where}: BYTES element runs past the data`);
    out.push(dec.decode(raw.subarray(o + 4, o + 4 + len)));
    o += 4 + len;
  }
  return out;
}

/** BYTES outputs holding numbers as text (some servers do this for JSON-encoded scores). */
export function parseNumberStrings(values: readonly string[], where: string): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (values[i]!.trim() === '' || Number.isNaN(v) && values[i]!.trim() !== 'NaN') {
      throw new ModelFormatError('UNSUPPORTED', `${where}: BYTES output value "${values[i]!.slice(0, 40)}" is not a number`);
    }
    out[i] = v;
  }
  return out;
}

/** Flattens JSON `data` (flat or nested row-major arrays, booleans, numbers or numeric strings) to float64. */
export function decodeJsonData(data: unknown, datatype: string, where: string): Float64Array {
  const flat: unknown[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 32) throw new ModelFormatError('RUNTIME', `${where}: output data nested deeper than 32 levels`);
    if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else flat.push(v);
  };
  walk(data, 0);
  const out = new Float64Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'boolean') out[i] = v ? 1 : 0;
    else if (typeof v === 'string' && (datatype === 'BYTES' || /^(NaN|-?Infinity|inf|-inf|nan)$/i.test(v))) {
      out[i] = parseNumberStrings([v.replace(/^(-?)inf$/i, '$1Infinity').replace(/^nan$/i, 'NaN')], where)[0]!;
    } else {
      throw new ModelFormatError('RUNTIME', `${where}: output data holds ${JSON.stringify(v)?.slice(0, 40)}, expected numbers`);
    }
  }
  return out;
}

/** Number of elements a shape holds; throws when the shape is not a list of non-negative integers. */
export function shapeSize(shape: readonly number[], where: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ModelFormatError('RUNTIME', `${where}: bad shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}
