/**
 * Maps errors of `@aws-sdk/client-s3` (service errors, network errors, timeouts, aborts) to `ModelStoreError`s whose
 * messages name the operation, the object and the endpoint, say what to check, and never hold a credential.
 */
import { ModelStoreError } from '../errors.js';

/** What was being done when an S3 call failed, for the message. */
export interface S3CallContext {
  /** E.g. `read blob sha256:...` or `list blobs`. */
  doing: string;
  /** `s3://bucket/key` of the object, or of the store's prefix. */
  at: string;
  /** The endpoint as shown to users (no user-info, no query). */
  endpoint: string;
  /** Strings that must never appear in a message (access key id, secret, session token). */
  secrets: readonly string[];
  signal?: AbortSignal;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
  cause?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const CREDENTIAL_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
]);

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : { message: String(err) };
}

/** The errno-like code of a network error, looking into AggregateError members and causes (Node's happy eyeballs). */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4) return undefined;
  const e = shape(err);
  if (e.code && NETWORK_CODES.has(e.code)) return e.code;
  if (e.name === 'TimeoutError') return 'ETIMEDOUT';
  for (const inner of e.errors ?? []) {
    const c = networkCode(inner, depth + 1);
    if (c) return c;
  }
  return e.cause !== undefined ? networkCode(e.cause, depth + 1) : undefined;
}

/** Removes every secret from a text (SDK messages should hold none; this makes sure). */
function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** True for "no such object" answers (GetObject NoSuchKey, HeadObject 404 NotFound). */
function isNotFound(err: unknown): boolean {
  const e = shape(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}

/** A `ModelStoreError` for a failed S3 call (a ModelStoreError passes through unchanged). */
export function s3Error(err: unknown, ctx: S3CallContext): ModelStoreError {
  if (err instanceof ModelStoreError) return err;
  const e = shape(err);
  const safe = (text: string) => scrubSecrets(text, ctx.secrets);
  const detail = safe(`${e.name ?? 'Error'}${e.code && e.code !== e.name ? ` ${e.code}` : ''}: ${e.message || 'no message'}`);
  // The cause keeps the SDK error's name/code/status but not the error itself (its request metadata may hold headers).
  const cause = Object.assign(new Error(detail), { name: e.name ?? 'Error', code: e.code, httpStatusCode: e.$metadata?.httpStatusCode });
  const status = e.$metadata?.httpStatusCode;
  const head = `Could not ${ctx.doing} at ${ctx.at} (S3 endpoint ${ctx.endpoint})`;

  if (ctx.signal?.aborted || e.name === 'AbortError') {
    return new ModelStoreError('CANCELLED', `${head}: cancelled by its signal.`, { cause: ctx.signal?.reason ?? cause });
  }
  if (e.name === 'NoSuchBucket') {
    return new ModelStoreError('UNAVAILABLE', `${head}: the bucket does not exist (${detail}). Create the bucket, or fix the bucket name in the blob store URL.`, {
      cause,
    });
  }
  if (isNotFound(err)) return new ModelStoreError('NOT_FOUND', `${head}: no such object.`, { cause });
  if ((e.name && CREDENTIAL_NAMES.has(e.name)) || status === 401 || status === 403) {
    return new ModelStoreError(
      'UNAVAILABLE',
      `${head}: access denied (${detail}). Check the credentials of the AWS credential chain (AWS_ACCESS_KEY_ID / ` +
        'AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role) and that they may read and write the bucket.',
      { cause },
    );
  }
  const net = networkCode(err);
  if (net) {
    const what =
      net === 'ETIMEDOUT'
        ? 'the request timed out'
        : net === 'ENOTFOUND' || net === 'EAI_AGAIN'
          ? 'the endpoint host name does not resolve'
          : net === 'ECONNREFUSED'
            ? 'the connection was refused'
            : `the connection failed (${net})`;
    return new ModelStoreError('UNAVAILABLE', `${head}: ${what}. Check that the S3 server is running and reachable at ${ctx.endpoint}.`, { cause });
  }
  if (status !== undefined && status >= 500) {
    return new ModelStoreError('UNAVAILABLE', `${head}: the server answered ${status} (${detail}); retry later.`, { cause });
  }
  return new ModelStoreError('UNAVAILABLE', `${head}: ${detail}.`, { cause });
}
