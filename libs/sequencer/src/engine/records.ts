/** The records of runs and step attempts that the engine writes through a {@link RunState}. Times are ISO 8601 UTC. */
import type { PipelineSpec } from '../spec/pipeline.js';

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
/** `retrying`: an attempt failed and the next one waits for its backoff; `skipped`: never started (an earlier step failed). */
export type StepStatus = 'pending' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.includes(status);
}

export interface AttemptRecord {
  /** 1 for the first attempt. */
  attempt: number;
  status: AttemptStatus;
  /** The executor's handle (Job name, local attempt id); absent when the launch itself failed. */
  handle?: string;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  /** Why it failed or was cancelled: Error, DeadlineExceeded, Cancelled, LaunchError, Lost, OOMKilled, ... */
  reason?: string;
  message?: string;
}

export interface StepRecord {
  stepName: string;
  stepType: string;
  /** Index of the element of `steps` this step belongs to (steps of one parallel group share it). */
  group: number;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  message?: string;
  attempts: AttemptRecord[];
}

export interface RunRecord {
  runId: string;
  pipelineName: string;
  canonicalName: string;
  application: string;
  /** The executor's kind that runs the steps ("local", "kubernetes"). */
  executor: string;
  pipeline: PipelineSpec;
  status: RunStatus;
  /** For a failed or cancelled run: StepFailed, Cancelled, Lost, ... */
  reason?: string;
  message?: string;
  trigger: 'manual' | 'schedule';
  /** For a scheduled run: the scheduled time it stands for. */
  scheduledFor?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  updatedAt: string;
  steps: StepRecord[];
}

/** A pipeline created with a schedule (the seed's `POST /v1.0/genome/compute/sequence`). */
export interface ScheduledPipelineRecord {
  pipelineName: string;
  pipeline: PipelineSpec;
  /** The pipeline's `schedule`: a duration or a cron expression. */
  schedule: string;
  /** IANA timezone of a cron schedule (default UTC). */
  timezone?: string;
  /** 'forbid' (default): no run starts while one of this pipeline is active. */
  overlap: 'forbid' | 'allow';
  /** How many scheduled times that passed may start runs at one tick (default 1: no catch-up storm). */
  maxMissedRuns: number;
  createdAt: string;
  updatedAt: string;
  /** The latest scheduled time handled (started or skipped). */
  lastScheduledAt?: string;
  /** When the next run is due. */
  nextRunAt?: string;
  lastRunId?: string;
  /** Scheduled times that passed without a run (downtime beyond maxMissedRuns, or overlap), in all. */
  skippedRuns: number;
}
