/**
 * gRPC pieces every Genome server shares.
 *
 * Undecodable request bytes: grpc-js answers INTERNAL ("Error deserializing request") when a deserializer throws.
 * {@link tolerantDeserializers} wraps every deserializer so such bytes reach the handler as a marker
 * ({@link isUndecodable}, {@link decodeErrorOf}) and the server answers INVALID_ARGUMENT with the decoder's message.
 *
 * The standard services a server hosts beside its own (grpc.health.v1.Health, server reflection v1 and v1alpha)
 * answer hostile input like the hosted services do ({@link guardedServer}): undecodable bytes are INVALID_ARGUMENT, a
 * handler that throws is INTERNAL with an error id in the log instead of an uncaught exception, error details are
 * capped, and a health service name longer than any served one is refused before it is echoed or watched.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, status, type ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ServerKitError } from './errors.js';
import { capMessage } from './quote.js';
import { grpcServerCredentials, type TlsFiles } from './tls.js';

/** The part of a pino logger the shared server code writes to. */
export interface KitLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const DECODE_ERROR = Symbol('genome.decodeError');

interface DecodeFailure {
  [DECODE_ERROR]: string;
}

export interface TolerantOptions {
  /** Serializers pass a Buffer through untouched (an answer the handler encoded itself, e.g. in pieces). */
  passEncoded?: boolean;
}

/** `service` with every request deserializer turned into one that returns a marker instead of throwing. */
export function tolerantDeserializers<S extends ServiceDefinition>(service: S, opts: TolerantOptions = {}): S {
  const out: Record<string, unknown> = {};
  for (const [k, m] of Object.entries(service)) {
    out[k] = {
      ...m,
      ...(opts.passEncoded ? { responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : m.responseSerialize(value)) } : {}),
      requestDeserialize: (buf: Buffer) => {
        try {
          return m.requestDeserialize(buf);
        } catch (err) {
          return { [DECODE_ERROR]: (err as Error).message } satisfies DecodeFailure;
        }
      },
    };
  }
  return out as S;
}

/** True when `req` is the marker of undecodable bytes. */
export function isUndecodable(req: unknown): req is DecodeFailure {
  return req !== null && typeof req === 'object' && DECODE_ERROR in req;
}

/**
 * The message every server sends for undecodable bytes (at most 200 characters of the decoder's error), naming the
 * contract to generate stubs from; undefined when `req` decoded.
 */
export function undecodedMessage(req: unknown, contract: string): string | undefined {
  return isUndecodable(req)
    ? `the request is not a valid protobuf message for this method (${req[DECODE_ERROR].slice(0, 200)}); generate stubs from ${contract}`
    : undefined;
}

/** Longest health service name accepted (served names are a few dozen characters). */
export const MAX_HEALTH_SERVICE_CHARS = 512;

type Err = { code: status; details: string };
type AnyCall = {
  request?: unknown;
  emit(event: 'error', err: unknown): boolean;
  on(event: string, listener: (...a: unknown[]) => void): unknown;
};

const invalid = (what: string): Err => ({ code: status.INVALID_ARGUMENT, details: `the request is not a valid protobuf message for ${what}` });

function tooLongServiceName(req: unknown): Err | null {
  const s = (req as { service?: unknown } | undefined)?.service;
  return typeof s === 'string' && s.length > MAX_HEALTH_SERVICE_CHARS
    ? { code: status.INVALID_ARGUMENT, details: `the service name is ${s.length} characters long; health is served for names up to ${MAX_HEALTH_SERVICE_CHARS}` }
    : null;
}

function capped(err: unknown): unknown {
  const e = err as { details?: unknown } | null;
  return e && typeof e.details === 'string' ? Object.assign(e, { details: capMessage(e.details) }) : err;
}

/** Wraps each handler of `impl` (a service added by a library) with the checks above. */
function guardHandlers(def: ServiceDefinition, impl: UntypedServiceImplementation, logger: KitLogger): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const handler = (impl[name] ?? impl[method.originalName ?? '']) as ((...a: unknown[]) => void) | undefined;
    if (!handler) continue;
    const what = method.path;
    const internal = (err: unknown): Err => {
      const errorId = randomUUID();
      logger.error({ err, errorId, rpc: what }, 'call failed (internal)');
      return { code: status.INTERNAL, details: `internal error (error id ${errorId}; see the server log)` };
    };
    const wrapped = (call: AnyCall, callback?: (err: unknown, value?: unknown) => void): void => {
      const fail = (err: Err): void => {
        if (callback) callback(err);
        else call.emit('error', err);
      };
      if (!method.requestStream) {
        if (isUndecodable(call.request)) return fail(invalid(what));
        const long = tooLongServiceName(call.request);
        if (long) return fail(long);
      } else {
        // Streamed requests: a message that does not decode ends the call with INVALID_ARGUMENT instead of reaching
        // the handler's 'data' listener, and later messages are dropped (a handler writing after the end would
        // destroy the stream before its status goes out).
        const on = call.on.bind(call);
        let failed = false;
        call.on = (event: string, listener: (...a: unknown[]) => void) =>
          on(event, event !== 'data' ? listener : (m: unknown) => {
            if (failed) return;
            if (!isUndecodable(m)) {
              try {
                return listener(m);
              } catch (err) {
                failed = true;
                return fail(internal(err));
              }
            }
            failed = true;
            fail(invalid(what));
          });
      }
      try {
        if (callback) handler.call(impl, call, (err: unknown, value?: unknown) => callback(capped(err), value));
        else handler.call(impl, call);
      } catch (err) {
        fail(internal(err));
      }
    };
    out[name] = wrapped as never;
  }
  return out;
}

/** A view of `server` whose addService guards what libraries add (health, reflection). */
export function guardedServer(server: Server, logger: KitLogger): Server {
  return Object.create(server, {
    addService: {
      value: (def: ServiceDefinition, impl: UntypedServiceImplementation) => server.addService(tolerantDeserializers(def), guardHandlers(def, impl, logger)),
    },
  }) as Server;
}

/** A grpc-js server with the message limits and keepalive settings every Genome server uses. */
export function createGrpcServer(maxMessageBytes: number): Server {
  return new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
}

/** Binds `server` to host:port; resolves the bound port, rejects with a CONFIG error that names the address. */
export function bindGrpc(server: Server, host: string, port: number, creds: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, creds, (err, p) =>
      err ? reject(new ServerKitError('CONFIG', `cannot listen for gRPC on ${host}:${port}: ${err.message}`, { cause: err })) : resolve(p),
    ),
  );
}

/** Runs `body` and reports its outcome through `done`, whatever it throws, synchronously or not. */
export function settle<T>(body: () => Promise<T>, done: (err: unknown, value?: T) => void): void {
  let p: Promise<T>;
  try {
    p = body();
  } catch (err) {
    p = Promise.reject(err);
  }
  p.then(
    (v) => done(null, v),
    (err: unknown) => done(err ?? new Error('rejected without a reason')),
  );
}

/** A service a server hosts over gRPC, with the .proto file reflection serves. */
export interface GrpcService {
  /** Full service name, e.g. `genome.store.v1.ModelStore` (health is reported under it). */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /** The service's .proto, relative to the proto directory, e.g. `genome/store/v1/store.proto`. */
  protoFile: string;
}

export interface GrpcServerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  /** Directory holding the services' .proto files (for reflection). */
  protoDir: string;
  tls?: TlsFiles;
  /** Handlers may answer with an already encoded message (a Buffer); see {@link TolerantOptions.passEncoded}. */
  passEncoded?: boolean;
  /** The message of the CONFIG error for a .proto file that cannot be read (default: names the file and --proto-dir). */
  protoError?: (file: string, service: GrpcService, err: Error) => string;
}

export interface GrpcServerHandle {
  server: Server;
  health: HealthImplementation;
  port: number;
  /** Sets the health of '' and of every hosted service. */
  setServing(serving: boolean): void;
}

/**
 * The gRPC server of a Genome server: the hosted services + grpc.health.v1.Health (NOT_SERVING until
 * `setServing(true)`) + server reflection, guarded as above, with TLS/mTLS and message limits.
 */
export async function startGrpcServer(services: GrpcService[], logger: KitLogger, opts: GrpcServerOptions): Promise<GrpcServerHandle> {
  const creds = grpcServerCredentials(opts.tls);
  const server = createGrpcServer(opts.maxMessageBytes);
  const protoFiles: string[] = [];
  for (const s of services) {
    server.addService(tolerantDeserializers(s.definition, { passEncoded: opts.passEncoded ?? false }), s.implementation);
    const file = join(opts.protoDir, s.protoFile);
    try {
      readFileSync(file);
    } catch (err) {
      const message = opts.protoError
        ? opts.protoError(file, s, err as Error)
        : `cannot find ${s.protoFile} under ${opts.protoDir} (for reflection): set --proto-dir to the repository's proto/ directory`;
      throw new ServerKitError('CONFIG', message, { cause: err });
    }
    protoFiles.push(file);
  }
  const names = ['', ...services.map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'NOT_SERVING' as const])));
  const guarded = guardedServer(server, logger);
  health.addToServer(guarded);
  const defs = protoLoader.loadSync([...protoFiles, healthProtoPath], { includeDirs: [opts.protoDir] });
  new ReflectionService(defs).addToServer(guarded);
  const port = await bindGrpc(server, opts.host, opts.port, creds);
  return {
    server,
    health,
    port,
    setServing: (serving) => {
      for (const n of names) health.setStatus(n, serving ? 'SERVING' : 'NOT_SERVING');
    },
  };
}
