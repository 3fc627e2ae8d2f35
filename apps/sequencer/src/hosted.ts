/**
 * The contract between the server shell and the services it hosts. A hosted service brings its gRPC services (with
 * the .proto file reflection serves) and its REST routes; the shell owns the ports, TLS, auth, deadlines, error
 * mapping, health and the drain. The model store is the first hosted service (src/store); the sequencer's
 * pipelines are the next.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Principal } from '@genome/server-kit';
import type { CallScope } from './context.js';

export interface HostedGrpcService {
  /** Full service name, e.g. `genome.store.v1.ModelStore` (health is reported under it). */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /** The service's .proto, relative to the proto directory (for reflection), e.g. `genome/store/v1/store.proto`. */
  protoFile: string;
}

/** What a REST handler gets: the parsed request, the caller, and the call's scope (deadline, cancellation). */
export interface RestCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  principal: Principal;
  scope: CallScope;
  /** The JSON body, bounded in size and depth (INVALID_ARGUMENT naming what is wrong otherwise). */
  json(): Promise<unknown>;
}

/** A JSON answer; a handler that wrote the response itself (a download) returns undefined. */
export interface RestAnswer {
  status?: number;
  body: unknown;
}

export interface RestRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /**
   * Path template: `{name}` matches one segment (no `/` or `:`), a last `{path+}` matches the rest of the path
   * (slashes included); literal `:action` suffixes are allowed (`/versions/{version}:restore`).
   */
  path: string;
  /** Name in logs (`GetVersion`). */
  rpc: string;
  /** Scope the caller's token needs (e.g. `store:read`). */
  scope: string;
  /** A blob transfer: gets the transfer deadline instead of the default one. */
  transfer?: boolean;
  handle(call: RestCall): Promise<RestAnswer | undefined>;
}

export interface HostedService {
  /** Short name for logs and the banner (`store`). */
  name: string;
  grpc: HostedGrpcService[];
  rest: RestRoute[];
  /** Releases what the service opened; called after the drain. */
  close(): Promise<void>;
}
