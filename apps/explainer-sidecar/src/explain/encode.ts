/**
 * Answers of any size without a long stop of the event loop. A 14 MB explanation takes ~100 ms to JSON.stringify
 * and ~200 ms more to protobuf-encode in one go; here the JSON is written element by element of its large arrays and
 * turned into UTF-8 bytes piece by piece, with {@link pause} between pieces, and the gRPC message is assembled from
 * the small fields (encoded by the generated code) plus `explanation_json` appended as raw bytes. The bytes equal
 * what `JSON.stringify` and `ExplainResponse.encode` would produce (fields may come in another order, which
 * protobuf allows).
 */
import type { Explanation } from '@genome/model-format';
import { explain as pb } from '@genome/proto';
import { pause } from '../models/cooperative.js';
import type { ModelDescription } from '../models/types.js';
import { flatResponse, splitRows } from './response.js';

/** Arrays longer than this are written element by element (so a pause can fall between elements). */
const SPLIT_ARRAY = 64;
/** Characters of JSON gathered before they are turned into bytes. */
const PIECE_CHARS = 1 << 18;

/** Collects JSON text and emits UTF-8 buffers of about {@link PIECE_CHARS}, pausing between them. */
class JsonBytes {
  readonly buffers: Buffer[] = [];
  private text: string[] = [];
  private chars = 0;
  length = 0;

  constructor(private readonly signal?: AbortSignal) {}

  /** Appends text; true when enough has gathered to {@link flush}. */
  add(s: string): boolean {
    this.text.push(s);
    this.chars += s.length;
    return this.chars >= PIECE_CHARS;
  }

  async flush(): Promise<void> {
    if (this.chars === 0) return;
    const b = Buffer.from(this.text.join(''), 'utf8');
    this.buffers.push(b);
    this.length += b.length;
    this.text = [];
    this.chars = 0;
    await pause(this.signal);
  }
}

/** Writes `value` as JSON.stringify would, splitting large arrays and objects so pauses can fall inside them. */
async function writeJson(out: JsonBytes, value: unknown): Promise<void> {
  if (Array.isArray(value) && value.length > SPLIT_ARRAY) {
    out.add('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.add(',');
      await writeJson(out, value[i]);
    }
    out.add(']');
    return;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && (value as { toJSON?: unknown }).toJSON === undefined && Object.values(value).some(Array.isArray)) {
    out.add('{');
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      out.add(`${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      await writeJson(out, v);
    }
    out.add('}');
    return;
  }
  // Inside arrays, values JSON cannot hold become null, as JSON.stringify writes them.
  if (out.add(JSON.stringify(value) ?? 'null')) await out.flush();
}

/** UTF-8 bytes of `JSON.stringify(value)`, produced with pauses. */
export async function jsonBytes(value: unknown, signal?: AbortSignal): Promise<{ buffers: Buffer[]; length: number }> {
  const out = new JsonBytes(signal);
  await writeJson(out, value);
  await out.flush();
  return out;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 127) {
    bytes.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** A length-delimited protobuf field: tag, length, then the payload's buffers. */
function lengthDelimited(field: number, payload: readonly Buffer[], length: number): Buffer[] {
  return [varint((field << 3) | 2), varint(length), ...payload];
}

/** ExplainResponse.explanation_json */
const EXPLANATION_JSON_FIELD = 11;
/** ExplainStreamResponse.result */
const STREAM_RESULT_FIELD = 2;

/** The encoded ExplainResponse of `e` as buffers (all fields but the JSON from the generated encoder). */
async function responseBuffers(e: Explanation, model: ModelDescription, requestId: string, elapsedMs: number, signal?: AbortSignal): Promise<{ buffers: Buffer[]; length: number }> {
  const head = Buffer.from(pb.ExplainResponse.encode(flatResponse(e, model, requestId, elapsedMs)).finish());
  await pause(signal);
  const json = await jsonBytes(e, signal);
  const buffers = [head, ...lengthDelimited(EXPLANATION_JSON_FIELD, json.buffers, json.length)];
  return { buffers, length: buffers.reduce((a, b) => a + b.length, 0) };
}

/** The ExplainResponse message of `e`, encoded (grpc-js sends a Buffer as it is). */
export async function encodeExplainResponse(e: Explanation, model: ModelDescription, requestId: string, elapsedMs: number, signal?: AbortSignal): Promise<Buffer> {
  const r = await responseBuffers(e, model, requestId, elapsedMs, signal);
  return Buffer.concat(r.buffers, r.length);
}

/** The ExplainStreamResponse carrying `e` as its result for rows from `rowOffset`, encoded. */
export async function encodeStreamResult(e: Explanation, model: ModelDescription, requestId: string, elapsedMs: number, rowOffset: number, signal?: AbortSignal): Promise<Buffer> {
  const r = await responseBuffers(e, model, requestId, elapsedMs, signal);
  const tail = Buffer.from(pb.ExplainStreamResponse.encode({ rowOffset }).finish());
  const parts = [...lengthDelimited(STREAM_RESULT_FIELD, r.buffers, r.length), tail];
  return Buffer.concat(parts);
}

/** The KServe V1 answer body `{model_name, model_version, id, method, explanations: [one per row]}` as UTF-8 buffers. */
export function restAnswer(e: Explanation, model: ModelDescription, requestId: string, signal?: AbortSignal): Promise<{ buffers: Buffer[]; length: number }> {
  return jsonBytes({ model_name: model.name, model_version: model.version, id: requestId, method: e.method, explanations: splitRows(e) }, signal);
}
