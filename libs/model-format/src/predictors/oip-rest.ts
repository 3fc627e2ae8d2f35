/**
 * REST transport for the Open Inference Protocol: `POST {base}/v2/models/{name}[/versions/{v}]/infer` and
 * `GET {base}/v2/models/{name}[/versions/{v}]` with JSON bodies, over the global `fetch`.
 */
import { ModelFormatError } from '../errors.js';
import { eitherSignal, throwIfAborted } from '../cancellation.js';
import { decodeJsonData, shapeSize, type OipOutput } from './oip-tensor.js';
import { OipCallError, type OipInferCall, type OipModelMetadata, type OipTransport } from './oip-transport.js';

export interface RestTransportOptions {
  /** Extra HTTP headers (e.g. authorization, Host for KServe ingress) sent with every call. */
  headers?: Record<string, string>;
  /** Largest response body accepted, bytes (default 64 MiB). */
  maxResponseBytes?: number;
}

function modelPath(model: string, version: string | undefined): string {
  return `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}`;
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function restTransport(baseUrl: string, opts: RestTransportOptions = {}): OipTransport {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new ModelFormatError('INVALID_INPUT', `REST target "${baseUrl}" is not a URL (expected e.g. http://host:8080)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ModelFormatError('INVALID_INPUT', `REST target "${baseUrl}" must be an http:// or https:// URL`);
  }
  const root = base.href.replace(/\/+$/, '');
  const maxBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;

  /**
   * One HTTP exchange. The fetch (headers and body) is aborted by whichever comes first: the per-request
   * deadline (`TIMEOUT`) or the caller's `signal` (rejects with `signal.reason` itself).
   */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    model: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ) {
    throwIfAborted(signal);
    const url = root + path;
    const what = `REST ${method} ${url} for model "${model}"`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...opts.headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: eitherSignal(AbortSignal.timeout(timeoutMs), signal),
      });
      const len = Number(res.headers.get('content-length') ?? '0');
      if (len > maxBytes) throw new OipCallError('RUNTIME', `${what}: response of ${len} bytes exceeds ${maxBytes}`, false);
      text = await res.text();
    } catch (err) {
      throwIfAborted(signal);
      if (err instanceof OipCallError) throw err;
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new OipCallError('TIMEOUT', `${what} timed out after ${timeoutMs} ms`, false, { cause: err });
      }
      const code = e.cause?.code ?? '';
      throw new OipCallError('RUNTIME', `${what} failed: ${code || e.message}`, UNAVAILABLE_CODES.has(code), { cause: err });
    }
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const detail = (json as { error?: unknown } | undefined)?.error ?? text.slice(0, 200);
      const msg = `${what} failed with HTTP ${res.status}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`;
      if (res.status === 400 || res.status === 422) throw new OipCallError('INVALID_INPUT', msg, false);
      if (res.status === 408 || res.status === 504) throw new OipCallError('TIMEOUT', msg, false);
      throw new OipCallError('RUNTIME', msg, res.status === 503 || res.status === 502, undefined);
    }
    if (json === undefined || typeof json !== 'object') {
      throw new OipCallError('RUNTIME', `${what}: response is not a JSON object: ${text.slice(0, 80)}`, false);
    }
    return { json: json as Record<string, unknown>, what, status: res.status };
  }

  return {
    protocol: 'rest',
    target: root,
    async infer(c: OipInferCall): Promise<OipOutput[]> {
      const body: Record<string, unknown> = {
        inputs: c.inputs.map((i) => ({
          name: i.name,
          shape: i.shape,
          datatype: i.datatype,
          data: Array.isArray(i.values) ? i.values : Array.from(i.values as ArrayLike<number>),
        })),
      };
      if (c.outputs) body.outputs = c.outputs.map((name) => ({ name }));
      const { json, what } = await call('POST', `${modelPath(c.model, c.version)}/infer`, c.model, body, c.timeoutMs, c.signal);
      const outputs = json.outputs;
      if (!Array.isArray(outputs)) throw new OipCallError('RUNTIME', `${what}: response has no "outputs" array`, false);
      return outputs.map((o: Record<string, unknown>) => {
        const name = String(o?.name ?? '');
        const w = `${what} output "${name}"`;
        const datatype = String(o?.datatype ?? 'FP64');
        const shape = Array.isArray(o?.shape) ? (o.shape as unknown[]).map(Number) : undefined;
        const values = decodeJsonData(o?.data, datatype, w);
        const sh = shape ?? [values.length];
        if (shapeSize(sh, w) !== values.length) {
          throw new OipCallError('RUNTIME', `${w}: shape [${sh.join(', ')}] but ${values.length} values`, false);
        }
        return { name, datatype, shape: sh, values };
      });
    },
    async metadata(model, version, timeoutMs): Promise<OipModelMetadata | undefined> {
      let json: Record<string, unknown>;
      try {
        ({ json } = await call('GET', modelPath(model, version), model, undefined, timeoutMs));
      } catch (err) {
        if (err instanceof OipCallError && /HTTP (404|405|501)/.test(err.message)) return undefined;
        throw err;
      }
      const tensors = (v: unknown) =>
        Array.isArray(v)
          ? v.map((t: Record<string, unknown>) => ({
              name: String(t?.name ?? ''),
              datatype: String(t?.datatype ?? ''),
              shape: Array.isArray(t?.shape) ? (t.shape as unknown[]).map(Number) : [],
            }))
          : [];
      return {
        name: String(json.name ?? model),
        platform: typeof json.platform === 'string' ? json.platform : undefined,
        inputs: tensors(json.inputs),
        outputs: tensors(json.outputs),
      };
    },
    async close() {},
  };
}
