/** ONNX graph surgery and the protobuf writer: rewritten real models decode to the intended graphs. */
import t from 'tap';
import { addOnnxGraphOutputs, decodeOnnxModel, extractOnnxSubgraph, ProtoWriter } from '../src/index.js';
import { ProtoReader } from '../src/onnx/protobuf.js';
import { readFixture } from '../../../tools/fixtures.js';

const mnist = new Uint8Array(readFixture('models', 'onnx-cnn', 'mnist-8-optimized.onnx'));

t.test('surgery output decodes to the intended graph (onnxruntime runs it in gradcam methods.test.ts)', async (t) => {
  const m = decodeOnnxModel(mnist).graph;
  const extra = decodeOnnxModel(addOnnxGraphOutputs(mnist, [{ name: 'ReLU114_Output_0', elemType: 1 }])).graph;
  t.same(extra.outputs.map((o) => o.name), ['Plus214_Output_0', 'ReLU114_Output_0']);
  const head = decodeOnnxModel(extractOnnxSubgraph(mnist, new Set([5, 6, 7]), [{ name: 'ReLU114_Output_0', elemType: 1 }])).graph;
  t.same(head.nodes.map((n) => n.opType), ['MaxPool', 'Reshape', 'Gemm']);
  t.ok(head.inputs.some((i) => i.name === 'ReLU114_Output_0'), 'the target is the new graph input');
  t.notOk(head.inputs.some((i) => i.name === 'Input3'), 'the image input is gone');
  t.ok(head.initializers.length < m.initializers.length, 'unused initializers dropped');
});

t.test('added outputs: typed or untyped, existing outputs not repeated, other fields kept', async (t) => {
  const before = decodeOnnxModel(mnist);
  const after = decodeOnnxModel(addOnnxGraphOutputs(mnist, ['ReLU114_Output_0', 'Plus214_Output_0', { name: 'ReLU32_Output_0', elemType: 1 }]));
  t.same(after.graph.outputs.map((o) => o.name), ['Plus214_Output_0', 'ReLU114_Output_0', 'ReLU32_Output_0']);
  t.same(after.graph.outputs[1]!.type, { kind: 'unknown' }, 'a bare name is left untyped');
  t.same(after.graph.outputs[2]!.type, { kind: 'tensor', elemType: 1 }, 'elemType gives a tensor type');
  t.same(after.graph.nodes, before.graph.nodes);
  t.equal(after.graph.initializers.length, before.graph.initializers.length);
  t.same(after.opsetImports, before.opsetImports);
  t.equal(after.irVersion, before.irVersion);
  t.throws(() => addOnnxGraphOutputs(new Uint8Array([8, 3]), ['x']), { code: 'INVALID_MODEL' }, 'no graph');
  t.throws(() => extractOnnxSubgraph(mnist.subarray(0, 100), [0], []), { code: 'INVALID_MODEL' }, 'truncated');
});

t.test('varint round trip including negative int64', async (t) => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, -1, -2, -(2 ** 33)]) {
    const bytes = new ProtoWriter().varint(1, v).finish();
    const r = new ProtoReader(bytes);
    r.next();
    t.equal(r.int64(), v, `int64 ${v}`);
  }
});
