/**
 * Reading a REST request body as JSON, defensively: a size limit (413), a content-type check (415), strict UTF-8, a
 * UTF-8 byte-order mark accepted and dropped (RFC 8259 §8.1 lets parsers ignore it), and a bound on nesting depth
 * checked on the bytes before parsing, so a body nested 10,000 levels deep is a 400 that says so, not a stack overflow.
 */
import type { IncomingMessage } from 'node:http';
import { SidecarError } from '../errors.js';
import { quote } from '@genome/server-kit';

/** Deepest nesting of arrays/objects in a request body (an image as nested [C][H][W] lists needs 5). */
export const MAX_JSON_DEPTH = 64;

/** An HTTP-level refusal with its own status (413, 415, 408), outside the gRPC-status mapping. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly statusName: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Media types accepted for a JSON body. KServe parses any body as JSON whatever its type, and its documented calls
 * use `curl -d` (application/x-www-form-urlencoded) and fetch sends strings as text/plain, so those pass too; types
 * that announce something else (multipart, octet-stream, XML, CSV, images) are refused with 415.
 */
function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') return;
  const [type = '', ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  const json = type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
  if (!json && type !== 'text/plain' && type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `content type ${quote(type)} is not JSON: send the body as application/json`);
  }
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `charset ${quote(charset)} is not supported: send the JSON body as UTF-8`);
  }
}

/** Reads the body up to `limit` bytes; rejects with the signal's reason when it aborts first. */
export async function readBody(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const onAbort = () => req.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > limit) throw new HttpError(413, 'RESOURCE_EXHAUSTED', `request body is larger than ${limit} bytes; split the request or raise --max-message-bytes`);
      chunks.push(c as Buffer);
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks);
}

/** Throws when the JSON text nests arrays/objects deeper than `max` (strings are skipped, escapes honoured). */
export function checkJsonDepth(bytes: Uint8Array, max: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) {
        throw new SidecarError('INVALID_REQUEST', `request body nests lists/objects more than ${max} levels deep (at byte ${i}); send rows as flat lists of numbers`);
      }
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a JSON body after the content-type, encoding and depth checks. */
export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  checkContentType(contentType);
  checkJsonDepth(body, MAX_JSON_DEPTH);
  let text: string;
  try {
    text = utf8.decode(body); // drops a leading BOM
  } catch {
    throw new SidecarError('INVALID_REQUEST', 'request body is not valid UTF-8: send JSON encoded as UTF-8');
  }
  if (text.trim() === '') throw new SidecarError('INVALID_REQUEST', 'request body is empty: send a JSON object like {"instances": [[...], ...]}');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SidecarError('INVALID_REQUEST', `request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}
