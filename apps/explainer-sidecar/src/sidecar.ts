/**
 * Starts a sidecar: loads the configured models once, then serves gRPC (Explainer, Health, reflection) and
 * KServe-compatible REST from one process. `close()` (and SIGTERM in main.ts) drains: health turns NOT_SERVING,
 * new calls get UNAVAILABLE, in-flight calls get `shutdownGraceMs` to finish, then are cancelled.
 */
import { setMaxListeners } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { createTreeShapPool, type TreeShapPool } from '@genome/shap';
import { pino, type Logger } from 'pino';
import { TokenAuth as Auth } from '@genome/server-kit';
import type { SidecarConfig } from './config.js';
import { publicStatus, type SidecarContext } from './context.js';
import { ExplainService } from './explain/service.js';
import { EXPLAINER_SERVICE, startGrpc, type GrpcHandle } from './grpc/server.js';
import { Limiter } from './limiter.js';
import { SidecarMetrics } from './metrics.js';
import { builtinMethods } from './methods/builtin.js';
import { MethodRegistry } from './methods/registry.js';
import type { ExplainMethod } from './methods/types.js';
import { loadModel } from './models/load.js';
import { ModelRegistry } from './models/registry.js';
import { RemoteLoader } from './models/remote-loader.js';
import { Redactor } from './redact.js';
import { startRest } from './rest/server.js';

export interface SidecarOptions {
  /** Extra methods (or replacements) registered after the built-in ones. */
  methods?: ExplainMethod[];
  /** Logger; default pino to stdout at config.logLevel. */
  logger?: Logger;
}

export interface Sidecar {
  readonly grpcPort: number;
  /** -1 when REST is off. */
  readonly httpPort: number;
  readonly config: SidecarConfig;
  readonly models: ModelRegistry;
  readonly methods: MethodRegistry;
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  readonly limiter: Limiter;
  /** TreeSHAP worker pool (undefined when `treeWorkers` is 0); closed by `close()`. */
  readonly treePool: TreeShapPool | undefined;
  /** Graceful shutdown: drain for up to `graceMs` (default config.shutdownGraceMs), then stop. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export async function startSidecar(config: SidecarConfig, options: SidecarOptions = {}): Promise<Sidecar> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'genome-explainer-sidecar' } });
  const metrics = new SidecarMetrics();
  // Created once: the workers receive each model once and then only row slices.
  const treePool = config.treeWorkers > 0 ? createTreeShapPool({ threads: config.treeWorkers }) : undefined;
  const methods = new MethodRegistry([
    ...builtinMethods({ treeShap: { ...(treePool ? { pool: treePool } : {}), poolMinRows: config.treePoolMinRows } }),
    ...(options.methods ?? []),
  ]);
  const models = new ModelRegistry();
  const remotes = new RemoteLoader(models, logger, (m) => methods.applicable(m));
  try {
    for (const spec of config.models) {
      if (spec.kind === 'remote') {
        await remotes.start(spec, config.remoteStartupWaitMs);
        continue;
      }
      const t0 = performance.now();
      const m = await loadModel(spec, models);
      models.add(m);
      const d = m.description;
      logger.info({ model: d.name, version: d.version, sha256: d.sha256, source: d.source, format: d.format, methods: methods.applicable(m), ms: +(performance.now() - t0).toFixed(1) }, 'model loaded');
    }
  } catch (err) {
    remotes.stop();
    await models.close();
    await treePool?.close();
    throw err;
  }
  const limiter = new Limiter(
    config.maxConcurrency,
    config.maxQueue,
    (s) => {
      metrics.inFlight.set(s.inFlight);
      metrics.queueDepth.set(s.queued);
    },
    config.maxConcurrencyPerModel || Math.ceil(config.maxConcurrency / 2),
  );
  const auth = new Auth(config.authTokens);
  const service = new ExplainService(models, methods, limiter, metrics, auth, {
    chunkRows: config.chunkRows,
    limits: { maxSamples: config.maxSamples, maxModelRows: config.maxModelRows, maxRowOps: config.maxRowOps },
    maxMessageBytes: config.maxMessageBytes,
  });
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // one listener per in-flight call
  let draining = false;
  const redactor = Redactor.forModels(config.models);
  const ctx: SidecarContext = {
    service,
    auth,
    logger,
    metrics,
    redactor,
    status: (err, errorId) => publicStatus(err, errorId, redactor),
    shutdownSignal: shutdown.signal,
    isDraining: () => draining,
    limits: { maxRows: config.maxRows, defaultDeadlineMs: config.defaultDeadlineMs, streamChunkRows: config.streamChunkRows },
  };

  let grpc: GrpcHandle | undefined;
  let rest: { server: HttpServer; port: number } | undefined;
  try {
    grpc = await startGrpc(ctx, { host: config.host, port: config.grpcPort, maxMessageBytes: config.maxMessageBytes, protoDir: config.protoDir, tls: config.tls });
    if (config.httpPort >= 0) {
      rest = await startRest(ctx, { host: config.host, port: config.httpPort, maxBodyBytes: config.maxMessageBytes, tls: config.tls, isReady: () => !draining });
    }
  } catch (err) {
    grpc?.server.forceShutdown();
    remotes.stop();
    await models.close();
    await treePool?.close();
    throw err;
  }
  grpc.health.setStatus('', 'SERVING');
  grpc.health.setStatus(EXPLAINER_SERVICE, 'SERVING');
  logger.info({ grpcPort: grpc.port, httpPort: rest?.port ?? -1, treeWorkers: treePool?.threads ?? 0, tls: !!config.tls, mtls: !!config.tls?.requireClientCert, auth: ctx.auth.enabled, models: models.entries().map((e) => e.description.name), notReady: models.entries().filter((e) => !e.ready).map((e) => e.description.name) }, 'sidecar listening');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs): Promise<void> =>
    (closing ??= (async () => {
      const g = grpc!;
      draining = true;
      g.health.setStatus('', 'NOT_SERVING');
      g.health.setStatus(EXPLAINER_SERVICE, 'NOT_SERVING');
      const inflight = limiter.stats;
      logger.info({ graceMs, ...inflight }, 'shutting down: draining in-flight calls');
      const grpcDone = new Promise<void>((resolve) => g.server.tryShutdown(() => resolve()));
      const restDone = rest
        ? new Promise<void>((resolve) => {
            rest!.server.close(() => resolve());
            rest!.server.closeIdleConnections();
          })
        : Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all([grpcDone, restDone, limiter.idle()]).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn({ ...limiter.stats }, 'grace period over: cancelling remaining calls');
        shutdown.abort();
        // Give cancelled calls a moment to send their status, then cut connections.
        await Promise.race([limiter.idle(), new Promise((r) => setTimeout(r, 1000))]);
        g.server.forceShutdown();
        rest?.server.closeAllConnections();
      }
      remotes.stop();
      await models.close();
      await treePool?.close();
      logger.info('sidecar stopped');
    })());

  return { grpcPort: grpc.port, httpPort: rest?.port ?? -1, config, models, methods, metrics, logger, limiter, treePool, close };
}
