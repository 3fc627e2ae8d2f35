/**
 * NHWC convolution (group 1) whose input gradient avoids the slow paths of the TF.js WebAssembly backend:
 * stride-1 convolutions differentiate as a forward convolution of the padded dy with the 180°-rotated,
 * in/out-swapped filter (exact: the adjoint of a valid correlation), and no filter gradient is computed (the
 * weights are constants here, unlike in TF.js's fused-conv custom gradient). Other strides use TF.js's own.
 */
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from './runtime.js';

/** `filter` is [kh, kw, in, out]; `flipped` (optional, cached) is the rotated [kh, kw, out, in] filter. */
export function convNhwc(tf: Tf, x: Tensor, filter: Tensor, strides: [number, number], dilations: [number, number], flipped?: Tensor): Tensor {
  const [kh, kw] = filter.shape as [number, number, number, number];
  if (strides[0] !== 1 || strides[1] !== 1 || dilations[0] !== 1 || dilations[1] !== 1) {
    return tf.conv2d(x as never, filter as never, strides, 'valid', 'NHWC', dilations);
  }
  const conv = tf.customGrad(((xx: Tensor) => ({
    value: tf.conv2d(xx as never, filter as never, 1, 'valid'),
    gradFunc: (dy: Tensor) =>
      tf.conv2d(tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]) as never, (flipped ?? flipFilter(tf, filter)) as never, 1, 'valid'),
  })) as never) as (x: Tensor) => Tensor;
  return conv(x);
}

export function flipFilter(tf: Tf, filter: Tensor): Tensor {
  return tf.reverse(tf.transpose(filter, [0, 1, 3, 2]), [0, 1]);
}

/** Explicit [[top, bottom], [left, right]] for TF 'same' / 'valid' padding. */
export function tfPadding(padding: string, h: number, w: number, k: [number, number], s: [number, number], d: [number, number]): [[number, number], [number, number]] {
  if (padding !== 'same') return [[0, 0], [0, 0]];
  const one = (size: number, i: number): [number, number] => {
    const out = Math.ceil(size / s[i]!);
    const total = Math.max((out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [one(h, 0), one(w, 1)];
}
