/**
 * `genome pipeline run FILE --step NAME`: one step run here, with no server, as the sequencer's local executor would
 * run it: its `command` (argv, no shell) in the current directory, with the step environment (APPLICATION,
 * PIPELINE_RUNID, PIPELINE_NAME, STEP_NAME, STEP_TYPE, TRANSFORM_PARAMETERS, ... and the model store's GENOME_STORE_*
 * when given), its timeout enforced; one attempt (no retries). Its output streams to stdout as it is written.
 */
import { randomBytes } from 'node:crypto';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineSpec, StepOutcome } from '@genome/sequencer';
import { usageError } from '../errors.js';
import type { Io } from '../io.js';
import { formatDuration } from './format.js';
import { loadSequencer, sequencerError } from './spec.js';

export interface LocalStepOptions {
  step: string;
  /** Default: local-<time>-<random>. */
  runId?: string;
  /** Overrides of the step's parameters (merged over them). */
  params?: Record<string, unknown>;
  /** GENOME_STORE_DIR / _METADATA / _BLOBS for the step, when set. */
  storeEnv?: Record<string, string>;
  /** Working directory of the step (default: the current directory). */
  cwd?: string;
}

/** A fresh run id for a local run: a DNS label like the server's. */
export const localRunId = (now = Date.now()): string => `local-${now.toString(36)}-${randomBytes(3).toString('hex')}`;

const RUN_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Runs the step; resolves with its outcome (the caller exits with its exit code). */
export async function runLocalStep(pipeline: PipelineSpec, o: LocalStepOptions, io: Io): Promise<{ outcome: StepOutcome; runId: string; ms: number }> {
  const lib = await loadSequencer();
  const step = lib.findStep(pipeline, o.step);
  if (!step) {
    throw usageError(`pipeline ${pipeline.pipelineName} has no step ${JSON.stringify(o.step)}; its steps: ${lib.allSteps(pipeline).map((s) => s.stepName).join(', ')}`);
  }
  const runId = o.runId ?? localRunId();
  if (!RUN_ID.test(runId)) throw usageError(`--run-id ${JSON.stringify(runId)}: expected 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`);
  if (!step.command?.length) {
    throw usageError(`step ${step.stepName} has no "command": a local run executes the step's command (an argv array such as ["python", "train.py"])`);
  }
  const spec = o.params && Object.keys(o.params).length > 0 ? { ...step, parameters: { ...step.parameters, ...o.params } } : step;
  const launch = { runId, pipelineName: pipeline.pipelineName, canonicalName: pipeline.canonicalName, application: pipeline.application, step: spec, attempt: 1 };
  const timeoutMs = lib.stepTimeoutMs(spec);
  const logDir = await mkdtemp(join(tmpdir(), 'genome-step-'));
  const executor = new lib.LocalExecutor({ logDir, ...(o.cwd ? { cwd: o.cwd } : {}) });
  const started = Date.now();
  const onSigint = (): void => void executor.cancel(handle).catch(() => undefined);
  let handle = '';
  try {
    handle = await executor.launch({ ...launch, env: lib.stepEnvironment(launch, o.storeEnv), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    process.once('SIGINT', onSigint);
    const log = await open(executor.logPath(handle), 'r');
    let position = 0;
    const pump = async (): Promise<void> => {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await log.read(buf, 0, buf.length, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        io.stdout.write(buf.subarray(0, bytesRead).toString('utf8'));
      }
    };
    let outcome: StepOutcome | undefined;
    const ended = executor.wait(handle).then((r) => (outcome = r));
    try {
      while (!outcome) {
        await pump();
        await Promise.race([ended, new Promise((r) => setTimeout(r, 100))]);
      }
      await pump();
    } finally {
      await log.close();
    }
    return { outcome, runId, ms: Date.now() - started };
  } catch (err) {
    throw sequencerError(err);
  } finally {
    process.off('SIGINT', onSigint);
    await executor.close().catch(() => undefined);
    await rm(logDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The line printed on stderr after a local step: how it ended. */
export function localOutcomeLine(step: string, runId: string, r: { outcome: StepOutcome; ms: number }): string {
  const o = r.outcome;
  if (o.status === 'succeeded') return `step ${step} (${runId}): succeeded (exit ${o.exitCode ?? 0}, ${formatDuration(r.ms)})\n`;
  return `step ${step} (${runId}): failed (${o.reason}: ${o.message}${o.exitCode !== undefined ? `, exit ${o.exitCode}` : ''}, ${formatDuration(r.ms)})\n`;
}
