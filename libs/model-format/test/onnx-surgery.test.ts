/** ONNX graph surgery and the protobuf writer: rewritten real models decode to the intended graphs. */
import t from 'tap';
import { addOnnxGraphOutputs, decodeOnnxModel, encodeAttribute, encodeModel, encodeNode, encodeTensor, encodeValueInfo, extendOnnxGraph, extractOnnxSubgraph, loadOnnxRuntime, OnnxDataType, ProtoWriter } from '../src/index.js';
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
  const node = encodeNode('Mul', ['Plus214_Output_0', 'two'], ['doubled']);
  const two = encodeTensor('two', [1], Float32Array.of(2));
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

t.test("outputs appended to an existing node: mnist-8's last MaxPool also gives its Indices", async (t) => {
  const before = decodeOnnxModel(mnist);
  const pool = before.graph.nodes.filter((n) => n.opType === 'MaxPool').at(-1)!;
  const extended = extendOnnxGraph(mnist, { nodeOutputs: [{ node: pool.outputs[0]!, output: 'pool_indices' }], outputs: [pool.outputs[0]!, { name: 'pool_indices', elemType: OnnxDataType.INT64 }], minOpset: 16 });
  const after = decodeOnnxModel(extended);
  const changed = after.graph.nodes.find((n) => n.name === pool.name)!;
  t.same(changed.outputs, [pool.outputs[0], 'pool_indices'], 'the node keeps its output and gains Indices');
  t.same(after.graph.nodes.map((n) => [n.opType, n.inputs, n.attributes]), before.graph.nodes.map((n) => [n.opType, n.inputs, n.attributes]), 'nothing else changes');
  t.throws(() => extendOnnxGraph(mnist, { nodeOutputs: [{ node: 'no such tensor', output: 'x' }] }), { code: 'INVALID_INPUT' }, 'an unknown node is refused');
  const ort = await loadOnnxRuntime();
  const session = await ort.InferenceSession.create(extended);
  t.teardown(() => session.release());
  const x = new ort.Tensor('float32', Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 29), [1, 1, 28, 28]);
  const out = await session.run({ Input3: x }, [pool.outputs[0]!, 'pool_indices']);
  const y = out[pool.outputs[0]!]!;
  const idx = out.pool_indices!.data as BigInt64Array;
  t.equal(idx.length, y.data.length, 'one index per pooled value');
  const inner = await ort.InferenceSession.create(addOnnxGraphOutputs(mnist, [pool.inputs[0]!]));
  t.teardown(() => inner.release());
  const xin = (await inner.run({ Input3: x }, [pool.inputs[0]!]))[pool.inputs[0]!]!.data as Float32Array;
  t.ok(Array.from(idx).every((k, i) => xin[Number(k)] === (y.data as Float32Array)[i]), 'each index holds its window maximum');
});

t.test('encoders: a model written with them decodes to what was written', async (t) => {
  const bytes = encodeModel(
    {
      name: 'g',
      nodes: [encodeNode('Conv', ['x', 'w'], ['y'], [encodeAttribute('pads', { ints: [1, 0, 1, 0] }), encodeAttribute('group', { i: 2 }), encodeAttribute('alpha', { f: 0.25 }), encodeAttribute('auto_pad', { s: 'NOTSET' })], 'conv')],
      initializers: [encodeTensor('w', [2, 1, 1, 1], Float32Array.of(1.5, -2)), encodeTensor('shape', [2], BigInt64Array.of(-1n, 4n))],
      inputs: [encodeValueInfo('x', OnnxDataType.FLOAT, ['N', 2, 3, 3])],
      outputs: [encodeValueInfo('y', OnnxDataType.FLOAT, ['N', 2, 3, 3]), encodeValueInfo('untyped')],
    },
    13,
  );
  const m = decodeOnnxModel(bytes);
  t.same(m.opsetImports, [{ domain: '', version: 13 }]);
  const n = m.graph.nodes[0]!;
  t.same([n.name, n.opType, n.inputs, n.outputs], ['conv', 'Conv', ['x', 'w'], ['y']]);
  t.same(n.attributes.map((a) => [a.name, a.ints ?? a.i ?? a.f ?? new TextDecoder().decode(a.s)]), [['pads', [1, 0, 1, 0]], ['group', 2], ['alpha', 0.25], ['auto_pad', 'NOTSET']]);
  t.same(m.graph.initializers.map((i) => [i.name, i.dims, i.dataType]), [['w', [2, 1, 1, 1], OnnxDataType.FLOAT], ['shape', [2], OnnxDataType.INT64]]);
  t.same(m.graph.outputs[1]!.type, { kind: 'unknown' }, 'no element type: untyped');
});

t.test('varint round trip including negative int64', async (t) => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, -1, -2, -(2 ** 33)]) {
    const bytes = new ProtoWriter().varint(1, v).finish();
    const r = new ProtoReader(bytes);
    r.next();
    t.equal(r.int64(), v, `int64 ${v}`);
  }
});
