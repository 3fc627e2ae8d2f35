/**
 * Per-call cancellation (`predict(..., { signal })`) for every predictor, over real sockets for the remote ones:
 * a hung model server, a pre-aborted signal, a server that is down while the predictor sleeps before a retry.
 * An abort always rejects with `signal.reason` itself, whatever the predictor's own `timeoutMs`.
 */
import t from 'tap';
import type tap from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ModelFormatError,
  loadOnnxTreeEnsemble,
  onnxPredictor,
  predict,
  remotePredictor,
  remoteTextPredictor,
  tfjsPredictor,
  treePredictor,
  type Predictor,
} from '../src/index.js';
import { fixture } from '../../../tools/fixtures.js';
import { linear, NF, startGrpcServer, startRestServer } from './helpers/oip-servers.js';

/** Well above every abort delay used here: a call that waited for it would show. */
const TIMEOUT_MS = 30_000;
/** How long after the abort a rejection may arrive on a loaded machine (expected: a few ms). */
const PROMPT_MS = 900;

const rows = (n: number, width = NF) => Float64Array.from({ length: n * width }, (_, i) => ((i * 7) % 13) - 6);

/** Aborts a fresh controller with `reason` after `ms`. */
function abortAfter(ms: number, reason: unknown): AbortSignal {
  const ac = new AbortController();
  setTimeout(() => ac.abort(reason), ms);
  return ac.signal;
}

/** Awaits `p` and returns what it rejected with, plus the elapsed milliseconds (fails the test if it resolved). */
async function rejection(t: Pick<typeof tap, 'fail'>, p: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const t0 = performance.now();
  const err = await p.then(
    () => {
      t.fail('expected a rejection');
      return undefined;
    },
    (e: unknown) => e,
  );
  return { err, ms: performance.now() - t0 };
}

/** Polls `cond` until true (or `ms` pass): for events the server sees after the client has moved on. */
async function eventually(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

type Server = Awaited<ReturnType<typeof startGrpcServer>>;
const start = { grpc: startGrpcServer, rest: startRestServer };
const servers: Record<'grpc' | 'rest', Server> = { grpc: await startGrpcServer(), rest: await startRestServer() };
t.teardown(async () => {
  await servers.grpc.close();
  await servers.rest.close();
});

for (const protocol of ['grpc', 'rest'] as const) {
  const srv = servers[protocol];
  const open = (extra: Partial<Parameters<typeof remotePredictor>[0]> = {}): Promise<Predictor> =>
    remotePredictor({
      protocol, url: srv.url, model: 'hang', nFeatures: NF, inputName: 'x', datatype: 'FP64', timeoutMs: TIMEOUT_MS, ...extra,
    });

  t.test(`${protocol}: a hung model server: the abort cancels the request at once and rejects with the reason`, async (t) => {
    const p = await open({ maxBatch: 2, retries: 3 });
    srv.stats.hang = true;
    t.teardown(() => {
      srv.stats.hang = false;
    });
    const before = srv.stats.calls.hang ?? 0;
    const cancelledBefore = srv.stats.cancelled;
    const reason = new Error('caller deadline passed');
    const { err, ms } = await rejection(t, p.predict(rows(6), 6, { signal: abortAfter(100, reason) }));
    t.equal(err, reason, 'the signal reason itself, not a wrapped error');
    t.ok(ms >= 90 && ms < 100 + PROMPT_MS, `rejected ${ms.toFixed(0)} ms after the call (abort at 100 ms, timeoutMs ${TIMEOUT_MS})`);
    t.equal(srv.stats.calls.hang! - before, 1, 'one request: no further batch and no retry started');
    t.ok(await eventually(() => srv.stats.cancelled > cancelledBefore), `the server saw the ${protocol === 'grpc' ? 'call cancelled' : 'connection closed'}`);

    // AbortSignal.timeout, as a server passes its caller's deadline: the reason is its TimeoutError DOMException.
    const signal = AbortSignal.timeout(100);
    const r2 = await rejection(t, p.predict(rows(1), 1, { signal }));
    t.equal(r2.err, signal.reason, 'AbortSignal.timeout: rejects with signal.reason');
    t.equal((r2.err as Error).name, 'TimeoutError');
    t.ok(r2.ms < 100 + PROMPT_MS, `rejected after ${r2.ms.toFixed(0)} ms`);
    await p.close!();
  });

  t.test(`${protocol}: a pre-aborted signal rejects with its reason and sends no request`, async (t) => {
    const p = await open();
    const text = await remoteTextPredictor({ protocol, url: srv.url, model: 'text', inputName: 'args', timeoutMs: TIMEOUT_MS });
    const reason = { code: 'CANCELLED', message: 'client went away' }; // any value, returned as is
    const ac = new AbortController();
    ac.abort(reason);
    const calls = { ...srv.stats.calls };
    t.equal((await rejection(t, p.predict(rows(3), 3, { signal: ac.signal }))).err, reason, 'tabular');
    t.equal((await rejection(t, p.predict(new Float64Array(0), 0, { signal: ac.signal }))).err, reason, 'even for zero rows');
    t.equal((await rejection(t, text.predict(['a b'], { signal: ac.signal }))).err, reason, 'text');
    t.same(srv.stats.calls, calls, 'no request reached the server');
    await p.close!();
    await text.close!();
  });

  t.test(`${protocol}: a signal that never aborts changes nothing; the per-request deadline still ends as TIMEOUT`, async (t) => {
    const p = await open({ maxBatch: 3 });
    const live = new AbortController().signal;
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    t.teardown(() => {
      process.off('warning', onWarning);
    });
    const x = rows(8);
    for (let i = 0; i < 15; i++) {
      t.same(Array.from((await p.predict(x, 8, { signal: live })).data), linear(x, 8), `call ${i} with a live signal`);
    }
    t.same(Array.from((await p.predict(x, 8)).data), linear(x, 8), 'no options');
    await new Promise((r) => setImmediate(r));
    t.same(warnings.map((w) => w.name), [], 'no listener leak warnings from one signal reused across calls');
    await p.close!();

    const q = await open({ timeoutMs: 150 });
    srv.stats.hang = true;
    t.teardown(() => {
      srv.stats.hang = false;
    });
    const { err } = await rejection(t, q.predict(rows(1), 1, { signal: live }));
    t.ok(err instanceof ModelFormatError);
    t.equal((err as ModelFormatError).code, 'TIMEOUT', 'timeoutMs, not the signal, ended it');
    t.match((err as Error).message, /127\.0\.0\.1:\d+.*"hang"/, 'names the server and the model');
    await q.close!();
  });

  t.test(`${protocol}: a server that is down: RUNTIME after the retries; an abort during the backoff rejects at once`, async (t) => {
    const own = await start[protocol]();
    const p = await remotePredictor({
      protocol, url: own.url, model: 'linear', nFeatures: NF, inputName: 'x', datatype: 'FP64', timeoutMs: TIMEOUT_MS, retries: 3, retryDelayMs: 5000,
    });
    const q = await remotePredictor({
      protocol, url: own.url, model: 'linear', nFeatures: NF, inputName: 'x', datatype: 'FP64', timeoutMs: TIMEOUT_MS, retries: 1, retryDelayMs: 5,
    });
    await own.close(); // now nothing listens: connections are refused

    const reason = new Error('deadline');
    const { err, ms } = await rejection(t, p.predict(rows(2), 2, { signal: abortAfter(150, reason) }));
    t.equal(err, reason, 'the signal reason itself');
    t.ok(ms < 150 + PROMPT_MS, `rejected ${ms.toFixed(0)} ms after the call, inside a 5000 ms backoff`);

    const down = await rejection(t, q.predict(rows(2), 2));
    t.ok(down.err instanceof ModelFormatError);
    t.equal((down.err as ModelFormatError).code, 'RUNTIME', 'server down after retries -> RUNTIME');
    t.match((down.err as Error).message, /gave up after 2 attempts/);
    t.match((down.err as Error).message, new RegExp(`${own.url.replace(/^http:\/\//, '').replace(/\./g, '\\.')}.*"linear"`), 'names the server and the model');
    t.match((down.err as Error).message, protocol === 'grpc' ? /UNAVAILABLE/ : /ECONNREFUSED/);
    await p.close!();
    await q.close!();
  });
}

const housing = () => loadOnnxTreeEnsemble(readFileSync(fixture('oracles/trees/california-housing-rf-seed/model.onnx')));

t.test('tree predictor: a pre-aborted signal rejects with the reason; results without options are unchanged', async (t) => {
  const model = housing();
  const p = treePredictor(model);
  const F = p.nFeatures;
  const ac = new AbortController();
  const reason = new Error('cancelled');
  ac.abort(reason);
  t.equal((await rejection(t, p.predict(rows(3, F), 3, { signal: ac.signal }))).err, reason);
  t.equal((await rejection(t, p.predict(new Float64Array(1), 1, { signal: ac.signal }))).err, reason, 'before input checks');

  const n = 2500; // more than one block of 1024 rows
  const x = rows(n, F);
  const want = Array.from(predict(model, x, n));
  t.same(Array.from((await p.predict(x, n)).data), want, 'no options: the IR prediction');
  t.same(Array.from((await p.predict(x, n, {})).data), want, 'empty options');
  t.same(Array.from((await p.predict(x, n, { signal: new AbortController().signal })).data), want, 'a live signal: blocks give the same values');
});

t.test('tree predictor: an abort between blocks of a large batch rejects with the reason', async (t) => {
  const p = treePredictor(housing());
  const n = 5000;
  const ac = new AbortController();
  const reason = new Error('deadline');
  const pending = p.predict(rows(n, p.nFeatures), n, { signal: ac.signal });
  setImmediate(() => ac.abort(reason)); // runs after the first block, before the last
  t.equal((await rejection(t, pending)).err, reason);
});

t.test('onnx and TF.js predictors: a pre-aborted signal rejects with the reason before running', async (t) => {
  const ac = new AbortController();
  const reason = new Error('cancelled');
  ac.abort(reason);
  const onnx = await onnxPredictor(fixture('oracles/trees/california-housing-rf-seed/model.onnx'));
  const x = rows(4, onnx.nFeatures);
  t.equal((await rejection(t, onnx.predict(x, 4, { signal: ac.signal }))).err, reason, 'onnx');
  t.equal((await onnx.predict(x, 4, { signal: new AbortController().signal })).rows, 4, 'onnx with a live signal runs');
  await onnx.close!();
  const tf = await tfjsPredictor(join(fixture('models/tfjs'), 'abalone-mlp-layersmodel'));
  const y = rows(4, tf.nFeatures);
  t.equal((await rejection(t, tf.predict(y, 4, { signal: ac.signal }))).err, reason, 'TF.js');
  t.equal((await tf.predict(y, 4, { signal: new AbortController().signal })).rows, 4, 'TF.js with a live signal runs');
  await tf.close!();
});
