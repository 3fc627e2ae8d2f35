/** What both transports share inside one sidecar. */
import type { Logger } from 'pino';
import type { Auth } from './auth.js';
import type { ExplainService } from './explain/service.js';
import type { SidecarMetrics } from './metrics.js';
import type { LoadedModel } from './models/types.js';
import type { explain as pb } from '@genome/proto';

export interface SidecarContext {
  readonly service: ExplainService;
  readonly auth: Auth;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
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
  };
}

/** The ModelInfo message of a loaded model. */
export function modelInfo(ctx: SidecarContext, m: LoadedModel): pb.ModelInfo {
  const d = m.description;
  return {
    name: d.name,
    version: d.version,
    sha256: d.sha256,
    source: d.source,
    format: d.format,
    kind: d.kind,
    featureNames: d.featureNames,
    outputNames: d.outputNames,
    outputSpace: d.outputSpace,
    methods: ctx.service.methods.applicable(m),
    ready: true,
    description: d.description,
    inputShape: d.inputShape,
  };
}
