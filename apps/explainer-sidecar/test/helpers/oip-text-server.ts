/**
 * A fake Open Inference Protocol text classifier (grpc-js and node:http, port 0): a BYTES input of UTF-8 strings,
 * scored by a real bag-of-words logistic rule, p(spam) = sigmoid(bias + sum of the weights of the words present),
 * returned as an FP64 [n, 2] tensor (ham, spam).
 */
import { startFakeModelServer, type FakeOipServer } from './oip-fake.js';

export interface BagOfWords {
  name: string;
  bias: number;
  /** Lower-case word -> weight. */
  weights: Record<string, number>;
}

export type FakeTextOip = FakeOipServer;

/** The rule's margin for one text: bias + weights of the distinct words present (lower-cased, split on non-letters). */
export function margin(m: BagOfWords, text: string): number {
  const words = new Set(text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean));
  let z = m.bias;
  for (const w of words) z += m.weights[w] ?? 0;
  return z;
}

function score(m: BagOfWords, texts: readonly string[]): number[] {
  const out: number[] = [];
  for (const t of texts) {
    const p = 1 / (1 + Math.exp(-margin(m, t)));
    out.push(1 - p, p);
  }
  return out;
}

/** OIP raw BYTES: 4-byte little-endian length, then the bytes, per element. */
function rawStrings(b: Uint8Array): string[] {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: string[] = [];
  for (let o = 0; o < buf.length; ) {
    const len = buf.readUInt32LE(o);
    out.push(buf.subarray(o + 4, o + 4 + len).toString('utf8'));
    o += 4 + len;
  }
  return out;
}

export function startFakeTextOip(model: BagOfWords): Promise<FakeTextOip> {
  return startFakeModelServer<string[]>({
    name: model.name,
    platform: 'bag-of-words',
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    output: { name: 'proba', datatype: 'FP64', shape: [-1, 2] },
    fromGrpc(req) {
      const input = req.inputs[0]!;
      if (input.datatype !== 'BYTES') return `input must be BYTES, got ${input.datatype}`;
      return req.rawInputContents.length > 0 ? rawStrings(req.rawInputContents[0]!) : input.contents!.bytesContents.map((b) => Buffer.from(b).toString('utf8'));
    },
    fromRest(body) {
      const inp = body.inputs[0]!;
      if (inp.datatype !== 'BYTES') return `input must be BYTES, got ${inp.datatype}`;
      return (inp.data.flat(2) as unknown[]).map(String);
    },
    compute: (texts) => ({ rows: texts.length, data: score(model, texts) }),
  });
}
