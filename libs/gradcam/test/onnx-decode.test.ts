/**
 * The ONNX graph view over @genome/model-format's decoder: real files and hostile bytes (GradCamError only).
 * The surgery and protobuf writer tests live in libs/model-format/test/onnx-surgery.test.ts.
 */
import t from 'tap';
import fc from 'fast-check';
import { GradCamError, loadCamModel } from '../src/index.js';
import { readOnnxGraph } from '../src/onnx/graph.js';
import { planHead } from '../src/onnx/head.js';
import { readFixture } from '../../../tools/fixtures.js';

const mnist = new Uint8Array(readFixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'));

t.test('decodes mnist-8 (IR 3, initializers listed as inputs)', async (t) => {
  const m = readOnnxGraph(mnist);
  t.equal(m.irVersion, 3);
  t.equal(m.opset, 8);
  t.same(m.nodes.map((n) => n.opType), ['Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Reshape', 'Gemm']);
  t.same(Array.from(m.initializers.get('Pooling160_Output_0_reshape0_shape')!.data), [1, 256], 'int64 initializer');
  const plan = planHead(m, 'ReLU114_Output_0', 'Plus214_Output_0');
  t.same(plan.nodes.map((n) => n.opType), ['MaxPool', 'Reshape', 'Gemm']);
  t.same(plan.unsupported, []);
  t.throws(() => planHead(m, 'nope', 'Plus214_Output_0'), { code: 'INVALID_INPUT' });
  t.throws(() => planHead(m, 'Plus214_Output_0', 'ReLU32_Output_0'), { code: 'INVALID_INPUT' }, 'target after the output');
});

t.test('hostile bytes never hang or crash: GradCamError or a model', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        readOnnxGraph(bytes);
      } catch (err) {
        if (!(err instanceof GradCamError)) throw err;
      }
    }),
    { numRuns: 500, seed: 42 },
  );
  // truncations and single-byte corruptions of a real model
  fc.assert(
    fc.property(fc.integer({ min: 0, max: mnist.length - 1 }), fc.integer({ min: 0, max: 255 }), (cut, byte) => {
      for (const bytes of [mnist.subarray(0, cut), Uint8Array.from(mnist, (b, i) => (i === cut ? byte : b))]) {
        try {
          readOnnxGraph(bytes);
        } catch (err) {
          if (!(err instanceof GradCamError)) throw err;
        }
      }
    }),
    { numRuns: 300, seed: 7 },
  );
  await t.rejects(loadCamModel(new Uint8Array([8, 3, 0, 0])), GradCamError, 'loadCamModel rejects garbage with a typed error');
  t.pass('no hang, no untyped error');
});
