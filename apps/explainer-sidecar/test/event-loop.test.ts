// The heaviest call each method allows keeps the sidecar responsive. The real CLI runs as a child process (its own
// event loop, measured by its own Prometheus event-loop-lag histogram, which resets on every scrape) next to a fake
// text model server in this process. For every method the test asks the server where its limits are: it
// bisects one knob (a sample count, the rows, the images) with short-deadline probes, since a call over the limits
// is refused at once (INVALID_ARGUMENT) and one within them starts (and is stopped by its deadline). Then it runs
// the heaviest allowed call while probing gRPC and REST health every 25 ms: the loop lag stays under 100 ms and
// health answers throughout. Also: a heavy call's deadline stops its work (the slot frees), and SIGTERM is honoured
// promptly during heavy work. Visualize: the largest chart drawn as the largest PNG keeps the loop under the limit too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { status, type ServiceError } from '@grpc/grpc-js';
import { explain } from '@genome/proto';
import { fixture, readFixtureJson } from '../../../tools/fixtures.js';
import { buildModel } from '../../../tools/onnx-build.js';
import { client, explainCall, grpcError, visualize as visualizeCall, type Client, type ExplainRequestInit } from './helpers/client.js';
import { startFakeTextOip } from './helpers/oip-text-server.js';
import { startSidecarProcess, type SidecarProcess } from './helpers/sidecar-process.js';
import { healthCheck } from '../../../tools/test-std-clients.js';

/** The test's budget of model rows per call (the default is 10x: the same calls would only run longer). */
const MAX_MODEL_ROWS = 1_000_000;
const LAG_LIMIT_MS = 100;
const WIDE = 120;

type Req = ExplainRequestInit;
const tabular = (rows: number[][]) => ({ tabular: { rows: rows.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] } });
const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

/** A local ONNX classifier over 120 features (MatMul, Add, Softmax): wide, so per-row fits are at their largest. */
function wideOnnx(r: () => number): Uint8Array {
  const w = Float32Array.from({ length: WIDE * 2 }, () => r() * 0.2 - 0.1);
  return buildModel(
    [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['z0'] },
      { op: 'Add', inputs: ['z0', 'b'], outputs: ['z'] },
      { op: 'Softmax', inputs: ['z'], outputs: ['p'], attrs: [{ name: 'axis', i: 1 }] },
    ],
    ['x', ['N', WIDE]],
    ['p', ['N', 2]],
    [
      { name: 'W', dims: [WIDE, 2], data: w },
      { name: 'b', dims: [2], data: Float32Array.from([0.1, -0.1]) },
    ],
  );
}

async function lagMaxMs(s: SidecarProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  const m = /^genome_sidecar_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  if (!m) throw new Error('no event-loop lag metric');
  return Number(m[1]) * 1000;
}

/** Runs `call` while probing health over gRPC and REST; returns the call's outcome, the loop lag and probe latencies. */
async function underProbe<T>(s: SidecarProcess, call: () => Promise<T>) {
  await lagMaxMs(s); // resets the histogram
  let running = true;
  const probes: number[] = [];
  const probe = (async () => {
    while (running) {
      const t0 = performance.now();
      const [g, r] = await Promise.all([healthCheck(s.grpcPort, ''), fetch(`http://127.0.0.1:${s.httpPort}/v2/health/live`).then((x) => x.status)]);
      if (g !== 'SERVING' || r !== 200) throw new Error(`health answered ${g} / ${r}`);
      probes.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 25));
    }
  })();
  const t0 = performance.now();
  let outcome: { value?: T; error?: unknown };
  try {
    outcome = { value: await call() };
  } catch (error) {
    outcome = { error };
  }
  const ms = performance.now() - t0;
  running = false;
  await probe;
  return { ...outcome, ms, lag: await lagMaxMs(s), worstProbe: Math.max(...probes), probes: probes.length };
}

/** Whether the server refuses `req` up front for its limits (vs. starting it; the short deadline then stops it). */
async function refused(c: Client, req: Req): Promise<ServiceError | null> {
  try {
    await explainCall(c, req, { deadlineMs: 600 });
    return null;
  } catch (err) {
    const e = err as ServiceError;
    if (e.code === status.DEADLINE_EXCEEDED) return null;
    if (e.code === status.INVALID_ARGUMENT && /limit|must be an integer in|may hold/.test(e.details)) return e;
    if (e.code === status.RESOURCE_EXHAUSTED) return e; // the request itself is over the message limit
    throw err;
  }
}

/** The largest value of a knob in [lo, hi] the server accepts (lo must be accepted). */
async function edge(c: Client, req: (v: number) => Req, lo: number, hi: number): Promise<{ value: number; over: ServiceError | null }> {
  if ((await refused(c, req(lo))) !== null) throw new Error(`the lightest call (${lo}) is refused`);
  let over = await refused(c, req(hi));
  if (over === null) return { value: hi, over: null };
  while (hi - lo > Math.max(1, Math.floor(lo / 100))) {
    const mid = Math.floor((lo + hi) / 2);
    const e = await refused(c, req(mid));
    if (e === null) lo = mid;
    else [hi, over] = [mid, e];
  }
  return { value: lo, over };
}

t.test('the heaviest allowed call of every method keeps the event loop under 100 ms', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-lag-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = rng(7);
  const wideNames = Array.from({ length: WIDE }, (_, i) => `w${i}`);
  writeFileSync(join(dir, 'wide.onnx'), wideOnnx(r));
  writeFileSync(join(dir, 'wide.csv'), `${wideNames.join(',')}\n${Array.from({ length: 8 }, () => wideNames.map(() => (r() * 4).toFixed(3)).join(',')).join('\n')}\n`);
  const spam = await startFakeTextOip({ name: 'spam', bias: -3, weights: { win: 4, free: 3, prize: 2, meeting: -3, tomorrow: -1 } });
  t.teardown(() => spam.close());
  writeFileSync(join(dir, 'logreg.csv'), `x0,x1\n${Array.from({ length: 20 }, () => [0, 1].map(() => (r() * 6).toFixed(2)).join(',')).join('\n')}\n`);
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      maxModelRows: MAX_MODEL_ROWS,
      models: [
        { kind: 'package', name: 'rf', path: join(import.meta.dirname, '../../../examples/packages/california-housing-rf') },
        { kind: 'file', name: 'wide', path: join(dir, 'wide.onnx'), featureNames: wideNames, backgroundPath: join(dir, 'wide.csv') },
        { kind: 'remote', name: 'spam', host: `127.0.0.1:${spam.grpcPort}`, protocol: 'grpc-v2', input: 'text' },
        { kind: 'file', name: 'logreg', path: fixture('models', 'onnx-trees', 'linear_classifier_logreg_iris.onnx'), featureNames: ['x0', 'x1'], backgroundPath: join(dir, 'logreg.csv') },
        { kind: 'file', name: 'squares', path: fixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx') },
      ],
    }),
  );
  const s = await startSidecarProcess(['--config', config, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--log-level', 'info'], {}, join(dir, 'sidecar.log'));
  t.teardown(() => s.kill());
  const c: Client = client(s.grpcPort, undefined, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  t.teardown(() => c.close());

  const rfRow = [8.3252, 41, 6.9841, 1.0238, 322, 2.5556, 37.88, -122.23];
  const rows = (n: number, row: number[]) => Array.from({ length: n }, (_, i) => row.map((v, f) => (f === 0 ? v + i * 1e-3 : v)));
  const wideRow = wideNames.map(() => r() * 4);
  const text = Array.from({ length: 100 }, (_, i) => ['win', 'free', 'prize', 'meeting', 'tomorrow', 'lunch', 'team', 'offer'][i % 8] + (i % 13)).join(' ');
  const cam = readFixtureJson<{ input_shape: number[]; input: number[][][] }>('oracles', 'cams', 'small-cnn-squares', 'reference.json');
  const pixels = cam.input.flat(2);
  const images = (n: number) => ({ image: { tensor: { shape: [n, ...cam.input_shape.slice(1)], values: Array.from({ length: n }, () => pixels).flat() }, layout: 'NCHW' } });
  const on = (name: string) => ({ model: { name, version: '' } });

  // One knob per case, bisected between an accepted `lo` and `hi`; the bound that binds is in the refusal message.
  const cases: { name: string; knob: string; lo: number; hi: number; req: (v: number) => Req }[] = [
    { name: 'tree_shap interaction values', knob: 'rows', lo: 1, hi: 30_000, req: (v) => ({ ...on('rf'), methodName: 'tree_shap', parameters: { feature_perturbation: 'tree_path_dependent', interactions: true }, ...tabular(rows(v, rfRow)) }) },
    { name: 'kernel_shap on 120 features', knob: 'nsamples', lo: 200, hi: 100_000, req: (v) => ({ ...on('wide'), methodName: 'kernel_shap', parameters: { nsamples: v }, ...tabular([wideRow]) }) },
    { name: 'kernel_shap with l1 selection on 120 features', knob: 'nsamples', lo: 200, hi: 100_000, req: (v) => ({ ...on('wide'), methodName: 'kernel_shap', parameters: { nsamples: v, l1_reg: 'aic' }, ...tabular([wideRow]) }) },
    { name: 'kernel_shap on the forest', knob: 'rows', lo: 1, hi: 5000, req: (v) => ({ ...on('rf'), methodName: 'kernel_shap', ...tabular(rows(v, rfRow)) }) },
    { name: 'permutation_shap on 120 features', knob: 'max_evals', lo: 300, hi: 100_000, req: (v) => ({ ...on('wide'), methodName: 'permutation_shap', parameters: { max_evals: v }, ...tabular([wideRow]) }) },
    { name: 'exact_shap on the forest', knob: 'rows', lo: 1, hi: 5000, req: (v) => ({ ...on('rf'), methodName: 'exact_shap', ...tabular(rows(v, rfRow)) }) },
    { name: 'lime on 120 features', knob: 'num_samples', lo: 2, hi: 100_000, req: (v) => ({ ...on('wide'), methodName: 'lime', parameters: { num_samples: v }, ...tabular([wideRow]) }) },
    { name: 'lime on the forest', knob: 'rows', lo: 1, hi: 5000, req: (v) => ({ ...on('rf'), methodName: 'lime', ...tabular(rows(v, rfRow)) }) },
    { name: 'lime on a 100-word text', knob: 'num_samples', lo: 2, hi: 100_000, req: (v) => ({ ...on('spam'), methodName: 'lime', parameters: { num_samples: v }, text: { texts: [text] } }) },
    // Anchors on 120 features search 120 x beam candidate rules per added predicate: rules of up to 2 keep it to seconds.
    { name: 'anchors on 120 features, beam 4', knob: 'batch_size', lo: 10, hi: 100_000, req: (v) => ({ ...on('wide'), methodName: 'anchors', parameters: { batch_size: v, beam_size: 4, coverage_samples: 100_000, threshold: 0.99, max_anchor_size: 2 }, ...tabular([wideRow]) }) },
    { name: 'anchors on a 100-word text, beam 4', knob: 'batch_size', lo: 10, hi: 100_000, req: (v) => ({ ...on('spam'), methodName: 'anchors', parameters: { batch_size: v, beam_size: 4, coverage_samples: 100_000, threshold: 0.99, max_anchor_size: 2 }, text: { texts: [text] } }) },
    { name: 'linear_shap correlation_dependent', knob: 'nsamples', lo: 1, hi: 100_000, req: (v) => ({ ...on('logreg'), methodName: 'linear_shap', parameters: { feature_perturbation: 'correlation_dependent', nsamples: v, seed: v }, ...tabular(rows(64, [5.1, 3.5])) }) },
    { name: 'gradcam scorecam', knob: 'images', lo: 1, hi: 250, req: (v) => ({ ...on('squares'), methodName: 'gradcam', parameters: { cam_method: 'scorecam' }, ...images(v) }) },
  ];

  for (const k of cases) {
    await t.test(k.name, async (t) => {
      const { value, over } = await edge(c, k.req, k.lo, k.hi);
      t.comment(`heaviest allowed ${k.knob} = ${value}; one step further: ${over ? over.details.slice(0, 200) : `(the knob's range ends at ${k.hi})`}`);
      const run = await underProbe(s, () => explainCall(c, k.req(value), { deadlineMs: 120_000 }));
      if (run.error) throw run.error;
      t.ok(run.value!.values.length > 0, `${k.knob} ${value}: ran in ${(run.ms / 1000).toFixed(1)} s (${run.value!.shape.join('x')})`);
      t.ok(run.lag < LAG_LIMIT_MS, `event-loop lag max ${run.lag.toFixed(1)} ms < ${LAG_LIMIT_MS} ms`);
      t.ok(run.probes > 0 && run.worstProbe < LAG_LIMIT_MS + 50, `health answered throughout (${run.probes} probes, slowest ${run.worstProbe.toFixed(1)} ms)`);
    });
  }

  // Pictures: the largest chart the server draws (50,000 marks, --max-chart-marks) of a 1000-row explanation of 60
  // features, rasterised as the largest PNG it allows (4 million pixels, --max-png-pixels). Over either bound it
  // refuses up front.
  const F = 60;
  const vr = rng(11);
  const big = JSON.stringify({
    schema: 'genome.explanation/v1',
    method: 'kernel_shap',
    values: Array.from({ length: 1000 }, () => Array.from({ length: F }, (_, f) => [Number(((vr() - 0.5) * (f + 1)).toFixed(4))])),
    baseValues: Array.from({ length: 1000 }, () => [0.5]),
    featureNames: Array.from({ length: F }, (_, f) => `feature_${f}`),
    outputNames: ['p'],
    outputSpace: 'probability',
    parameters: {},
    timings: { totalMs: 1 },
  });
  // beeswarm and decision: 1000 rows x (max_display + 1) features; stacked force: 4 x 1000 rows x max_display bands.
  for (const [kind, options, step] of [['beeswarm', { max_display: 49 }, 1], ['decision', { max_display: 49 }, 1], ['force_stacked', { max_display: 12 }, 1]] as const) {
    await t.test(`visualize: the largest ${kind} as the largest PNG`, async (t) => {
      const svg = await visualizeCall(c, { ...on('rf'), explanationJson: big, kind, options });
      const scale = Math.floor(Math.sqrt(3_900_000 / (svg.width * svg.height)) * 100) / 100;
      const over = await grpcError(visualizeCall(c, { ...on('rf'), explanationJson: big, kind, options: { ...options, max_display: options.max_display + step } }));
      t.match(over.details, /marks .* more than the 50000 allowed/, 'one step further is refused up front');
      const run = await underProbe(s, () => visualizeCall(c, { ...on('rf'), explanationJson: big, kind, format: 'png', options: { ...options, scale } }, { deadlineMs: 60_000 }));
      if (run.error) throw run.error;
      t.ok(run.value!.width * run.value!.height <= 4_000_000, `${run.value!.width}x${run.value!.height} PNG in ${run.ms.toFixed(0)} ms`);
      t.ok(run.lag < LAG_LIMIT_MS, `event-loop lag max ${run.lag.toFixed(1)} ms < ${LAG_LIMIT_MS} ms`);
      t.ok(run.probes > 0 && run.worstProbe < LAG_LIMIT_MS + 50, `health answered throughout (${run.probes} probes, slowest ${run.worstProbe.toFixed(1)} ms)`);
    });
  }

  const heavy = { ...on('rf'), methodName: 'permutation_shap', parameters: { max_evals: 10_000 }, ...tabular(rows(1, rfRow)) };
  await t.test('a deadline stops heavy work: DEADLINE_EXCEEDED on time, and the slot is freed', async (t) => {
    const run = await underProbe(s, () => explainCall(c, heavy, { deadlineMs: 400 }));
    t.equal((run.error as ServiceError | undefined)?.code, status.DEADLINE_EXCEEDED);
    t.ok(run.ms < 400 + 150, `answered at ${run.ms.toFixed(0)} ms`);
    const t0 = Date.now();
    let inFlight = 1;
    while (inFlight > 0 && Date.now() - t0 < 2000) {
      const m = /^genome_sidecar_in_flight (\S+)$/m.exec(await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text());
      inFlight = Number(m?.[1] ?? 1);
      if (inFlight > 0) await new Promise((res) => setTimeout(res, 20));
    }
    t.equal(inFlight, 0, `the work stopped and its slot was freed ${Date.now() - t0} ms after the deadline answer`);
  });

  await t.test('SIGTERM during heavy work: answers the call, drains and exits 0', async (t) => {
    const call = grpcError(explainCall(c, heavy, { deadlineMs: 60_000 })).catch(() => null);
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    t.equal(await s.exited, 0, 'exit code 0');
    t.ok(Date.now() - t0 < 35_000, `exited ${Date.now() - t0} ms after SIGTERM`);
    await call;
  });
});
