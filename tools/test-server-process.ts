/**
 * For tests of the Genome servers: a server's real CLI (its `src/main.ts`) as a child process, its stdout/stderr
 * appended to a log file (so the log survives a crash), its ports read from the pino '<what> listening' line (it is
 * started on port 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';

/** Which server to start. */
export interface ServerCli {
  /** Absolute path of the CLI entry (`src/main.ts`). */
  main: string;
  /** The server in error messages ("the platform server"). */
  title: string;
  /** The server in the log's start line ("genome-platform"). */
  logName: string;
  /** The pino message that carries grpcPort and httpPort ("platform listening"). */
  listening: string;
}

export interface ServerProcess {
  child: ChildProcess;
  grpcPort: number;
  httpPort: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string | null>;
  alive(): boolean;
  /** The last `n` lines of this process's part of the log. */
  tail(n: number): string[];
  /** How the process ended and the last non-access log lines (the crash stack), one line. */
  deathText(): string;
  /** SIGKILL if still running. */
  kill(): Promise<void>;
}

function readFrom(file: string, offset: number): string {
  const buf = readFileSync(file);
  return buf.subarray(offset).toString('utf8');
}

export async function startServerProcess(cli: ServerCli, args: string[], env: Record<string, string>, logFile: string, startTimeoutMs = 120_000): Promise<ServerProcess> {
  const { main } = cli;
  const fd = openSync(logFile, 'a');
  writeSync(fd, `\n===== starting ${cli.logName} ${new Date().toISOString()}: ${args.join(' ')}\n`);
  const offset = statSync(logFile).size;
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', main, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  // If the test process ends without its teardown (an uncaught error, process.exit), take the server down too.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => {
      process.off('exit', orphanGuard);
      resolve(code ?? signal);
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const deadline = Date.now() + startTimeoutMs;
  let listening: { grpcPort: number; httpPort: number } | undefined;
  while (!listening) {
    const out = readFrom(logFile, offset);
    const line = out.split('\n').find((l) => l.includes(`"msg":${JSON.stringify(cli.listening)}`));
    if (line) listening = JSON.parse(line) as { grpcPort: number; httpPort: number };
    else {
      if (!alive()) throw new Error(`${cli.title} exited before listening:\n${out.slice(-4000)}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${cli.title} did not start within ${startTimeoutMs} ms:\n${out.slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const tail = (n: number) => readFrom(logFile, offset).trimEnd().split('\n').slice(-n);
  return {
    child,
    grpcPort: listening.grpcPort,
    httpPort: listening.httpPort,
    logFile,
    exited,
    alive,
    tail,
    deathText() {
      const how = alive() ? 'still running' : `exit code ${child.exitCode ?? '-'}, signal ${child.signalCode ?? '-'}`;
      // Skip the per-call info lines (pino level 30): what is left is warnings, errors and raw stderr (stacks).
      const lines = tail(400)
        .filter((l) => l.trim() && !l.startsWith('{"level":30'))
        .slice(-10)
        .map((l) => l.trim().slice(0, 300));
      return `[${how}] log: ${lines.join(' | ')}`;
    },
    async kill() {
      if (alive()) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
