/**
 * A minimal, allocation-light protobuf wire-format reader over a Uint8Array.
 *
 * It never trusts a declared length: every length-delimited field is checked against the bytes left in
 * the enclosing message, varints longer than 10 bytes are rejected, and groups (deprecated) are refused.
 * Errors are {@link ModelFormatError} with code INVALID_MODEL.
 */
import { ModelFormatError } from '../errors.js';

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const TWO32 = 4294967296;

export class ProtoReader {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  pos: number;
  end: number;
  /** Field number and wire type of the last tag read by {@link next}. */
  field = 0;
  wire = 0;
  /** Context used in error messages, e.g. "ModelProto". */
  readonly what: string;

  constructor(buf: Uint8Array, start = 0, end = buf.length, what = 'message') {
    if (start < 0 || end > buf.length || start > end) throw invalid(`${what}: bad byte range ${start}..${end}`);
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
    this.what = what;
  }

  /** Reads the next tag; returns false at the end of the message. Sets {@link field} and {@link wire}. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw invalid(`${this.what}: field number 0 at byte ${this.pos}`);
    if (wire === 3 || wire === 4 || wire > 5) throw invalid(`${this.what}: unsupported wire type ${wire} (field ${field})`);
    this.field = field;
    this.wire = wire;
    return true;
  }

  /** Varint as an unsigned 32-bit number (higher bits are dropped, as protobuf does for uint32). */
  uint32(): number {
    const b = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw invalid(`${this.what}: truncated varint`);
      const byte = b[this.pos++]!;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw invalid(`${this.what}: varint longer than 10 bytes`);
  }

  /** Varint as a signed 64-bit integer (two's complement), returned as a JS number (exact up to 2^53). */
  int64(): number {
    const b = this.buf;
    if (this.pos < this.end) {
      const b0 = b[this.pos]!;
      if (b0 < 0x80) {
        this.pos++;
        return b0;
      }
      if (this.pos + 1 < this.end && b[this.pos + 1]! < 0x80) {
        const v = (b0 & 0x7f) | (b[this.pos + 1]! << 7);
        this.pos += 2;
        return v;
      }
    }
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 10; i++) {
      if (this.pos >= this.end) throw invalid(`${this.what}: truncated varint`);
      const byte = b[this.pos++]!;
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x70) >> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if ((byte & 0x80) === 0) break;
    }
    if (i === 10) throw invalid(`${this.what}: varint longer than 10 bytes`);
    return (hi | 0) * TWO32 + (lo >>> 0);
  }

  /** A varint truncated to int32 (protobuf int32 / enum semantics). */
  int32(): number {
    return this.int64() | 0;
  }

  bool(): boolean {
    return this.int64() !== 0;
  }

  float(): number {
    if (this.pos + 4 > this.end) throw invalid(`${this.what}: truncated fixed32`);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw invalid(`${this.what}: truncated fixed64`);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw invalid(`${this.what}: truncated fixed32`);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Length prefix of a LEN field, checked against the remaining bytes; returns the end offset. */
  lenEnd(): number {
    const len = this.uint32Len();
    const end = this.pos + len;
    if (end > this.end) {
      throw invalid(`${this.what}: field ${this.field} declares ${len} bytes but only ${this.end - this.pos} remain (truncated or corrupt file)`);
    }
    return end;
  }

  private uint32Len(): number {
    const v = this.int64();
    if (v < 0 || v > 0x7fffffff) throw invalid(`${this.what}: length ${v} out of range`);
    return v;
  }

  /** A LEN field as a zero-copy view. */
  bytes(): Uint8Array {
    const end = this.lenEnd();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A sub-reader for an embedded message; advances past it. */
  message(what: string): ProtoReader {
    const end = this.lenEnd();
    const r = new ProtoReader(this.buf, this.pos, end, what);
    this.pos = end;
    return r;
  }

  /** Skips the value of the last tag. */
  skip(): void {
    switch (this.wire) {
      case 0:
        this.int64();
        return;
      case 1:
        if (this.pos + 8 > this.end) throw invalid(`${this.what}: truncated fixed64`);
        this.pos += 8;
        return;
      case 2:
        this.pos = this.lenEnd();
        return;
      case 5:
        if (this.pos + 4 > this.end) throw invalid(`${this.what}: truncated fixed32`);
        this.pos += 4;
        return;
      default:
        throw invalid(`${this.what}: cannot skip wire type ${this.wire}`);
    }
  }

  /** Checks the last tag has the expected wire type. */
  expect(wire: number, name: string): void {
    if (this.wire !== wire) throw invalid(`${this.what}.${name}: wire type ${this.wire}, expected ${wire}`);
  }

  /**
   * Reads a repeated float field in either packed (LEN) or unpacked (I32) encoding, appending to `out`.
   */
  floats(out: number[]): void {
    if (this.wire === 5) {
      out.push(this.float());
      return;
    }
    this.expect(2, 'floats');
    const end = this.lenEnd();
    if ((end - this.pos) % 4 !== 0) throw invalid(`${this.what}: packed float field of ${end - this.pos} bytes`);
    for (; this.pos < end; this.pos += 4) out.push(this.view.getFloat32(this.pos, true));
  }

  doubles(out: number[]): void {
    if (this.wire === 1) {
      out.push(this.double());
      return;
    }
    this.expect(2, 'doubles');
    const end = this.lenEnd();
    if ((end - this.pos) % 8 !== 0) throw invalid(`${this.what}: packed double field of ${end - this.pos} bytes`);
    for (; this.pos < end; this.pos += 8) out.push(this.view.getFloat64(this.pos, true));
  }

  /** Repeated int64 (packed or not), appended as numbers. */
  int64s(out: number[]): void {
    if (this.wire === 0) {
      out.push(this.int64());
      return;
    }
    this.expect(2, 'ints');
    const end = this.lenEnd();
    const outer = this.end;
    // Bound varint reads by the packed region.
    this.end = end;
    try {
      while (this.pos < end) out.push(this.int64());
    } finally {
      this.end = outer;
    }
  }

  /** Repeated uint64 (packed or not), appended as numbers (values >= 2^63 are read as unsigned). */
  uint64s(out: number[]): void {
    const start = out.length;
    this.int64s(out);
    for (let i = start; i < out.length; i++) if (out[i]! < 0) out[i] = out[i]! + 2 ** 64;
  }
}

const utf8 = new TextDecoder('utf-8');

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

function invalid(message: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid protobuf: ${message}.`);
}
