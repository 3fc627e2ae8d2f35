/**
 * Undecodable request bytes: grpc-js answers INTERNAL ("Error deserializing request") when a deserializer throws.
 * The sidecar wraps every deserializer so such bytes reach the handler as a marker and get INVALID_ARGUMENT with
 * the decoder's message instead. Serializers pass through a Buffer (an answer the handler encoded itself).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { SidecarError } from '../errors.js';

const DECODE_ERROR = Symbol('genome.decodeError');

interface DecodeFailure {
  [DECODE_ERROR]: string;
}

export function tolerantDeserializers<S extends ServiceDefinition>(service: S): S {
  const out: Record<string, unknown> = {};
  for (const [k, m] of Object.entries(service)) {
    out[k] = {
      ...m,
      // Handlers may hand over an already encoded message (encode.ts builds large answers in pieces).
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : m.responseSerialize(value)),
      requestDeserialize: (buf: Buffer) => {
        try {
          return m.requestDeserialize(buf);
        } catch (err) {
          return { [DECODE_ERROR]: (err as Error).message } satisfies DecodeFailure;
        }
      },
    };
  }
  return out as S;
}

/** True when `req` is the marker of undecodable bytes. */
export function isUndecodable(req: unknown): req is DecodeFailure {
  return req !== null && typeof req === 'object' && DECODE_ERROR in req;
}

/** Throws INVALID_REQUEST when `req` is the marker of undecodable bytes. */
export function checkDecoded(req: unknown): void {
  if (isUndecodable(req)) {
    throw new SidecarError('INVALID_REQUEST', `the request is not a valid protobuf message for this method (${req[DECODE_ERROR].slice(0, 200)}); generate stubs from proto/genome/explain/v1/explainer.proto`);
  }
}
