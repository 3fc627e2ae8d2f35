/**
 * The TF.js WebAssembly backend lacks a few gradient kernels that exact CAM gradients hit
 * (Conv2DBackpropFilter, reached through the fused-conv custom gradient of Keras Conv2D layers and GraphModel
 * _FusedConv2D; DepthwiseConv2dNativeBackpropInput/Filter). Each missing one is registered for `wasm` as a
 * bridge that runs TF.js's own `cpu` kernel on copies of the inputs and writes the result into wasm memory, so
 * results are identical to the cpu backend and only that kernel leaves the fast backend. Only kernels that are
 * not registered yet are added.
 */
import type { Tf } from './runtime.js';

const BRIDGED = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'];
/**
 * Kernels the wasm backend has but gets wrong: MaxPoolGrad (tfjs-backend-wasm 4.22) drops gradient for some
 * windows with tied maxima (e.g. ReLU zeros, 16 channels, 14x14 input: 212 of 256 windows get a gradient,
 * cpu routes all 256). Replaced by the cpu kernel through the same bridge; test/tfjs.test.ts checks both.
 */
const REPLACED = ['MaxPoolGrad'];

interface Info {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface CpuBackend {
  write(values: ArrayLike<number>, shape: number[], dtype: string): object;
  readSync(dataId: object): ArrayLike<number>;
  disposeData(dataId: object, force?: boolean): boolean;
}
interface WasmBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array;
}

let done = false;

/**
 * Conv2DBackpropFilter (NHWC, float32) on typed arrays: `dW[kh, kw, ci, co] = sum_{n, oy, ox}
 * x[n, oy*sh + kh*dh - top, ox*sw + kw*dw - left, ci] * dy[n, oy, ox, co]` (out-of-range taps are padding).
 * The inner loop runs over contiguous output channels.
 */
function conv2dFilterGrad(tf: Tf, x: Float32Array, xShape: number[], dy: Float32Array, attrs: Record<string, unknown>): { data: Float32Array; shape: number[] } | undefined {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape as never, filterShape, attrs.strides as never, 1, attrs.pad as never, attrs.dimRoundingMode as never, false, 'channelsLast');
  const [N, H, W, C] = xShape as [number, number, number, number];
  const CO = filterShape[3];
  const { top, left } = info.padInfo;
  const dW = new Float32Array(info.filterHeight * info.filterWidth * C * CO);
  for (let kh = 0; kh < info.filterHeight; kh++) {
    for (let kw = 0; kw < info.filterWidth; kw++) {
      const tap = (kh * info.filterWidth + kw) * C * CO;
      for (let n = 0; n < N; n++) {
        for (let oy = 0; oy < info.outHeight; oy++) {
          const iy = oy * info.strideHeight + kh * info.dilationHeight - top;
          if (iy < 0 || iy >= H) continue;
          for (let ox = 0; ox < info.outWidth; ox++) {
            const ix = ox * info.strideWidth + kw * info.dilationWidth - left;
            if (ix < 0 || ix >= W) continue;
            const xo = ((n * H + iy) * W + ix) * C;
            const dyo = ((n * info.outHeight + oy) * info.outWidth + ox) * CO;
            for (let ci = 0; ci < C; ci++) {
              const xv = x[xo + ci]!;
              if (xv === 0) continue;
              const wo = tap + ci * CO;
              for (let co = 0; co < CO; co++) dW[wo + co]! += xv * dy[dyo + co]!;
            }
          }
        }
      }
    }
  }
  return { data: dW, shape: filterShape };
}

export function bridgeWasmGradientKernels(tf: Tf): void {
  if (done) return;
  done = true;
  const cpu = tf.findBackend('cpu') as unknown as CpuBackend | undefined;
  if (!cpu) return;
  for (const name of [...BRIDGED, ...REPLACED]) {
    if (!tf.getKernel(name, 'cpu')) continue;
    if (tf.getKernel(name, 'wasm')) {
      if (!REPLACED.includes(name)) continue;
      tf.unregisterKernel(name, 'wasm');
    }
    const cpuKernel = tf.getKernel(name, 'cpu')!;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const wasm = backend as unknown as WasmBackend;
        if (name === 'Conv2DBackpropFilter') {
          const ins = inputs as unknown as { x: Info; dy: Info };
          const r = conv2dFilterGrad(tf, wasm.readSync(ins.x.dataId) as Float32Array, ins.x.shape, wasm.readSync(ins.dy.dataId) as Float32Array, attrs as Record<string, unknown>);
          if (r) {
            const res = wasm.makeOutput(r.shape, 'float32');
            wasm.typedArrayFromHeap(res).set(r.data);
            return res as never;
          }
        }
        const temp: object[] = [];
        const cpuInputs: Record<string, Info> = {};
        for (const [k, v] of Object.entries(inputs as Record<string, Info>)) {
          const dataId = cpu.write(Float32Array.from(wasm.readSync(v.dataId)), v.shape, v.dtype);
          temp.push(dataId);
          cpuInputs[k] = { dataId, shape: v.shape, dtype: v.dtype };
        }
        try {
          const out = cpuKernel.kernelFunc({ inputs: cpuInputs as never, backend: cpu as never, attrs }) as unknown as Info;
          temp.push(out.dataId);
          const res = wasm.makeOutput(out.shape, out.dtype);
          wasm.typedArrayFromHeap(res).set(cpu.readSync(out.dataId) as Float32Array);
          return res as never;
        } finally {
          for (const id of temp) cpu.disposeData(id, true);
        }
      },
    });
  }
}
