/**
 * The platform server shell: hosts services (the model store and the sequencer) on one gRPC
 * port (plus Health and reflection) and one REST port. `close()` (and SIGTERM in main.ts) drains: health turns
 * NOT_SERVING, readiness 503, new calls get UNAVAILABLE, event watches end, in-flight calls get `shutdownGraceMs`
 * to finish, then are cancelled; then the services release their backends.
 */
import { setMaxListeners } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { openModelStore, type ModelStore } from '@genome/model-store';
import { TokenAuth, drainServers, startGrpcServer, type GrpcServerHandle } from '@genome/server-kit';
import { pino, type Logger } from 'pino';
import type { PlatformConfig } from './config.js';
import { InFlight, type HostContext } from './context.js';
import type { HostedService } from './hosted.js';
import { startRest } from './rest/server.js';
import { storeService } from './store/service.js';
import { openSequencer, type SequencerRuntime } from './pipelines/runtime.js';
import { sequencerService } from './pipelines/service.js';

export interface PlatformOptions {
  /** Logger; default pino to stdout at config.logLevel. */
  logger?: Logger;
  /** An open store to host instead of opening config.store (the caller keeps ownership: it is not closed). */
  store?: ModelStore;
}

export interface Platform {
  readonly grpcPort: number;
  /** -1 when REST is off. */
  readonly httpPort: number;
  readonly config: PlatformConfig;
  readonly logger: Logger;
  readonly store: ModelStore;
  /** The sequencer (engine, scheduler, executor, run state). */
  readonly sequencer: SequencerRuntime;
  readonly services: readonly HostedService[];
  /** Calls in flight now. */
  inFlight(): number;
  /** Graceful shutdown: drain for up to `graceMs` (default config.shutdownGraceMs), then stop. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export async function startPlatform(config: PlatformConfig, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'genome-platform' } });
  const auth = new TokenAuth(config.authTokens);
  const store =
    options.store ??
    (await openModelStore({
      ...(config.store.dir !== undefined ? { dir: config.store.dir } : {}),
      ...(config.store.metadata !== undefined ? { metadata: config.store.metadata } : {}),
      ...(config.store.blobs !== undefined ? { blobs: config.store.blobs } : {}),
      ...(config.store.namespace !== undefined ? { namespace: config.store.namespace } : {}),
      onWarning: (message) => logger.warn({ service: 'store' }, message),
    }));
  const ownStore = options.store === undefined;
  const drain = new AbortController();
  const shutdown = new AbortController();
  setMaxListeners(0, drain.signal);
  setMaxListeners(0, shutdown.signal);
  let draining = false;
  const inFlight = new InFlight();
  const ctx: HostContext = {
    auth,
    logger,
    inFlight,
    drainSignal: drain.signal,
    shutdownSignal: shutdown.signal,
    isDraining: () => draining,
    limits: {
      maxMessageBytes: config.maxMessageBytes,
      maxBlobBytes: config.maxBlobBytes,
      defaultDeadlineMs: config.defaultDeadlineMs,
      transferDeadlineMs: config.transferDeadlineMs,
      watchPollMs: config.watchPollMs,
    },
  };
  let sequencer: SequencerRuntime;
  try {
    sequencer = await openSequencer(config, logger);
  } catch (err) {
    if (ownStore) await store.close().catch(() => undefined);
    throw err;
  }
  const services: HostedService[] = [storeService(ctx, store), sequencerService(ctx, sequencer)];

  let grpc: GrpcServerHandle | undefined;
  let rest: { server: HttpServer; port: number } | undefined;
  try {
    grpc = await startGrpcServer(
      services.flatMap((s) => s.grpc),
      logger,
      { host: config.host, port: config.grpcPort, maxMessageBytes: config.maxMessageBytes, protoDir: config.protoDir, ...(config.tls ? { tls: config.tls } : {}) },
    );
    if (config.httpPort >= 0) {
      rest = await startRest(
        ctx,
        services.flatMap((s) => s.rest),
        { host: config.host, port: config.httpPort, isReady: () => !draining, ...(config.tls ? { tls: config.tls } : {}) },
      );
    }
  } catch (err) {
    grpc?.server.forceShutdown();
    for (const s of services) await s.close().catch(() => undefined);
    if (ownStore) await store.close().catch(() => undefined);
    throw err;
  }
  grpc.setServing(true);
  logger.info(
    {
      grpcPort: grpc.port,
      httpPort: rest?.port ?? -1,
      services: services.map((s) => s.name),
      metadata: store.metadataLocation,
      blobs: store.blobLocation,
      executor: sequencer.executor.kind,
      runState: sequencer.stateLocation,
      tls: !!config.tls,
      mtls: !!config.tls?.requireClientCert,
      auth: auth.enabled,
    },
    'platform listening',
  );

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs): Promise<void> =>
    (closing ??= (async () => {
      const g = grpc!;
      draining = true;
      await drainServers({
        grpc: g,
        beforeShutdown: () => drain.abort(),
        ...(rest ? { http: rest.server } : {}),
        graceMs,
        idle: () => inFlight.idle(),
        cancel: () => shutdown.abort(),
        stats: () => ({ inFlight: inFlight.count }),
        logger,
      });
      for (const s of services) await s.close().catch((err: unknown) => logger.error({ err, service: s.name }, 'service close failed'));
      if (ownStore) await store.close();
      logger.info('platform stopped');
    })());

  return { grpcPort: grpc.port, httpPort: rest?.port ?? -1, config, logger, store, sequencer, services, inFlight: () => inFlight.count, close };
}
