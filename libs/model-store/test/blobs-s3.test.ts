import t from 'tap';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3BlobStore, openS3BlobStore } from '../src/blobs/s3.js';
import type { S3BlobStoreOptions } from '../src/blobs/s3.js';
import { openBlobStore } from '../src/blobs/open.js';
import { blobStoreContract, expectError } from './helpers/blob-contract.js';
import { chunked, deterministicBytes, sha256Of } from './helpers/bytes.js';
import { MOTO_CREDENTIALS, MOTO_REGION, findMoto, motoMissingMessage, startMoto, useMotoCredentials } from './helpers/moto.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // the SDK's Node 20 end-of-support notice

const MiB = 1024 * 1024;
const BUCKET = 'genome-blobs';

const found = findMoto();
if ('missing' in found) {
  const message = motoMissingMessage(found.missing);
  process.stderr.write(`\n${'!'.repeat(100)}\nWARNING: ${message}\n${'!'.repeat(100)}\n\n`);
  t.test('S3 blob store on moto_server', { skip: message }, async () => undefined);
} else {
  // Credentials reach the store (and the writer processes) through the AWS default chain, never through the URL.
  useMotoCredentials();
  const moto = await startMoto(found);
  t.teardown(() => moto.stop());
  await moto.createBucket(BUCKET);
  let n = 0;

  const specFor = (prefix: string, bucket = BUCKET) =>
    `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(moto.endpoint)}&region=${MOTO_REGION}&forcePathStyle=true`;
  const optionsFor = (prefix: string, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions => ({
    bucket: BUCKET,
    prefix,
    endpoint: moto.endpoint,
    region: MOTO_REGION,
    ...extra,
  });

  async function countKeys(prefix: string): Promise<number> {
    const out = await moto.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return out.KeyCount ?? out.Contents?.length ?? 0;
  }
  async function countUploads(prefix: string): Promise<number> {
    const out = await moto.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
    return out.Uploads?.length ?? 0;
  }

  t.test('contract: S3BlobStore on moto_server', async (t) => {
    blobStoreContract<S3BlobStore>(t, {
      async fresh() {
        const prefix = `contract-${n++}/blobs`;
        const spec = specFor(prefix);
        const store = await openBlobStore(spec);
        if (!(store instanceof S3BlobStore)) throw new Error('openBlobStore(s3://...) did not give an S3BlobStore');
        return { store, spec };
      },
      async overwrite(store, sha256, bytes) {
        await moto.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: store.blobKey(sha256), Body: bytes }));
      },
      blobLocation: (store, sha256) => `s3://${BUCKET}/${store.blobKey(sha256)}`,
      leftovers: async (store) => (await countKeys(`${store.keyPrefix}tmp/`)) + (await countUploads(store.keyPrefix)),
      propertyRuns: 30,
      // Default parts of 8 MiB, 2 in flight and 1 being filled (24 MiB), plus the chunks passing through.
      streamMemoryBound: 32 * MiB,
      timeResolutionMs: 1000,
    });
  });

  t.test('keys: <prefix>/sha256/<hex>; location s3://bucket/prefix without endpoint or credentials', async (t) => {
    const store = await openBlobStore(specFor('/layout/x/'));
    t.equal(store.location, `s3://${BUCKET}/layout/x`);
    t.notOk(store.location.includes(MOTO_CREDENTIALS.secretAccessKey));
    const { sha256 } = await store.put(Buffer.from('layout'));
    const out = await moto.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'layout/' }));
    t.same(
      out.Contents?.map((o) => o.Key),
      [`layout/x/sha256/${sha256}`],
    );
    await store.close();
  });

  t.test('a blob larger than maxSingleCopyBytes is copied into place in parts', async (t) => {
    const store = await openS3BlobStore(optionsFor('multipart-copy', { partBytes: 5 * MiB, maxSingleCopyBytes: 6 * MiB, copyPartBytes: 5 * MiB }));
    const bytes = deterministicBytes('multipart-copy', 17 * MiB + 1);
    const put = await store.put(chunked(bytes, [MiB]));
    t.same(put, { sha256: sha256Of(bytes), size: bytes.byteLength, existed: false });
    t.ok(Buffer.from(await store.get(put.sha256)).equals(bytes), 'round trip');
    t.equal(await countKeys('multipart-copy/tmp/'), 0, 'temp object removed');
    t.equal(await countUploads('multipart-copy/'), 0, 'no unfinished upload');
    await store.close();
  });

  t.test('a damaged object is moved aside to <prefix>/corrupt/', async (t) => {
    const store = await openS3BlobStore(optionsFor('aside'));
    const { sha256 } = await store.put(Buffer.from('aside'));
    await moto.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: store.blobKey(sha256), Body: Buffer.from('asidf') }));
    await expectError(t, store.get(sha256, 'file genome.json'), 'CORRUPT', `s3://${BUCKET}/aside/corrupt/${sha256}.`, 'file genome.json', 'in the bucket');
    t.equal(await countKeys('aside/corrupt/'), 1);
    t.equal(await store.stat(sha256), undefined);
    await store.close();
  });

  t.test('list() aborts stale multipart uploads and removes stale temp objects, keeping recent ones', async (t) => {
    const store = await openS3BlobStore(optionsFor('stale'));
    // moto reports a fixed Initiated date (2010): the store also reads the start time it writes into temp key names.
    await moto.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `stale/tmp/${Date.now()}-recent`, Body: Buffer.from('x') }));
    await moto.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `stale/tmp/${Date.now()}-recent-mpu` }));
    await moto.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `stale/tmp/${Date.now() - 2 * 3_600_000}-old-mpu` }));
    const foreign = await moto.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'stale/other/not-ours' }));
    for await (const _ of store.list()) void _;
    t.equal(await countKeys('stale/tmp/'), 1, 'a recent temp object is kept by the default age');
    t.equal(await countUploads('stale/tmp/'), 1, 'a recent upload is kept by the default age, an old one aborted');
    for await (const _ of store.list({ partialOlderThanMs: 0 })) void _;
    t.equal(await countKeys('stale/tmp/'), 0, 'temp object removed');
    t.equal(await countUploads('stale/tmp/'), 0, 'upload aborted');
    t.equal(await countUploads('stale/other/'), 1, 'an upload outside the store layout is left alone');
    await moto.client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'stale/other/not-ours', UploadId: foreign.UploadId }));
    await store.close();
  });

  t.test('a missing bucket is UNAVAILABLE with the hint to create it', async (t) => {
    const store = await openBlobStore(specFor('x', 'no-such-bucket'));
    const err = await expectError(t, store.put(Buffer.from('x')), 'UNAVAILABLE', 'no-such-bucket', /[Cc]reate the bucket/, moto.endpoint);
    t.notOk(err?.message.includes(MOTO_CREDENTIALS.secretAccessKey), 'no secret in the message');
    await expectError(t, store.get(sha256Of(Buffer.from('x'))), 'UNAVAILABLE', /bucket does not exist/);
    await store.close();
  });
}
