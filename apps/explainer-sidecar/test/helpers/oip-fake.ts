/**
 * The scaffold of a fake Open Inference Protocol model server for the end-to-end tests: one model served over
 * grpc-js (`inference.GRPCInferenceService`) and node:http (`/v2/models/{name}[/infer]`), both on port 0.
 * A test model supplies only how to read its input (from a gRPC request or a REST body) and what it computes.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Server, ServerCredentials, type ServerUnaryCall } from '@grpc/grpc-js';
import { inference } from '@genome/proto';

export interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

/** A model behind the fake server. Readers return the decoded input, or a string saying what is wrong with it. */
export interface FakeModel<In> {
  name: string;
  platform: string;
  inputs: TensorMeta[];
  /** One output, always FP64. */
  output: TensorMeta;
  fromGrpc(req: inference.ModelInferRequest): In | string;
  fromRest(body: { inputs: { datatype: string; shape: number[]; data: unknown[] }[] }): In | string;
  /** Output rows and their flat row-major values. */
  compute(input: In): { rows: number; data: number[] };
}

export interface FakeOipServer {
  grpcPort: number;
  httpPort: number;
  /** ModelInfer calls received (gRPC + REST). */
  readonly calls: number;
  /** While true, ModelInfer calls are received but never answered (a hung model server). */
  hang: boolean;
  close(): Promise<void>;
}

/** Where the fake server listens (port 0 = any free port). */
export interface FakeOipPorts {
  grpcPort?: number;
  httpPort?: number;
}

const emptyContents = { boolContents: [], intContents: [], int64Contents: [], uintContents: [], uint64Contents: [], fp32Contents: [], fp64Contents: [], bytesContents: [] };

export async function startFakeModelServer<In>(model: FakeModel<In>, ports: FakeOipPorts = {}): Promise<FakeOipServer> {
  const state = { calls: 0, hang: false };
  const meta = { name: model.name, versions: ['1'], platform: model.platform, inputs: model.inputs, outputs: [model.output] };
  const width = model.output.shape[1] ?? 1;
  const server = new Server();
  const impl: inference.GRPCInferenceServiceServer = {
    serverLive: (_c, cb) => cb(null, { live: true }),
    serverReady: (_c, cb) => cb(null, { ready: true }),
    modelReady: (_c, cb) => cb(null, { ready: true }),
    serverMetadata: (_c, cb) => cb(null, { name: `fake-${model.platform}`, version: '1', extensions: [] }),
    modelMetadata: (call: ServerUnaryCall<inference.ModelMetadataRequest, inference.ModelMetadataResponse>, cb) => {
      if (call.request.name !== model.name) return cb({ code: 5, details: `unknown model ${call.request.name}` });
      cb(null, meta);
    },
    modelInfer: (call: ServerUnaryCall<inference.ModelInferRequest, inference.ModelInferResponse>, cb) => {
      state.calls++;
      if (state.hang) return;
      const req = call.request;
      if (req.modelName !== model.name) return cb({ code: 5, details: `unknown model ${req.modelName}` });
      const input = model.fromGrpc(req);
      if (typeof input === 'string') return cb({ code: 3, details: input });
      const { rows, data } = model.compute(input);
      cb(null, {
        modelName: model.name,
        modelVersion: '1',
        id: req.id,
        parameters: {},
        outputs: [{ name: model.output.name, datatype: 'FP64', shape: [rows, width], parameters: {}, contents: { ...emptyContents, fp64Contents: data } }],
        rawOutputContents: [],
      });
    },
  };
  server.addService(inference.GRPCInferenceServiceService, impl);
  const grpcPort = await new Promise<number>((res, rej) => server.bindAsync(`127.0.0.1:${ports.grpcPort ?? 0}`, ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));

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
        if (state.hang) return;
        const input = model.fromRest(JSON.parse(body));
        if (typeof input === 'string') return send(400, { error: input });
        const { rows, data } = model.compute(input);
        send(200, { model_name: model.name, outputs: [{ name: model.output.name, datatype: 'FP64', shape: [rows, width], data }] });
      });
      return;
    }
    send(404, { error: `no route ${url}` });
  });
  await new Promise<void>((r) => http.listen(ports.httpPort ?? 0, '127.0.0.1', () => r()));
  const httpPort = (http.address() as { port: number }).port;
  return {
    grpcPort,
    httpPort,
    get calls() {
      return state.calls;
    },
    get hang() {
      return state.hang;
    },
    set hang(v: boolean) {
      state.hang = v;
    },
    async close() {
      server.forceShutdown();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
