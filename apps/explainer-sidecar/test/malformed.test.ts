// Malformed requests get INVALID_ARGUMENT (or the precise status) with a message saying what to fix; the server
// never crashes and keeps serving afterwards.
import t from 'tap';
import { makeGenericClientConstructor, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { client, explainCall, grpcError } from './helpers/client.js';
import { linearSetup } from './helpers/linear.js';
import { sidecar } from './helpers/sidecar.js';

const rows = (xs: number[][]) => ({ rows: xs.map((values) => ({ values })), featureNames: [] as string[], values: [] as number[] });

t.test('malformed requests', async (t) => {
  const lin = await linearSetup();
  t.teardown(() => lin.close());
  const s = await sidecar({ models: [lin.spec], maxRows: 50, maxMessageBytes: 64 * 1024 });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());

  const cases: [string, Parameters<typeof explainCall>[1], number, RegExp][] = [
    ['no input', { methodName: 'kernel_shap' }, status.INVALID_ARGUMENT, /no input: set one of tabular, text or image/],
    ['no rows', { methodName: 'kernel_shap', tabular: rows([]) }, status.INVALID_ARGUMENT, /no rows to explain/],
    ['short row', { methodName: 'kernel_shap', tabular: rows([[1, 2, 3], [1, 2]]) }, status.INVALID_ARGUMENT, /row 1 has 2 values; model "linear" expects 3: a, b, c/],
    ['flat values not a multiple', { methodName: 'kernel_shap', tabular: { values: [1, 2, 3, 4], rows: [], featureNames: [] } }, status.INVALID_ARGUMENT, /not a multiple of the model's 3 features/],
    ['rows and values', { methodName: 'kernel_shap', tabular: { values: [1, 2, 3], rows: [{ values: [1, 2, 3] }], featureNames: [] } }, status.INVALID_ARGUMENT, /either tabular.rows or tabular.values/],
    ['unknown feature name', { methodName: 'kernel_shap', tabular: { featureNames: ['a', 'b', 'zz'], rows: [{ values: [1, 2, 3] }], values: [] } }, status.INVALID_ARGUMENT, /missing "c"/],
    ['duplicate feature name', { methodName: 'kernel_shap', tabular: { featureNames: ['a', 'a', 'b'], rows: [{ values: [1, 2, 3] }], values: [] } }, status.INVALID_ARGUMENT, /lists "a" twice/],
    ['unknown method', { methodName: 'magic', tabular: rows([[1, 2, 3]]) }, status.INVALID_ARGUMENT, /unknown method "magic"; this server knows: .*kernel_shap/],
    ['unknown enum value', { method: 99 as never, tabular: rows([[1, 2, 3]]) }, status.INVALID_ARGUMENT, /unknown method enum value 99/],
    ['unknown parameter', { methodName: 'kernel_shap', parameters: { nsample: 10 }, tabular: rows([[1, 2, 3]]) }, status.INVALID_ARGUMENT, /unknown parameter "nsample" for method "kernel_shap"; it accepts: nsamples/],
    ['bad parameter type', { methodName: 'kernel_shap', parameters: { nsamples: 'lots' }, tabular: rows([[1, 2, 3]]) }, status.INVALID_ARGUMENT, /"nsamples" must be an integer/],
    ['library-level bad option', { methodName: 'kernel_shap', parameters: { nsamples: 2 }, tabular: rows([[1, 2, 3]]) }, status.INVALID_ARGUMENT, /nsamples=2 is too small/],
    ['unknown model', { model: { name: 'other', version: '' }, methodName: 'kernel_shap', tabular: rows([[1, 2, 3]]) }, status.NOT_FOUND, /no model named "other"/],
    ['wrong version', { model: { name: 'linear', version: '9' }, methodName: 'kernel_shap', tabular: rows([[1, 2, 3]]) }, status.NOT_FOUND, /not "9"/],
    ['text for a tabular model', { methodName: 'kernel_shap', text: { texts: ['hi'] } }, status.INVALID_ARGUMENT, /takes tabular input, not text/],
    ['method not for this input', { methodName: 'exact_shap', text: { texts: ['hi'] } }, status.INVALID_ARGUMENT, /takes tabular input/],
    ['too many rows', { methodName: 'kernel_shap', tabular: rows(Array.from({ length: 51 }, () => [1, 2, 3])) }, status.INVALID_ARGUMENT, /51 rows in one request; the limit is 50/],
    ['bad output name', { methodName: 'kernel_shap', tabular: rows([[1, 2, 3]]), outputs: { names: ['zz'], indices: [], topK: 0 } }, status.INVALID_ARGUMENT, /unknown output "zz"/],
    ['message too large', { methodName: 'kernel_shap', tabular: rows(Array.from({ length: 49 }, () => Array.from({ length: 3 }, () => 1))), requestId: 'x'.repeat(70 * 1024) }, status.RESOURCE_EXHAUSTED, /./],
  ];
  for (const [what, req, code, msg] of cases) {
    const e = await grpcError(explainCall(c, req));
    t.equal(e.code, code, `${what}: status ${status[code]}`);
    t.match(e.details, msg, `${what}: message says what to fix`);
  }

  t.test('bytes that are not a protobuf message -> INVALID_ARGUMENT', async (t) => {
    const Raw = makeGenericClientConstructor(
      { explain: { path: '/genome.explain.v1.Explainer/Explain', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      'Raw',
    );
    const raw = new Raw(`127.0.0.1:${s.grpcPort}`, credentials.createInsecure()) as unknown as { explain: (b: Buffer, cb: (e: ServiceError | null) => void) => void; close(): void };
    t.teardown(() => raw.close());
    // field 1 (ModelRef) as length-delimited with a length past the end of the buffer
    const e = await new Promise<ServiceError>((resolve) => raw.explain(Buffer.from([0x0a, 0x7f, 0x01]), (err) => resolve(err!)));
    t.equal(e.code, status.INVALID_ARGUMENT);
    t.match(e.details, /not a valid protobuf message/);
  });

  // Still serving after all that.
  const ok = await explainCall(c, { methodName: 'kernel_shap', tabular: rows([[1, 2, 3]]) });
  t.same(ok.shape, [1, 3, 1], 'server still answers');
});
