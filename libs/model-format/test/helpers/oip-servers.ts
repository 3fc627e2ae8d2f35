/**
 * Real Open Inference Protocol servers for tests (port 0): a grpc-js server implementing
 * inference.GRPCInferenceService and a node:http REST server. Both serve:
 *  - "linear": y = X w + b with 2 outputs (w1, w2), FP32 or FP64 input, typed or raw contents;
 *  - "linear-raw": the same, answering with raw_output_contents (gRPC) — REST answers nested JSON data;
 *  - "slow": answers after `slowMs`;
 *  - "flaky": UNAVAILABLE (gRPC) / HTTP 503 (REST) for the first `flakyFailures` calls, then "linear";
 *  - "bad": rejects every request as invalid;
 *  - "text": BYTES input; output [n, 2] = (length, number of spaces);
 *  - "hang": the same as "linear" while `stats.hang` is false; once it is true, infer requests are never
 *    answered (until the server closes), and `stats.cancelled` counts those the client cancels (gRPC call
 *    cancelled, HTTP connection closed before the answer).
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inference } from '@genome/proto';

export const W1 = [0.5, -1.25, 2, 0.75];
export const W2 = [1, 1, 1, 1];
export const B = [0.25, -3];
export const NF = W1.length;

export function linear(x: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let a = B[0]!;
    let b = B[1]!;
    for (let j = 0; j < NF; j++) {
      a += W1[j]! * x[i * NF + j]!;
      b += W2[j]! * x[i * NF + j]!;
    }
    out.push(a, b);
  }
  return out;
}

export interface ServerStats {
  calls: Record<string, number>;
  batchSizes: number[];
  slowMs: number;
  flakyFailures: number;
  lastRaw: boolean;
  lastDatatype: string;
  hang: boolean;
  cancelled: number;
}

function newStats(): ServerStats {
  return { calls: {}, batchSizes: [], slowMs: 300, flakyFailures: 2, lastRaw: false, lastDatatype: '', hang: false, cancelled: 0 };
}

function readInput(req: inference.ModelInferRequest): { x: Float64Array; n: number; datatype: string } {
  const t = req.inputs[0]!;
  const n = Number(t.shape[0]);
  let x: Float64Array;
  if (req.rawInputContents.length > 0) {
    const raw = req.rawInputContents[0]!;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = t.datatype === 'FP64' || t.datatype === 'INT64' ? 8 : 4;
    x = new Float64Array(raw.byteLength / size);
    for (let i = 0; i < x.length; i++) {
      x[i] =
        t.datatype === 'FP64'
          ? view.getFloat64(i * size, true)
          : t.datatype === 'INT64'
            ? Number(view.getBigInt64(i * size, true))
            : t.datatype === 'INT32'
              ? view.getInt32(i * size, true)
              : view.getFloat32(i * size, true);
    }
  } else {
    const c = t.contents!;
    x = Float64Array.from(
      t.datatype === 'FP64' ? c.fp64Contents : t.datatype === 'INT32' ? c.intContents : t.datatype === 'INT64' ? c.int64Contents : c.fp32Contents,
    );
  }
  return { x, n, datatype: t.datatype };
}

export async function startGrpcServer(): Promise<{ url: string; stats: ServerStats; close: () => Promise<void> }> {
  const stats = newStats();
  const server = new grpc.Server();
  /** Answers of hung "hang" calls, sent (as UNAVAILABLE) when the server closes. */
  const hung: (() => void)[] = [];
  const impl: inference.GRPCInferenceServiceServer = {
    serverLive: (_c, cb) => cb(null, { live: true }),
    serverReady: (_c, cb) => cb(null, { ready: true }),
    modelReady: (_c, cb) => cb(null, { ready: true }),
    serverMetadata: (_c, cb) => cb(null, { name: 'fake', version: '1', extensions: [] }),
    modelMetadata: (call, cb) => {
      const name = call.request.name;
      if (name === 'text') {
        return cb(null, { name, versions: [], platform: 'fake', inputs: [{ name: 'args', datatype: 'BYTES', shape: [-1] }], outputs: [{ name: 'features', datatype: 'FP64', shape: [-1, 2] }] });
      }
      cb(null, {
        name,
        versions: ['1'],
        platform: 'fake',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, NF] }],
        outputs: [{ name: 'y', datatype: 'FP64', shape: [-1, 2] }],
      });
    },
    modelInfer: (call, cb) => {
      const req = call.request;
      const model = req.modelName;
      stats.calls[model] = (stats.calls[model] ?? 0) + 1;
      if (model === 'bad') return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'input x has the wrong shape' });
      if (model === 'missing') return cb({ code: grpc.status.NOT_FOUND, details: 'model missing not found' });
      if (model === 'flaky' && stats.calls[model]! <= stats.flakyFailures) {
        return cb({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
      }
      if (model === 'hang' && stats.hang) {
        call.on('cancelled', () => stats.cancelled++);
        hung.push(() => cb({ code: grpc.status.UNAVAILABLE, details: 'shutting down' }));
        return;
      }
      if (model === 'text') {
        const t = req.inputs[0]!;
        const texts = t.contents!.bytesContents.map((b) => Buffer.from(b).toString('utf8'));
        stats.batchSizes.push(texts.length);
        const y = texts.flatMap((s) => [s.length, s.split(' ').length - 1]);
        return cb(null, {
          modelName: model, modelVersion: '', id: req.id, parameters: {},
          outputs: [{ name: 'features', datatype: 'FP64', shape: [texts.length, 2], parameters: {}, contents: inference.InferTensorContents.fromPartial({ fp64Contents: y }) }],
          rawOutputContents: [],
        });
      }
      const { x, n, datatype } = readInput(req);
      stats.lastRaw = req.rawInputContents.length > 0;
      stats.lastDatatype = datatype;
      stats.batchSizes.push(n);
      const y = linear(x, n);
      const answer = () => {
        if (model === 'linear-raw') {
          const buf = Buffer.alloc(y.length * 4);
          y.forEach((v, i) => buf.writeFloatLE(v, i * 4));
          return cb(null, {
            modelName: model, modelVersion: '1', id: req.id, parameters: {},
            outputs: [
              { name: 'label', datatype: 'INT64', shape: [n], parameters: {} },
              { name: 'y', datatype: 'FP32', shape: [n, 2], parameters: {} },
            ],
            rawOutputContents: [Buffer.from(new BigInt64Array(n).buffer), buf],
          });
        }
        cb(null, {
          modelName: model, modelVersion: '1', id: req.id, parameters: {},
          outputs: [{ name: 'y', datatype: 'FP64', shape: [n, 2], parameters: {}, contents: inference.InferTensorContents.fromPartial({ fp64Contents: y }) }],
          rawOutputContents: [],
        });
      };
      if (model === 'slow') setTimeout(answer, stats.slowMs);
      else answer();
    },
  };
  server.addService(inference.GRPCInferenceServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    url: `127.0.0.1:${port}`,
    stats,
    close: () => {
      for (const answer of hung.splice(0)) answer();
      return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

export async function startRestServer(): Promise<{ url: string; stats: ServerStats; close: () => Promise<void> }> {
  const stats = newStats();
  const server: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer)?$/.exec(req.url ?? '');
      if (!m) return send(404, { error: 'not found' });
      const model = decodeURIComponent(m[1]!);
      if (!m[3]) {
        if (req.method !== 'GET') return send(405, { error: 'method' });
        if (model === 'nometa') return send(404, { error: 'no metadata' });
        return send(200, { name: model, versions: ['1'], platform: 'fake', inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, NF] }], outputs: [{ name: 'y', datatype: 'FP64', shape: [-1, 2] }] });
      }
      stats.calls[model] = (stats.calls[model] ?? 0) + 1;
      if (model === 'bad') return send(400, { error: 'input x has the wrong shape' });
      if (model === 'flaky' && stats.calls[model]! <= stats.flakyFailures) return send(503, { error: 'warming up' });
      if (model === 'hang' && stats.hang) {
        res.on('close', () => {
          if (!res.writableEnded) stats.cancelled++;
        });
        return; // never answered; closeAllConnections() ends it when the server closes
      }
      let body: { inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(400, { error: 'bad json' });
      }
      const t = body.inputs[0]!;
      stats.lastDatatype = t.datatype;
      if (model === 'text') {
        const texts = (t.data as unknown[]).flat(3) as string[];
        stats.batchSizes.push(texts.length);
        return send(200, { model_name: model, outputs: [{ name: 'features', datatype: 'FP64', shape: [texts.length, 2], data: texts.flatMap((s) => [s.length, s.split(' ').length - 1]) }] });
      }
      const n = t.shape[0]!;
      const x = (t.data as unknown[]).flat(3) as number[];
      stats.batchSizes.push(n);
      const y = linear(x, n);
      const nested: number[][] = [];
      for (let i = 0; i < n; i++) nested.push([y[2 * i]!, y[2 * i + 1]!]);
      const answer = () =>
        send(200, {
          model_name: model,
          model_version: m[2],
          outputs:
            model === 'linear-raw'
              ? [{ name: 'y', datatype: 'FP32', shape: [n, 2], data: nested }]
              : [{ name: 'y', datatype: 'FP64', shape: [n, 2], data: y }],
        });
      if (model === 'slow') setTimeout(answer, stats.slowMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
