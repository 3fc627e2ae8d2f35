/** The gRPC server: Explainer + grpc.health.v1.Health + server reflection, with TLS/mTLS and message limits. */
import { explain as pb } from '@genome/proto';
import { startGrpcServer, type GrpcServerHandle, type TlsFiles } from '@genome/server-kit';
import type { SidecarContext } from '../context.js';
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

export type GrpcHandle = GrpcServerHandle;

export function startGrpc(ctx: SidecarContext, opts: GrpcOptions): Promise<GrpcHandle> {
  return startGrpcServer(
    [{ name: EXPLAINER_SERVICE, definition: pb.ExplainerService, implementation: explainerHandlers(ctx), protoFile: 'genome/explain/v1/explainer.proto' }],
    ctx.logger,
    {
      ...opts,
      // Handlers may hand over an already encoded message (encode.ts builds large answers in pieces).
      passEncoded: true,
      protoError: (file, _service, err) => `cannot read explainer contract (set --proto-dir) ${file}: ${err.message}`,
    },
  );
}
