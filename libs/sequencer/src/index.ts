/**
 * @genome/sequencer: the seed's declarative pipelines (sequential steps and parallel groups, retries, timeouts,
 * schedules), run through an executor (local processes; Kubernetes Jobs) with run records kept in a state store.
 */
export { SequencerError, isSequencerError, type SequencerErrorCode, type Violation } from './errors.js';
export {
  stepEnvironment,
  STORE_ENV_KEYS,
  type Executor,
  type StepLaunch,
  type StepOutcome,
  type StepSpec,
} from './executor.js';
export { parseDuration, tryParseDuration, formatDuration, MAX_DURATION_MS } from './duration.js';
export { parsePipeline, validatePipeline, stepRetries, stepTimeoutMs } from './spec/parse.js';
export { stepGroups, allSteps, findStep, onlyStep, type PipelineSpec, type StepElement } from './spec/pipeline.js';
export { LIMITS, STEP_NAME_PATTERN, pipelineSchema, stepSchema } from './spec/schema.js';
export {
  parseSchedule,
  nextRunAfter,
  firstRun,
  planRuns,
  describeSchedule,
  MIN_INTERVAL_MS,
  type Schedule,
  type PlanOptions,
  type RunPlan,
} from './schedule.js';
export { Engine, newRunId, type EngineOptions, type StartOptions, type BackoffOptions } from './engine/engine.js';
export {
  isTerminal,
  TERMINAL_RUN_STATUSES,
  type RunRecord,
  type StepRecord,
  type AttemptRecord,
  type RunStatus,
  type StepStatus,
  type AttemptStatus,
} from './engine/records.js';
export { MemoryRunState, type RunState, type RunFilter, type RunPage } from './engine/state.js';
export { LocalExecutor, type LocalExecutorOptions } from './executors/local.js';
export { KvRunState, SEQUENCER_NAMESPACE, type RunKv } from './engine/kv-state.js';
export { Scheduler, scheduledRunId, type SchedulerOptions, type CreateScheduledOptions } from './scheduler.js';
export type { PipelineState } from './engine/state.js';
export type { ScheduledPipelineRecord } from './engine/records.js';
export { toArgo, type ArgoExportOptions } from './export/argo.js';
