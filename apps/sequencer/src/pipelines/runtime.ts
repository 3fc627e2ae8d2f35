/**
 * The sequencer a platform server hosts: its run state (keyv), its executor (local processes by default, Kubernetes
 * Jobs with --executor kubernetes), its engine and its scheduler. Opening it resumes the runs the state holds as
 * unfinished (a restart, even after SIGKILL, loses no run) and starts the schedule loop; closing it stops both
 * without cancelling anything, so the next start takes over.
 */
import { join, resolve } from 'node:path';
import { defaultStoreDir } from '@genome/model-store';
import { Engine, KvRunState, LocalExecutor, Scheduler, STORE_ENV_KEYS, type Executor, type RunRecord } from '@genome/sequencer';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config.js';
import { RunUpdates } from './updates.js';

export interface SequencerRuntime {
  readonly engine: Engine;
  readonly scheduler: Scheduler;
  readonly state: KvRunState;
  readonly executor: Executor;
  /** Where run records live (no password). */
  readonly stateLocation: string;
  /** Changes of runs this process drives, for WatchRun. */
  readonly updates: RunUpdates;
  /** Stops the scheduler and the engine (runs stay recorded as running, to be resumed), then the executor and state. */
  close(): Promise<void>;
}

/** The store directory the server uses (the same rule as @genome/model-store's openModelStore). */
function storeDir(config: PlatformConfig): string {
  return config.store.dir !== undefined ? resolve(config.store.dir) : defaultStoreDir();
}

/** Where run records go by default: next to the store's metadata when that is a server, else SQLite in the store dir. */
export function stateUrl(config: PlatformConfig): string {
  if (config.sequencer.state !== undefined) return config.sequencer.state;
  const metadata = config.store.metadata ?? process.env.GENOME_STORE_METADATA;
  if (metadata && /^(postgres(ql)?|rediss?|memory):/.test(metadata)) return metadata;
  return `sqlite://${join(storeDir(config), 'sequencer.sqlite')}`;
}

/** The model store's connection every step gets (GENOME_STORE_*), as the server itself opened it. */
export function storeEnv(config: PlatformConfig): Record<string, string> {
  const env: Record<string, string> = { GENOME_STORE_DIR: storeDir(config) };
  const metadata = config.store.metadata ?? process.env.GENOME_STORE_METADATA;
  const blobs = config.store.blobs ?? process.env.GENOME_STORE_BLOBS;
  if (metadata) env.GENOME_STORE_METADATA = metadata;
  if (blobs) env.GENOME_STORE_BLOBS = blobs;
  return Object.fromEntries(Object.entries(env).filter(([k]) => (STORE_ENV_KEYS as readonly string[]).includes(k)));
}

async function openExecutor(config: PlatformConfig): Promise<Executor> {
  const s = config.sequencer;
  if (s.executor === 'local') {
    // A server that stops leaves its steps running: the next start (same log dir) resumes waiting on them.
    return new LocalExecutor({ logDir: s.logDir ?? join(storeDir(config), 'sequencer-logs'), leaveRunningOnClose: true, ...(s.stepCwd !== undefined ? { cwd: s.stepCwd } : {}) });
  }
  const { KubernetesExecutor } = await import('@genome/sequencer/kubernetes');
  const ex = await KubernetesExecutor.create({
    ...(s.kubeconfig !== undefined ? { kubeConfig: { file: s.kubeconfig } } : {}),
    ...(s.kubeNamespace !== undefined ? { namespace: s.kubeNamespace } : {}),
    ...(s.jobTtlSeconds !== undefined ? { ttlSecondsAfterFinished: s.jobTtlSeconds } : {}),
  });
  // List Jobs and Pods before resuming, so the runs taken over see their attempts' current state.
  await ex.start();
  return ex;
}

export async function openSequencer(config: PlatformConfig, logger: Logger): Promise<SequencerRuntime> {
  const url = stateUrl(config);
  const state = await KvRunState.open(url);
  let executor: Executor;
  try {
    executor = await openExecutor(config);
  } catch (e) {
    await state.close().catch(() => undefined);
    throw e;
  }
  const updates = new RunUpdates();
  const engine = new Engine({
    executor,
    state,
    storeEnv: storeEnv(config),
    backoff: { initialMs: config.sequencer.retryBackoffMs },
    onUpdate: (run: RunRecord) => updates.publish(run),
    onStateError: (err, run) => logger.error({ service: 'sequencer', runId: run.runId, err }, 'could not record a run; it goes on and is recorded at its next change'),
  });
  const scheduler = new Scheduler({
    engine,
    pipelines: state,
    tickMs: config.sequencer.scheduleTickMs,
    onError: (err) => logger.warn({ service: 'sequencer', err }, 'schedule tick failed; retrying at the next tick'),
  });
  const resumed = await engine.resume();
  if (resumed.length > 0) logger.info({ service: 'sequencer', runs: resumed }, 'resumed unfinished runs');
  scheduler.start();
  let closing: Promise<void> | undefined;
  return {
    engine,
    scheduler,
    state,
    executor,
    stateLocation: (state.kv as { location?: string }).location ?? url,
    updates,
    close: () =>
      (closing ??= (async () => {
        await scheduler.stop();
        await engine.close();
        updates.close();
        await executor.close();
        await state.close();
      })()),
  };
}
