/**
 * A fake Open Inference Protocol text classifier (grpc-js and node:http, port 0): a BYTES input of UTF-8 strings,
 * scored by a real bag-of-words logistic rule, p(spam) = sigmoid(bias + sum of the weights of the words present),
 * returned as an FP64 [n, 2] tensor (ham, spam).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { inference } from '@genome/proto';

export interface BagOfWords {
  name: string;
  bias: number;
  /** Lower-case word -> weight. */
  weights: Record<string, number>;
}

export interface FakeTextOip {
  grpcPort: number;
  httpPort: number;
  /** ModelInfer calls received (gRPC + REST). */
  calls: number;
  close(): Promise<void>;
}

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

const empty = { boolContents: [], intContents: [], int64Contents: [], uintContents: [], uint64Contents: [], fp32Contents: [], fp64Contents: [], bytesContents: [] };

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

export async function startFakeTextOip(model: BagOfWords): Promise<FakeTextOip> {
  const state = { calls: 0 };
  const meta = {
    name: model.name,
    versions: ['1'],
    platform: 'fake-bag-of-words',
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    outputs: [{ name: 'proba', datatype: 'FP64', shape: [-1, 2] }],
  };
  const server = new Server();
  const impl: inference.GRPCInferenceServiceServer = {
    serverLive: (_c, cb) => cb(null, { live: true }),
    serverReady: (_c, cb) => cb(null, { ready: true }),
    modelReady: (_c, cb) => cb(null, { ready: true }),
    serverMetadata: (_c, cb) => cb(null, { name: 'fake-text-oip', version: '1', extensions: [] }),
    modelMetadata: (call: ServerUnaryCall<inference.ModelMetadataRequest, inference.ModelMetadataResponse>, cb) => {
      if (call.request.name !== model.name) return cb({ code: 5, details: `unknown model ${call.request.name}` });
      cb(null, meta);
    },
    modelInfer: (call: ServerUnaryCall<inference.ModelInferRequest, inference.ModelInferResponse>, cb: sendUnaryData<inference.ModelInferResponse>) => {
      state.calls++;
      const req = call.request;
      if (req.modelName !== model.name) return cb({ code: 5, details: `unknown model ${req.modelName}` });
      const input = req.inputs[0]!;
      if (input.datatype !== 'BYTES') return cb({ code: 3, details: `input must be BYTES, got ${input.datatype}` });
      const texts = req.rawInputContents.length > 0 ? rawStrings(req.rawInputContents[0]!) : input.contents!.bytesContents.map((b) => Buffer.from(b).toString('utf8'));
      const n = texts.length;
      cb(null, {
        modelName: model.name,
        modelVersion: '1',
        id: req.id,
        parameters: {},
        outputs: [{ name: 'proba', datatype: 'FP64', shape: [n, 2], parameters: {}, contents: { ...empty, fp64Contents: score(model, texts) } }],
        rawOutputContents: [],
      });
    },
  };
  server.addService(inference.GRPCInferenceServiceService, impl);
  const grpcPort = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));

  const http: HttpServer = createServer((req, res) => {
    const url = req.url ?? '';
    const send = (s: number, b: unknown) => {
      res.writeHead(s, { 'content-type': 'application/json' });
      res.end(JSON.stringify(b));
    };
    if (req.method === 'GET' && url === `/v2/models/${model.name}`) return send(200, meta);
    if (req.method === 'POST' && url === `/v2/models/${model.name}/infer`) {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        state.calls++;
        const j = JSON.parse(body) as { inputs: { datatype: string; data: unknown[] }[] };
        const inp = j.inputs[0]!;
        if (inp.datatype !== 'BYTES') return send(400, { error: `input must be BYTES, got ${inp.datatype}` });
        const texts = (inp.data.flat(2) as unknown[]).map(String);
        send(200, { model_name: model.name, outputs: [{ name: 'proba', datatype: 'FP64', shape: [texts.length, 2], data: score(model, texts) }] });
      });
      return;
    }
    send(404, { error: `no route ${url}` });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const httpPort = (http.address() as { port: number }).port;
  return {
    grpcPort,
    httpPort,
    get calls() {
      return state.calls;
    },
    async close() {
      server.forceShutdown();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
