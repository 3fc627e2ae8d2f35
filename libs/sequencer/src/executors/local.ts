/**
 * The local process executor, the embedded default: runs a step's `command` (argv, no shell) as a real child process
 * in its own process group, with the step's environment, stdout and stderr appended to one log file per attempt.
 * A timeout or a cancel sends SIGTERM to the whole group, then SIGKILL after a grace period.
 *
 * The command runs under a small `/bin/sh` supervisor that passes the argv through untouched (`"$@"`: no word
 * splitting, no expansion) and writes the command's exit code to a file when it ends, so that the exit status
 * survives a sequencer killed in the middle of a step (only a process's parent can read its status).
 *
 * Files per attempt in `logDir`: `<handle>.log` (output), `<handle>.pid` (the supervisor's pid, also the process
 * group), `<handle>.code` (the exit code, written by the supervisor), `<handle>.exit` (the outcome, written by the
 * executor). A sequencer restarted while a step ran can read its logs, and `wait()` on such a handle returns the
 * outcome once the supervisor has recorded the exit code, or a failure with reason "Lost" when the process group was
 * killed without a record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { mkdirSync, openSync, closeSync, writeFileSync, readFileSync, existsSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { SequencerError } from '../errors.js';
import type { Executor, StepLaunch, StepOutcome } from '../executor.js';

export interface LocalExecutorOptions {
  /** Folder of the per-attempt log, pid and exit files (created when missing). */
  logDir: string;
  /** Working directory of the steps (default: the current directory). */
  cwd?: string;
  /**
   * Variables every step inherits before its own (the step's environment wins). Default: PATH, HOME, LANG, LC_ALL,
   * TMPDIR, TZ, USER and SYSTEMROOT from this process, so a server's secrets do not leak into steps.
   */
  baseEnv?: Record<string, string>;
  /** Milliseconds between SIGTERM and SIGKILL on a timeout or cancel (default 5000). */
  killGraceMs?: number;
  /** How often `wait()` checks a process it did not start itself (default 500 ms). */
  pollMs?: number;
  /**
   * close() leaves running steps running instead of cancelling them (default false). Their supervisor records how
   * they end, so a server that restarts on the same `logDir` resumes waiting on them: a restart loses no step.
   */
  leaveRunningOnClose?: boolean;
}

const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ', 'USER', 'SYSTEMROOT'];
const HANDLE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$/;

interface Attempt {
  child: ChildProcess;
  pid: number;
  done: Promise<StepOutcome>;
  exited: boolean;
  killReason?: 'DeadlineExceeded' | 'Cancelled';
  timers: NodeJS.Timeout[];
}

/** The executor that runs steps as local processes. */
export class LocalExecutor implements Executor {
  readonly kind = 'local';
  private readonly logDir: string;
  private readonly cwd: string | undefined;
  private readonly baseEnv: Record<string, string>;
  private readonly killGraceMs: number;
  private readonly pollMs: number;
  private readonly leaveRunningOnClose: boolean;
  private readonly attempts = new Map<string, Attempt>();
  private closed = false;

  constructor(options: LocalExecutorOptions) {
    this.logDir = resolve(options.logDir);
    this.cwd = options.cwd;
    this.killGraceMs = options.killGraceMs ?? 5000;
    this.pollMs = options.pollMs ?? 500;
    this.leaveRunningOnClose = options.leaveRunningOnClose ?? false;
    if (options.baseEnv) this.baseEnv = { ...options.baseEnv };
    else {
      this.baseEnv = {};
      for (const k of INHERITED) {
        const v = process.env[k];
        if (v !== undefined) this.baseEnv[k] = v;
      }
    }
    mkdirSync(this.logDir, { recursive: true });
  }

  /** The log file of an attempt. */
  logPath(handle: string): string {
    return join(this.logDir, `${checkHandle(handle)}.log`);
  }

  async launch(l: StepLaunch): Promise<string> {
    if (this.closed) throw new SequencerError('FAILED_PRECONDITION', 'the local executor is closed; create a new one');
    const command = l.step.command;
    if (!command || command.length === 0 || !command[0]) {
      throw new SequencerError(
        'INVALID_ARGUMENT',
        `step ${JSON.stringify(l.step.stepName)} has no command; the local executor runs the step's "command" (an argv array such as ["python", "train.py"]), give one or use the Kubernetes executor for image-only steps`,
      );
    }
    const handle = checkHandle(`${l.runId}.${l.step.stepName}.${l.attempt}`);
    if (this.attempts.has(handle) || existsSync(join(this.logDir, `${handle}.pid`)) || existsSync(this.exitPath(handle))) {
      throw new SequencerError('ALREADY_EXISTS', `attempt ${handle} was already launched; launch the next attempt number`);
    }
    const env = { ...this.baseEnv, ...l.env };
    const logFile = this.logPath(handle);
    const cwd = this.cwd ?? process.cwd();
    const program = findProgram(command[0], env.PATH ?? '', cwd);
    if (typeof program !== 'string') {
      const outcome: StepOutcome = {
        status: 'failed',
        reason: 'StartError',
        message: `could not start ${JSON.stringify(command[0])}: ${program.problem}; check that the program exists and is on PATH (PATH=${env.PATH ?? ''})`,
      };
      writeFileSync(logFile, `${outcome.message}\n`, { flag: 'a' });
      this.writeExit(handle, outcome);
      return handle;
    }
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', SUPERVISOR, 'genome-step', join(this.logDir, `${handle}.code`), program, ...command.slice(1)], {
        cwd,
        env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const started = await new Promise<Error | undefined>((res) => {
      child.once('spawn', () => res(undefined));
      child.once('error', (e) => res(e));
    });
    if (started) {
      throw new SequencerError('UNAVAILABLE', `could not start /bin/sh to supervise step ${l.step.stepName}: ${started.message}`, { cause: started });
    }
    const pid = child.pid!;
    writeFileSync(join(this.logDir, `${handle}.pid`), `${pid}\n`);
    const a: Attempt = { child, pid, exited: false, timers: [], done: undefined as unknown as Promise<StepOutcome> };
    a.done = new Promise<StepOutcome>((res) => {
      child.once('exit', (code, signal) => {
        a.exited = true;
        let outcome = toOutcome(a, code, signal, l.timeoutMs);
        try {
          this.writeExit(handle, outcome);
        } catch (e) {
          // The log directory went away under a running step (removed, disk full): the outcome is still reported
          // to this process, and the process must not die of it.
          if (outcome.status === 'succeeded') outcome = { status: 'failed', reason: 'Lost', message: `the step ended with code ${code} but its outcome could not be recorded in ${this.logDir}: ${(e as Error).message}`, ...(code !== null ? { exitCode: code } : {}) };
        }
        // Leftover processes of the group die with a timed-out or cancelled attempt.
        if (a.killReason) killGroup(pid, 'SIGKILL');
        for (const t of a.timers) clearTimeout(t);
        res(outcome);
      });
    });
    this.attempts.set(handle, a);
    if (l.timeoutMs !== undefined && l.timeoutMs > 0) {
      a.timers.push(
        setTimeout(() => {
          a.killReason ??= 'DeadlineExceeded';
          this.terminate(a);
        }, l.timeoutMs),
      );
    }
    return handle;
  }

  async wait(handle: string, signal?: AbortSignal): Promise<StepOutcome> {
    checkHandle(handle);
    const a = this.attempts.get(handle);
    if (a) return abortable(a.done, signal);
    return this.waitUnowned(handle, signal);
  }

  /** The handle of this attempt when it was launched (by this or an earlier executor on the same log folder). */
  async findAttempt(l: Omit<StepLaunch, 'env'>): Promise<string | undefined> {
    const handle = checkHandle(`${l.runId}.${l.step.stepName}.${l.attempt}`);
    if (this.attempts.has(handle) || existsSync(join(this.logDir, `${handle}.pid`)) || existsSync(this.exitPath(handle))) return handle;
    return undefined;
  }

  /** The recorded outcome of an attempt that has ended, or undefined while it runs (or is unknown). */
  outcome(handle: string): StepOutcome | undefined {
    return this.readExit(checkHandle(handle));
  }

  async cancel(handle: string): Promise<void> {
    checkHandle(handle);
    const a = this.attempts.get(handle);
    if (a) {
      if (a.exited) return;
      a.killReason ??= 'Cancelled';
      this.terminate(a);
      await a.done;
      return;
    }
    if (existsSync(this.exitPath(handle))) return;
    const pid = this.readPid(handle);
    if (pid === undefined) throw notFound(handle);
    if (alive(pid) && this.readCode(handle) === undefined) {
      killGroup(pid, 'SIGTERM');
      const deadline = Date.now() + this.killGraceMs;
      while (alive(pid) && Date.now() < deadline) await sleep(Math.min(this.pollMs, 100));
      if (alive(pid)) killGroup(pid, 'SIGKILL');
      this.writeExit(handle, { status: 'failed', reason: 'Cancelled', message: 'cancelled' });
    }
  }

  async logs(handle: string, options: { tailLines?: number } = {}): Promise<string> {
    const path = this.logPath(handle);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(handle);
      throw new SequencerError('UNAVAILABLE', `cannot read the log of ${handle}: ${(e as Error).message}`, { cause: e });
    }
    const n = options.tailLines;
    if (n === undefined) return text;
    if (!Number.isInteger(n) || n < 0) throw new SequencerError('INVALID_ARGUMENT', `tailLines: must be a non-negative integer (got ${n})`);
    const lines = text.split('\n');
    const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
    const tail = n === 0 ? [] : lines.slice(-n);
    return tail.join('\n') + (trailing !== undefined && tail.length > 0 ? '\n' : '');
  }

  /**
   * Cancels every attempt still running and waits for them to end; with `leaveRunningOnClose`, lets them run on
   * (their outcome is recorded for the next executor on this logDir).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.leaveRunningOnClose) {
      for (const a of this.attempts.values()) {
        for (const t of a.timers) clearTimeout(t);
        a.child.unref();
      }
      this.attempts.clear();
      return;
    }
    await Promise.all(
      [...this.attempts.values()].map(async (a) => {
        if (!a.exited) {
          a.killReason ??= 'Cancelled';
          this.terminate(a);
        }
        await a.done;
      }),
    );
  }

  private terminate(a: Attempt): void {
    if (a.exited) return;
    killGroup(a.pid, 'SIGTERM');
    const t = setTimeout(() => {
      if (!a.exited) killGroup(a.pid, 'SIGKILL');
    }, this.killGraceMs);
    t.unref();
    a.timers.push(t);
  }

  private exitPath(handle: string): string {
    return join(this.logDir, `${handle}.exit`);
  }

  private writeExit(handle: string, outcome: StepOutcome): void {
    const tmp = `${this.exitPath(handle)}.tmp`;
    writeFileSync(tmp, JSON.stringify(outcome));
    renameSync(tmp, this.exitPath(handle));
  }

  private readExit(handle: string): StepOutcome | undefined {
    try {
      return JSON.parse(readFileSync(this.exitPath(handle), 'utf8')) as StepOutcome;
    } catch {
      return undefined;
    }
  }

  private readCode(handle: string): number | undefined {
    try {
      const text = readFileSync(join(this.logDir, `${handle}.code`), 'utf8').trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  }

  private readPid(handle: string): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.logDir, `${handle}.pid`), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** wait() for an attempt started by another executor instance (e.g. before a restart). */
  private async waitUnowned(handle: string, signal?: AbortSignal): Promise<StepOutcome> {
    for (;;) {
      const recorded = this.readExit(handle);
      if (recorded) return recorded;
      const pid = this.readPid(handle);
      if (pid === undefined) throw notFound(handle);
      const running = alive(pid);
      const code = this.readCode(handle);
      if (code !== undefined) {
        const outcome = codeOutcome(code);
        this.writeExit(handle, outcome);
        return outcome;
      }
      if (!running) {
        return (
          this.readExit(handle) ?? {
            status: 'failed',
            reason: 'Lost',
            message: `process group ${pid} of ${handle} was killed while no sequencer watched it, so its exit status is unknown; run the step again`,
          }
        );
      }
      await abortable(sleep(this.pollMs), signal);
    }
  }
}

function checkHandle(handle: string): string {
  if (typeof handle !== 'string' || !HANDLE.test(handle) || handle.includes('..')) {
    throw new SequencerError(
      'INVALID_ARGUMENT',
      `${JSON.stringify(handle)} is not a local executor handle (letters, digits, '.', '_', '-'; run id, step name and attempt joined by '.')`,
    );
  }
  return handle;
}

function notFound(handle: string): SequencerError {
  return new SequencerError('NOT_FOUND', `no attempt ${handle} in this local executor's log folder; check the handle and the executor's logDir`);
}

/**
 * The supervisor: `$1` is the exit-code file, the rest is the command's argv, run as is ("$@" is neither split nor
 * expanded). It records the command's exit code (128+n when a signal killed it) and exits with it. It catches
 * TERM/INT/HUP (a caught signal is reset to default in the child, unlike an ignored one), so on a group SIGTERM the
 * command gets its grace period and the supervisor still records how it ended.
 */
const SUPERVISOR = 'trap true TERM INT HUP; f=$1; shift; "$@"; c=$?; printf \'%s\\n\' "$c" > "$f.tmp" && mv -f "$f.tmp" "$f"; exit $c';

/** The program to run: `name` itself when it has a '/', else the first executable file called `name` on PATH. */
function findProgram(name: string, path: string, cwd: string): string | { problem: string } {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, fsConstants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/')) {
    const full = isAbsolute(name) ? name : resolve(cwd, name);
    return executable(full) ? full : { problem: existsSync(full) ? 'not an executable file' : 'no such file (ENOENT)' };
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const full = resolve(cwd, dir, name);
    if (executable(full)) return full;
  }
  return { problem: 'not found on PATH (ENOENT)' };
}

function signalName(n: number): string | undefined {
  return Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
}

/** The outcome of a command that exited with `code` (from the supervisor's record). */
function codeOutcome(code: number): StepOutcome {
  if (code === 0) return { status: 'succeeded', exitCode: 0 };
  const sig = code > 128 ? signalName(code - 128) : undefined;
  return { status: 'failed', reason: 'Error', message: `the command exited with code ${code}${sig ? ` (killed by ${sig})` : ''}`, exitCode: code };
}

function toOutcome(a: Attempt, code: number | null, signal: NodeJS.Signals | null, timeoutMs?: number): StepOutcome {
  const exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : undefined);
  if (a.killReason === 'DeadlineExceeded') {
    return { status: 'failed', reason: 'DeadlineExceeded', message: `the step ran longer than its timeout (${timeoutMs} ms) and was killed`, ...(exitCode === undefined ? {} : { exitCode }) };
  }
  if (a.killReason === 'Cancelled') {
    return { status: 'failed', reason: 'Cancelled', message: 'the step was cancelled', ...(exitCode === undefined ? {} : { exitCode }) };
  }
  if (code !== null) return codeOutcome(code);
  return { status: 'failed', reason: 'Error', message: `the command was killed by signal ${signal}`, ...(exitCode === undefined ? {} : { exitCode }) };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(cancelled(signal));
  return new Promise<T>((res, rej) => {
    const onAbort = (): void => rej(cancelled(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        res(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        rej(e);
      },
    );
  });
}

function cancelled(signal: AbortSignal): SequencerError {
  return new SequencerError('CANCELLED', 'stopped waiting: the signal was aborted', { cause: signal.reason });
}
