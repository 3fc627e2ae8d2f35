/** Helpers for tests that run real processes through the local executor. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { LocalExecutor, type LocalExecutorOptions, type StepLaunch, stepEnvironment, type StepSpec } from '@genome/sequencer';

/** argv running `code` with this Node. */
export function node(code: string): string[] {
  return [process.execPath, '-e', code];
}

/** A temporary folder removed after the test. */
export function tempDir(t: Test, prefix = 'sequencer-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A local executor in a temporary log folder, closed after the test. */
export function localExecutor(t: Test, options: Partial<LocalExecutorOptions> = {}): LocalExecutor {
  const ex = new LocalExecutor({ logDir: join(tempDir(t), 'logs'), killGraceMs: 500, pollMs: 50, ...options });
  t.teardown(() => ex.close());
  return ex;
}

/** A StepLaunch for `step` with the standard environment. */
export function launchOf(step: StepSpec, extra: Partial<StepLaunch> = {}): StepLaunch {
  const base = { runId: 'run-test', pipelineName: 'p', canonicalName: 'c.p', application: 'app', step, attempt: 1, ...extra };
  return { ...base, env: extra.env ?? stepEnvironment(base) };
}

/** True while a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
