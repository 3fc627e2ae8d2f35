/**
 * The standard services the sidecar hosts beside its own (grpc.health.v1.Health, server reflection v1 and
 * v1alpha) answer hostile input like the Explainer does: undecodable bytes are INVALID_ARGUMENT (grpc-js would say
 * INTERNAL), a handler that throws is INTERNAL with an error id in the log instead of an uncaught exception, error
 * details are capped, and a health service name longer than any served one is refused before it is echoed or
 * watched.
 */
import { randomUUID } from 'node:crypto';
import { status, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { capMessage } from '@genome/server-kit';
import { isUndecodable, tolerantDeserializers } from './decode.js';

/** Longest health service name accepted (served names are a few dozen characters). */
export const MAX_HEALTH_SERVICE_CHARS = 512;

type Err = { code: status; details: string };
type AnyCall = {
  request?: unknown;
  emit(event: 'error', err: unknown): boolean;
  on(event: string, listener: (...a: unknown[]) => void): unknown;
};

const invalid = (what: string): Err => ({ code: status.INVALID_ARGUMENT, details: `the request is not a valid protobuf message for ${what}` });

function tooLongServiceName(req: unknown): Err | null {
  const s = (req as { service?: unknown } | undefined)?.service;
  return typeof s === 'string' && s.length > MAX_HEALTH_SERVICE_CHARS
    ? { code: status.INVALID_ARGUMENT, details: `the service name is ${s.length} characters long; health is served for names up to ${MAX_HEALTH_SERVICE_CHARS}` }
    : null;
}

function capped(err: unknown): unknown {
  const e = err as { details?: unknown } | null;
  return e && typeof e.details === 'string' ? Object.assign(e, { details: capMessage(e.details) }) : err;
}

/** Wraps each handler of `impl` (a service added by a library) with the checks above. */
function guardHandlers(def: ServiceDefinition, impl: UntypedServiceImplementation, logger: Logger): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const handler = (impl[name] ?? impl[method.originalName ?? '']) as ((...a: unknown[]) => void) | undefined;
    if (!handler) continue;
    const what = method.path;
    const internal = (err: unknown): Err => {
      const errorId = randomUUID();
      logger.error({ err, errorId, rpc: what }, 'call failed (internal)');
      return { code: status.INTERNAL, details: `internal error (error id ${errorId}; see the server log)` };
    };
    const wrapped = (call: AnyCall, callback?: (err: unknown, value?: unknown) => void): void => {
      const fail = (err: Err): void => {
        if (callback) callback(err);
        else call.emit('error', err);
      };
      if (!method.requestStream) {
        if (isUndecodable(call.request)) return fail(invalid(what));
        const long = tooLongServiceName(call.request);
        if (long) return fail(long);
      } else {
        // Streamed requests: a message that does not decode ends the call with INVALID_ARGUMENT instead of reaching
        // the handler's 'data' listener, and later messages are dropped (a handler writing after the end would
        // destroy the stream before its status goes out).
        const on = call.on.bind(call);
        let failed = false;
        call.on = (event: string, listener: (...a: unknown[]) => void) =>
          on(event, event !== 'data' ? listener : (m: unknown) => {
            if (failed) return;
            if (!isUndecodable(m)) {
              try {
                return listener(m);
              } catch (err) {
                failed = true;
                return fail(internal(err));
              }
            }
            failed = true;
            fail(invalid(what));
          });
      }
      try {
        if (callback) handler.call(impl, call, (err: unknown, value?: unknown) => callback(capped(err), value));
        else handler.call(impl, call);
      } catch (err) {
        fail(internal(err));
      }
    };
    out[name] = wrapped as never;
  }
  return out;
}

/** A view of `server` whose addService guards what libraries add (health, reflection). */
export function guardedServer(server: Server, logger: Logger): Server {
  return Object.create(server, {
    addService: {
      value: (def: ServiceDefinition, impl: UntypedServiceImplementation) => server.addService(tolerantDeserializers(def), guardHandlers(def, impl, logger)),
    },
  }) as Server;
}
