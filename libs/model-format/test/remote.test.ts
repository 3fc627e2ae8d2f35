import t from 'tap';
import fc from 'fast-check';
import { createServer } from 'node:net';
import { ModelFormatError, remotePredictor, remoteTextPredictor } from '../src/index.js';
import { linear, NF, startGrpcServer, startRestServer } from './helpers/oip-servers.js';

function rows(n: number, seed: number): Float64Array {
  const a = new Float64Array(n * NF);
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (s * 69069 + 1) % 4294967296;
    a[i] = Math.round(((s / 4294967296) * 20 - 10) * 4) / 4; // exact in float32
  }
  return a;
}

const servers = {
  grpc: await startGrpcServer(),
  rest: await startRestServer(),
};
t.teardown(async () => {
  await servers.grpc.close();
  await servers.rest.close();
});

for (const protocol of ['grpc', 'rest'] as const) {
  const srv = servers[protocol];
  t.test(`${protocol}: a linear model over the wire equals X w + b, batched by maxBatch`, async (t) => {
    srv.stats.batchSizes.length = 0;
    const p = await remotePredictor({ protocol, url: srv.url, model: 'linear', maxBatch: 4, outputSpace: 'regression' });
    t.equal(p.nFeatures, NF, 'feature count from model metadata');
    t.same(p.outputNames, ['y_0', 'y_1']);
    t.equal(p.outputSpace, 'regression');
    const x = rows(10, 3);
    const m = await p.predict(x, 10);
    t.equal(m.rows, 10);
    t.equal(m.cols, 2);
    t.same(Array.from(m.data), linear(x, 10));
    t.same(srv.stats.batchSizes.slice(1), [4, 4, 2], 'one probe row, then chunks of 4');
    const empty = await p.predict(new Float64Array(0), 0);
    t.equal(empty.rows, 0);
    await t.rejects(p.predict(new Float64Array(3), 1), { code: 'INVALID_INPUT' });
    await p.close!();
    await p.close!();
  });

  t.test(`${protocol}: property: any rows give X w + b`, async (t) => {
    const p = await remotePredictor({ protocol, url: srv.url, model: 'linear', datatype: 'FP64', nFeatures: NF, inputName: 'x', maxBatch: 7 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 0, maxLength: NF * 20 }),
        async (vals) => {
          const n = Math.floor(vals.length / NF);
          const x = Float64Array.from(vals.slice(0, n * NF));
          const m = await p.predict(x, n);
          const want = linear(x, n);
          return m.rows === n && want.every((v, i) => Math.abs(v - m.data[i]!) <= 1e-9 * Math.max(1, Math.abs(v)));
        },
      ),
      { numRuns: 25 },
    );
    t.equal(srv.stats.lastDatatype, 'FP64');
    await p.close!();
  });

  t.test(`${protocol}: outputs named and read by name; FP32 answers (raw bytes on gRPC, nested JSON on REST)`, async (t) => {
    const p = await remotePredictor({
      protocol, url: srv.url, model: 'linear-raw', outputName: 'y', outputNames: ['a', 'b'], raw: true,
    });
    t.same(p.outputNames, ['a', 'b']);
    const x = rows(5, 9);
    const m = await p.predict(x, 5);
    const want = linear(x, 5);
    for (let i = 0; i < want.length; i++) t.ok(Math.abs(m.data[i]! - Math.fround(want[i]!)) < 1e-12, `value ${i}`);
    if (protocol === 'grpc') t.equal(srv.stats.lastRaw, true, 'request sent as raw_input_contents');
    await p.close!();
  });

  t.test(`${protocol}: timeouts are TIMEOUT errors naming server and model`, async (t) => {
    srv.stats.slowMs = 400;
    const p = remotePredictor({ protocol, url: srv.url, model: 'slow', nFeatures: NF, inputName: 'x', datatype: 'FP32', timeoutMs: 100 });
    const err = await p.then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof ModelFormatError);
    t.equal((err as ModelFormatError).code, 'TIMEOUT');
    t.match((err as Error).message, /slow/);
    t.match((err as Error).message, protocol === 'grpc' ? /127\.0\.0\.1:\d+.*DEADLINE_EXCEEDED/ : /127\.0\.0\.1:\d+.*timed out after 100 ms/);
  });

  t.test(`${protocol}: UNAVAILABLE is retried, other errors are not`, async (t) => {
    srv.stats.calls.flaky = 0;
    srv.stats.flakyFailures = 2;
    const p = await remotePredictor({ protocol, url: srv.url, model: 'flaky', nFeatures: NF, inputName: 'x', datatype: 'FP32', retries: 2, retryDelayMs: 5 });
    t.equal(srv.stats.calls.flaky, 3, 'two failures, then success');
    await p.close!();

    srv.stats.calls.flaky = 0;
    srv.stats.flakyFailures = 5;
    const e1 = await remotePredictor({ protocol, url: srv.url, model: 'flaky', nFeatures: NF, inputName: 'x', datatype: 'FP32', retries: 1, retryDelayMs: 5 }).catch((e: unknown) => e);
    t.equal((e1 as ModelFormatError).code, 'RUNTIME');
    t.match((e1 as Error).message, /gave up after 2 attempts/);
    t.match((e1 as Error).message, protocol === 'grpc' ? /UNAVAILABLE/ : /HTTP 503/);
    t.equal(srv.stats.calls.flaky, 2);

    srv.stats.calls.bad = 0;
    const e2 = await remotePredictor({ protocol, url: srv.url, model: 'bad', nFeatures: NF, inputName: 'x', datatype: 'FP32', retries: 3, retryDelayMs: 5 }).catch((e: unknown) => e);
    t.equal((e2 as ModelFormatError).code, 'INVALID_INPUT');
    t.match((e2 as Error).message, /"bad".*wrong shape/);
    t.equal(srv.stats.calls.bad, 1, 'not retried');
  });

  t.test(`${protocol}: text predictor sends BYTES strings, batched`, async (t) => {
    srv.stats.batchSizes.length = 0;
    const p = await remoteTextPredictor({ protocol, url: srv.url, model: 'text', inputName: 'args', maxBatch: 2, outputNames: ['length', 'spaces'] });
    t.equal(p.kind, 'text');
    const texts = ['hello world', 'é ü', '', 'a b c d'];
    const m = await p.predict(texts);
    t.same(Array.from(m.data), texts.flatMap((s) => [s.length, s.split(' ').length - 1]));
    t.same(srv.stats.batchSizes, [1, 2, 2]);
    await t.rejects(p.predict([1 as unknown as string]), { code: 'INVALID_INPUT' });
    await p.close!();
  });
}

t.test('grpc: unknown model -> RUNTIME naming NOT_FOUND; integers checked for INT datatypes', async (t) => {
  const e = await remotePredictor({ protocol: 'grpc', url: servers.grpc.url, model: 'missing', nFeatures: NF, inputName: 'x', datatype: 'FP32' }).catch((x: unknown) => x);
  t.equal((e as ModelFormatError).code, 'RUNTIME');
  t.match((e as Error).message, /NOT_FOUND.*model missing not found/);
  const p = await remotePredictor({ protocol: 'grpc', url: servers.grpc.url, model: 'linear', datatype: 'INT32', raw: true });
  const m = await p.predict(Float64Array.from([1, 2, 3, 4]), 1);
  t.same(Array.from(m.data), linear([1, 2, 3, 4], 1));
  await t.rejects(p.predict(Float64Array.from([1.5, 2, 3, 4]), 1), { code: 'INVALID_INPUT' });
  await p.close!();
});

t.test('rest: metadata 404 falls back to options; versions in the path', async (t) => {
  await t.rejects(remotePredictor({ protocol: 'rest', url: servers.rest.url, model: 'nometa' }), /pass nFeatures/);
  const p = await remotePredictor({ protocol: 'rest', url: servers.rest.url, model: 'linear', version: '1', nFeatures: NF });
  t.same(Array.from((await p.predict(Float64Array.from([1, 0, 0, 0]), 1)).data), linear([1, 0, 0, 0], 1));
  await p.close!();
});

t.test('nothing listening: refused connections are UNAVAILABLE, retried, then a clear error', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  for (const [protocol, url] of [['grpc', `127.0.0.1:${port}`], ['rest', `http://127.0.0.1:${port}`]] as const) {
    const e = await remotePredictor({ protocol, url, model: 'm', nFeatures: 2, inputName: 'x', datatype: 'FP32', retries: 1, retryDelayMs: 5, timeoutMs: 2000 }).catch((x: unknown) => x);
    t.ok(e instanceof ModelFormatError, protocol);
    t.match((e as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}.*"m"`), `${protocol} message names host and model`);
  }
});

t.test('bad options are INVALID_INPUT', async (t) => {
  await t.rejects(remotePredictor({ protocol: 'rest', url: 'not a url', model: 'm' }), { code: 'INVALID_INPUT' });
  await t.rejects(remotePredictor({ protocol: 'grpc', url: 'http://x:1', model: 'm' }), { code: 'INVALID_INPUT' });
  await t.rejects(remotePredictor({ protocol: 'grpc', url: 'x:1', model: '' }), { code: 'INVALID_INPUT' });
  await t.rejects(remotePredictor({ protocol: 'grpc', url: 'x:1', model: 'm', timeoutMs: -1 }), { code: 'INVALID_INPUT' });
  await t.rejects(remotePredictor({ protocol: 'ftp' as 'rest', url: 'x:1', model: 'm' }), { code: 'INVALID_INPUT' });
});
