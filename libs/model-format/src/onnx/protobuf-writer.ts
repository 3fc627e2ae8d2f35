/**
 * A small protobuf wire-format writer: enough to build or rewrite ONNX files (graph surgery, test models).
 * Already-encoded fields can be copied verbatim with {@link ProtoWriter.raw}, so rewriting never re-encodes
 * what it does not change.
 */
import { WireType } from './protobuf.js';

const utf8 = new TextEncoder();

export class ProtoWriter {
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

  /** A VARINT field; negative values are written as 10-byte two's complement (int64 semantics). */
  varint(field: number, v: number): this {
    this.varintRaw(field * 8 + WireType.VARINT);
    if (v < 0) {
      let l = v >>> 0;
      let h = Math.floor(v / 4294967296) >>> 0;
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

  /** A LEN field (bytes or an embedded message). */
  bytes(field: number, payload: Uint8Array): this {
    this.varintRaw(field * 8 + WireType.LEN);
    this.varintRaw(payload.length);
    this.flushScratch();
    this.parts.push(payload);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
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
