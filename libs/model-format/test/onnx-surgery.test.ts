/** ONNX graph surgery and the protobuf writer: rewritten real models decode to the intended graphs. */
import t from 'tap';
import { addOnnxGraphOutputs, decodeOnnxModel, extendOnnxGraph, extractOnnxSubgraph, loadOnnxRuntime, ProtoWriter } from '../src/index.js';
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

t.test('extended graph: nodes appended, opset raised, IR 3 initializers listed as inputs; onnxruntime runs it', async (t) => {
  const node = new ProtoWriter().string(1, 'Plus214_Output_0').string(1, 'two').string(2, 'doubled').string(3, 'double').string(4, 'Mul').finish();
  const two = new ProtoWriter().varint(1, 1).varint(2, 1).string(8, 'two').bytes(9, new Uint8Array(Float32Array.of(2).buffer)).finish();
  const extended = extendOnnxGraph(mnist, { nodes: [node], initializers: [two], outputs: ['Plus214_Output_0', { name: 'doubled', elemType: 1 }], minOpset: 16 });
  const before = decodeOnnxModel(mnist);
  const after = decodeOnnxModel(extended);
  t.same(after.graph.nodes.map((n) => n.opType), [...before.graph.nodes.map((n) => n.opType), 'Mul'], 'the node comes after the existing ones');
  t.same(after.graph.outputs.map((o) => o.name), ['Plus214_Output_0', 'doubled'], 'an existing output is not repeated');
  t.same(after.opsetImports, [{ domain: '', version: 16 }], 'default opset raised from 8');
  t.equal(after.irVersion, before.irVersion, 'IR version kept');
  t.ok(after.graph.inputs.some((i) => i.name === 'two'), 'IR < 4: the new initializer is also a graph input');
  t.same(decodeOnnxModel(extendOnnxGraph(mnist, { minOpset: 7 })).opsetImports, before.opsetImports, 'a lower minOpset changes nothing');
  const ort = await loadOnnxRuntime();
  const session = await ort.InferenceSession.create(extended);
  t.teardown(() => session.release());
  const x = new ort.Tensor('float32', Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 29), [1, 1, 28, 28]);
  const out = await session.run({ Input3: x });
  const y = out.Plus214_Output_0!.data as Float32Array;
  t.same(Array.from(out.doubled!.data as Float32Array), Array.from(y, (v) => 2 * v), 'onnxruntime computes the appended node');
});

t.test('varint round trip including negative int64', async (t) => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, -1, -2, -(2 ** 33)]) {
    const bytes = new ProtoWriter().varint(1, v).finish();
    const r = new ProtoReader(bytes);
    r.next();
    t.equal(r.int64(), v, `int64 ${v}`);
  }
});
