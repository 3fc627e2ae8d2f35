/**
 * {@link S3BlobStore}: content-addressed blobs in an S3 bucket (AWS S3 or an S3-compatible server: MinIO, Ceph,
 * moto, ...), on `@aws-sdk/client-s3`, an optional peer dependency loaded on first use.
 *
 * Keys, under the store's prefix:
 * - `<prefix>/sha256/<hex>`: the blob whose SHA-256 is `<hex>`; only ever written with bytes already verified;
 * - `<prefix>/tmp/<ms>-<uuid>`: a streamed upload in progress (a multipart upload, then an object until it is copied to
 *   its final key); `list()` removes those (and aborts multipart uploads) older than `partialOlderThanMs`;
 * - `<prefix>/corrupt/<sha256>.<time>`: objects found damaged by a read, moved aside so that a re-save stores the
 *   blob again (kept for inspection; remove them by hand).
 *
 * Small blobs (a buffer, or a stream that ends within one part) are hashed first and written to their final key in
 * one PutObject, which S3 makes atomic. Larger streams are uploaded as multipart uploads to a temp key while hashing
 * (8 MiB parts, two in flight by default: memory stays bounded whatever the blob's size), then copied server-side to
 * the final key once the hash is checked. A put of a blob already held copies the object onto itself, which moves its
 * LastModified (so a garbage collection running at the same time keeps it).
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { CompletedPart, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ModelStoreError } from '../errors.js';
import { assertAgeMs, assertSha256, describeBlob, isSha256 } from './address.js';
import { DEFAULT_PARTIAL_OLDER_THAN_MS } from './blob-store.js';
import type { BlobInfo, BlobSource, BlobStore, PutBlobResult } from './blob-store.js';
import { releaseSource, sourceChunks, throwIfCancelled } from './chunks.js';
import { absentOf, mapLimit } from './concurrency.js';
import { checkPutArguments, checkPutExpectations, sourceTooLongError } from './expectations.js';
import type { PutExpectations } from './expectations.js';
import { s3Error } from './s3-errors.js';
import type { S3CallContext } from './s3-errors.js';
import { sha256Hex, verifyBytes, verifyingChunks } from './verify.js';
import type { BlobPlace } from './verify.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');

/** Attempts of the last step of a streamed put (touch or copy to the final key), transient failures retried. */
const FINAL_COPY_ATTEMPTS = 4;

/** Options of {@link S3BlobStore}. Credentials default to the SDK's chain (env, shared config, SSO, instance role...). */
export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix of the store inside the bucket (`models/blobs`); no leading or trailing `/` needed. Default: none. */
  prefix?: string;
  /** Endpoint URL of an S3-compatible server (`http://127.0.0.1:9000`); default: AWS S3 of `region`. */
  endpoint?: string;
  /** Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most S3-compatible servers. Default: true with an endpoint. */
  forcePathStyle?: boolean;
  /** Static credentials (tests, or servers without the AWS credential chain); never shown in messages. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Time to open a connection before giving up (default 5 s). */
  connectionTimeoutMs?: number;
  /** Time for one request until its response starts (default 120 s, enough to send an 8 MiB part on a slow link). */
  requestTimeoutMs?: number;
  /** Time a connection may stay idle while a body streams (default 60 s). */
  socketTimeoutMs?: number;
  /** Attempts per call, retries included, with the SDK's backoff (default 3). */
  maxAttempts?: number;
  /** `list()` removes temp objects and multipart uploads older than this (default one hour). */
  partialOlderThanMs?: number;
  /** Bytes per uploaded part, and the size up to which a stream is sent in one PutObject (default 8 MiB; S3 needs >= 5 MiB). */
  partBytes?: number;
  /** Largest object copied with one CopyObject; bigger ones are copied in parts (default 5 GiB, the S3 limit). */
  maxSingleCopyBytes?: number;
  /** Bytes per part of a multipart copy (default 512 MiB). */
  copyPartBytes?: number;
  /** Parts uploaded at once during a streamed put (default 2, so that at most 3 parts are held in memory). */
  uploadConcurrency?: number;
  /** HeadObject calls in flight in `missing()` (default 16). */
  headConcurrency?: number;
}

const MiB = 1024 * 1024;
const S3_MIN_PART_BYTES = 5 * MiB;

let sdkPromise: Promise<S3Sdk> | undefined;

/** Loads `@aws-sdk/client-s3`, or throws `ModelStoreError` MISSING_DEPENDENCY naming the npm command. */
function loadS3Sdk(): Promise<S3Sdk> {
  sdkPromise ??= import('@aws-sdk/client-s3').catch((err: unknown) => {
    sdkPromise = undefined;
    const code = (err as { code?: string } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ModelStoreError(
        'MISSING_DEPENDENCY',
        'The S3 blob store needs the optional package @aws-sdk/client-s3, which is not installed: run `npm install @aws-sdk/client-s3`.',
        { cause: err },
      );
    }
    throw err;
  });
  return sdkPromise;
}

/** The endpoint as shown in messages: no user-info, no query, no fragment. */
function displayEndpoint(endpoint: string | undefined, region: string): string {
  if (!endpoint) return `AWS S3 (${region})`;
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(invalid endpoint URL)';
  }
}

function positiveInt(value: number | undefined, fallback: number, name: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new ModelStoreError('INVALID_ARGUMENT', `${name} must be an integer >= ${min}, got ${String(value)}.`);
  return v;
}

/** Encodes a key for `CopySource` (`bucket/key`, URL-encoded but keeping `/`). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * When a multipart upload started, in ms: the later of the server's `Initiated` and, for a temp key
 * (`<tmpPrefix><ms>-<uuid>`), the time written into its name, since some S3-compatible servers report a fixed or
 * missing `Initiated` (moto does).
 */
function uploadStartedAt(key: string, tmpPrefix: string, initiated: Date | undefined): number {
  const written = key.startsWith(tmpPrefix) ? /^(\d{13})-/.exec(key.slice(tmpPrefix.length)) : null;
  return Math.max(initiated?.getTime() ?? 0, written ? Number(written[1]) : 0);
}

/** A part of a multipart upload or copy, as CompleteMultipartUpload needs it: number, ETag and any checksum. */
function completedPart(partNumber: number, out: Omit<CompletedPart, 'PartNumber'>): CompletedPart {
  const { ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 } = out;
  return { PartNumber: partNumber, ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 };
}

/** Concatenates chunks into one buffer (no copy for a single chunk). */
function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  return Buffer.concat(chunks, size);
}

/** Content-addressed blobs in an S3 bucket. Create it with {@link openS3BlobStore} (which loads the SDK). */
export class S3BlobStore implements BlobStore {
  /** `s3://bucket/prefix`: never holds the endpoint's query or credentials. */
  readonly location: string;
  /** The endpoint as shown in messages. */
  readonly endpoint: string;
  readonly bucket: string;
  /** The key prefix, empty or ending in `/`. */
  readonly keyPrefix: string;
  private readonly client: S3Client;
  private readonly sdk: S3Sdk;
  private readonly secrets: string[];
  private readonly partialOlderThanMs: number;
  private readonly partBytes: number;
  private readonly maxSingleCopyBytes: number;
  private readonly copyPartBytes: number;
  private readonly uploadConcurrency: number;
  private readonly headConcurrency: number;
  private closed = false;

  /** Prefer {@link openS3BlobStore}; this takes the already loaded SDK module. */
  constructor(sdk: S3Sdk, options: S3BlobStoreOptions) {
    if (typeof options.bucket !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(options.bucket)) {
      throw new ModelStoreError('INVALID_ARGUMENT', `The S3 bucket name ${JSON.stringify(options.bucket)} is not valid (letters, digits, ".", "-", "_").`);
    }
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    if (options.endpoint !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(options.endpoint);
      } catch {
        url = undefined;
      }
      if (!url || !['http:', 'https:'].includes(url.protocol)) {
        throw new ModelStoreError('INVALID_ARGUMENT', 'The S3 endpoint must be an http:// or https:// URL (e.g. http://127.0.0.1:9000).');
      }
      if (url.username || url.password) {
        throw new ModelStoreError(
          'INVALID_ARGUMENT',
          'The S3 endpoint must not hold credentials (http://key:secret@host); they come from the AWS credential chain ' +
            '(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role).',
        );
      }
    }
    this.sdk = sdk;
    this.bucket = options.bucket;
    this.keyPrefix = prefix ? `${prefix}/` : '';
    this.location = `s3://${this.bucket}/${prefix}`;
    this.endpoint = displayEndpoint(options.endpoint, region);
    // Never shown: the credentials given, and those of the environment (the SDK's messages should hold none anyway).
    const env = process.env;
    this.secrets = [
      options.credentials?.secretAccessKey,
      options.credentials?.sessionToken,
      options.credentials?.accessKeyId,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
      env.AWS_ACCESS_KEY_ID,
    ].filter((s): s is string => typeof s === 'string' && s.length >= 8);
    this.partialOlderThanMs = assertAgeMs(options.partialOlderThanMs ?? DEFAULT_PARTIAL_OLDER_THAN_MS);
    this.partBytes = positiveInt(options.partBytes, 8 * MiB, 'partBytes', S3_MIN_PART_BYTES);
    this.maxSingleCopyBytes = positiveInt(options.maxSingleCopyBytes, 5 * 1024 * MiB, 'maxSingleCopyBytes');
    this.copyPartBytes = positiveInt(options.copyPartBytes, 512 * MiB, 'copyPartBytes', S3_MIN_PART_BYTES);
    this.uploadConcurrency = positiveInt(options.uploadConcurrency, 2, 'uploadConcurrency');
    this.headConcurrency = positiveInt(options.headConcurrency, 16, 'headConcurrency');
    const config: S3ClientConfig = {
      region,
      maxAttempts: positiveInt(options.maxAttempts, 3, 'maxAttempts'),
      requestHandler: {
        connectionTimeout: positiveInt(options.connectionTimeoutMs, 5_000, 'connectionTimeoutMs'),
        requestTimeout: positiveInt(options.requestTimeoutMs, 120_000, 'requestTimeoutMs'),
        socketTimeout: positiveInt(options.socketTimeoutMs, 60_000, 'socketTimeoutMs'),
        throwOnRequestTimeout: true,
      },
    };
    if (options.endpoint) {
      config.endpoint = options.endpoint;
      config.forcePathStyle = options.forcePathStyle ?? true;
    } else if (options.forcePathStyle !== undefined) {
      config.forcePathStyle = options.forcePathStyle;
    }
    if (options.credentials) config.credentials = { ...options.credentials };
    this.client = new sdk.S3Client(config);
  }

  /** Key of a blob: `<prefix>/sha256/<hex>`. */
  blobKey(sha256: string): string {
    assertSha256(sha256);
    return `${this.keyPrefix}sha256/${sha256}`;
  }

  private url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** Where a blob was read from; `etag` (of the object read) lets a damaged copy be moved aside. */
  private place(sha256: string, etag?: string): BlobPlace {
    return {
      medium: 'in the bucket',
      at: this.url(this.blobKey(sha256)),
      thing: 'the object',
      quarantine: etag ? () => this.quarantine(sha256, etag) : undefined,
    };
  }

  /**
   * Moves a damaged blob object to `<prefix>/corrupt/<sha256>.<time>`: copies it there, then deletes the final key,
   * both only while it is still the object read (same ETag; a concurrent put may have stored good bytes already).
   * Returns the new URL, or undefined.
   */
  private async quarantine(sha256: string, etag: string): Promise<string | undefined> {
    const key = this.blobKey(sha256);
    const dest = `${this.keyPrefix}corrupt/${sha256}.${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await this.client.send(
        new this.sdk.CopyObjectCommand({ Bucket: this.bucket, Key: dest, CopySource: copySource(this.bucket, key), CopySourceIfMatch: etag }),
      );
      try {
        await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }));
      } catch (err) {
        // 412: replaced meanwhile, keep it. Servers without conditional deletes refuse the header: delete plainly.
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return undefined;
        await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      }
      return this.url(dest);
    } catch {
      return undefined;
    }
  }

  private ctx(doing: string, key: string, signal?: AbortSignal): S3CallContext {
    return { doing, at: this.url(key), endpoint: this.endpoint, secrets: this.secrets, signal };
  }

  private assertOpen(): void {
    if (this.closed) throw new ModelStoreError('FAILED_PRECONDITION', `The blob store ${this.location} is closed; open a new one.`);
  }

  private notFound(sha256: string, what: string | undefined): ModelStoreError {
    return new ModelStoreError(
      'NOT_FOUND',
      `The ${describeBlob(sha256, what)} is not in the blob store ${this.location} (no object ${this.url(this.blobKey(sha256))}). ` +
        'Re-save the package that holds it, or restore the object from a backup.',
    );
  }

  /** Runs one SDK call, mapping its errors. */
  private async call<T>(ctx: S3CallContext, run: (abortSignal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    throwIfCancelled(ctx.signal, `S3 call to ${ctx.doing}`);
    try {
      return await run(ctx.signal);
    } catch (err) {
      throw s3Error(err, ctx);
    }
  }

  /** Size and LastModified of an object, or undefined when absent. */
  private async head(key: string, doing: string, signal?: AbortSignal): Promise<{ size: number; modifiedAt: Date } | undefined> {
    const ctx = this.ctx(doing, key, signal);
    try {
      const out = await this.call(ctx, (abortSignal) => this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
      return { size: out.ContentLength ?? 0, modifiedAt: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (err instanceof ModelStoreError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * Moves a held object's LastModified to now: copies it onto itself (S3 needs a metadata change for that; an object
   * above `maxSingleCopyBytes` is copied onto itself in parts).
   */
  private async touch(key: string, size: number, signal?: AbortSignal): Promise<void> {
    if (size > this.maxSingleCopyBytes) return this.copy(key, key, size, signal);
    await this.call(this.ctx('touch the blob', key, signal), (abortSignal) =>
      this.client.send(
        new this.sdk.CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: copySource(this.bucket, key),
          MetadataDirective: 'REPLACE',
          Metadata: { 'touched-at': new Date().toISOString() },
        }),
        { abortSignal },
      ),
    );
  }

  /** Touches a held blob and returns its put result; undefined when absent or of another size than `size`. */
  private async touchIfHeld(sha256: string, size: number | undefined, signal?: AbortSignal): Promise<PutBlobResult | undefined> {
    const key = this.blobKey(sha256);
    const held = await this.head(key, `check blob sha256:${sha256}`, signal);
    if (!held || (size !== undefined && held.size !== size)) return undefined;
    try {
      await this.touch(key, held.size, signal);
    } catch (err) {
      if (err instanceof ModelStoreError && err.code === 'NOT_FOUND') return undefined; // deleted meanwhile: write it
      throw err;
    }
    return { sha256, size: held.size, existed: true };
  }

  async put(source: BlobSource, expected: PutExpectations = {}): Promise<PutBlobResult> {
    this.assertOpen();
    checkPutArguments(source, expected);
    const signal = expected.signal;

    if (source instanceof Uint8Array) return this.putBytes(source, expected, signal);
    if (expected.sha256 !== undefined) {
      const touched = await this.touchIfHeld(expected.sha256, expected.size, signal);
      if (touched) {
        releaseSource(source);
        return touched;
      }
    }
    // Read up to one part: a stream that ends there is sent like a buffer, else as a multipart upload.
    const chunks = sourceChunks(source, signal, 'Storing a blob');
    const head: Uint8Array[] = [];
    let headBytes = 0;
    for (;;) {
      const step = await chunks.next();
      if (step.done) return this.putBytes(concat(head, headBytes), expected, signal);
      head.push(step.value);
      headBytes += step.value.byteLength;
      if (expected.size !== undefined && headBytes > expected.size) {
        await chunks.return(undefined);
        throw sourceTooLongError(expected.size);
      }
      if (headBytes > this.partBytes) break;
    }
    return this.putMultipart(head, chunks, expected, signal);
  }

  /** A whole buffer: hashed, checked, then touched when held or written to its final key in one PutObject. */
  private async putBytes(bytes: Uint8Array, expected: { sha256?: string; size?: number }, signal: AbortSignal | undefined): Promise<PutBlobResult> {
    const sha256 = sha256Hex(bytes);
    checkPutExpectations(expected, sha256, bytes.byteLength);
    const touched = await this.touchIfHeld(sha256, bytes.byteLength, signal);
    if (touched) return touched;
    const key = this.blobKey(sha256);
    await this.call(this.ctx(`store blob sha256:${sha256}`, key, signal), (abortSignal) =>
      this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength }), { abortSignal }),
    );
    return { sha256, size: bytes.byteLength, existed: false };
  }

  /**
   * A long stream: multipart upload to `<prefix>/tmp/<ms>-<uuid>` while hashing, then, once the hash and size are
   * checked, a server-side copy to the final key (or a touch when the blob is held by then).
   *
   * The bytes are copied into part buffers of `partBytes`, reused once their upload has settled: at most
   * `uploadConcurrency` + 1 of them ever exist (the SDK keeps a reference to the last body sent on each idle
   * connection, which would otherwise keep a part per connection alive).
   */
  private async putMultipart(
    head: Uint8Array[],
    rest: AsyncGenerator<Uint8Array>,
    expected: { sha256?: string; size?: number },
    signal: AbortSignal | undefined,
  ): Promise<PutBlobResult> {
    const tmpKey = `${this.keyPrefix}tmp/${Date.now()}-${randomUUID()}`;
    const tmpCtx = (doing: string) => this.ctx(doing, tmpKey, signal);
    let uploadId: string | undefined;
    const hash = createHash('sha256');
    let sha256 = '';
    let size = 0;
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const spare: Buffer[] = []; // part buffers whose upload has settled
    let part: Buffer = Buffer.allocUnsafe(this.partBytes);
    let filled = 0;
    let partNumber = 1;

    /** Uploads the first `length` bytes of `buffer` as the next part as soon as fewer than `uploadConcurrency` parts are in flight. */
    const send = async (buffer: Buffer, length: number): Promise<void> => {
      while (inFlight.size >= this.uploadConcurrency) await Promise.race(inFlight);
      if (failure) throw failure;
      if (partNumber > 10_000) throw new ModelStoreError('INVALID_ARGUMENT', `The blob is larger than 10000 parts of ${this.partBytes} bytes; raise partBytes.`);
      const n = partNumber++;
      const id = uploadId;
      const body = buffer.subarray(0, length);
      const sent: Promise<void> = this.call(tmpCtx(`upload part ${n}`), (abortSignal) =>
        this.client.send(
          new this.sdk.UploadPartCommand({ Bucket: this.bucket, Key: tmpKey, UploadId: id, PartNumber: n, Body: body, ContentLength: body.byteLength }),
          { abortSignal },
        ),
      )
        .then(
          (out) => void parts.push(completedPart(n, out)),
          (err: unknown) => {
            failure ??= err;
          },
        )
        .finally(() => {
          inFlight.delete(sent);
          spare.push(buffer);
        });
      inFlight.add(sent);
    };
    /** Hashes a chunk and copies it into the part being filled, sending each part once full. */
    const add = async (chunk: Uint8Array): Promise<void> => {
      hash.update(chunk);
      size += chunk.byteLength;
      if (expected.size !== undefined && size > expected.size) throw sourceTooLongError(expected.size);
      for (let offset = 0; offset < chunk.byteLength; ) {
        const n = Math.min(chunk.byteLength - offset, this.partBytes - filled);
        part.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === this.partBytes) {
          await send(part, filled);
          part = spare.pop() ?? Buffer.allocUnsafe(this.partBytes);
          filled = 0;
        }
      }
    };

    try {
      const created = await this.call(tmpCtx('start a multipart upload'), (abortSignal) =>
        this.client.send(new this.sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: tmpKey }), { abortSignal }),
      );
      uploadId = created.UploadId;
      if (!uploadId) throw new ModelStoreError('UNAVAILABLE', `The S3 server at ${this.endpoint} started a multipart upload without an UploadId.`);
      for (const chunk of head.splice(0)) await add(chunk);
      for (let step = await rest.next(); !step.done; step = await rest.next()) await add(step.value);
      if (filled > 0) await send(part, filled);
      await Promise.all(inFlight);
      if (failure) throw failure;
      sha256 = hash.digest('hex');
      checkPutExpectations(expected, sha256, size);
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const id = uploadId;
      await this.call(tmpCtx('complete the multipart upload'), (abortSignal) =>
        this.client.send(
          new this.sdk.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: tmpKey, UploadId: id, MultipartUpload: { Parts: parts } }),
          { abortSignal },
        ),
      );
    } catch (err) {
      await rest.return(undefined).catch(() => undefined);
      await Promise.allSettled(inFlight);
      if (uploadId) {
        await this.client
          .send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: tmpKey, UploadId: uploadId }))
          .catch(() => undefined); // a leftover is collected by list()
      }
      throw this.uploadVanished(s3Error(err, tmpCtx('upload the blob')), tmpKey);
    }

    try {
      // Writers of the same bytes meet at the final key; S3-compatible servers can fail one of two concurrent copies
      // there (moto answered such a copy with a body the SDK could not parse). Both steps are idempotent: retry a
      // transient failure a few times, and stop as soon as the blob is held.
      for (let attempt = 1; ; attempt++) {
        try {
          const touched = await this.touchIfHeld(sha256, size, signal);
          if (touched) return touched;
          await this.copy(tmpKey, this.blobKey(sha256), size, signal);
          return { sha256, size, existed: false };
        } catch (err) {
          const transient = err instanceof ModelStoreError && err.code === 'UNAVAILABLE' && !signal?.aborted;
          if (!transient || attempt >= FINAL_COPY_ATTEMPTS) throw err;
          await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
        }
      }
    } catch (err) {
      throw this.uploadVanished(err, tmpKey);
    } finally {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: tmpKey })).catch(() => undefined);
    }
  }

  /**
   * A NOT_FOUND met while writing means the temp upload or object vanished (a `list()` with a `partialOlderThanMs`
   * shorter than the upload ran meanwhile): UNAVAILABLE, since the blob itself is not the thing absent.
   */
  private uploadVanished(err: unknown, tmpKey: string): unknown {
    if (!(err instanceof ModelStoreError && err.code === 'NOT_FOUND')) return err;
    return new ModelStoreError(
      'UNAVAILABLE',
      `The upload ${this.url(tmpKey)} disappeared before it was stored (a cleanup with a too short partialOlderThanMs ran at the same time?); retry the put.`,
      { cause: err },
    );
  }

  /** Server-side copy `from` → `to` (in parts above `maxSingleCopyBytes`); `to` appears whole or not at all. */
  private async copy(from: string, to: string, size: number, signal: AbortSignal | undefined): Promise<void> {
    const ctx = this.ctx(from === to ? 'touch the blob' : 'copy the verified upload to its final key', to, signal);
    if (size <= this.maxSingleCopyBytes) {
      await this.call(ctx, (abortSignal) =>
        this.client.send(new this.sdk.CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: copySource(this.bucket, from) }), { abortSignal }),
      );
      return;
    }
    const created = await this.call(ctx, (abortSignal) =>
      this.client.send(new this.sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }), { abortSignal }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new ModelStoreError('UNAVAILABLE', `The S3 server at ${this.endpoint} started a multipart upload without an UploadId.`);
    try {
      const ranges: Array<{ partNumber: number; first: number; last: number }> = [];
      for (let first = 0, n = 1; first < size; first += this.copyPartBytes, n++) {
        ranges.push({ partNumber: n, first, last: Math.min(size, first + this.copyPartBytes) - 1 });
      }
      const parts = await mapLimit(ranges, this.uploadConcurrency, async (r): Promise<CompletedPart> => {
        const out = await this.call(ctx, (abortSignal) =>
          this.client.send(
            new this.sdk.UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: to,
              UploadId: uploadId,
              PartNumber: r.partNumber,
              CopySource: copySource(this.bucket, from),
              CopySourceRange: `bytes=${r.first}-${r.last}`,
            }),
            { abortSignal },
          ),
        );
        return completedPart(r.partNumber, out.CopyPartResult ?? {});
      });
      await this.call(ctx, (abortSignal) =>
        this.client.send(
          new this.sdk.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal },
        ),
      );
    } catch (err) {
      await this.client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
  }

  /** GetObject of a blob: its size and body, or NOT_FOUND naming the blob. */
  private async open(sha256: string, what: string | undefined): Promise<{ size: number; body: Readable; etag: string | undefined }> {
    const key = this.blobKey(sha256);
    let out;
    try {
      out = await this.call(this.ctx(`read ${describeBlob(sha256, what)}`, key), (abortSignal) =>
        this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
      );
    } catch (err) {
      if (err instanceof ModelStoreError && err.code === 'NOT_FOUND') throw this.notFound(sha256, what);
      throw err;
    }
    const body = out.Body;
    if (!(body instanceof Readable)) {
      throw new ModelStoreError('INTERNAL', `The S3 SDK returned a body that is not a Node.js stream for ${this.url(key)}; the S3 blob store runs on Node.js only.`);
    }
    return { size: out.ContentLength ?? 0, body, etag: out.ETag };
  }

  /** The body's chunks, with read errors (connection reset mid-body) mapped to UNAVAILABLE. */
  private async *bodyChunks(body: Readable, sha256: string, what: string | undefined): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (err) {
      throw s3Error(err, this.ctx(`read ${describeBlob(sha256, what)}`, this.blobKey(sha256)));
    } finally {
      if (!body.destroyed) body.destroy();
    }
  }

  async get(sha256: string, what?: string): Promise<Uint8Array> {
    this.assertOpen();
    assertSha256(sha256);
    const { body, etag } = await this.open(sha256, what);
    const chunks: Uint8Array[] = [];
    let got = 0;
    for await (const chunk of this.bodyChunks(body, sha256, what)) {
      chunks.push(chunk);
      got += chunk.byteLength;
    }
    return verifyBytes(concat(chunks, got), sha256, what, this.place(sha256, etag));
  }

  async stream(sha256: string, what?: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> }> {
    this.assertOpen();
    assertSha256(sha256);
    const { size, body, etag } = await this.open(sha256, what);
    return { size, chunks: verifyingChunks(this.bodyChunks(body, sha256, what), sha256, what, this.place(sha256, etag)) };
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    this.assertOpen();
    assertSha256(sha256);
    const held = await this.head(this.blobKey(sha256), `check blob sha256:${sha256}`);
    return held && { sha256, size: held.size, modifiedAt: held.modifiedAt };
  }

  async missing(sha256s: readonly string[]): Promise<string[]> {
    this.assertOpen();
    return absentOf(sha256s, this.headConcurrency, async (s) => (await this.head(this.blobKey(s), `check blob sha256:${s}`)) !== undefined);
  }

  async *list(options: { partialOlderThanMs?: number } = {}): AsyncIterable<BlobInfo> {
    this.assertOpen();
    await this.removeAbandonedUploads(assertAgeMs(options.partialOlderThanMs ?? this.partialOlderThanMs));
    const prefix = `${this.keyPrefix}sha256/`;
    for await (const object of this.listObjects(prefix, 'list blobs')) {
      const sha256 = object.key.slice(prefix.length);
      if (isSha256(sha256)) yield { sha256, size: object.size, modifiedAt: object.modifiedAt };
    }
  }

  /** Every object under `prefix`, page by page. */
  private async *listObjects(prefix: string, doing: string): AsyncGenerator<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.call(this.ctx(doing, prefix), (abortSignal) =>
        this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes `tmp/` objects and aborts multipart uploads (temp or multipart copies) started more than `olderThanMs` ago. */
  private async removeAbandonedUploads(olderThanMs: number): Promise<void> {
    const cutoff = Date.now() - olderThanMs;
    const tmpPrefix = `${this.keyPrefix}tmp/`;
    for await (const object of this.listObjects(tmpPrefix, 'list abandoned uploads')) {
      if (object.modifiedAt.getTime() > cutoff) continue;
      await this.call(this.ctx('remove an abandoned upload', object.key), (abortSignal) =>
        this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: object.key }), { abortSignal }),
      );
    }
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.call(this.ctx('list abandoned multipart uploads', this.keyPrefix), (abortSignal) =>
        this.client.send(
          new this.sdk.ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.keyPrefix || undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
          { abortSignal },
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        const ours = u.Key.startsWith(tmpPrefix) || u.Key.startsWith(`${this.keyPrefix}sha256/`);
        if (!ours || uploadStartedAt(u.Key, tmpPrefix, u.Initiated) > cutoff) continue;
        const { Key, UploadId } = u;
        try {
          await this.call(this.ctx('abort an abandoned multipart upload', Key), (abortSignal) =>
            this.client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }), { abortSignal }),
          );
        } catch (err) {
          if (!(err instanceof ModelStoreError && err.code === 'NOT_FOUND')) throw err; // completed or aborted meanwhile
        }
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  async delete(sha256: string): Promise<void> {
    this.assertOpen();
    assertSha256(sha256);
    const key = this.blobKey(sha256);
    try {
      await this.call(this.ctx(`delete blob sha256:${sha256}`, key), (abortSignal) =>
        this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
      );
    } catch (err) {
      if (!(err instanceof ModelStoreError && err.code === 'NOT_FOUND')) throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }
}

/** Loads `@aws-sdk/client-s3` (MISSING_DEPENDENCY when absent) and opens an S3 blob store. No request is made yet. */
export async function openS3BlobStore(options: S3BlobStoreOptions): Promise<S3BlobStore> {
  const sdk = await loadS3Sdk();
  return new S3BlobStore(sdk, options);
}
