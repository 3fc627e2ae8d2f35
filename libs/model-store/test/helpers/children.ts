/**
 * Child processes of the multi-process tests: following a child's stdout lines ({@link followLines}), the blob writer
 * started with tsx and driven by stdin lines ({@link startWriter}), and the children's side of a synchronized start
 * ({@link waitForGo}).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const writerScript = fileURLToPath(new URL('./blob-writer.ts', import.meta.url));

/** Arguments of `blob-writer.ts` (see there). */
export interface WriterArgs {
  spec: string;
  seed: string;
  size: number;
  chunkBytes: number;
  pauseAfterBytes?: number;
}

/** A child's stdout lines, and a way to wait for one. */
export interface ChildLines {
  lines: string[];
  /** Resolves with the first line matching `pattern` (printed already or later); rejects when the process exits first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Follows the stdout of `child` line by line. `name` names the child and `details` says what it printed, in the
 * errors of {@link ChildLines.waitFor}.
 */
export function followLines(child: ChildProcess, name: () => string, details: () => string): ChildLines {
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`${name()} exited (${code ?? signal}) before printing ${w.pattern}; ${details()}`));
      resolve({ code, signal });
    }),
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.pattern.test(line)) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  });
  return {
    lines,
    exited,
    waitFor(pattern) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`${name()} already exited; ${details()}`));
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
  };
}

/** A running writer: its output lines, and a way to wait for one. */
export interface Writer extends ChildLines {
  child: ChildProcess;
  send(line: string): void;
}

/** Starts `blob-writer.ts` in a child process. */
export function startWriter(args: WriterArgs): Writer {
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', writerScript, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const followed = followLines(child, () => 'writer', () => `output:\n${followed.lines.join('\n')}`);
  return {
    child,
    ...followed,
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
  };
}

/**
 * The child's side of a synchronized start: reads stdin until the parent's `go <epoch ms>` line, and returns that
 * time (now when stdin ends first).
 */
export async function waitForGo(): Promise<number> {
  const lines = createInterface({ input: process.stdin });
  let startAt = Date.now();
  for await (const line of lines) {
    if (line.startsWith('go ')) {
      startAt = Number(line.slice(3));
      break;
    }
  }
  lines.close();
  return startAt;
}
