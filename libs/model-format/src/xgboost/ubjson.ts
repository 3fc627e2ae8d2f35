/**
 * A UBJSON (Universal Binary JSON, draft 12) decoder as written by XGBoost `save_model("*.ubj")`.
 * Strongly typed numeric arrays (`[$d#L...`) decode to typed arrays (Float32Array, Int32Array, ...).
 * Every count and length is checked against the remaining bytes; nesting is bounded.
 */
import { ModelFormatError } from '../errors.js';

export type UbjValue = null | boolean | number | string | UbjValue[] | { [k: string]: UbjValue } | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array;

const MAX_DEPTH = 64;
const utf8 = new TextDecoder('utf-8');

function invalid(msg: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `Invalid UBJSON: ${msg}.`);
}

export function decodeUbjson(bytes: Uint8Array): UbjValue {
  const d = new Decoder(bytes);
  const v = d.value(d.marker(), 0);
  return v;
}

class Decoder {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.b.length) throw invalid(`truncated at byte ${this.pos} (needs ${n} more bytes, ${this.b.length - this.pos} left)`);
  }

  marker(): number {
    for (;;) {
      this.need(1);
      const m = this.b[this.pos++]!;
      if (m !== 0x4e /* N no-op */) return m;
    }
  }

  private int(m: number): number {
    const v = this.view;
    switch (m) {
      case 0x69: // i
        this.need(1);
        return v.getInt8(this.pos++);
      case 0x55: // U
        this.need(1);
        return v.getUint8(this.pos++);
      case 0x49: {
        // I
        this.need(2);
        const x = v.getInt16(this.pos);
        this.pos += 2;
        return x;
      }
      case 0x6c: {
        // l
        this.need(4);
        const x = v.getInt32(this.pos);
        this.pos += 4;
        return x;
      }
      case 0x4c: {
        // L
        this.need(8);
        const x = Number(v.getBigInt64(this.pos));
        this.pos += 8;
        return x;
      }
      default:
        throw invalid(`expected an integer type marker, got '${String.fromCharCode(m)}' at byte ${this.pos - 1}`);
    }
  }

  private length(): number {
    const n = this.int(this.marker());
    if (n < 0 || !Number.isSafeInteger(n)) throw invalid(`negative or huge length ${n}`);
    return n;
  }

  private str(): string {
    const n = this.length();
    this.need(n);
    const s = utf8.decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  value(m: number, depth: number): UbjValue {
    if (depth > MAX_DEPTH) throw invalid(`nesting deeper than ${MAX_DEPTH}`);
    const v = this.view;
    switch (m) {
      case 0x5a: // Z
        return null;
      case 0x54: // T
        return true;
      case 0x46: // F
        return false;
      case 0x69:
      case 0x55:
      case 0x49:
      case 0x6c:
      case 0x4c:
        return this.int(m);
      case 0x64: {
        // d
        this.need(4);
        const x = v.getFloat32(this.pos);
        this.pos += 4;
        return x;
      }
      case 0x44: {
        // D
        this.need(8);
        const x = v.getFloat64(this.pos);
        this.pos += 8;
        return x;
      }
      case 0x48: // H high-precision number as string
        return Number(this.str());
      case 0x43: // C
        this.need(1);
        return String.fromCharCode(this.b[this.pos++]!);
      case 0x53: // S
        return this.str();
      case 0x5b: // [
        return this.array(depth);
      case 0x7b: // {
        return this.object(depth);
      default:
        throw invalid(`unknown type marker 0x${m.toString(16)} at byte ${this.pos - 1}`);
    }
  }

  private containerHeader(): { type: number; count: number } {
    let type = -1;
    let count = -1;
    this.need(1);
    if (this.b[this.pos] === 0x24 /* $ */) {
      this.pos++;
      this.need(1);
      type = this.b[this.pos++]!;
      this.need(1);
      if (this.b[this.pos] !== 0x23) throw invalid('typed container without a count');
    }
    this.need(1);
    if (this.b[this.pos] === 0x23 /* # */) {
      this.pos++;
      count = this.length();
    }
    return { type, count };
  }

  private array(depth: number): UbjValue {
    const { type, count } = this.containerHeader();
    if (type >= 0) {
      const width = { 0x69: 1, 0x55: 1, 0x49: 2, 0x6c: 4, 0x4c: 8, 0x64: 4, 0x44: 8 }[type];
      if (width !== undefined) {
        this.need(count * width);
        const start = this.pos;
        this.pos += count * width;
        return typedArray(this.view, type, start, count);
      }
      // Other typed arrays (strings, bools...): each element without its marker.
      if (count > this.b.length - this.pos + 1) throw invalid(`array count ${count} exceeds the file size`);
      const out: UbjValue[] = [];
      for (let i = 0; i < count; i++) out.push(this.value(type, depth + 1));
      return out;
    }
    const out: UbjValue[] = [];
    if (count >= 0) {
      if (count > this.b.length - this.pos) throw invalid(`array count ${count} exceeds the remaining ${this.b.length - this.pos} bytes`);
      for (let i = 0; i < count; i++) out.push(this.value(this.marker(), depth + 1));
      return out;
    }
    for (;;) {
      const m = this.marker();
      if (m === 0x5d /* ] */) return out;
      out.push(this.value(m, depth + 1));
    }
  }

  private object(depth: number): UbjValue {
    const { type, count } = this.containerHeader();
    const out: { [k: string]: UbjValue } = Object.create(null);
    if (count >= 0) {
      if (count > this.b.length - this.pos) throw invalid(`object count ${count} exceeds the remaining bytes`);
      for (let i = 0; i < count; i++) {
        const k = this.str();
        out[k] = this.value(type >= 0 ? type : this.marker(), depth + 1);
      }
      return out;
    }
    for (;;) {
      this.need(1);
      if (this.b[this.pos] === 0x7d /* } */) {
        this.pos++;
        return out;
      }
      const k = this.str();
      out[k] = this.value(this.marker(), depth + 1);
    }
  }
}

function typedArray(view: DataView, type: number, start: number, n: number): UbjValue {
  switch (type) {
    case 0x69: {
      const a = new Int8Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt8(start + i);
      return a;
    }
    case 0x55: {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getUint8(start + i);
      return a;
    }
    case 0x49: {
      const a = new Int16Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt16(start + 2 * i);
      return a;
    }
    case 0x6c: {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt32(start + 4 * i);
      return a;
    }
    case 0x4c: {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = Number(view.getBigInt64(start + 8 * i));
      return a;
    }
    case 0x64: {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat32(start + 4 * i);
      return a;
    }
    default: {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat64(start + 8 * i);
      return a;
    }
  }
}
