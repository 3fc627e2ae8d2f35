/** What both transports share inside one sidecar. */
import type { Logger } from 'pino';
import type { explain as pb } from '@genome/proto';
import type { TokenAuth as Auth } from '@genome/server-kit';
import type { ExplainService } from './explain/service.js';
import type { ChartWorker } from './visualize/chart-pool.js';
import type { SidecarMetrics } from './metrics.js';
import type { ModelEntry } from './models/registry.js';
import { capMessage } from '@genome/server-kit';
import type { Redactor } from './redact.js';
import { grpcStatusName, toStatus, type MappedStatus } from '@genome/server-kit';

/** An error as a caller sees it: mapped status, message without internal addresses and at most 1000 characters. */
export interface PublicStatus extends MappedStatus {
  /** gRPC status name ("INVALID_ARGUMENT"), the `status` label of metrics and logs. */
  name: string;
}

/** Maps an error for a caller (see {@link PublicStatus}). */
export function publicStatus(err: unknown, errorId: string, redactor: Redactor): PublicStatus {
  const s = toStatus(err, errorId);
  return { ...s, message: capMessage(redactor.apply(s.message)), name: grpcStatusName(s.grpc) };
}

export interface SidecarContext {
  readonly service: ExplainService;
  /** Draws Visualize charts on a worker thread. */
  readonly charts: ChartWorker;
  readonly auth: Auth;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  /** Removes internal addresses from what callers see. */
  readonly redactor: Redactor;
  /** The error as the caller gets it (status, redacted and capped message). */
  status(err: unknown, errorId: string): PublicStatus;
  /** Fires when in-flight work must stop (end of the shutdown grace period). */
  readonly shutdownSignal: AbortSignal;
  /** True from the start of shutdown: new calls get UNAVAILABLE. */
  isDraining(): boolean;
  readonly limits: {
    maxRows: number;
    /** Deadline for calls that carry none. */
    defaultDeadlineMs: number;
    /** Rows per ExplainStream chunk when the request says 0. */
    streamChunkRows: number;
    /** Visualize: most marks one chart may draw (--max-chart-marks). */
    maxChartMarks: number;
    /** Visualize: largest PNG in pixels (--max-png-pixels). */
    maxPngPixels: number;
  };
}

/** The ModelInfo message of a served model (ready, or not yet: then without methods and with why in the description). */
export function modelInfo(ctx: SidecarContext, e: ModelEntry): pb.ModelInfo {
  const d = e.description;
  return {
    name: d.name,
    version: d.version,
    sha256: d.sha256,
    source: ctx.redactor.apply(d.source),
    format: d.format,
    kind: d.kind,
    featureNames: d.featureNames,
    outputNames: d.outputNames,
    outputSpace: d.outputSpace,
    methods: e.ready ? ctx.service.methods.applicable(e.model) : [],
    ready: e.ready,
    description: capMessage(ctx.redactor.apply(e.ready ? d.description : `not ready: ${e.reason}`)),
    inputShape: d.inputShape,
    ...(d.store ? { store: { ...d.store } } : {}),
  };
}
