/** The platform server's real CLI (`src/main.ts`) as a child process: see tools/test-server-process.ts. */
import { join } from 'node:path';
import { startServerProcess, type ServerCli, type ServerProcess } from '../../../../tools/test-server-process.js';

export type PlatformProcess = ServerProcess;

const cli: ServerCli = { main: join(import.meta.dirname, '../../src/main.ts'), title: 'the platform server', logName: 'genome-platform', listening: 'platform listening' };

export function startPlatformProcess(args: string[], env: Record<string, string>, logFile: string, startTimeoutMs?: number): Promise<PlatformProcess> {
  return startServerProcess(cli, args, env, logFile, startTimeoutMs);
}
