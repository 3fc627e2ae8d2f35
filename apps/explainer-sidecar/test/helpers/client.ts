/** A promise-based grpc-js client for the Explainer service (what a Node user would write). */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { explain } from '@genome/proto';

export type Client = InstanceType<typeof explain.ExplainerClient>;

/** An ExplainRequest as callers write it: any field may be left out, at any depth (ts-proto's DeepPartial). */
export type ExplainRequestInit = explain.DeepPartial<explain.ExplainRequest>;

export function client(port: number, creds: ChannelCredentials = credentials.createInsecure(), options: Record<string, unknown> = {}): Client {
  return new explain.ExplainerClient(`127.0.0.1:${port}`, creds, options);
}

export interface CallOpts {
  token?: string;
  deadlineMs?: number;
}

function md(o: CallOpts): Metadata {
  const m = new Metadata();
  if (o.token) m.set('authorization', `Bearer ${o.token}`);
  return m;
}

function callOptions(o: CallOpts) {
  return o.deadlineMs ? { deadline: Date.now() + o.deadlineMs } : {};
}

export function explainCall(c: Client, req: ExplainRequestInit, o: CallOpts = {}): Promise<explain.ExplainResponse> {
  return new Promise((resolve, reject) =>
    c.explain(explain.ExplainRequest.fromPartial(req), md(o), callOptions(o), (err: ServiceError | null, res?: explain.ExplainResponse) => (err ? reject(err) : resolve(res!))),
  );
}

export function listModels(c: Client, o: CallOpts = {}): Promise<explain.ListModelsResponse> {
  return new Promise((resolve, reject) => c.listModels({}, md(o), callOptions(o), (err, res) => (err ? reject(err) : resolve(res!))));
}

export function describeModel(c: Client, name: string, o: CallOpts = {}): Promise<explain.DescribeModelResponse> {
  return new Promise((resolve, reject) => c.describeModel({ model: { name, version: '' } }, md(o), callOptions(o), (err, res) => (err ? reject(err) : resolve(res!))));
}

export function visualize(c: Client, req: explain.DeepPartial<explain.VisualizeRequest>, o: CallOpts = {}): Promise<explain.VisualizeResponse> {
  return new Promise((resolve, reject) => c.visualize(explain.VisualizeRequest.fromPartial(req), md(o), callOptions(o), (err, res) => (err ? reject(err) : resolve(res!))));
}

export function explainStream(c: Client, req: ExplainRequestInit, chunkSize: number, o: CallOpts = {}): Promise<explain.ExplainStreamResponse[]> {
  return new Promise((resolve, reject) => {
    const out: explain.ExplainStreamResponse[] = [];
    const s = c.explainStream({ request: explain.ExplainRequest.fromPartial(req), chunkSize }, md(o), callOptions(o));
    s.on('data', (m: explain.ExplainStreamResponse) => out.push(m));
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

export { grpcError } from '../../../../tools/test-std-clients.js';
