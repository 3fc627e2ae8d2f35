/**
 * The graceful drain every Genome server does on shutdown: health turns NOT_SERVING, both ports stop taking calls,
 * the calls in flight get up to `graceMs`, then what is left is cancelled, given a moment to send its status, and
 * the connections are cut.
 */
import type { Server as HttpServer } from 'node:http';
import type { GrpcServerHandle, KitLogger } from './grpc.js';

export interface DrainOptions {
  grpc: Pick<GrpcServerHandle, 'server' | 'setServing'>;
  http?: HttpServer;
  graceMs: number;
  /** Resolves when no call is in flight. */
  idle: () => Promise<void>;
  /** Cancels the calls still in flight (their scopes' shutdown signal). */
  cancel: () => void;
  /** Log fields describing what is in flight (e.g. `{inFlight: 3}`). */
  stats: () => object;
  logger: KitLogger;
  /** Runs after health turned NOT_SERVING and before the ports close (e.g. ends long-lived watches). */
  beforeShutdown?: () => void;
}

/** Drains both servers; resolves once every call ended or was cancelled and the connections are closed. */
export async function drainServers(o: DrainOptions): Promise<void> {
  const grpc = o.grpc.server;
  o.grpc.setServing(false);
  o.logger.info({ graceMs: o.graceMs, ...o.stats() }, 'shutting down: draining in-flight calls');
  o.beforeShutdown?.();
  const grpcDone = new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
  const http = o.http;
  const restDone = http
    ? new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      })
    : Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    Promise.all([grpcDone, restDone, o.idle()]).then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), o.graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    o.logger.warn({ ...o.stats() }, 'grace period over: cancelling remaining calls');
    o.cancel();
    // Give cancelled calls a moment to send their status, then cut connections.
    await Promise.race([o.idle(), new Promise((r) => setTimeout(r, 1000))]);
    grpc.forceShutdown();
    http?.closeAllConnections();
  }
}
