/**
 * A fake Open Inference Protocol model server (grpc-js and node:http, port 0) serving one linear model
 * y = bias + sum_i weights[i] * x_i, so Shapley values are known in closed form: w_i * (x_i - E_bg[x_i]).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { inference } from '@genome/proto';

export interface LinearModel {
  name: string;
  weights: number[];
  bias: number;
}

export interface FakeOip {
  grpcPort: number;
  httpPort: number;
  /** ModelInfer calls received (gRPC + REST). */
  calls: number;
  close(): Promise<void>;
}

function predict(m: LinearModel, x: ArrayLike<number>, n: number): number[] {
  const F = m.weights.length;
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let y = m.bias;
    for (let f = 0; f < F; f++) y += m.weights[f]! * x[r * F + f]!;
    out.push(y);
  }
  return out;
}

export async function startFakeOip(model: LinearModel): Promise<FakeOip> {
  const F = model.weights.length;
  const state = { calls: 0 };
  const meta = {
    name: model.name,
    versions: ['1'],
    platform: 'fake-linear',
    inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, F] }],
    outputs: [{ name: 'y', datatype: 'FP64', shape: [-1, 1] }],
  };
  const server = new Server();
  const unimplemented = (_c: unknown, cb: sendUnaryData<never>) => cb({ code: 12, details: 'not in the fake' });
  const impl: inference.GRPCInferenceServiceServer = {
    serverLive: (_c, cb) => cb(null, { live: true }),
    serverReady: (_c, cb) => cb(null, { ready: true }),
    modelReady: (_c, cb) => cb(null, { ready: true }),
    serverMetadata: (_c, cb) => cb(null, { name: 'fake-oip', version: '1', extensions: [] }),
    modelMetadata: (call: ServerUnaryCall<inference.ModelMetadataRequest, inference.ModelMetadataResponse>, cb) => {
      if (call.request.name !== model.name) return cb({ code: 5, details: `unknown model ${call.request.name}` });
      cb(null, meta);
    },
    modelInfer: (call: ServerUnaryCall<inference.ModelInferRequest, inference.ModelInferResponse>, cb) => {
      state.calls++;
      const req = call.request;
      if (req.modelName !== model.name) return cb({ code: 5, details: `unknown model ${req.modelName}` });
      const input = req.inputs[0]!;
      const n = input.shape[0]!;
      let x: ArrayLike<number>;
      if (req.rawInputContents.length > 0) {
        const b = req.rawInputContents[0]!;
        x = input.datatype === 'FP32' ? new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) : new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      } else {
        const c = input.contents!;
        x = input.datatype === 'FP32' ? c.fp32Contents : c.fp64Contents;
      }
      const y = predict(model, x, n);
      cb(null, {
        modelName: model.name,
        modelVersion: '1',
        id: req.id,
        parameters: {},
        outputs: [{ name: 'y', datatype: 'FP64', shape: [n, 1], parameters: {}, contents: { fp64Contents: y, boolContents: [], intContents: [], int64Contents: [], uintContents: [], uint64Contents: [], fp32Contents: [], bytesContents: [] } }],
        rawOutputContents: [],
      });
    },
  };
  void unimplemented;
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
        const j = JSON.parse(body) as { inputs: { shape: number[]; data: number[] | number[][] }[] };
        const inp = j.inputs[0]!;
        const flat = (inp.data as unknown[]).flat(4) as number[];
        send(200, { model_name: model.name, outputs: [{ name: 'y', datatype: 'FP64', shape: [inp.shape[0], 1], data: predict(model, flat, inp.shape[0]!) }] });
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
