/**
 * {@link openBlobStore}: a blob store from a location string, as found in configuration and on command lines:
 * - a plain path (`/var/lib/genome/blobs`, `./blobs`) or `file:///var/lib/genome/blobs` → {@link FsBlobStore};
 * - `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true` → {@link S3BlobStore}.
 */
import { fileURLToPath } from 'node:url';
import { ModelStoreError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import { openFsBlobStore } from './fs.js';
import { openS3BlobStore } from './s3.js';
import type { S3BlobStoreOptions } from './s3.js';

/** The accepted forms, for messages. */
export const BLOB_STORE_SPEC_FORMS =
  'a directory path (/var/lib/genome/blobs), a file URL (file:///var/lib/genome/blobs), or an S3 URL ' +
  '(s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true)';

/** Query parameters of an `s3://` spec. */
const S3_PARAMS = ['endpoint', 'region', 'forcePathStyle', 'connectionTimeoutMs', 'requestTimeoutMs', 'maxAttempts'] as const;

/** Parameters that would put a credential in the URL: refused (configuration files and logs show URLs). */
const CREDENTIAL_PARAMS = new Set(['accesskeyid', 'secretaccesskey', 'sessiontoken', 'access_key', 'secret_key', 'password', 'token']);

/** Where the S3 store's credentials come from, for messages. */
const CREDENTIAL_CHAIN =
  'the AWS credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE and ~/.aws, ' +
  'an instance or pod role)';

function isBlobStore(value: unknown): value is BlobStore {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['put', 'get', 'stream', 'stat', 'missing', 'list', 'delete', 'close'].every((m) => typeof v[m] === 'function');
}

function boolParam(name: string, value: string): boolean {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new ModelStoreError('INVALID_ARGUMENT', `The S3 blob store URL parameter ${name} must be true or false, got ${JSON.stringify(value)}.`);
}

function intParam(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new ModelStoreError('INVALID_ARGUMENT', `The S3 blob store URL parameter ${name} must be a positive integer, got ${JSON.stringify(value)}.`);
  }
  return n;
}

/**
 * Parses an `s3://bucket/prefix?...` spec into {@link S3BlobStoreOptions}. A credential in the URL is refused, and
 * messages never repeat the spec (which may hold one by mistake).
 */
export function parseS3Spec(spec: string): S3BlobStoreOptions {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new ModelStoreError('INVALID_ARGUMENT', `The S3 blob store URL is not a valid URL; expected ${BLOB_STORE_SPEC_FORMS}.`);
  }
  if (url.username || url.password) {
    throw new ModelStoreError(
      'INVALID_ARGUMENT',
      `The S3 blob store URL must not hold credentials (s3://key:secret@bucket); they come from ${CREDENTIAL_CHAIN}.`,
    );
  }
  const bucket = url.hostname;
  if (!bucket) throw new ModelStoreError('INVALID_ARGUMENT', 'The S3 blob store URL names no bucket: write s3://bucket/prefix.');
  let prefix: string;
  try {
    prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  } catch {
    throw new ModelStoreError('INVALID_ARGUMENT', `The prefix of the S3 blob store URL for bucket ${bucket} is not valid percent-encoding.`);
  }
  const options: S3BlobStoreOptions = { bucket, prefix };
  for (const [name, value] of url.searchParams) {
    switch (name as (typeof S3_PARAMS)[number]) {
      case 'endpoint':
        options.endpoint = value;
        break;
      case 'region':
        options.region = value;
        break;
      case 'forcePathStyle':
        options.forcePathStyle = boolParam(name, value);
        break;
      case 'connectionTimeoutMs':
        options.connectionTimeoutMs = intParam(name, value);
        break;
      case 'requestTimeoutMs':
        options.requestTimeoutMs = intParam(name, value);
        break;
      case 'maxAttempts':
        options.maxAttempts = intParam(name, value);
        break;
      default:
        if (CREDENTIAL_PARAMS.has(name.toLowerCase())) {
          throw new ModelStoreError(
            'INVALID_ARGUMENT',
            `The S3 blob store URL must not hold credentials (parameter ${name}); they come from ${CREDENTIAL_CHAIN}. ` +
              'Remove the parameter, and rotate the key if the URL was stored or logged.',
          );
        }
        throw new ModelStoreError(
          'INVALID_ARGUMENT',
          `Unknown parameter ${JSON.stringify(name.slice(0, 40))} in the S3 blob store URL; accepted: ${S3_PARAMS.join(', ')}.`,
        );
    }
  }
  return options;
}

/**
 * A blob store from a spec: a directory path or `file:///abs/path` (filesystem), or `s3://bucket/prefix?...` (S3;
 * parameters `endpoint`, `region`, `forcePathStyle`, `connectionTimeoutMs`, `requestTimeoutMs`, `maxAttempts`;
 * credentials always come from the AWS SDK's default chain, never from the URL).
 * A `BlobStore` object is returned as is. Any other scheme is `ModelStoreError` INVALID_ARGUMENT.
 */
export async function openBlobStore(spec: string | BlobStore): Promise<BlobStore> {
  if (typeof spec !== 'string') {
    if (isBlobStore(spec)) return spec;
    throw new ModelStoreError('INVALID_ARGUMENT', `A blob store must be a BlobStore object or a string: ${BLOB_STORE_SPEC_FORMS}.`);
  }
  if (spec.trim().length === 0) throw new ModelStoreError('INVALID_ARGUMENT', `The blob store location is empty; give ${BLOB_STORE_SPEC_FORMS}.`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(spec)?.[1]?.toLowerCase();
  // One-letter "schemes" are Windows drive letters (C:\blobs): plain paths.
  if (scheme === undefined || scheme.length === 1) return openFsBlobStore(spec);
  if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(spec);
    } catch {
      throw new ModelStoreError('INVALID_ARGUMENT', `The blob store location ${JSON.stringify(spec)} is not a valid file URL; write file:///absolute/path.`);
    }
    return openFsBlobStore(path);
  }
  if (scheme === 's3') return openS3BlobStore(parseS3Spec(spec));
  throw new ModelStoreError(
    'INVALID_ARGUMENT',
    `The blob store location has an unsupported scheme "${scheme.slice(0, 20)}:"; accepted: ${BLOB_STORE_SPEC_FORMS}.`,
  );
}
