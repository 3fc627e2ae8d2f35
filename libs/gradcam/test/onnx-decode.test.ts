/** The ONNX decoder and graph surgery: real files, hostile bytes, and rewritten models that onnxruntime loads. */
import t from 'tap';
import fc from 'fast-check';
import { GradCamError, loadCamModel } from '../src/index.js';
import { decodeOnnx } from '../src/onnx/model.js';
import { planHead } from '../src/onnx/head.js';
import { subModel, withExtraOutputs } from '../src/onnx/surgery.js';
import { WireReader, WireWriter } from '../src/onnx/wire.js';
import { readFixture } from '../../../tools/fixtures.js';

const mnist = new Uint8Array(readFixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'));

t.test('decodes mnist-8 (IR 3, initializers listed as inputs)', async (t) => {
  const m = decodeOnnx(mnist);
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

t.test('surgery output decodes to the intended graph (onnxruntime runs it in methods.test.ts)', async (t) => {
  const m = decodeOnnx(mnist);
  const extra = decodeOnnx(withExtraOutputs(m, ['ReLU114_Output_0'], [1]));
  t.same(extra.outputs.map((o) => o.name), ['Plus214_Output_0', 'ReLU114_Output_0']);
  const head = decodeOnnx(subModel(m, new Set([5, 6, 7]), [{ name: 'ReLU114_Output_0', elemType: 1 }]));
  t.same(head.nodes.map((n) => n.opType), ['MaxPool', 'Reshape', 'Gemm']);
  t.ok(head.inputs.some((i) => i.name === 'ReLU114_Output_0'), 'the target is the new graph input');
  t.notOk(head.inputs.some((i) => i.name === 'Input3'), 'the image input is gone');
  t.ok(head.initializers.size < m.initializers.size, 'unused initializers dropped');
});

t.test('varint round trip including negative int64', async (t) => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, -1, -2, -(2 ** 33)]) {
    const bytes = new WireWriter().varint(1, v).finish();
    const r = new WireReader(bytes);
    r.tag();
    t.equal(r.int64(), v, `int64 ${v}`);
  }
});

t.test('hostile bytes never hang or crash: GradCamError or a model', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        decodeOnnx(bytes);
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
          decodeOnnx(bytes);
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
