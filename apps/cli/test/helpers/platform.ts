/**
 * An in-process Genome platform server (apps/sequencer) on a free gRPC port, no REST, silent logs, over a scratch
 * store whose directory is also the steps' working directory; and pipeline documents whose steps are real `node -e`
 * processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startPlatform, type Platform } from '@genome/sequencer-server';

export interface TestPlatform {
  platform: Platform;
  /** 127.0.0.1:<gRPC port> */
  address: string;
  /** Scratch directory: the store, the step logs, the steps' working directory. */
  dir: string;
}

/** A scratch directory removed at teardown. */
export function scratchDir(t: { teardown(fn: () => unknown): void }, prefix = 'genome-cli-pipeline-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function startTestPlatform(t: { teardown(fn: () => unknown): void }, extraArgs: string[] = []): Promise<TestPlatform> {
  const dir = scratchDir(t, 'genome-cli-platform-');
  const config = loadConfig(
    ['--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '-1', '--store-dir', dir, '--step-cwd', dir, '--log-level', 'silent', '--retry-backoff-ms', '0', ...extraArgs],
    {},
  );
  const platform = await startPlatform(config);
  t.teardown(() => platform.close(100));
  return { platform, address: `127.0.0.1:${platform.grpcPort}`, dir };
}

/** A step that runs `js` with this node (no shell). */
export function nodeStep(stepName: string, js: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { stepName, stepType: 'script', command: [process.execPath, '-e', js], ...extra };
}

export function pipelineDoc(name: string, steps: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { pipelineName: name, canonicalName: `${name}-model`, application: 'cli-tests', steps, ...extra };
}

/** Writes `doc` (JSON, or text as is) to `dir/name` and returns the path. */
export function writePipeline(dir: string, name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}

/** A step that prints the sequencer's environment as one JSON line. */
export const PRINT_ENV = `console.log(JSON.stringify(Object.fromEntries(['APPLICATION','PIPELINE_RUNID','PIPELINE_NAME','STEP_NAME','STEP_TYPE','TRANSFORM_PARAMETERS','GENOME_STORE_DIR'].map((k) => [k, process.env[k] ?? null]))))`;
