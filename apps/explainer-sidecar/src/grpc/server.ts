/** The gRPC server: Explainer + grpc.health.v1.Health + server reflection, with TLS/mTLS and message limits. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { explain as pb } from '@genome/proto';
import { grpcServerCredentials, type TlsFiles } from '@genome/server-kit';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { SidecarContext } from '../context.js';
import { SidecarError } from '../errors.js';
import { tolerantDeserializers } from './decode.js';
import { guardedServer } from './guard.js';
import { explainerHandlers } from './handlers.js';

export const EXPLAINER_SERVICE = 'genome.explain.v1.Explainer';

export interface GrpcOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  /** Directory holding genome/explain/v1/explainer.proto (for reflection). */
  protoDir: string;
  tls?: TlsFiles;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SidecarError('CONFIG', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export interface GrpcHandle {
  server: Server;
  health: HealthImplementation;
  port: number;
}

export async function startGrpc(ctx: SidecarContext, opts: GrpcOptions): Promise<GrpcHandle> {
  const server = new Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': opts.maxMessageBytes,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(tolerantDeserializers(pb.ExplainerService), explainerHandlers(ctx));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [EXPLAINER_SERVICE]: 'NOT_SERVING' });
  const guarded = guardedServer(server, ctx.logger);
  health.addToServer(guarded);
  const protoFile = join(opts.protoDir, 'genome/explain/v1/explainer.proto');
  read(protoFile, 'explainer contract (set --proto-dir)');
  const defs = protoLoader.loadSync([protoFile, healthProtoPath], { includeDirs: [opts.protoDir] });
  new ReflectionService(defs).addToServer(guarded);
  const creds = grpcServerCredentials(opts.tls);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host}:${opts.port}`, creds, (err, p) => (err ? reject(new SidecarError('CONFIG', `cannot listen for gRPC on ${opts.host}:${opts.port}: ${err.message}`, { cause: err })) : resolve(p))),
  );
  return { server, health, port };
}
