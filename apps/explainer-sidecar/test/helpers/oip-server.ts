/**
 * A fake Open Inference Protocol model server (grpc-js and node:http, port 0) serving one linear model
 * y = bias + sum_i weights[i] * x_i, so Shapley values are known in closed form: w_i * (x_i - E_bg[x_i]).
 */
import { startFakeModelServer, type FakeOipPorts, type FakeOipServer } from './oip-fake.js';

export interface LinearModel {
  name: string;
  weights: number[];
  bias: number;
}

export type FakeOip = FakeOipServer;

function predict(m: LinearModel, x: ArrayLike<number>, n: number): number[] {
  const F = m.weights.length;
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let y = m.bias;
    for (let f = 0; f < F; f++) y += m.weights[f]! * x[r * F + f]!;
    out.push(y);
  }
  return out;
}

export function startFakeOip(model: LinearModel, ports: FakeOipPorts = {}): Promise<FakeOip> {
  return startFakeModelServer<{ x: ArrayLike<number>; n: number }>({
    name: model.name,
    platform: 'linear',
    inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, model.weights.length] }],
    output: { name: 'y', datatype: 'FP64', shape: [-1, 1] },
    fromGrpc(req) {
      const input = req.inputs[0]!;
      const n = input.shape[0]!;
      if (req.rawInputContents.length > 0) {
        const b = req.rawInputContents[0]!;
        const bytes = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        return { x: input.datatype === 'FP32' ? new Float32Array(bytes) : new Float64Array(bytes), n };
      }
      const c = input.contents!;
      return { x: input.datatype === 'FP32' ? c.fp32Contents : c.fp64Contents, n };
    },
    fromRest(body) {
      const inp = body.inputs[0]!;
      return { x: inp.data.flat(4) as number[], n: inp.shape[0]! };
    },
    compute: ({ x, n }) => ({ rows: n, data: predict(model, x, n) }),
  }, ports);
}
