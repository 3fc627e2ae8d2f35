/** Builds small ONNX models for tests of any package with model-format's ONNX encoders (real protobuf, run by onnxruntime). */
import { encodeAttribute, encodeModel, encodeNode, encodeTensor, encodeValueInfo, OnnxDataType } from '@genome/model-format';

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: { name: string; ints?: number[]; i?: number; f?: number }[];
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  data: Float32Array;
}

export function buildModel(nodes: NodeSpec[], input: [string, (number | string)[]], output: [string, (number | string)[]], initializers: InitializerSpec[] = []): Uint8Array {
  const attribute = (a: NonNullable<NodeSpec['attrs']>[number]): Uint8Array => encodeAttribute(a.name, a.f !== undefined ? { f: a.f } : a.ints ? { ints: a.ints } : { i: a.i ?? 0 });
  return encodeModel(
    {
      name: 'test',
      nodes: nodes.map((n) => encodeNode(n.op, n.inputs, n.outputs, (n.attrs ?? []).map(attribute))),
      initializers: initializers.map((t) => encodeTensor(t.name, t.dims, t.data)),
      inputs: [encodeValueInfo(input[0], OnnxDataType.FLOAT, input[1])],
      outputs: [encodeValueInfo(output[0], OnnxDataType.FLOAT, output[1])],
    },
    17,
  );
}
