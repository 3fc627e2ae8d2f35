/**
 * Starts a sidecar: loads the configured models once, then serves gRPC (Explainer, Health, reflection) and
 * KServe-compatible REST from one process. `close()` (and SIGTERM in main.ts) drains: health turns NOT_SERVING,
 * new calls get UNAVAILABLE, in-flight calls get `shutdownGraceMs` to finish, then are cancelled.
 */
import { setMaxListeners } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { createTreeShapPool, prepareTreeShap, ShapError, type TreeShapPool } from '@genome/shap';
import { pino, type Logger } from 'pino';
import { TokenAuth as Auth, drainServers } from '@genome/server-kit';
import { ChartWorker } from './visualize/chart-pool.js';
import type { SidecarConfig } from './config.js';
import { publicStatus, type SidecarContext } from './context.js';
import { ExplainService } from './explain/service.js';
import { startGrpc, type GrpcHandle } from './grpc/server.js';
import { Limiter } from './limiter.js';
import { SidecarMetrics } from './metrics.js';
import { builtinMethods } from './methods/builtin.js';
import { MethodRegistry } from './methods/registry.js';
import type { ExplainMethod } from './methods/types.js';
import { loadModel } from './models/load.js';
import { ModelRegistry } from './models/registry.js';
import { RemoteLoader } from './models/remote-loader.js';
import { loadStoreModel, openStore, StoreFollower, storeStartError } from './models/store.js';
import type { LoadedModel } from './models/types.js';
import type { ModelStore } from '@genome/model-store';
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

  // Tree models are prepared for TreeSHAP when they are loaded (ensemble, WebAssembly layout, a warm-up), on this
  // thread and on every pool worker, so the first call runs at full speed. A model TreeSHAP cannot explain is left
  // alone: its calls say why.
  const prepareTrees = async (m: LoadedModel): Promise<void> => {
    if (!m.ensemble) return;
    try {
      prepareTreeShap(m.ensemble);
    } catch (err) {
      if (err instanceof ShapError) return;
      throw err;
    }
    await treePool?.register(m.ensemble);
  };
  // Store-backed models: a new version is prepared and warmed up before it is served, and a replaced one leaves the
  // pool when it is released.
  const warmUp = async (m: LoadedModel): Promise<void> => {
    await prepareTrees(m);
    await service.warmUp(m, 1, AbortSignal.timeout(60_000));
  };
  const releaseModel = (m: LoadedModel): void => {
    if (m.ensemble) treePool?.release(m.ensemble);
  };
  let store: ModelStore | undefined;
  const followers: { follower: StoreFollower; sinceSeq: number }[] = [];
  try {
    for (const spec of config.models) {
      if (spec.kind === 'remote') {
        await remotes.start(spec, config.remoteStartupWaitMs);
        continue;
      }
      const t0 = performance.now();
      let m: LoadedModel;
      if (spec.kind === 'store') {
        store ??= await openStore(config.store);
        try {
          m = await loadStoreModel(spec, store, models);
        } catch (err) {
          throw storeStartError(spec, config.store, err);
        }
        // The log position the version was resolved at: the follower sees every change after it.
        const sinceSeq = store.seq;
        try {
          await warmUp(m);
        } catch (err) {
          await m.close().catch(() => undefined);
          throw storeStartError(spec, config.store, err);
        }
        const st = m.description.store!;
        metrics.storeVersion.set({ model: m.description.name }, st.version);
        if (st.follows) followers.push({ follower: new StoreFollower(spec, store, { models, logger, metrics, prepare: warmUp, release: releaseModel }, m, config.store.pollMs), sinceSeq });
      } else {
        m = await loadModel(spec, models);
        await prepareTrees(m);
      }
      models.add(m);
      const d = m.description;
      logger.info({ model: d.name, version: d.version, sha256: d.sha256, source: d.source, format: d.format, ...(d.store ? { store: d.store } : {}), methods: methods.applicable(m), ms: +(performance.now() - t0).toFixed(1) }, 'model loaded');
    }
  } catch (err) {
    remotes.stop();
    await models.close();
    await store?.close().catch(() => undefined);
    await treePool?.close();
    throw err;
  }
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // one listener per in-flight call
  let draining = false;
  const redactor = Redactor.forModels(config.models);
  const charts = new ChartWorker(config.maxQueue);
  const ctx: SidecarContext = {
    service,
    charts,
    auth,
    logger,
    metrics,
    redactor,
    status: (err, errorId) => publicStatus(err, errorId, redactor),
    shutdownSignal: shutdown.signal,
    isDraining: () => draining,
    limits: {
      maxRows: config.maxRows,
      defaultDeadlineMs: config.defaultDeadlineMs,
      streamChunkRows: config.streamChunkRows,
      maxChartMarks: config.maxChartMarks,
      maxPngPixels: config.maxPngPixels,
    },
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
    await store?.close().catch(() => undefined);
    await treePool?.close();
    await charts.close();
    throw err;
  }
  // Follow moving store references (aliases, latest) from the log position each was resolved at.
  for (const f of followers) await f.follower.start(f.sinceSeq);
  grpc.setServing(true);
  logger.info({ grpcPort: grpc.port, httpPort: rest?.port ?? -1, treeWorkers: treePool?.threads ?? 0, tls: !!config.tls, mtls: !!config.tls?.requireClientCert, auth: ctx.auth.enabled, models: models.entries().map((e) => e.description.name), notReady: models.entries().filter((e) => !e.ready).map((e) => e.description.name) }, 'sidecar listening');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs): Promise<void> =>
    (closing ??= (async () => {
      const g = grpc!;
      draining = true;
      await drainServers({
        grpc: g,
        ...(rest ? { http: rest.server } : {}),
        graceMs,
        idle: () => limiter.idle(),
        cancel: () => shutdown.abort(),
        stats: () => limiter.stats,
        logger,
      });
      remotes.stop();
      await Promise.all(followers.map((f) => f.follower.stop()));
      await models.close();
      await store?.close().catch((err: unknown) => logger.warn({ err }, 'closing the model store failed'));
      await treePool?.close();
      await charts.close();
      logger.info('sidecar stopped');
    })());

  return { grpcPort: grpc.port, httpPort: rest?.port ?? -1, config, models, methods, metrics, logger, limiter, treePool, close };
}
