/** A promise-based grpc-js client for genome.store.v1.ModelStore (what a Node user would write). */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { store as pb } from '@genome/proto';

export type Client = InstanceType<typeof pb.ModelStoreClient>;

export function client(port: number, creds: ChannelCredentials = credentials.createInsecure(), options: Record<string, unknown> = {}): Client {
  return new pb.ModelStoreClient(`127.0.0.1:${port}`, creds, options);
}

export interface CallOpts {
  token?: string;
  deadlineMs?: number;
}

export function md(o: CallOpts): Metadata {
  const m = new Metadata();
  if (o.token) m.set('authorization', `Bearer ${o.token}`);
  return m;
}

export function callOptions(o: CallOpts): { deadline?: number } {
  return o.deadlineMs ? { deadline: Date.now() + o.deadlineMs } : {};
}

type Callback<R> = (err: ServiceError | null, res?: R) => void;

/** A promise-based unary call of `method` on any generated grpc-js client. */
export function unaryOf<C, Q, R>(method: string, msg: { fromPartial(x: pb.DeepPartial<Q>): Q }) {
  return (c: C, req: pb.DeepPartial<Q>, o: CallOpts = {}): Promise<R> =>
    new Promise((resolve, reject) => {
      const fn = (c as unknown as Record<string, (q: Q, m: Metadata, opts: object, cb: Callback<R>) => void>)[method]!;
      fn.call(c, msg.fromPartial(req), md(o), callOptions(o), (err, res) => (err ? reject(err) : resolve(res!)));
    });
}

const unary = <Q, R>(method: string, msg: { fromPartial(x: pb.DeepPartial<Q>): Q }) => unaryOf<Client, Q, R>(method, msg);

export const missingBlobs = unary<pb.MissingBlobsRequest, pb.MissingBlobsResponse>('missingBlobs', pb.MissingBlobsRequest);
export const createVersion = unary<pb.CreateVersionRequest, pb.Version>('createVersion', pb.CreateVersionRequest);
export const getVersion = unary<pb.GetVersionRequest, pb.Version>('getVersion', pb.GetVersionRequest);
export const updateVersion = unary<pb.UpdateVersionRequest, pb.Version>('updateVersion', pb.UpdateVersionRequest);
export const deleteVersion = unary<pb.VersionRequest, pb.Version>('deleteVersion', pb.VersionRequest);
export const restoreVersion = unary<pb.VersionRequest, pb.Version>('restoreVersion', pb.VersionRequest);
export const purgeVersion = unary<pb.VersionRequest, pb.PurgeVersionResponse>('purgeVersion', pb.VersionRequest);
export const listModels = unary<pb.ListModelsRequest, pb.ListModelsResponse>('listModels', pb.ListModelsRequest);
export const getModel = unary<pb.GetModelRequest, pb.RegisteredModel>('getModel', pb.GetModelRequest);
export const searchVersions = unary<pb.SearchVersionsRequest, pb.SearchVersionsResponse>('searchVersions', pb.SearchVersionsRequest);
export const setAlias = unary<pb.SetAliasRequest, pb.Version>('setAlias', pb.SetAliasRequest);
export const deleteAlias = unary<pb.DeleteAliasRequest, pb.DeleteAliasResponse>('deleteAlias', pb.DeleteAliasRequest);
export const recordLineage = unary<pb.RecordLineageRequest, pb.RunLineage>('recordLineage', pb.RecordLineageRequest);
export const getRunLineage = unary<pb.GetRunLineageRequest, pb.RunLineage>('getRunLineage', pb.GetRunLineageRequest);
export const getVersionLineage = unary<pb.VersionRequest, pb.VersionLineage>('getVersionLineage', pb.VersionRequest);
export const collectGarbage = unary<pb.CollectGarbageRequest, pb.CollectGarbageResponse>('collectGarbage', pb.CollectGarbageRequest);

/** Uploads one blob: the header, then the bytes in chunks of `chunkBytes`. */
export function putBlob(c: Client, bytes: Uint8Array, header: { sha256: string; size?: number }, o: CallOpts & { chunkBytes?: number } = {}): Promise<pb.PutBlobResponse> {
  return new Promise((resolve, reject) => {
    const call = c.putBlob(md(o), callOptions(o), (err, res) => (err ? reject(err) : resolve(res!)));
    call.on('error', () => {}); // the callback reports it
    call.write({ header: { sha256: header.sha256, size: header.size ?? bytes.byteLength } });
    const step = o.chunkBytes ?? 64 * 1024;
    for (let off = 0; off < bytes.byteLength; off += step) call.write({ chunk: Buffer.from(bytes.subarray(off, off + step)) });
    call.end();
  });
}

/** Downloads a blob: every message received, and how the stream ended (null = OK). */
export function getBlob(c: Client, sha256: string, o: CallOpts = {}): Promise<{ messages: pb.GetBlobResponse[]; bytes: Buffer; error: ServiceError | null }> {
  return new Promise((resolve) => {
    const messages: pb.GetBlobResponse[] = [];
    const s = c.getBlob({ sha256 }, md(o), callOptions(o));
    s.on('data', (m: pb.GetBlobResponse) => messages.push(m));
    const done = (error: ServiceError | null) => resolve({ messages, bytes: Buffer.concat(messages.map((m) => m.chunk)), error });
    s.on('error', (e: ServiceError) => done(e));
    s.on('end', () => done(null));
  });
}

/** Watches events from `sinceSeq` until `n` arrived (then cancels), or the stream ends. */
export function watchEvents(c: Client, sinceSeq: number, n: number, o: CallOpts = {}): { events: Promise<pb.StoreEvent[]>; cancel(): void; ended: Promise<ServiceError | null> } {
  const s = c.watchEvents({ sinceSeq }, md(o), callOptions(o));
  const out: pb.StoreEvent[] = [];
  let resolveEvents!: (e: pb.StoreEvent[]) => void;
  const events = new Promise<pb.StoreEvent[]>((r) => (resolveEvents = r));
  const ended = new Promise<ServiceError | null>((r) => {
    s.on('error', (e: ServiceError) => {
      resolveEvents(out);
      r(e);
    });
    s.on('end', () => {
      resolveEvents(out);
      r(null);
    });
  });
  s.on('data', (e: pb.StoreEvent) => {
    out.push(e);
    if (out.length >= n) resolveEvents(out);
  });
  return { events, cancel: () => s.cancel(), ended };
}

export { grpcError } from '../../../../tools/test-std-clients.js';
