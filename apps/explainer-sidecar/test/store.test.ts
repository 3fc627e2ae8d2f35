// Serving from the model store: `--model store://NAME@ALIAS` follows the alias with atomic swaps under continuous
// gRPC, REST and ExplainStream traffic (no failed call, one version per call and per stream, monotone per client,
// every call that starts after the swap is seen gets the new version); `store://NAME/1` never moves; `store://NAME`
// follows new saves; a corrupted blob fails the update and the old version keeps serving; a deleted alias keeps the
// current version; bad references, unknown models and an unreachable store stop the start with a clear error.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import t from 'tap';
import { openModelStore, type ModelStore, type ModelVersion } from '@genome/model-store';
import { explain } from '@genome/proto';
import { client, describeModel, explainCall, explainStream, type Client } from './helpers/client.js';
import { startSidecarProcess, type SidecarProcess } from './helpers/sidecar-process.js';
import { makeStorePackage, plantCorruptBlob, scratchDir } from './helpers/store.js';
import { loadConfig } from '../src/index.js';
import { sidecar } from './helpers/sidecar.js';

const main = join(import.meta.dirname, '../src/main.ts');
const NAME = 'housing';
const POLL_MS = 200;
const ROWS = [
  [8.3252, 41, 6.9841, 1.0238, 322, 2.5556, 37.88, -122.23],
  [5.6431, 52, 5.8174, 1.0731, 558, 2.5479, 37.85, -122.25],
  [3.8462, 52, 6.2819, 1.0811, 565, 2.1815, 37.85, -122.25],
  [2.0804, 42, 4.2941, 1.1176, 1206, 2.0265, 37.84, -122.26],
];
const tabular = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });

/** One answered call of a traffic loop. */
interface Obs {
  loop: string;
  /** Client-side times, ms since the epoch. */
  start: number;
  end: number;
  /** The version the answer names ('' when the call failed). */
  version: string;
  /** Base value and attributions: what the version computed. */
  fingerprint: string;
  error?: string;
}

const fp = (base: readonly number[], values: readonly number[]) => `${base.join(',')}|${values.join(',')}`;

/** Calls in a loop (no pause) until stopped, recording every answer. */
function loop(name: string, call: () => Promise<{ version: string; fingerprint: string }>, out: Obs[], running: { on: boolean }): Promise<void> {
  return (async () => {
    while (running.on) {
      const start = Date.now();
      try {
        const r = await call();
        out.push({ loop: name, start, end: Date.now(), ...r });
      } catch (err) {
        out.push({ loop: name, start, end: Date.now(), version: '', fingerprint: '', error: String((err as Error).message ?? err) });
      }
    }
  })();
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs the CLI to its exit; its exit code and output. */
function runToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', '--conditions=@genome/source', main, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

t.test('store://NAME@ALIAS follows the alias with atomic swaps under load', async (t) => {
  const dir = scratchDir(t, 'sidecar-store-');
  const storeDir = join(dir, 'store');
  const admin: ModelStore = await openModelStore({ dir: storeDir });
  t.teardown(() => admin.close());
  const v1 = await admin.saveModel(makeStorePackage(dir, 'p1', 100), { canonicalName: NAME, aliases: ['production'] });
  const v2 = await admin.saveModel(makeStorePackage(dir, 'p2', 50), { canonicalName: NAME });
  t.equal(v1.version, 1);
  t.equal(v2.version, 2);

  const logFile = join(dir, 'sidecar.log');
  let s: SidecarProcess;
  try {
    s = await startSidecarProcess(
      [
        '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0',
        '--model', `store://${NAME}@production`, '--model', `pinned=store://${NAME}/1`, '--model', `latest=store://${NAME}`,
        '--store-dir', storeDir, '--store-poll-ms', String(POLL_MS), '--max-concurrency', '8', '--max-concurrency-per-model', '8',
        '--shutdown-grace-ms', '5000',
      ],
      {},
      logFile,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlog: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
  }
  t.teardown(() => s.kill());
  const c: Client = client(s.grpcPort);
  t.teardown(() => c.close());
  const rest = `http://127.0.0.1:${s.httpPort}`;

  const describe = async (name: string) => (await describeModel(c, name)).model!;
  const restMeta = async (name: string) => (await (await fetch(`${rest}/v1/models/${name}`)).json()) as { name: string; ready: boolean; version: string; store: { ref: string; version: number; alias: string; digest: string; follows: boolean } };

  // What each model serves at start.
  const d0 = await describe(NAME);
  t.equal(d0.version, '1', 'the alias names version 1');
  t.same(d0.store, { ref: `${NAME}@production`, name: NAME, version: 1, alias: 'production', digest: v1.digest, follows: true }, 'DescribeModel: ref, version, alias, digest');
  t.equal(d0.source, `store://${NAME}/1`);
  const m0 = await restMeta(NAME);
  t.match(m0, { name: NAME, ready: true, version: '1', store: { ref: `${NAME}@production`, version: 1, alias: 'production', digest: v1.digest, follows: true } }, 'GET /v1/models/{name} reports the version');
  t.match((await describe('pinned')).store, { ref: `${NAME}/1`, version: 1, alias: '', digest: v1.digest, follows: false }, 'a version reference is fixed');
  t.match((await describe('latest')).store, { ref: NAME, version: 2, alias: '', digest: v2.digest, follows: true }, 'a bare name serves the latest version');

  // Continuous traffic on the alias (3 gRPC, 2 REST, 1 ExplainStream loop) and on the fixed version.
  const obs: Obs[] = [];
  const streams: { start: number; versions: string[] }[] = [];
  const running = { on: true };
  const grpcCall = (model: string) => async () => {
    const r = await explainCall(c, { model: { name: model, version: '' }, tabular: tabular([ROWS[0]!]) });
    return { version: r.modelVersion, fingerprint: fp(r.baseValues, r.values) };
  };
  const restCall = async () => {
    const res = await fetch(`${rest}/v1/models/${NAME}:explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [ROWS[0]] }) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const j = (await res.json()) as { model_version: string; explanations: { baseValues: number[][]; values: number[][][] }[] };
    const e = j.explanations[0]!;
    return { version: j.model_version, fingerprint: fp(e.baseValues.flat(), e.values.flat(2)) };
  };
  const streamCall = async () => {
    const start = Date.now();
    const msgs = await explainStream(c, { model: { name: NAME, version: '' }, tabular: tabular(ROWS) }, 1);
    const results = msgs.filter((m) => m.result).map((m) => m.result!);
    if (results.length !== ROWS.length) throw new Error(`stream gave ${results.length} results`);
    const versions = results.map((r) => r.modelVersion);
    streams.push({ start, versions });
    if (new Set(versions).size !== 1) return { version: `mixed:${versions.join(',')}`, fingerprint: '' };
    // Row 0's answer identifies the version like the unary calls'.
    return { version: versions[0]!, fingerprint: fp(results[0]!.baseValues, results[0]!.values) };
  };
  const loops = [
    loop('grpc-1', grpcCall(NAME), obs, running),
    loop('grpc-2', grpcCall(NAME), obs, running),
    loop('grpc-3', grpcCall(NAME), obs, running),
    loop('rest-1', restCall, obs, running),
    loop('rest-2', restCall, obs, running),
    loop('stream', streamCall, obs, running),
    loop('pinned', grpcCall('pinned'), obs, running),
  ];
  const aliasLoops = ['grpc-1', 'grpc-2', 'grpc-3', 'rest-1', 'rest-2', 'stream'];
  const lastOf = (l: string) => obs.findLast((o) => o.loop === l);
  const allOn = (v: string) => aliasLoops.every((l) => lastOf(l)?.version === v);

  await new Promise((r) => setTimeout(r, 1500));
  // Move the alias to version 2, from another store instance, then back to 1.
  const moves: { to: string; at: number }[] = [];
  for (const to of [2, 1]) {
    const at = Date.now();
    await admin.setAlias(NAME, 'production', to);
    moves.push({ to: String(to), at });
    await waitFor(`every loop answering version ${to}`, () => allOn(String(to)));
    t.equal((await describe(NAME)).version, String(to), `DescribeModel reports version ${to} after the move`);
    t.equal((await restMeta(NAME)).store.digest, to === 2 ? v2.digest : v1.digest, `GET /v1/models/{name} reports version ${to}'s digest`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  running.on = false;
  await Promise.all(loops);

  const failed = obs.filter((o) => o.error !== undefined);
  t.same(failed.slice(0, 5), [], `no call failed (of ${obs.length})`);
  t.ok(obs.length > 100, `continuous traffic: ${obs.length} calls`);
  t.same(obs.filter((o) => o.version.startsWith('mixed')).length, 0, 'every ExplainStream answered from one version (pinned at its start)');
  t.ok(streams.length > 5, `${streams.length} streams`);
  t.same([...new Set(obs.filter((o) => o.loop !== 'pinned').map((o) => o.version))].sort(), ['1', '2'], 'each answer names exactly one version, 1 or 2');
  t.same([...new Set(obs.filter((o) => o.loop === 'pinned').map((o) => o.version))], ['1'], 'store://NAME/1 never moves');
  // Each version always computes the same answer, and the two versions' answers differ.
  const grpcFp = new Map<string, Set<string>>();
  for (const o of obs) if (o.loop.startsWith('grpc')) (grpcFp.get(o.version) ?? grpcFp.set(o.version, new Set()).get(o.version)!).add(o.fingerprint);
  t.equal(grpcFp.get('1')?.size, 1, 'gRPC answers naming version 1 are all version 1\'s');
  t.equal(grpcFp.get('2')?.size, 1, 'gRPC answers naming version 2 are all version 2\'s');
  t.not([...grpcFp.get('1')!][0], [...grpcFp.get('2')!][0], 'the versions explain differently (their background rows differ)');

  const swapMs: number[] = [];
  moves.forEach((m, i) => {
    const until = moves[i + 1]?.at ?? Infinity;
    const window = obs.filter((o) => o.loop !== 'pinned' && o.start >= m.at && o.start < until);
    const firstNew = Math.min(...window.filter((o) => o.version === m.to).map((o) => o.end));
    swapMs.push(firstNew - m.at);
    // Atomic: once any client got the new version, every call started later gets it too.
    const late = window.filter((o) => o.start > firstNew && o.version !== m.to);
    t.same(late.slice(0, 3), [], `move to ${m.to}: every call started after the first answer from it names it`);
    // Monotone per client across one switch: old ... old new ... new.
    for (const l of aliasLoops) {
      const seq = window.filter((o) => o.loop === l).map((o) => o.version);
      const firstIdx = seq.indexOf(m.to);
      t.ok(firstIdx >= 0 && seq.slice(firstIdx).every((v) => v === m.to), `${l}: versions monotone across the move to ${m.to}`);
    }
  });
  t.ok(swapMs.every((ms) => ms < 10_000), `swap within the poll interval plus the load: ${swapMs.join(' ms, ')} ms from the alias move to the first answer from the new version`);
  t.comment(`measured swap time (alias move -> first answer on the new version): ${swapMs.join(' ms, ')} ms (poll ${POLL_MS} ms)`);

  const lines = () => readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const swaps = lines().filter((l) => String(l.msg).startsWith('model version swapped') && l.model === NAME);
  t.same(swaps.map((l) => [l.from, l.to]), [[1, 2], [2, 1]], 'the log has both swaps');
  t.comment(`sidecar log: ${swaps.map((l) => `load ${String(l.loadMs)} ms + warm-up ${String(l.warmUpMs)} ms, swapped ${String(l.sinceStoreWriteMs)} ms after the store write`).join('; ')}`);
  await waitFor('the replaced versions to be released', () => lines().filter((l) => String(l.msg).startsWith('released version') && l.model === NAME).length === 2, 10_000);

  t.test('a corrupted blob: the update fails and the current version keeps serving', async (t) => {
    const p3 = makeStorePackage(dir, 'p3', 30);
    plantCorruptBlob(join(storeDir, 'blobs'), join(p3, 'genome.json'));
    const v3: ModelVersion = await admin.saveModel(p3, { canonicalName: NAME });
    t.equal(v3.version, 3);
    await admin.setAlias(NAME, 'production', 3);
    const failedFor = (model: string) => lines().some((l) => l.model === model && l.failedVersion === 3 && l.level === 50);
    const during: Obs[] = [];
    const on = { on: true };
    const bg = [loop('a', grpcCall(NAME), during, on), loop('l', grpcCall('latest'), during, on)];
    await waitFor('both followers to report the failed load', () => failedFor(NAME) && failedFor('latest'));
    await new Promise((r) => setTimeout(r, 500));
    on.on = false;
    await Promise.all(bg);
    t.same(during.filter((o) => o.error), [], 'no call failed');
    t.same([...new Set(during.filter((o) => o.loop === 'a').map((o) => o.version))], ['1'], 'the alias model still serves version 1');
    t.same([...new Set(during.filter((o) => o.loop === 'l').map((o) => o.version))], ['2'], 'the latest model still serves version 2');
    t.equal((await describe(NAME)).version, '1');
    // The first reader finds the damaged blob (the store quarantines it), a later one finds it gone: both say which.
    const errs = lines().filter((l) => l.failedVersion === 3).map((l) => String(l.err));
    t.ok(errs.every((e) => /blob sha256:[0-9a-f]{64} \(file "genome\.json" of housing\/3\)/.test(e)), 'each failure names the blob and the file');
    t.ok(errs.some((e) => /SHA-256|corrupt|damaged|does not match/i.test(e)), `the log says why: ${errs[0]!.slice(0, 300)}`);
    const metrics = await (await fetch(`${rest}/metrics`)).text();
    t.match(metrics, new RegExp(`genome_sidecar_model_updates_total\\{model="${NAME}",result="failed"\\} [1-9]`), 'failed updates are counted');
    t.match(metrics, new RegExp(`genome_sidecar_model_updates_total\\{model="${NAME}",result="swapped"\\} 2`), 'swaps are counted');
    t.match(metrics, new RegExp(`genome_sidecar_model_store_version\\{model="${NAME}"\\} 1`), 'the served version is a gauge');
  });

  t.test('a deleted alias keeps the current version; store://NAME follows new saves', async (t) => {
    await admin.deleteAlias(NAME, 'production');
    await waitFor('the warning', () => lines().some((l) => l.model === NAME && l.level === 40 && /no longer resolves/.test(String(l.msg))));
    t.equal((await explainCall(c, { model: { name: NAME, version: '' }, tabular: tabular([ROWS[0]!]) })).modelVersion, '1', 'still serving version 1');
    const v4 = await admin.saveModel(makeStorePackage(dir, 'p4', 20), { canonicalName: NAME });
    await waitFor('latest to serve version 4', async () => (await describe('latest')).version === '4');
    t.equal((await describe('latest')).store?.digest, v4.digest);
    t.equal((await explainCall(c, { model: { name: 'latest', version: '4' }, tabular: tabular([ROWS[0]!]) })).modelVersion, '4', 'a request may ask for the version served');
    t.equal((await describe(NAME)).version, '1', 'the alias model did not follow the save');
    t.equal((await describe('pinned')).version, '1');
  });

  t.test('SIGTERM: drains and exits 0', async (t) => {
    s.child.kill('SIGTERM');
    t.equal(await s.exited, 0);
  });
});

t.test('start-up errors are clear and stop the process', async (t) => {
  const dir = scratchDir(t, 'sidecar-store-err-');
  const storeDir = join(dir, 'store');
  const admin = await openModelStore({ dir: storeDir });
  await admin.saveModel(makeStorePackage(dir, 'p1', 100), { canonicalName: NAME, aliases: ['production'] });
  await admin.close();

  t.throws(() => loadConfig(['--model', `store://${NAME}@7`], {}), /store:\/\/housing@7" is not a model-store reference: .*aliases are never numbers/, 'a numeric alias');
  t.throws(() => loadConfig(['--model', 'store://bad name'], {}), /is not a model-store reference/);
  t.throws(() => loadConfig(['--model', `store://${NAME}/0`], {}), /is not a model-store reference/);
  t.throws(() => loadConfig(['--store-poll-ms', '5'], {}), /--store-poll-ms must be an integer >= 10/);
  const cfg = loadConfig(['--model', `m=store://${NAME}@production`, '--model', `store://${NAME}/1`, '--store-dir', storeDir, '--store-poll-ms', '250'], { GENOME_STORE_METADATA: 'sqlite:///x.sqlite' });
  t.same(cfg.models, [{ name: 'm', kind: 'store', ref: `${NAME}@production` }, { kind: 'store', ref: `${NAME}/1` }]);
  t.same(cfg.store, { pollMs: 250, dir: storeDir, metadata: 'sqlite:///x.sqlite' }, 'flags and GENOME_STORE_* env');
  const file = join(dir, 'sidecar.json');
  writeFileSync(file, JSON.stringify({ models: [{ kind: 'store', ref: `${NAME}@production`, name: 'm' }, { kind: 'package', path: `store://${NAME}/1` }], store: { dir: 'store', pollMs: 300 } }));
  const fromFile = loadConfig(['--config', file], {});
  t.same(fromFile.models, [{ kind: 'store', ref: `${NAME}@production`, name: 'm' }, { kind: 'store', ref: `${NAME}/1` }], 'config file: kind "store", or a store:// path');
  t.same(fromFile.store, { pollMs: 300, dir: storeDir }, 'config file: store settings, dir relative to the file');
  t.throws(() => (writeFileSync(file, JSON.stringify({ models: [{ kind: 'store', ref: 'x@' }] })), loadConfig(['--config', file], {})), /config file .*: "store:\/\/x@" is not a model-store reference/);

  const [badRef, unknown] = await Promise.all([
    runToExit(['--model', `store://${NAME}@1`, '--store-dir', storeDir]),
    runToExit(['--model', 'store://nope@production', '--store-dir', storeDir]),
  ]);
  t.equal(badRef.code, 2, 'bad reference: exit code 2');
  t.match(badRef.out, /store:\/\/housing@1" is not a model-store reference.*aliases are never numbers/);
  t.equal(unknown.code, 2, 'unknown model: exit code 2');
  t.match(unknown.out, /store:\/\/nope@production not found in the model store \(dir .*\): No model "nope"/);

  const unreachable = await sidecar({ models: [{ kind: 'store', ref: `${NAME}@production` }], store: { pollMs: 1000, dir: storeDir, metadata: 'postgres://u@127.0.0.1:1/db' } }).then(
    () => 'started',
    (err: Error) => err.message,
  );
  t.match(unreachable, /cannot open the model store \(dir .*, metadata postgres:\/\/\*\*\*@127\.0\.0\.1:1\/db\): .*ECONNREFUSED/, 'unreachable store: a clear error');
  const missingAlias = await sidecar({ models: [{ kind: 'store', ref: `${NAME}@staging` }], store: { pollMs: 1000, dir: storeDir } }).then(
    () => 'started',
    (err: Error) => err.message,
  );
  t.match(missingAlias, /store:\/\/housing@staging not found in the model store .*No alias "staging"/, 'unknown alias: a clear error');
});

t.test('an ExplainStream keeps the version it started with; the replaced version leaves the TreeSHAP pool after it', async (t) => {
  const dir = scratchDir(t, 'sidecar-store-pin-');
  const storeDir = join(dir, 'store');
  const admin = await openModelStore({ dir: storeDir });
  t.teardown(() => admin.close());
  await admin.saveModel(makeStorePackage(dir, 'p1', 100), { canonicalName: NAME, aliases: ['production'] });
  await admin.saveModel(makeStorePackage(dir, 'p2', 50), { canonicalName: NAME });
  const s = await sidecar({ models: [{ kind: 'store', ref: `${NAME}@production` }], store: { pollMs: 100, dir: storeDir }, treeWorkers: 2, treePoolMinRows: 8 });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const pool = s.treePool!;
  t.equal(pool.heldModels, 1, 'the warm-up handed version 1 to the TreeSHAP pool');

  // A long stream (chunks of 16 rows run on the pool) that the client stops reading after its first message.
  const total = 6000;
  const rows = Array.from({ length: total }, (_, i) => ROWS[i % ROWS.length]!);
  const call = c.explainStream({ request: explain.ExplainRequest.fromPartial({ model: { name: NAME, version: '' }, tabular: tabular(rows) }), chunkSize: 16 });
  const results: explain.ExplainResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  call.on('data', (m: explain.ExplainStreamResponse) => {
    if (m.result) results.push(m.result);
  });
  await waitFor('the first streamed result', () => results.length > 0);
  call.pause();

  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  await admin.setAlias(NAME, 'production', 2);
  await waitFor('new calls to get version 2', async () => (await explainCall(c, { model: { name: NAME, version: '' }, tabular: tabular([ROWS[0]!]) })).modelVersion === '2');
  lag.disable();
  t.comment(`event-loop delay while version 2 loaded and swapped in (same process): max ${(lag.max / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms`);
  t.ok(results.length * 16 < total, `the stream is still running on version 1 (${results.length * 16} of ${total} rows sent)`);
  t.equal(s.models.entry(NAME)?.description.version, '2', 'the registry serves version 2');
  t.equal(pool.heldModels, 2, 'version 1 stays in the pool while the stream holds it');

  call.resume();
  await done;
  t.equal(results.length, Math.ceil(total / 16), 'every chunk arrived');
  t.same([...new Set(results.map((r) => r.modelVersion))], ['1'], 'every message of the stream came from version 1, the version at its start');
  await waitFor('version 1 to leave the pool', () => pool.heldModels === 1, 10_000);
  t.equal((await describeModel(c, NAME)).model!.store?.version, 2);
});
