/**
 * Protobuf wire format: a bounds-checked reader and a small writer, enough to decode ONNX files and to rewrite
 * them (extra graph outputs, head sub-models). Truncated or hostile bytes throw INVALID_MODEL, never hang.
 */
import { GradCamError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

function bad(what: string): GradCamError {
  return new GradCamError('INVALID_MODEL', `Malformed ONNX protobuf: ${what}. Re-export the model or check the file is complete.`);
}

export class WireReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    if (end > buf.length || start > end) throw bad('length past the end of the buffer');
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  /** Unsigned varint as a number (exact up to 2^53). */
  varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) return (hi >>> 0) * 4294967296 + (lo >>> 0);
    }
    throw bad('varint longer than 10 bytes');
  }
  /** Signed int64 varint (two's complement), exact within ±2^53. */
  int64(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else if (shift < 64) hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) return (hi | 0) * 4294967296 + (lo >>> 0);
    }
    throw bad('varint longer than 10 bytes');
  }
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }
  /** Returns [start, end) of a length-delimited payload and advances past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw bad('length-delimited field past the end');
    this.pos = end;
    return [start, end];
  }
  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }
  string(): string {
    return dec.decode(this.bytes());
  }
  float32(): number {
    if (this.pos + 4 > this.end) throw bad('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  float64(): number {
    if (this.pos + 8 > this.end) throw bad('truncated double');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw bad(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw bad('truncated field');
  }
}

const dec = new TextDecoder('utf-8', { fatal: false });
const enc = new TextEncoder();

/** Appends protobuf fields to a growing byte list. */
export class WireWriter {
  private parts: Uint8Array[] = [];
  private scratch: number[] = [];
  private flushScratch(): void {
    if (this.scratch.length) {
      this.parts.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }
  private varintRaw(v: number): void {
    while (v >= 0x80) {
      this.scratch.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.scratch.push(v);
  }
  varint(field: number, v: number): this {
    this.varintRaw(field * 8 + WIRE_VARINT);
    if (v < 0) {
      // two's complement, 10 bytes
      const lo = v >>> 0;
      const hi = Math.floor(v / 4294967296) >>> 0;
      let l = lo;
      let h = hi;
      for (let i = 0; i < 9; i++) {
        this.scratch.push((l & 0x7f) | 0x80);
        l = (l >>> 7) | ((h & 0x7f) << 25);
        h >>>= 7;
      }
      this.scratch.push(1);
      return this;
    }
    this.varintRaw(v);
    return this;
  }
  bytes(field: number, payload: Uint8Array): this {
    this.varintRaw(field * 8 + WIRE_LEN);
    this.varintRaw(payload.length);
    this.flushScratch();
    this.parts.push(payload);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, enc.encode(s));
  }
  /** Copies an already-encoded field (tag and payload) verbatim. */
  raw(chunk: Uint8Array): this {
    this.flushScratch();
    this.parts.push(chunk);
    return this;
  }
  finish(): Uint8Array {
    this.flushScratch();
    let n = 0;
    for (const p of this.parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
