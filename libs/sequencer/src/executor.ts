/**
 * The one interface every executor (local processes, Kubernetes Jobs) implements, and the environment every step
 * gets. The engine owns ordering, retries and timeouts; an executor only starts, watches, cancels and reads logs of
 * one attempt of one step.
 */

/** One step of a pipeline, the seed's JSON (+ `command` for the local executor / container args). */
export interface StepSpec {
  stepName: string;
  stepType: string;
  parameters?: Record<string, unknown>;
  datasets?: unknown[];
  /** Container image (Kubernetes executor); ignored by the local executor. */
  image?: string;
  /** argv: the local executor runs it without a shell; the Kubernetes executor passes it as the container's command. */
  command?: string[];
  /** A duration such as "360s", "5m", "1h". */
  timeout?: string;
  /** A string of a non-negative integer, e.g. "3": attempts after the first. */
  retry?: string;
}

/** What an executor needs to start one attempt of a step. */
export interface StepLaunch {
  runId: string;
  pipelineName: string;
  canonicalName: string;
  application: string;
  step: StepSpec;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  /** The full environment of the step (see {@link stepEnvironment}). */
  env: Record<string, string>;
  /** The step's timeout in milliseconds, when it has one; the engine enforces it too. */
  timeoutMs?: number;
}

/** How an attempt ended. `reason` is a short CamelCase word (Error, Timeout, Cancelled, OOMKilled, ImagePullBackOff...). */
export type StepOutcome =
  | { status: 'succeeded'; exitCode?: number }
  | { status: 'failed'; reason: string; message: string; exitCode?: number };

export interface Executor {
  readonly kind: string;
  /** Starts an attempt; resolves to a handle (a Job name, a pid record) that the run record persists. */
  launch(launch: StepLaunch): Promise<string>;
  /** Resolves when the attempt ends (also for a handle persisted before a restart). */
  wait(handle: string, signal?: AbortSignal): Promise<StepOutcome>;
  cancel(handle: string): Promise<void>;
  logs(handle: string, options?: { tailLines?: number }): Promise<string>;
  close(): Promise<void>;
  /**
   * Optional: the handle of an attempt already launched for this run, step and attempt number, if any. The engine
   * calls it when resuming an attempt recorded as started but without a handle (the sequencer stopped between
   * launching and recording), so that it adopts the attempt instead of launching it twice. Without it, such an
   * attempt is recorded as failed with reason "Lost".
   */
  findAttempt?(launch: Omit<StepLaunch, 'env'>): Promise<string | undefined>;
}

/**
 * The environment every step gets (the seed's names): APPLICATION, PIPELINE_RUNID, PIPELINE_NAME, STEP_NAME,
 * STEP_TYPE, TRANSFORM_PARAMETERS (JSON of the step's parameters, `{}` when it has none), plus the model store's
 * connection (GENOME_STORE_DIR / GENOME_STORE_METADATA / GENOME_STORE_BLOBS) when `store` gives it. Also sets
 * CANONICAL_NAME and STEP_ATTEMPT, which the seed does not name but a step may use.
 */
export function stepEnvironment(l: Omit<StepLaunch, 'env'>, store?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    APPLICATION: l.application,
    PIPELINE_RUNID: l.runId,
    PIPELINE_NAME: l.pipelineName,
    CANONICAL_NAME: l.canonicalName,
    STEP_NAME: l.step.stepName,
    STEP_TYPE: l.step.stepType,
    STEP_ATTEMPT: String(l.attempt),
    TRANSFORM_PARAMETERS: JSON.stringify(l.step.parameters ?? {}),
  };
  if (store) {
    for (const key of STORE_ENV_KEYS) {
      const v = store[key];
      if (typeof v === 'string' && v !== '') env[key] = v;
    }
  }
  return env;
}

/** The model store's connection variables a step inherits (see @genome/model-store's openStore from env). */
export const STORE_ENV_KEYS = ['GENOME_STORE_DIR', 'GENOME_STORE_METADATA', 'GENOME_STORE_BLOBS'] as const;
