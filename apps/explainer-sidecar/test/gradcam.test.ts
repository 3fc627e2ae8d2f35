// Grad-CAM through the sidecar: an ONNX CNN file served as an image model, a float tensor sent over gRPC, the
// class-activation map compared with the independent PyTorch oracle (pytorch-grad-cam definitions).
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { fixture, readFixtureJson } from '../../../tools/fixtures.js';
import { client, describeModel, explainCall, grpcError } from './helpers/client.js';
import { sidecar } from './helpers/sidecar.js';

interface CamRef {
  target_class: number;
  input_shape: number[];
  input: number[][][];
  /** [h][w] at the target layer's resolution. */
  gradcam: number[][];
  target_tensor: string;
}

t.test('gradcam on small-cnn-squares vs oracle', async (t) => {
  const ref = readFixtureJson<CamRef>('oracles', 'cams', 'small-cnn-squares', 'reference.json');
  const s = await sidecar({ models: [{ kind: 'file', name: 'squares', path: fixture('oracles', 'cams', 'small-cnn-squares', 'model.onnx') }] });
  t.teardown(() => s.close(100));
  const c = client(s.grpcPort);
  t.teardown(() => c.close());
  const info = (await describeModel(c, 'squares')).model!;
  t.equal(info.kind, 'image');
  t.same(info.methods, ['gradcam'], 'only image methods apply');
  const image = { tensor: { shape: ref.input_shape, values: ref.input.flat(2) }, layout: 'NCHW' };
  const r = await explainCall(c, { methodName: 'gradcam', parameters: { target_layer: ref.target_tensor }, image, outputs: { indices: [ref.target_class], names: [], topK: 0 } });
  t.equal(r.method, 'cam.gradcam');
  const want = ref.gradcam.flat();
  t.same(r.shape, [1, want.length, 1]);
  t.same(r.outputNames, [info.outputNames[ref.target_class]]);
  let worst = 0;
  const scale = Math.max(...want.map(Math.abs));
  want.forEach((v, i) => (worst = Math.max(worst, Math.abs(r.values[i]! - v))));
  t.ok(worst <= 1e-4 * Math.max(1, scale), `CAM equals the oracle (max |diff| ${worst.toExponential(2)})`);
  const top = await explainCall(c, { methodName: 'gradcam', image });
  t.same(top.values, r.values, 'without a selection the top class is explained (it is the target class here)');

  const bad = await grpcError(explainCall(c, { methodName: 'gradcam', image: { tensor: { shape: [1, 3, 5, 5], values: new Array(75).fill(0) }, layout: 'NCHW' } }));
  t.equal(bad.code, status.INVALID_ARGUMENT);
  t.match(bad.details, /does not fit model "squares" input/);
  const two = await grpcError(explainCall(c, { methodName: 'gradcam', image, outputs: { indices: [0, 1], names: [], topK: 0 } }));
  t.equal(two.code, status.INVALID_ARGUMENT);
  t.match(two.details, /one class per image/);
  // A bare .onnx file declares no preprocessing: encoded images cannot be mapped to its input.
  const png = await grpcError(explainCall(c, { methodName: 'gradcam', image: { encoded: Buffer.from([0x89, 0x50]), layout: '' } }));
  t.equal(png.code, status.FAILED_PRECONDITION);
  t.match(png.details, /declares no image preprocessing.*Genome package with input.image/);
});
