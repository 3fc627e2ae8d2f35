export { KubernetesExecutor, type KubernetesExecutorOptions } from './executor.js';
export { buildJob, jobName, labelValue, LABELS, MANAGED_BY, CONTAINER, type JobSpecOptions } from './job-spec.js';
export { jobOutcome, stuckPod, FATAL_WAITING_REASONS } from './outcome.js';
export { Reflector, type ReflectorOptions, type ReflectorStats } from './reflector.js';
