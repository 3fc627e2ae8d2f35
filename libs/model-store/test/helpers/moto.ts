/**
 * A real S3 server for tests and benchmarks: Python moto's server (`python3 -m moto.server`, i.e. `moto_server`),
 * started on a free local port and stopped in teardown. `findMoto()` says whether it is installed for the `python3`
 * first on PATH (tests skip loudly when it is not; `MOTO_SERVER` may name another `moto_server` executable).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** Credentials moto accepts (any will do), so that no real AWS credential is ever used. */
export const MOTO_CREDENTIALS = { accessKeyId: 'motoTestKeyId', secretAccessKey: 'motoTestSecretKey' } as const;
export const MOTO_REGION = 'us-east-1';

/** How to start moto: a command and its arguments (the port arguments are added). */
export interface MotoCommand {
  command: string;
  args: string[];
}

const PROBE = [
  'import importlib.util, sys',
  "missing = [m for m in ('moto', 'flask', 'flask_cors') if importlib.util.find_spec(m) is None]",
  "print('missing ' + ' '.join(missing) if missing else 'ok ' + sys.executable)",
].join('\n');

/**
 * How to start moto's server: `$MOTO_SERVER` when set, else `python3 -m moto.server` for the `python3` first on PATH
 * when it has moto with its server extras. Otherwise `{ missing }` says why, for the loud skip message.
 */
export function findMoto(): MotoCommand | { missing: string } {
  const override = process.env.MOTO_SERVER;
  if (override) return { command: override, args: [] };
  const probe = spawnSync('python3', ['-c', PROBE], { encoding: 'utf8', timeout: 30_000 });
  const out = probe.stdout?.trim() ?? '';
  const install = 'install it with `python3 -m pip install "moto[server]"`, or set MOTO_SERVER to a moto_server executable';
  if (probe.error || probe.status !== 0) {
    return { missing: `python3 is not runnable (${probe.error?.message ?? probe.stderr?.trim().slice(-300) ?? `exit ${probe.status}`}); ${install}` };
  }
  if (out.startsWith('ok ')) return { command: out.slice(3), args: ['-m', 'moto.server'] };
  return { missing: `moto_server is not installed for the python3 first on PATH (${out}); ${install}` };
}

/** The loud message a test or benchmark prints (and skips with) when moto is absent. */
export function motoMissingMessage(reason: string): string {
  return `SKIPPED: ${reason}. The S3 blob store tests did NOT run.`;
}

/**
 * Points the AWS SDK's default credential chain of this process (and of the child processes it starts) at moto's
 * credentials through the environment: the S3 store takes credentials from the chain, never from its URL.
 */
export function useMotoCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = MOTO_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = MOTO_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION = MOTO_REGION;
  // The chain skips the environment when a profile is named, and would add a session token of real credentials.
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_PROFILE']) delete process.env[name];
}

/** A free TCP port on 127.0.0.1: bound to port 0, then released. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running moto server. */
export interface Moto {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Stops the server (kills its process group) and waits for it to exit. */
  stop(): Promise<void>;
  /** Creates a bucket. */
  createBucket(name: string): Promise<void>;
  /** An SDK client on the server (for tests that act behind a store's back); destroyed by `stop()`. */
  client: S3Client;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status < 500;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the group of the process we started (detached: it leads its own group)
  } catch {
    child.kill(signal);
  }
}

async function startOnce(moto: MotoCommand): Promise<{ child: ChildProcess; endpoint: string } | { exited: string }> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(moto.command, [...moto.args, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 20_000) stderr += d;
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    stderr += String(err);
    exited = true;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited) return { exited: stderr.slice(-2000) };
    if (await answers(endpoint)) return { child, endpoint };
    await sleep(100);
  }
  killGroup(child, 'SIGKILL');
  return { exited: `moto did not answer on ${endpoint} within 30 s:\n${stderr.slice(-2000)}` };
}

/** Starts moto's server on a free port and waits until it answers; throws when it cannot start. */
export async function startMoto(moto: MotoCommand): Promise<Moto> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await startOnce(moto);
    if ('exited' in started) {
      last = started.exited; // most likely the port was taken between the probe and the bind: try another
      continue;
    }
    const { child, endpoint } = started;
    const client = new S3Client({ endpoint, region: MOTO_REGION, forcePathStyle: true, credentials: { ...MOTO_CREDENTIALS } });
    return {
      endpoint,
      client,
      async createBucket(name: string) {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      },
      async stop() {
        client.destroy();
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      },
    };
  }
  throw new Error(`moto (${[moto.command, ...moto.args].join(' ')}) failed to start:\n${last}`);
}
