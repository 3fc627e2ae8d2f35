/** Target scores as TF.js ops: the differentiable scalar summed over jobs for the gradient pass. */
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import type { ResolvedTarget } from './cam-model.js';
import type { Tf } from './tfjs/runtime.js';

/** Per-job scores `[J]` for a `[J, K]` output tensor. */
export function targetScores(tf: Tf, outputs: Tensor, targets: readonly ResolvedTarget[]): Tensor {
  const J = outputs.shape[0]!;
  const K = outputs.size / J;
  const out2 = outputs.rank === 2 ? outputs : tf.reshape(outputs, [J, K]);
  if (targets.every((t) => t.kind === 'class')) {
    const m = new Float32Array(J * K);
    targets.forEach((t, j) => (m[j * K + (t as { index: number }).index] = 1));
    const mask = tf.tensor2d(m, [J, K]);
    const soft = targets.some((t) => t.kind === 'class' && t.softmax);
    if (!soft) return tf.sum(tf.mul(out2, mask), 1);
    const sm = tf.softmax(out2);
    const useSoft = tf.tensor2d(targets.map((t) => ((t as { softmax: boolean }).softmax ? 1 : 0)), [J, 1]);
    const mixed = tf.add(tf.mul(sm, useSoft), tf.mul(out2, tf.sub(1, useSoft)));
    return tf.sum(tf.mul(mixed, mask), 1);
  }
  // rows by slice (unstack's gradient fails when some rows get no gradient)
  return tf.stack(
    targets.map((t, j) => {
      const row = tf.reshape(tf.slice(out2, [j, 0], [1, K]), [K]);
      if (t.kind === 'class') return t.softmax ? tf.gather(tf.softmax(row), t.index) : tf.gather(row, t.index);
      return tf.reshape(t.fn(row as never, tf), []) as Scalar;
    }),
  );
}
