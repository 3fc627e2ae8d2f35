/**
 * A tiny Explainer server (grpc-js) that records each ExplainRequest as it arrived and answers a canned
 * ExplainResponse (zero attributions), so tests can check the bytes the CLI sends whatever the real server does.
 * It also serves grpc.health.v1.Health with a fixed status.
 */
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { explain, health } from '@genome/proto';

export interface FakeExplainer {
  port: number;
  /** The bytes of each request, as they arrived. */
  raw: Buffer[];
  /** The same requests, decoded. */
  requests: explain.ExplainRequest[];
  close(): Promise<void>;
}

export async function startFakeExplainer(
  featureNames: string[],
  healthStatus: health.HealthCheckResponse_ServingStatus = health.HealthCheckResponse_ServingStatus.SERVING,
): Promise<FakeExplainer> {
  const raw: Buffer[] = [];
  const requests: explain.ExplainRequest[] = [];
  const server = new Server();
  // The generated service definition, with the Explain request decoder also keeping the request's bytes.
  const definition = {
    ...explain.ExplainerService,
    explain: {
      ...explain.ExplainerService.explain,
      requestDeserialize: (b: Buffer) => {
        raw.push(Buffer.from(b));
        return explain.ExplainRequest.decode(b);
      },
    },
  };
  const unimplemented = (_call: unknown, cb: sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED, details: 'fake' });
  server.addService(definition, {
    explain(call: ServerUnaryCall<explain.ExplainRequest, explain.ExplainResponse>, cb: sendUnaryData<explain.ExplainResponse>) {
      const req = call.request;
      requests.push(req);
      const rows = req.tabular?.rows.length ?? 0;
      const nf = featureNames.length;
      const doc = {
        schema: 'genome.explanation/v1',
        method: 'fake',
        values: Array.from({ length: rows }, () => featureNames.map(() => [0])),
        baseValues: Array.from({ length: rows }, () => [1.5]),
        featureNames,
        outputNames: ['y'],
        outputSpace: 'raw',
        predictions: Array.from({ length: rows }, () => [1.5]),
        parameters: {},
        timings: { totalMs: 0 },
      };
      cb(null, {
        modelName: req.model?.name ?? '',
        modelVersion: '1',
        method: 'fake',
        values: new Array<number>(rows * nf).fill(0),
        shape: [rows, nf, 1],
        baseValues: new Array<number>(rows).fill(1.5),
        featureNames,
        outputNames: ['y'],
        outputSpace: 'raw',
        predictions: new Array<number>(rows).fill(1.5),
        explanationJson: JSON.stringify(doc),
        elapsedMs: 0,
        requestId: req.requestId || 'fake',
      });
    },
    explainStream: (call: { emit(e: string, v: unknown): void }) => call.emit('error', { code: status.UNIMPLEMENTED, details: 'fake' }),
    listModels: unimplemented,
    describeModel: unimplemented,
    visualize: unimplemented,
  });
  server.addService(health.HealthService, {
    check: (_call: unknown, cb: sendUnaryData<health.HealthCheckResponse>) => cb(null, { status: healthStatus }),
    list: unimplemented,
    watch: (call: { emit(e: string, v: unknown): void }) => call.emit('error', { code: status.UNIMPLEMENTED, details: 'fake' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    raw,
    requests,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
