// The server shell every Genome server shares, in process: tolerant gRPC decoding and the guarded standard services
// (health on a real grpc-js server), defensive JSON bodies, the HTTP listener's answers to what the parser refuses,
// the guarded request handler, the graceful drain, option values and the settle helper.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { credentials, loadPackageDefinition, status, type Client, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import t from 'tap';
import {
  HttpError,
  MAX_HEALTH_SERVICE_CHARS,
  boolOption,
  checkContentType,
  drainServers,
  guardedHandler,
  intOption,
  isUndecodable,
  listenHttp,
  parseJsonBody,
  readBody,
  scanFlags,
  settle,
  splitTarget,
  startGrpcServer,
  tlsOf,
  tolerantDeserializers,
  undecodedMessage,
  type CliOption,
  type KitLogger,
} from '../src/index.js';

const errorOf = (fn: () => unknown): { code?: unknown; status?: unknown; message: string } | undefined => {
  try {
    fn();
  } catch (err) {
    return err as { code?: unknown; message: string };
  }
  return undefined;
};

const logged: { level: string; obj: object; msg: string }[] = [];
const logger: KitLogger = {
  error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
  warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
  info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
};

t.test('tolerant deserializers: undecodable bytes become a marker', async (t) => {
  const def = {
    m: {
      path: '/x.Y/M',
      requestStream: false,
      responseStream: false,
      requestDeserialize: (b: Buffer) => {
        if (b[0] === 0xff) throw new Error('index out of range: 4 + 1 > 4');
        return { ok: true };
      },
      requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
      responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
      responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
    },
  } as unknown as ServiceDefinition;
  const plain = tolerantDeserializers(def).m!;
  t.same(plain.requestDeserialize(Buffer.from([1])), { ok: true }, 'good bytes decode');
  const bad = plain.requestDeserialize(Buffer.from([0xff]));
  t.ok(isUndecodable(bad), 'bad bytes: a marker, not a throw');
  t.notOk(isUndecodable({ ok: true }));
  t.notOk(isUndecodable(null));
  t.equal(
    undecodedMessage(bad, 'proto/x.proto'),
    'the request is not a valid protobuf message for this method (index out of range: 4 + 1 > 4); generate stubs from proto/x.proto',
  );
  t.equal(undecodedMessage({ ok: true }, 'proto/x.proto'), undefined, 'no message for a decoded request');
  t.same(plain.responseSerialize({ a: 1 }), Buffer.from('{"a":1}'), 'responses are serialized');
  const encoded = Buffer.from([9, 9]);
  t.equal(tolerantDeserializers(def, { passEncoded: true }).m!.responseSerialize(encoded), encoded, 'passEncoded: a Buffer passes through');
  t.same(tolerantDeserializers(def, { passEncoded: true }).m!.responseSerialize({ a: 2 }), Buffer.from('{"a":2}'), 'passEncoded: other values are serialized');
});

t.test('gRPC server: guarded health, reflection, readiness, CONFIG errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-grpc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const g = await startGrpcServer([], logger, { host: '127.0.0.1', port: 0, maxMessageBytes: 1 << 20, protoDir: dir });
  t.teardown(() => g.server.forceShutdown());
  t.ok(g.port > 0, 'bound to a free port');
  const pkg = loadPackageDefinition(protoLoader.loadSync(healthProto, { keepCase: true, longs: Number, enums: String, defaults: true })) as never as {
    grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, (...a: unknown[]) => unknown> } } };
  };
  const health = new pkg.grpc.health.v1.Health(`127.0.0.1:${g.port}`, credentials.createInsecure());
  t.teardown(() => health.close());
  const check = (service: string) =>
    new Promise<{ err: ServiceError | null; res?: { status: string } }>((resolve) =>
      (health.Check as (r: unknown, cb: (e: ServiceError | null, r?: { status: string }) => void) => void)({ service }, (err, res) => resolve({ err, ...(res ? { res } : {}) })),
    );
  t.equal((await check('')).res?.status, 'NOT_SERVING', 'NOT_SERVING until setServing(true)');
  g.setServing(true);
  t.equal((await check('')).res?.status, 'SERVING');
  const long = await check('s'.repeat(MAX_HEALTH_SERVICE_CHARS + 1));
  t.equal(long.err?.code, status.INVALID_ARGUMENT, 'an over-long service name is refused');
  t.match(long.err?.details, /characters long; health is served for names up to 512/);
  // Bytes that are not a HealthCheckRequest: INVALID_ARGUMENT, not grpc-js's INTERNAL.
  const raw = await new Promise<ServiceError | null>((resolve) =>
    health.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x08]), (err) => resolve(err)),
  );
  t.equal(raw?.code, status.INVALID_ARGUMENT, 'undecodable bytes are INVALID_ARGUMENT');
  t.match(raw?.details, /not a valid protobuf message for \/grpc\.health\.v1\.Health\/Check/);

  const definition = protoLoader.loadSync(healthProto)['grpc.health.v1.Health'] as ServiceDefinition;
  const missing = { name: 'x.Y', definition, implementation: {}, protoFile: 'x/y.proto' };
  await t.rejects(startGrpcServer([missing], logger, { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, protoDir: dir }), {
    code: 'CONFIG',
    message: `cannot find x/y.proto under ${dir} (for reflection): set --proto-dir to the repository's proto/ directory`,
  });
  await t.rejects(
    startGrpcServer([missing], logger, { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, protoDir: dir, protoError: (file) => `custom ${file}` }),
    { code: 'CONFIG', message: `custom ${join(dir, 'x/y.proto')}` },
    'protoError words the message',
  );
  await t.rejects(startGrpcServer([], logger, { host: '127.0.0.1', port: g.port, maxMessageBytes: 1024, protoDir: dir }), { code: 'CONFIG', message: /^cannot listen for gRPC on 127\.0\.0\.1:\d+/ }, 'a port in use');
});

t.test('JSON bodies', async (t) => {
  const opts = { maxDepth: 3 };
  t.same(parseJsonBody(Buffer.from('\ufeff{"a":[1]}'), 'application/json; charset=utf-8', opts), { a: [1] }, 'a BOM is dropped');
  t.same(parseJsonBody(Buffer.from('[1]'), undefined, opts), [1], 'no content type: JSON');
  t.same(parseJsonBody(Buffer.from('{"s":"[[[[[["}'), 'text/plain', opts), { s: '[[[[[[' }, 'brackets in strings do not count');
  const deep = errorOf(() => parseJsonBody(Buffer.from('[[[[1]]]]'), 'application/json', opts));
  t.same([deep?.code, deep?.message], ['INVALID_ARGUMENT', 'request body nests lists/objects more than 3 levels deep (at byte 3)']);
  const worded = errorOf(() =>
    parseJsonBody(Buffer.from('[[[[1]]]]'), undefined, { maxDepth: 3, depthHint: '; send flat rows', invalid: (m) => Object.assign(new Error(m), { code: 'INVALID_REQUEST' }) }),
  );
  t.same([worded?.code, worded?.message], ['INVALID_REQUEST', 'request body nests lists/objects more than 3 levels deep (at byte 3); send flat rows'], 'the server words and types the error');
  t.equal(errorOf(() => parseJsonBody(Buffer.from(' '), undefined, opts))?.message, 'request body is empty: send a JSON object');
  t.equal(errorOf(() => parseJsonBody(Buffer.from(''), undefined, { ...opts, expected: 'rows' }))?.message, 'request body is empty: send rows');
  t.equal(errorOf(() => parseJsonBody(Buffer.from([0x22, 0xff, 0x22]), undefined, opts))?.message, 'request body is not valid UTF-8: send JSON encoded as UTF-8');
  t.match(errorOf(() => parseJsonBody(Buffer.from('{'), undefined, opts))?.message, /^request body is not valid JSON: /);
  const media = errorOf(() => checkContentType('multipart/form-data; boundary=x'));
  t.ok(media instanceof HttpError && media.status === 415, 'multipart is 415');
  t.equal(errorOf(() => checkContentType('application/json; charset=latin1'))?.status, 415, 'another charset is 415');
  t.equal(errorOf(() => checkContentType('application/vnd.genome+json')), undefined, '+json types pass');

  const body = (chunks: string[]) => Readable.from(chunks.map((c) => Buffer.from(c))) as unknown as IncomingMessage;
  t.same(await readBody(body(['ab', 'c']), 3, new AbortController().signal), Buffer.from('abc'));
  await t.rejects(readBody(body(['ab', 'cd']), 3, new AbortController().signal), { status: 413, message: 'request body is larger than 3 bytes; split the request or raise --max-message-bytes' });
  await t.rejects(readBody(body(['ab', 'cd']), 3, new AbortController().signal, 'ask the operator'), { status: 413, message: 'request body is larger than 3 bytes; ask the operator' });
  const ac = new AbortController();
  const slow = new PassThrough();
  slow.write('a');
  const reading = readBody(slow as unknown as IncomingMessage, 3, ac.signal);
  setTimeout(() => ac.abort(new Error('deadline')), 10);
  await t.rejects(reading, { message: 'deadline' }, 'a call aborted mid-body rejects with its reason');
  t.ok(slow.destroyed, 'and the request is destroyed');
});

t.test('request targets', async (t) => {
  t.same(splitTarget('/a/b?x=1#f'), { path: '/a/b', query: 'x=1' });
  t.same(splitTarget('/a#f?x'), { path: '/a', query: '' }, 'a fragment ends the path and hides what follows');
  t.same(splitTarget('http://h:1'), { path: '/', query: '' }, 'absolute form without a path');
  t.same(splitTarget('https://h/v2/x?y'), { path: '/v2/x', query: 'y' });
  t.equal(splitTarget('*'), null);
});

t.test('HTTP listener and guarded handler', async (t) => {
  const failed: unknown[] = [];
  const handler = guardedHandler(
    async (req, res) => {
      if (req.url === '/boom') throw new Error('boom');
      if (req.url === '/twice') throw new Error('twice');
      res.end('ok');
    },
    (_req, res, err) => {
      failed.push(err);
      if ((err as Error).message === 'twice') throw new Error('cannot answer');
      res.writeHead(500).end('failed');
    },
    logger,
  );
  const { server, port } = await listenHttp(handler, { host: '127.0.0.1', port: 0, oversizedMessage: 'too big: use the body' });
  t.teardown(() => server.close());
  t.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'ok');
  const boom = await fetch(`http://127.0.0.1:${port}/boom`);
  t.same([boom.status, await boom.text(), (failed[0] as Error).message], [500, 'failed', 'boom'], 'a throwing route goes to fail');
  await t.rejects(fetch(`http://127.0.0.1:${port}/twice`), 'a failing fail destroys the socket');
  t.ok(logged.some((l) => l.msg === 'could not answer a failed request'), 'and is logged');

  const rawAnswer = async (request: string): Promise<string> => {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.write(request);
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    await once(s, 'end');
    s.destroy();
    return out;
  };
  const big = await rawAnswer(`GET /${'x'.repeat(20_000)} HTTP/1.1\r\nhost: a\r\n\r\n`);
  t.match(big, /^HTTP\/1\.1 431 /, 'oversized request line: 431');
  t.match(big, /"error":"too big: use the body"/);
  t.match(await rawAnswer('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 [\s\S]*not valid HTTP\/1\.1/, 'garbage: 400');
  await t.rejects(listenHttp(handler, { host: '127.0.0.1', port, oversizedMessage: '' }), { code: 'CONFIG', message: new RegExp(`^cannot listen for HTTP on 127\\.0\\.0\\.1:${port}: `) });
});

t.test('drain: waits for calls, cancels after the grace period', async (t) => {
  const fakeGrpc = () => {
    const calls: string[] = [];
    const server = { tryShutdown: (cb: () => void) => (calls.push('tryShutdown'), cb()), forceShutdown: () => calls.push('forceShutdown') } as never;
    return { calls, server: { server, setServing: (serving: boolean) => calls.push(`serving ${serving}`) } };
  };
  const quick = fakeGrpc();
  await drainServers({ grpc: quick.server, graceMs: 5_000, idle: () => Promise.resolve(), cancel: () => t.fail('not cancelled'), stats: () => ({}), logger, beforeShutdown: () => quick.calls.push('before') });
  t.same(quick.calls, ['serving false', 'before', 'tryShutdown'], 'NOT_SERVING first; idle at once: no force');

  const slow = fakeGrpc();
  let cancelled = false;
  let release = () => {};
  const idle = new Promise<void>((r) => (release = r));
  const before = logged.length;
  await drainServers({
    grpc: slow.server,
    graceMs: 20,
    idle: () => idle,
    cancel: () => {
      cancelled = true;
      release();
    },
    stats: () => ({ inFlight: 1 }),
    logger,
  });
  t.ok(cancelled, 'cancelled after the grace period');
  t.same(slow.calls, ['serving false', 'tryShutdown', 'forceShutdown']);
  t.same(logged.slice(before).map((l) => [l.level, l.msg, l.obj]), [
    ['info', 'shutting down: draining in-flight calls', { graceMs: 20, inFlight: 1 }],
    ['warn', 'grace period over: cancelling remaining calls', { inFlight: 1 }],
  ]);
});

t.test('option values', async (t) => {
  t.equal(intOption('42', '--port', 0), 42);
  t.equal(errorOf(() => intOption('', '--port', 0))?.message, '--port must be an integer >= 0, got ""', 'strict: empty is refused');
  t.equal(errorOf(() => intOption('1e3', '--n', 0)), undefined, '1e3 is an integer');
  t.equal(errorOf(() => intOption('9007199254740993', '--n', 0))?.code, 'CONFIG', 'strict: beyond 2^53 is refused');
  t.equal(intOption('', '--port', 0, true), 0, 'lenient: empty reads as 0');
  t.equal(errorOf(() => intOption('1.5', '--n', 0, true))?.code, 'CONFIG');
  t.equal(errorOf(() => intOption('-2', '--http-port', -1))?.message, '--http-port must be an integer >= -1, got "-2"');
  t.same(['yes', 'ON', '1', 'false', '', '0'].map((v) => boolOption(v, 'k')), [true, true, true, false, false, false]);
  t.equal(errorOf(() => boolOption('maybe', 'K'))?.message, 'K must be true or false, got "maybe"');
  const c: { tls?: { certFile: string; keyFile: string } } = {};
  tlsOf(c).certFile = 'a.pem';
  tlsOf(c).keyFile = 'k.pem';
  t.same(c.tls, { certFile: 'a.pem', keyFile: 'k.pem' }, 'created once, then shared');

  type Conf = { port?: number; verbose?: boolean; name?: string };
  const options: CliOption<Conf>[] = [
    { flags: ['--port'], apply: (c, v, k) => (c.port = intOption(v, k, 0)), help: '' },
    { flags: ['--verbose'], boolean: true, apply: (c, v, k) => (c.verbose = boolOption(v, k)), help: '' },
    { flags: ['--name', '-n'], apply: (c, v) => (c.name = v), help: '' },
  ];
  const scan = (argv: string[]) => {
    const conf: Conf = {};
    scanFlags(argv, options, { help: () => new Error('usage: ...'), ignored: new Set(['--legacy']), value: (o, v, f) => o.apply(conf, v, f) });
    return conf;
  };
  t.same(scan(['--port', '80', '--verbose', '--name=a=b']), { port: 80, verbose: true, name: 'a=b' }, 'value, boolean alone, --flag=value');
  t.same(scan(['--verbose', 'false', '-n', 'x']), { verbose: false, name: 'x' }, 'a boolean with a value');
  t.same(scan(['--legacy', 'v', '--port=1']), { port: 1 }, 'ignored flags and their values are dropped');
  t.equal(errorOf(() => scan(['--nope']))?.message, 'unknown option --nope; run with --help for the list');
  t.equal(errorOf(() => scan(['--port']))?.message, '--port needs a value');
  t.equal(errorOf(() => scan(['--port', 'x']))?.message, '--port must be an integer >= 0, got "x"', 'the flag names the error');
  t.equal(errorOf(() => scan(['-h']))?.message, 'usage: ...');
});

t.test('settle reports every outcome once', async (t) => {
  const outcome = (body: () => Promise<number>) => new Promise<[unknown, unknown]>((resolve) => settle(body, (err, v) => resolve([err, v])));
  t.same(await outcome(async () => 1), [null, 1]);
  t.same((await outcome(() => Promise.reject(new Error('no'))))[0], new Error('no'));
  t.same((await outcome(() => {
    throw new Error('sync');
  }))[0], new Error('sync'), 'a synchronous throw');
  t.match((await outcome(() => Promise.reject(undefined)))[0], { message: 'rejected without a reason' });
});
