/** The seed's pipeline document, as accepted by {@link parsePipeline}. */
import type { StepSpec } from '../executor.js';

/** An element of `steps`: one step, or an array of steps that run in parallel. */
export type StepElement = StepSpec | StepSpec[];

export interface PipelineSpec {
  pipelineName: string;
  canonicalName: string;
  application: string;
  /** A duration ("6h") or a cron expression; absent for a pipeline that only runs on request. */
  schedule?: string;
  steps: StepElement[];
}

/** The steps as groups: a lone step is a group of one. Groups run in order; the steps of a group in parallel. */
export function stepGroups(pipeline: PipelineSpec): StepSpec[][] {
  return pipeline.steps.map((e) => (Array.isArray(e) ? e : [e]));
}

/** Every step in document order. */
export function allSteps(pipeline: PipelineSpec): StepSpec[] {
  return stepGroups(pipeline).flat();
}

/** The step called `name`, or undefined. */
export function findStep(pipeline: PipelineSpec, name: string): StepSpec | undefined {
  return allSteps(pipeline).find((s) => s.stepName === name);
}

/**
 * The pipeline reduced to the step called `name` (for running one step locally, as `genome pipeline run FILE --step
 * NAME` does). Undefined when there is no such step.
 */
export function onlyStep(pipeline: PipelineSpec, name: string): PipelineSpec | undefined {
  const step = findStep(pipeline, name);
  if (!step) return undefined;
  const { schedule: _schedule, ...rest } = pipeline;
  return { ...rest, steps: [structuredClone(step)] };
}
