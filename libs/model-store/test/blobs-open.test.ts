import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openBlobStore, parseS3Spec } from '../src/blobs/open.js';
import { S3BlobStore } from '../src/blobs/s3.js';
import { ModelStoreError } from '../src/errors.js';
import { expectError } from './helpers/blob-contract.js';
import { sha256Of } from './helpers/bytes.js';
import { freePort } from './helpers/moto.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // the SDK's Node 20 end-of-support notice

const KEY_ID = 'AKIAEXAMPLEKEYID0001';
const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
// The S3 store takes credentials from the AWS default chain only: here, the environment.
process.env.AWS_ACCESS_KEY_ID = KEY_ID;
process.env.AWS_SECRET_ACCESS_KEY = SECRET;
for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_PROFILE']) delete process.env[name];

t.test('unknown schemes and malformed specs are INVALID_ARGUMENT listing the accepted forms', async (t) => {
  for (const spec of ['ftp://host/blobs', 'http://127.0.0.1:9000/bucket', 'gs://bucket/prefix', 'memory:']) {
    await expectError(t, openBlobStore(spec), 'INVALID_ARGUMENT', 'unsupported scheme', 'file:///', 's3://bucket/prefix');
  }
  await expectError(t, openBlobStore(''), 'INVALID_ARGUMENT', 'empty');
  await expectError(t, openBlobStore({} as never), 'INVALID_ARGUMENT', 'BlobStore');
  await expectError(t, openBlobStore('s3:///prefix'), 'INVALID_ARGUMENT', 'no bucket');
});

t.test('s3:// specs: parameters parsed, unknown ones refused, credentials refused and never echoed', async (t) => {
  t.same(
    parseS3Spec('s3://models/team%20a/blobs/?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=false&maxAttempts=2&requestTimeoutMs=3000&connectionTimeoutMs=1000'),
    {
      bucket: 'models',
      prefix: 'team a/blobs',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: false,
      maxAttempts: 2,
      requestTimeoutMs: 3000,
      connectionTimeoutMs: 1000,
    },
  );
  t.same(parseS3Spec('s3://bucket'), { bucket: 'bucket', prefix: '' });
  const checks: Array<[string, string]> = [
    [`s3://bucket/p?secretAccesKey=${SECRET}`, 'Unknown parameter'],
    [`s3://bucket/p?accessKeyId=${KEY_ID}&secretAccessKey=${SECRET}`, 'must not hold credentials (parameter accessKeyId)'],
    [`s3://bucket/p?region=us-east-1&secretAccessKey=${SECRET}`, 'AWS_SECRET_ACCESS_KEY'],
    [`s3://bucket/p?sessionToken=${SECRET}`, 'AWS credential chain'],
    [`s3://${KEY_ID}:${SECRET}@bucket/p`, 'must not hold credentials'],
    [`s3://bucket/p?endpoint=${encodeURIComponent(`http://${KEY_ID}:${SECRET}@127.0.0.1:9000`)}`, 'endpoint must not hold credentials'],
    [`s3://bucket/p?forcePathStyle=maybe&secretAccessKey=${SECRET}`, 'forcePathStyle'],
    [`s3://bucket/p?maxAttempts=-1`, 'maxAttempts'],
    [`s3://bucket/p?endpoint=ftp://host`, 'http:// or https://'],
  ];
  for (const [spec, says] of checks) {
    const err = await expectError(t, openBlobStore(spec), 'INVALID_ARGUMENT', says);
    t.notOk(err?.message.includes(SECRET) || err?.message.includes(KEY_ID), 'no credential in the message');
  }
  const store = await openBlobStore('s3://bucket/a/b?endpoint=http://127.0.0.1:1');
  t.ok(store instanceof S3BlobStore);
  t.equal(store.location, 's3://bucket/a/b', 'location: bucket and prefix only');
  await store.close();
});

t.test('an unreachable S3 endpoint (closed port) fails fast with UNAVAILABLE naming it, without secrets', async (t) => {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const store = await openBlobStore(`s3://bucket/prefix?endpoint=${endpoint}`);
  const sha = sha256Of(Buffer.from('x'));
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['put', () => store.put(Buffer.from('x'))],
    ['get', () => store.get(sha, 'file genome.json')],
    ['stream', () => store.stream(sha)],
    ['stat', () => store.stat(sha)],
    ['missing', () => store.missing([sha])],
    ['list', async () => {
      for await (const _ of store.list()) void _;
    }],
    ['delete', () => store.delete(sha)],
  ];
  for (const [name, call] of calls) {
    const started = Date.now();
    const err = await expectError(t, call(), 'UNAVAILABLE', endpoint, 'refused', 'running and reachable');
    const ms = Date.now() - started;
    t.ok(ms < 5000, `${name}: failed in ${ms} ms`);
    const seen = `${err?.message} ${String((err?.cause as Error | undefined)?.message)}`;
    t.notOk(seen.includes(SECRET) || seen.includes(KEY_ID), `${name}: no credential in the message or its cause`);
  }
  await store.close();
});

t.test('an S3 endpoint that accepts connections but never answers times out with UNAVAILABLE', async (t) => {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const store = await openBlobStore(`s3://bucket/p?endpoint=${endpoint}&requestTimeoutMs=400&maxAttempts=2`);
  const started = Date.now();
  await expectError(t, store.stat(sha256Of(Buffer.from('x'))), 'UNAVAILABLE', 'timed out', endpoint);
  const ms = Date.now() - started;
  t.ok(ms < 5000, `gave up after ${ms} ms (2 attempts of 400 ms)`);
  await store.close();
});

t.test('without @aws-sdk/client-s3 installed, an s3:// store is MISSING_DEPENDENCY naming the npm command', async (t) => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import=tsx', '--conditions=@genome/source', `--import=${join(here, 'helpers', 'hide-aws-sdk.mjs')}`, join(here, 'helpers', 'open-spec.ts'), 's3://bucket/prefix'],
    { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  const out = JSON.parse(stdout) as { code?: string; message?: string };
  t.equal(out.code, 'MISSING_DEPENDENCY', out.message ?? 'no message');
  t.match(out.message, /npm install @aws-sdk\/client-s3/);
  const dir = await mkdtemp(join(tmpdir(), 'genome-blobs-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fsOnly = await promisify(execFile)(
    process.execPath,
    ['--import=tsx', '--conditions=@genome/source', `--import=${join(here, 'helpers', 'hide-aws-sdk.mjs')}`, join(here, 'helpers', 'open-spec.ts'), dir],
  );
  t.match(JSON.parse(fsOnly.stdout), { ok: /^file:\/\// }, 'filesystem stores work without the S3 SDK');
});

t.test('ModelStoreError is what every failure is', async (t) => {
  const err = await openBlobStore('nope://x').catch((e: unknown) => e);
  t.ok(err instanceof ModelStoreError);
});
