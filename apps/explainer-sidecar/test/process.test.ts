// The real CLI as a child process: config from flags + env + file, the default example model, the printed
// call instructions, and SIGTERM -> drain -> exit 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../src/index.js';

const main = join(import.meta.dirname, '../src/main.ts');

t.test('config precedence: flags > env > file > defaults', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ grpcPort: 1111, httpPort: 2222, maxQueue: 3, maxConcurrency: 9, models: [{ kind: 'file', path: 'm.json' }] }));
  const c = loadConfig(['--config', file, '--grpc-port', '3333'], { GENOME_SIDECAR_GRPC_PORT: '4444', GENOME_SIDECAR_HTTP_PORT: '5555', GENOME_SIDECAR_MAX_QUEUE: '6' });
  t.equal(c.grpcPort, 3333, 'flag beats env and file');
  t.equal(c.httpPort, 5555, 'env beats file');
  t.equal(c.maxQueue, 6, 'env beats file');
  t.equal(c.maxConcurrency, 9, 'file beats default');
  t.equal(c.maxRows, 100_000, 'default');
  t.same(c.models, [{ kind: 'file', path: join(dir, 'm.json') }], 'file paths are relative to the file');
  const k = loadConfig(['--model_name', 'income', '--predictor_host', 'income-predictor.default', '--http_port', '8080', '--workers', '2', '--enable_docs_url', 'false'], {});
  t.same(k.models, [{ kind: 'remote', name: 'income', host: 'income-predictor.default', protocol: 'grpc-v2' }], "KServe's explainer flags");
  t.equal(k.maxConcurrency, 2);
  t.throws(() => loadConfig(['--grpc-port', 'x'], {}), /--grpc-port must be an integer/);
  t.throws(() => loadConfig(['--nope'], {}), /unknown option --nope/);
  t.throws(() => loadConfig(['--tls-cert', 'a.pem'], {}), /TLS needs both --tls-cert and --tls-key/);
  t.match(loadConfig([], {}).models[0], { kind: 'package' }, 'no model configured: the example package');
});

t.test('CLI: starts on the example model, prints how to call it, drains on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', main, '--host', '127.0.0.1', '--grpc-port', '0'], {
    env: { ...process.env, GENOME_SIDECAR_HTTP_PORT: '0', GENOME_SIDECAR_SHUTDOWN_GRACE_MS: '5000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!/"msg":"sidecar listening"/.test(out)) {
    if (Date.now() > deadline) throw new Error(`no start: ${out}`);
    if (child.exitCode !== null) throw new Error(`exited: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const listening = JSON.parse(out.split('\n').find((l) => l.includes('"sidecar listening"'))!) as { grpcPort: number; httpPort: number };
  t.match(out, /grpcurl -plaintext -d '.*' (localhost|127\.0\.0\.1):\d+ genome\.explain\.v1\.Explainer\/Explain/, 'prints a grpcurl line');
  t.match(out, /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/models\/california-housing-rf:explain/, 'prints a curl line');
  const res = await fetch(`http://127.0.0.1:${listening.httpPort}/v1/models/california-housing-rf:explain`, { method: 'POST', body: JSON.stringify({ instances: [[8.3, 41, 7, 1, 322, 2.5, 37.9, -122.2]] }) });
  t.equal(res.status, 200);
  const j = (await res.json()) as { explanations: { featureNames: string[]; outputNames: string[] }[] };
  t.equal(j.explanations[0]!.featureNames[0], 'MedInc', 'feature names from the package manifest');
  t.same(j.explanations[0]!.outputNames, ['MedHouseVal'], 'output names from the package manifest');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit code 0 after SIGTERM');
  t.match(out, /"msg":"sidecar stopped"/);
});
