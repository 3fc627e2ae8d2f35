/**
 * The little of an ONNX file a predictor needs before handing it to onnxruntime: node op types, their inputs,
 * outputs and class-label attributes, and the graph outputs. Also {@link addGraphOutputs}, which exposes an
 * intermediate tensor as a graph output (onnxruntime-node cannot return ZipMap's `seq(map)` outputs, so the
 * predictor reads the probability tensor that feeds the ZipMap instead).
 *
 * Reads protobuf wire format with bounds checks: a truncated or hostile file throws INVALID_MODEL.
 */
import { ModelFormatError } from '../errors.js';

export interface OnnxNodeInfo {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** `classlabels_strings` / `classlabels_int64s` (ZipMap, *Classifier ops), as strings. */
  readonly classLabels?: readonly string[];
}

export interface OnnxGraphInfo {
  readonly nodes: readonly OnnxNodeInfo[];
  readonly outputs: readonly string[];
}

const dec = new TextDecoder('utf-8', { fatal: false });

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw bad('varint longer than 10 bytes');
  }
  /** Returns [start, end) of a length-delimited field. */
  bytes(): [number, number] {
    const len = this.varint();
    const s = this.pos;
    const e = s + len;
    if (len < 0 || e > this.end) throw bad(`length ${len} runs past the end of its message`);
    this.pos = e;
    return [s, e];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else throw bad(`unsupported wire type ${wire}`);
  }
  advance(n: number): void {
    if (this.pos + n > this.end) throw bad('truncated field');
    this.pos += n;
  }
  string(): string {
    const [s, e] = this.bytes();
    return dec.decode(this.buf.subarray(s, e));
  }
}

function bad(what: string): ModelFormatError {
  return new ModelFormatError('INVALID_MODEL', `not a valid ONNX file: ${what}`);
}

function readAttribute(buf: Uint8Array, s: number, e: number): { name: string; labels?: string[] } {
  const r = new Reader(buf, s, e);
  let name = '';
  const ints: number[] = [];
  const strings: string[] = [];
  while (r.pos < r.end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 8 && wire === 0) ints.push(r.varint());
    else if (field === 8 && wire === 2) {
      const [ps, pe] = r.bytes();
      const pr = new Reader(buf, ps, pe);
      while (pr.pos < pr.end) ints.push(pr.varint());
    } else if (field === 9 && wire === 2) strings.push(r.string());
    else r.skip(wire);
  }
  if (name === 'classlabels_strings') return { name, labels: strings };
  if (name === 'classlabels_int64s') {
    // Varints of negative int64 come back as large unsigned numbers; labels are class ids, usually small.
    return { name, labels: ints.map((v) => String(v > 2 ** 63 ? v - 2 ** 64 : v)) };
  }
  return { name };
}

function readNode(buf: Uint8Array, s: number, e: number): OnnxNodeInfo {
  const r = new Reader(buf, s, e);
  const inputs: string[] = [];
  const outputs: string[] = [];
  let opType = '';
  let classLabels: string[] | undefined;
  while (r.pos < r.end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2 && field === 1) inputs.push(r.string());
    else if (wire === 2 && field === 2) outputs.push(r.string());
    else if (wire === 2 && field === 4) opType = r.string();
    else if (wire === 2 && field === 5) {
      const [as, ae] = r.bytes();
      const a = readAttribute(buf, as, ae);
      if (a.labels) classLabels = a.labels;
    } else r.skip(wire);
  }
  return classLabels ? { opType, inputs, outputs, classLabels } : { opType, inputs, outputs };
}

function readValueInfoName(buf: Uint8Array, s: number, e: number): string {
  const r = new Reader(buf, s, e);
  while (r.pos < r.end) {
    const key = r.varint();
    if (key === (1 << 3) + 2) return r.string();
    r.skip(key & 7);
  }
  return '';
}

/** Reads node list and graph outputs of an ONNX ModelProto. */
export function readOnnxGraph(model: Uint8Array): OnnxGraphInfo {
  const top = new Reader(model, 0, model.length);
  const nodes: OnnxNodeInfo[] = [];
  const outputs: string[] = [];
  let sawGraph = false;
  while (top.pos < top.end) {
    const key = top.varint();
    const wire = key & 7;
    if (key === (7 << 3) + 2) {
      sawGraph = true;
      const [gs, ge] = top.bytes();
      const g = new Reader(model, gs, ge);
      while (g.pos < g.end) {
        const gk = g.varint();
        if (gk === (1 << 3) + 2) {
          const [ns, ne] = g.bytes();
          nodes.push(readNode(model, ns, ne));
        } else if (gk === (12 << 3) + 2) {
          const [os, oe] = g.bytes();
          outputs.push(readValueInfoName(model, os, oe));
        } else g.skip(gk & 7);
      }
    } else top.skip(wire);
  }
  if (!sawGraph) throw bad('no graph (ModelProto field 7) found');
  return { nodes, outputs };
}

function varint(n: number, out: number[]): void {
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function lengthDelimited(field: number, payload: readonly number[] | Uint8Array): number[] {
  const out: number[] = [];
  varint((field << 3) | 2, out);
  varint(payload.length, out);
  for (let i = 0; i < payload.length; i++) out.push(payload[i]!);
  return out;
}

/**
 * Returns a copy of `model` whose graph also outputs the named intermediate tensors. Relies on protobuf merge
 * semantics: a second `graph` field is merged into the first, and its repeated `output` entries are appended.
 */
export function addGraphOutputs(model: Uint8Array, names: readonly string[]): Uint8Array {
  const graph: number[] = [];
  for (const name of names) {
    const valueInfo = lengthDelimited(1, new TextEncoder().encode(name));
    graph.push(...lengthDelimited(12, valueInfo));
  }
  const extra = lengthDelimited(7, graph);
  const out = new Uint8Array(model.length + extra.length);
  out.set(model, 0);
  out.set(extra, model.length);
  return out;
}
