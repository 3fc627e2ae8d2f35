/**
 * Remote models load without holding the sidecar hostage: startup waits a bounded time for each model server; one
 * that is down or slow leaves its model listed as not ready (calls answer UNAVAILABLE, `/v2/models/{name}/ready`
 * answers 503, DescribeModel says `ready: false` and why) while the other models serve, and loading goes on in the
 * background with exponential backoff until it succeeds or the sidecar stops.
 */
import type { Logger } from 'pino';
import { loadModel, remoteDescription } from './load.js';
import type { ModelRegistry } from './registry.js';
import type { LoadedModel, ModelSpec } from './types.js';

type RemoteSpec = Extract<ModelSpec, { kind: 'remote' }>;

/** First and longest wait between background attempts, ms. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class RemoteLoader {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly models: ModelRegistry,
    private readonly logger: Logger,
    private readonly methodsOf: (m: LoadedModel) => string[],
  ) {}

  /** Loads `spec` within `waitMs`, or lists it as not ready and keeps loading it in the background. */
  async start(spec: RemoteSpec, waitMs: number): Promise<void> {
    const t0 = performance.now();
    const first = loadModel(spec, this.models).then(
      (model) => ({ model }),
      (err: unknown) => ({ err }),
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waiting'>((resolve) => (timer = setTimeout(() => resolve('waiting'), waitMs)));
    const outcome = await Promise.race([first, waited]);
    clearTimeout(timer);
    if (outcome !== 'waiting' && 'model' in outcome) {
      this.models.add(outcome.model);
      this.loaded(outcome.model, t0);
      return;
    }
    const reason = outcome === 'waiting' ? `its model server did not answer within ${waitMs} ms` : `its model server cannot be used (${reasonOf(outcome.err)})`;
    this.models.addPending(remoteDescription(spec), reason);
    this.logger.warn({ model: spec.name, reason }, 'model not ready: serving the other models and retrying in the background');
    if (outcome === 'waiting') {
      void first.then((r) => ('model' in r ? this.arrived(r.model, t0) : this.failed(spec, r.err, FIRST_RETRY_MS)));
    } else {
      this.retry(spec, FIRST_RETRY_MS);
    }
  }

  /** Stops background attempts; a model that arrives afterwards is closed. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private retry(spec: RemoteSpec, delay: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const t0 = performance.now();
      void loadModel(spec, this.models).then(
        (m) => this.arrived(m, t0),
        (err: unknown) => this.failed(spec, err, Math.min(MAX_RETRY_MS, delay * 2)),
      );
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private failed(spec: RemoteSpec, err: unknown, next: number): void {
    if (this.stopped) return;
    const reason = `its model server cannot be used (${reasonOf(err)})`;
    this.models.setPendingReason(spec.name, reason);
    this.logger.warn({ model: spec.name, reason, retryInMs: next }, 'model still not ready');
    this.retry(spec, next);
  }

  private arrived(m: LoadedModel, t0: number): void {
    if (this.stopped || !this.models.makeReady(m)) {
      void m.close();
      return;
    }
    this.loaded(m, t0);
  }

  private loaded(m: LoadedModel, t0: number): void {
    const d = m.description;
    this.logger.info({ model: d.name, source: d.source, format: d.format, methods: this.methodsOf(m), ms: +(performance.now() - t0).toFixed(1) }, 'model loaded');
  }
}
