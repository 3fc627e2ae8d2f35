/** The sidecar's real CLI (`src/main.ts`) as a child process: see tools/test-server-process.ts. */
import { join } from 'node:path';
import { startServerProcess, type ServerCli, type ServerProcess } from '../../../../tools/test-server-process.js';

export type SidecarProcess = ServerProcess;

const cli: ServerCli = { main: join(import.meta.dirname, '../../src/main.ts'), title: 'the sidecar', logName: 'sidecar', listening: 'sidecar listening' };

export function startSidecarProcess(args: string[], env: Record<string, string>, logFile: string, startTimeoutMs?: number): Promise<SidecarProcess> {
  return startServerProcess(cli, args, env, logFile, startTimeoutMs);
}
