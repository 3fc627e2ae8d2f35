// The sidecar's start banner prints `genome` commands first: run the sidecar as a process, take the commands from
// its banner as printed, and run each with the real CLI. They must work as written (exit 0).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t from 'tap';
import { exits } from './helpers/assertions.js';
import { genome } from './helpers/genome.js';

const sidecarDir = dirname(createRequire(import.meta.url).resolve('@genome/explainer-sidecar/package.json'));

t.test('the genome commands of the sidecar banner work as printed', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', join(sidecarDir, 'src/main.ts'), '--host', '127.0.0.1', '--grpc-port', '0'], {
    env: { ...process.env, GENOME_SIDECAR_HTTP_PORT: '-1', GENOME_SIDECAR_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Stop with Ctrl-C')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no banner: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const lines = out.split('\n');
  const commands = lines.filter((l) => l.startsWith('  genome ')).map((l) => l.trim().split(/\s+/).slice(1));
  t.same(commands.map((c) => c.find((w) => ['health', 'models', 'explain', 'visualize'].includes(w))), ['health', 'models', 'explain', 'visualize'], 'health, models, explain and visualize');
  // The picture goes to a temporary folder, not into the repository.
  const dir = mkdtempSync(join(tmpdir(), 'banner-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const viz = commands[3]!;
  viz[viz.indexOf('--out') + 1] = join(dir, viz[viz.indexOf('--out') + 1]!);
  const firstGenome = lines.findIndex((l) => l.startsWith('  genome '));
  const firstOther = lines.findIndex((l) => /^ {2}(grpcurl|curl) /.test(l));
  t.ok(firstGenome >= 0 && firstGenome < firstOther, 'the genome commands come before grpcurl and curl');
  for (const args of commands) {
    const r = await genome(args);
    exits(t, r, 0);
  }
  t.match(readFileSync(viz[viz.indexOf('--out') + 1]!, 'utf8'), /^<svg [^>]*data-chart="waterfall"/, 'the printed visualize command writes a waterfall');
  const explained = await genome([...commands[2]!, '--output', 'json']);
  const docs = JSON.parse(explained.stdout) as { values: number[][][] }[];
  t.equal(docs.length, 1, 'the printed explain row is explained');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'the sidecar drains and exits 0');
});
