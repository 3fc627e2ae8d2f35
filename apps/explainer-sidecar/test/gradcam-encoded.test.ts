// Encoded images through the sidecar: a Genome package (the small-cnn-squares ONNX CNN + an input.image block) takes
// PNG bytes over gRPC (image.encoded) and REST (KServe V1 {"b64": ...}); the server decodes and preprocesses them as
// the package declares. The PNG holds the oracle's input quantised to 8 bits, so the CAM must equal the CAM of the
// quantised tensor sent directly, and stay close to the independent PyTorch oracle.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { fixture } from '../../../tools/fixtures.js';
import { client, describeModel, explainCall, grpcError } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';
import { squaresPackage } from './helpers/squares.js';


function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]!), (mb += b[i]!);
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma, y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / Math.sqrt(saa * sbb);
}

t.test('gradcam on PNG bytes (gRPC and REST) with the package preprocessing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-png-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The oracle's input (CHW in [0, 1]) as an 8-bit RGBA PNG, and the same quantised pixels as a float tensor.
  const { png, quantised, shape, ref } = squaresPackage(dir);
  const [, C, H, W] = shape;
  writeFileSync(join(dir, 'input.png'), png);

  const s = await sidecar({ models: [{ kind: 'package', path: dir }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const info = (await describeModel(c, 'squares')).model!;
  t.equal(info.kind, 'image');
  t.ok(info.methods.includes('gradcam'), 'gradcam applies to the package (it keeps the ONNX bytes)');

  const params = { target_layer: ref.target_tensor };
  const fromPng = await explainCall(c, { methodName: 'gradcam', parameters: params, image: { encoded: png, layout: '' } });
  const fromTensor = await explainCall(c, { methodName: 'gradcam', parameters: params, image: { tensor: { shape: [1, C, H, W], values: Array.from(quantised) }, layout: 'NCHW' } });
  const want = ref.gradcam.flat();
  t.same(fromPng.shape, [1, want.length, 1], 'one CAM at the target layer resolution');
  const top = (JSON.parse(fromPng.explanationJson) as { details: { targets: { class: number }[] } }).details.targets[0]!.class;
  t.equal(top, ref.target_class, "the PNG's top class is the oracle's class");
  let worst = 0;
  const scale = Math.max(...fromTensor.values.map(Math.abs));
  fromTensor.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(fromPng.values[i]! - v))));
  t.ok(worst <= 1e-5 * scale, `PNG path equals the quantised tensor path (max |diff| ${worst.toExponential(2)}, scale ${scale.toExponential(2)})`);
  const r = pearson(fromPng.values, want);
  t.ok(r > 0.99, `CAM of the 8-bit PNG correlates with the float oracle CAM (r = ${r.toFixed(5)})`);

  // REST: KServe V1 binary instances.
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/squares:explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [{ b64: png.toString('base64') }, { b64: png.toString('base64') }], method: 'gradcam', parameters: params }),
  });
  t.equal(res.status, 200);
  const j = (await res.json()) as { explanations: { values: number[][][] }[] };
  t.equal(j.explanations.length, 2, 'two images in one batch');
  for (const e of j.explanations) t.same(e.values.flat(2), fromPng.values, 'REST b64 equals gRPC encoded');

  // A real photograph (any size, JPEG) is resized to the model input.
  const jpeg = readFileSync(fixture('data', 'images', 'gradcam', 'dog.jpg'));
  const photo = await explainCall(c, { methodName: 'gradcam', image: { encoded: jpeg, layout: '' } });
  t.same(photo.shape, [1, want.length, 1], 'a JPEG photo is decoded and resized');
  t.ok(photo.values.every(Number.isFinite));

  // Bad bytes are INVALID_ARGUMENT, never a crash.
  const junk = await grpcError(explainCall(c, { methodName: 'gradcam', image: { encoded: Buffer.from('not an image'), layout: '' } }));
  t.equal(junk.code, status.INVALID_ARGUMENT);
  t.match(junk.details, /not a decodable PNG or JPEG/);
  const badRest = await fetch(`http://127.0.0.1:${s.httpPort}/v1/models/squares:explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [[1, 2, 3]] }),
  });
  t.equal(badRest.status, 400);
  t.match(((await badRest.json()) as { error: string }).error, /b64/);
});
