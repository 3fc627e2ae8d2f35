/**
 * gRPC transport for the Open Inference Protocol: `inference.GRPCInferenceService/ModelInfer` and
 * `ModelMetadata` through the ts-proto client of `@genome/proto`. grpc-js and the generated protos are optional peer
 * dependencies, loaded at the first call; without them that call is a `MISSING_DEPENDENCY` error.
 */
import type { inference as Inference } from '@genome/proto';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { ModelFormatError } from '../errors.js';
import { importOptional } from '../optional-module.js';
import { throwIfAborted } from '../cancellation.js';
import {
  decodeRaw,
  encodeRaw,
  isNumericDatatype,
  parseNumberStrings,
  shapeSize,
  type OipInput,
  type OipOutput,
} from './oip-tensor.js';
import { OipCallError, type OipInferCall, type OipModelMetadata, type OipTransport } from './oip-transport.js';

type Client = Inference.GRPCInferenceServiceClient;
type GrpcModule = typeof import('@grpc/grpc-js');
type ProtoModule = typeof import('@genome/proto');

export interface GrpcTransportOptions {
  /** Extra request metadata (e.g. authorization) sent with every call. */
  headers?: Record<string, string>;
  /** Largest response accepted, bytes (default 64 MiB). */
  maxReceiveMessageLength?: number;
}

/** Parses `host:port`, `grpc://host:port` or `grpcs://host:port` (TLS). */
export function parseGrpcTarget(url: string): { address: string; tls: boolean } {
  const m = /^(grpcs?):\/\/(.+?)\/?$/.exec(url);
  if (m) return { address: m[2]!, tls: m[1] === 'grpcs' };
  if (/^[a-z]+:\/\//i.test(url)) {
    throw new ModelFormatError('INVALID_INPUT', `gRPC target "${url}" must be host:port, grpc://host:port or grpcs://host:port`);
  }
  return { address: url, tls: false };
}

function toContents(input: OipInput, where: string): Partial<Inference.InferTensorContents> {
  const v = input.values;
  if (input.datatype === 'BYTES') return { bytesContents: (v as readonly string[]).map((s) => Buffer.from(s, 'utf8')) };
  const arr = Array.from(v as ArrayLike<number>);
  switch (input.datatype) {
    case 'FP32': return { fp32Contents: arr };
    case 'FP64': return { fp64Contents: arr };
    case 'INT8': case 'INT16': case 'INT32': return { intContents: arr };
    case 'INT64': return { int64Contents: arr };
    case 'UINT8': case 'UINT16': case 'UINT32': return { uintContents: arr };
    case 'UINT64': return { uint64Contents: arr };
    case 'BOOL': return { boolContents: arr.map((x) => x !== 0) };
    default:
      throw new ModelFormatError('UNSUPPORTED', `${where}: cannot send ${input.datatype} as typed contents; use raw`);
  }
}

function fromContents(c: Inference.InferTensorContents | undefined, datatype: string, where: string): Float64Array {
  if (!c) return new Float64Array(0);
  switch (datatype) {
    case 'FP32': return Float64Array.from(c.fp32Contents);
    case 'FP64': return Float64Array.from(c.fp64Contents);
    case 'INT8': case 'INT16': case 'INT32': return Float64Array.from(c.intContents);
    case 'INT64': return Float64Array.from(c.int64Contents);
    case 'UINT8': case 'UINT16': case 'UINT32': return Float64Array.from(c.uintContents);
    case 'UINT64': return Float64Array.from(c.uint64Contents);
    case 'BOOL': return Float64Array.from(c.boolContents, (b) => (b ? 1 : 0));
    case 'BYTES': return parseNumberStrings(c.bytesContents.map((b) => Buffer.from(b).toString('utf8')), where);
    default:
      throw new ModelFormatError('UNSUPPORTED', `${where}: datatype ${datatype} needs raw_output_contents`);
  }
}

/** Decodes a ModelInferResponse: raw_output_contents when present (one per output, in order), else typed contents. */
export function decodeInferResponse(res: Inference.ModelInferResponse, where: string): OipOutput[] {
  const useRaw = res.rawOutputContents.length > 0;
  if (useRaw && res.rawOutputContents.length !== res.outputs.length) {
    throw new ModelFormatError(
      'RUNTIME',
      `${where}: ${res.outputs.length} outputs but ${res.rawOutputContents.length} raw_output_contents`,
    );
  }
  return res.outputs.map((o, i) => {
    const w = `${where} output "${o.name}"`;
    const values = useRaw ? decodeRaw(new Uint8Array(res.rawOutputContents[i]!), o.datatype, w) : fromContents(o.contents, o.datatype, w);
    const shape = o.shape.map(Number);
    if (shapeSize(shape, w) !== values.length) {
      throw new ModelFormatError('RUNTIME', `${w}: shape [${shape.join(', ')}] but ${values.length} values`);
    }
    return { name: o.name, datatype: o.datatype, shape, values };
  });
}

let grpcMods: Promise<{ grpc: GrpcModule; inference: typeof Inference }> | undefined;
function loadGrpc() {
  const needs = "Remote predictors over gRPC (protocol 'grpc') need";
  const install = ['@grpc/grpc-js', '@genome/proto'];
  grpcMods ??= Promise.all([
    importOptional<GrpcModule | { default: GrpcModule }>('@grpc/grpc-js', needs, install),
    importOptional<ProtoModule>('@genome/proto', needs, install),
  ]).then(
    ([g, p]) => ({ grpc: ('default' in g && g.default ? g.default : g) as GrpcModule, inference: p.inference }),
    (err: unknown) => {
      grpcMods = undefined;
      throw err;
    },
  );
  return grpcMods;
}

export async function grpcTransport(url: string, opts: GrpcTransportOptions = {}): Promise<OipTransport> {
  const { grpc, inference } = await loadGrpc();
  const { address, tls } = parseGrpcTarget(url);
  const client: Client = new inference.GRPCInferenceServiceClient(
    address,
    tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
    { 'grpc.max_receive_message_length': opts.maxReceiveMessageLength ?? 64 * 1024 * 1024 },
  );
  const meta = (): Metadata => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.headers ?? {})) m.set(k, v);
    return m;
  };
  const fail = (rpc: string, model: string, err: ServiceError): OipCallError => {
    const name = grpc.status[err.code] ?? String(err.code);
    const msg = `gRPC ${rpc} to ${address} for model "${model}" failed with ${name}: ${err.details || err.message}`;
    if (err.code === grpc.status.DEADLINE_EXCEEDED) return new OipCallError('TIMEOUT', msg, false, { cause: err });
    if (err.code === grpc.status.INVALID_ARGUMENT) return new OipCallError('INVALID_INPUT', msg, false, { cause: err });
    return new OipCallError('RUNTIME', msg, err.code === grpc.status.UNAVAILABLE, { cause: err });
  };
  let closed = false;
  return {
    protocol: 'grpc',
    target: address,
    async infer(call: OipInferCall): Promise<OipOutput[]> {
      const where = `gRPC ModelInfer to ${address} for model "${call.model}"`;
      const raw: Buffer[] = [];
      const inputs = call.inputs.map((input) => {
        const base = { name: input.name, datatype: input.datatype, shape: input.shape, parameters: {} };
        if (call.raw && isNumericDatatype(input.datatype)) {
          raw.push(Buffer.from(encodeRaw(input.values as ArrayLike<number>, input.datatype)));
          return base;
        }
        return { ...base, contents: inference.InferTensorContents.fromPartial(toContents(input, where)) };
      });
      if (raw.length > 0 && raw.length !== inputs.length) {
        throw new ModelFormatError('UNSUPPORTED', `${where}: raw mode needs every input to be numeric; drop raw`);
      }
      const req = inference.ModelInferRequest.fromPartial({
        modelName: call.model,
        modelVersion: call.version ?? '',
        inputs,
        outputs: (call.outputs ?? []).map((name) => ({ name })),
        rawInputContents: raw,
      });
      const { signal } = call;
      throwIfAborted(signal);
      return new Promise((resolve, reject) => {
        // Settles once: a caller's abort cancels the call and rejects with the reason; the callback that
        // grpc-js then runs with CANCELLED is ignored.
        let settled = false;
        const settle = (fn: () => void) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const pending = client.modelInfer(req, meta(), { deadline: Date.now() + call.timeoutMs }, (err, res) =>
          settle(() => {
            if (err) return reject(fail('ModelInfer', call.model, err));
            try {
              resolve(decodeInferResponse(res, where));
            } catch (e) {
              reject(e);
            }
          }),
        );
        function onAbort() {
          settle(() => {
            pending.cancel();
            reject(signal!.reason);
          });
        }
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    metadata(model, version, timeoutMs) {
      return new Promise((resolve, reject) => {
        client.modelMetadata(
          { name: model, version: version ?? '' },
          meta(),
          { deadline: Date.now() + timeoutMs },
          (err, res) => {
            if (err) {
              if (err.code === grpc.status.UNIMPLEMENTED) return resolve(undefined);
              return reject(fail('ModelMetadata', model, err));
            }
            resolve({
              name: res.name,
              platform: res.platform,
              inputs: res.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
              outputs: res.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
            });
          },
        );
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      client.close();
    },
  };
}
