/**
 * Prometheus metrics of one sidecar (own registry, so several sidecars in one process do not collide):
 * - genome_sidecar_requests_total{transport,rpc,method,status}
 * - genome_sidecar_request_duration_seconds{transport,rpc,method} (histogram)
 * - genome_sidecar_queue_depth, genome_sidecar_in_flight (gauges)
 * - genome_sidecar_rows_explained_total{method}
 * - genome_sidecar_cancelled_total{reason} (deadline, client cancel, shutdown: work stopped early)
 * - genome_sidecar_model_updates_total{model,result} (store-backed models: swapped, failed, alias_missing, poll_failed)
 * - genome_sidecar_model_store_version{model} (store-backed models: the version number served)
 * plus prom-client's default process metrics (heap, event-loop lag, ...) with prefix genome_sidecar_.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'genome_sidecar_requests_total',
    help: 'Requests by transport (grpc|rest), rpc, explanation method and final status',
    labelNames: ['transport', 'rpc', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'genome_sidecar_request_duration_seconds',
    help: 'Request latency (queueing included) by transport, rpc and explanation method',
    labelNames: ['transport', 'rpc', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'genome_sidecar_queue_depth',
    help: 'Explain calls waiting for a worker slot',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'genome_sidecar_in_flight',
    help: 'Explain calls running now',
    registers: [this.registry],
  });
  readonly rows = new Counter({
    name: 'genome_sidecar_rows_explained_total',
    help: 'Rows (texts, images) explained, by method',
    labelNames: ['method'] as const,
    registers: [this.registry],
  });
  readonly cancelled = new Counter({
    name: 'genome_sidecar_cancelled_total',
    help: 'Calls whose work was stopped early, by reason (deadline|client|shutdown)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly modelUpdates = new Counter({
    name: 'genome_sidecar_model_updates_total',
    help: 'Store-backed models: version swaps and failed updates, by model and result (swapped|failed|alias_missing|poll_failed)',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });
  readonly storeVersion = new Gauge({
    name: 'genome_sidecar_model_store_version',
    help: 'Store-backed models: the model-store version number served now',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'genome_sidecar_' });
  }

  observe(transport: 'grpc' | 'rest', rpc: string, method: string, status: string, seconds: number): void {
    this.requests.inc({ transport, rpc, method, status });
    this.latency.observe({ transport, rpc, method }, seconds);
  }
}
