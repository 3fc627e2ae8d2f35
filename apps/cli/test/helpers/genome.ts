/**
 * Runs the real CLI (`src/main.ts` through tsx) as a child process, without blocking this process's servers; or, about
 * a second faster a call, `runCli` in this process with captured output ({@link genomeInProcess}).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const cliDir = join(import.meta.dirname, '../..');
const main = join(cliDir, 'src/main.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** `genome ...args`; GENOME_* variables of the test's own environment are not passed on. */
export function genome(args: string[], o: RunOptions = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GENOME_')));
  Object.assign(env, o.env ?? {});
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', main, ...args], {
      cwd: cliDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`genome ${args.join(' ')} did not finish in ${o.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** In-process runs one at a time: each one swaps environment variables of the whole process. */
let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * `genome ...args` through `runCli` in this process, with the same result as {@link genome} without its ~1 s start-up:
 * stdout and stderr are captured pipes (not terminals, so no progress bars), GENOME_* variables of the test's own
 * environment are hidden and `o.env` set for the call, then both restored. Unlike a child process, the working
 * directory is the test's (give absolute paths), Node warnings go to the test's stderr (main.ts prints them in the
 * child), and commander's help width and colours come from this process's stdout (a pipe under tap, as in the child).
 * For the real executable path (main.ts, its exit code, EPIPE) keep a few {@link genome} runs.
 */
export function genomeInProcess(args: string[], o: Pick<RunOptions, 'env'> = {}): Promise<Run> {
  const run = inProcessQueue.then(() => runInProcess(args, o.env ?? {}));
  inProcessQueue = run.catch(() => undefined);
  return run;
}

async function runInProcess(args: string[], env: Record<string, string>): Promise<Run> {
  const { runCli } = await import('../../src/cli.js');
  const touched = new Set([...Object.keys(process.env).filter((k) => k.startsWith('GENOME_')), ...Object.keys(env)]);
  const saved = new Map([...touched].map((k) => [k, process.env[k]] as const));
  for (const k of touched) delete process.env[k];
  Object.assign(process.env, env);
  const stdout = pipe();
  const stderr = pipe();
  try {
    const code = await runCli(args, { stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A captured stream that looks like a pipe, as the child's are: not a terminal, no columns. */
function pipe(): { text: string; readonly isTTY: false; write(chunk: string): boolean } {
  return {
    text: '',
    isTTY: false,
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}
