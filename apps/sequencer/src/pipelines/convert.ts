/** Run and scheduled-pipeline records as genome.sequencer.v1 messages (absent fields become "" / 0, as proto3 has them). */
import { sequencer as pb } from '@genome/proto';
import type { AttemptRecord, RunRecord, ScheduledPipelineRecord, StepRecord } from '@genome/sequencer';

function attemptToPb(a: AttemptRecord): pb.Attempt {
  return {
    attempt: a.attempt,
    status: a.status,
    handle: a.handle ?? '',
    startedAt: a.startedAt,
    finishedAt: a.finishedAt ?? '',
    ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
    reason: a.reason ?? '',
    message: a.message ?? '',
  };
}

function stepToPb(s: StepRecord): pb.Step {
  return {
    stepName: s.stepName,
    stepType: s.stepType,
    group: s.group,
    status: s.status,
    startedAt: s.startedAt ?? '',
    finishedAt: s.finishedAt ?? '',
    reason: s.reason ?? '',
    message: s.message ?? '',
    attempts: s.attempts.map(attemptToPb),
  };
}

export function runToPb(r: RunRecord): pb.Run {
  return {
    runId: r.runId,
    pipelineName: r.pipelineName,
    canonicalName: r.canonicalName,
    application: r.application,
    executor: r.executor,
    status: r.status,
    reason: r.reason ?? '',
    message: r.message ?? '',
    trigger: r.trigger,
    scheduledFor: r.scheduledFor ?? '',
    createdAt: r.createdAt,
    startedAt: r.startedAt ?? '',
    finishedAt: r.finishedAt ?? '',
    updatedAt: r.updatedAt,
    steps: r.steps.map(stepToPb),
    pipelineJson: JSON.stringify(r.pipeline),
  };
}

export function pipelineToPb(p: ScheduledPipelineRecord): pb.ScheduledPipeline {
  return {
    pipelineName: p.pipelineName,
    schedule: p.schedule,
    timezone: p.timezone ?? '',
    overlap: p.overlap,
    maxMissedRuns: p.maxMissedRuns,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    lastScheduledAt: p.lastScheduledAt ?? '',
    nextRunAt: p.nextRunAt ?? '',
    lastRunId: p.lastRunId ?? '',
    skippedRuns: p.skippedRuns,
    pipelineJson: JSON.stringify(p.pipeline),
  };
}
