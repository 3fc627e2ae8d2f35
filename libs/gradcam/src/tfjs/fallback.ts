/**
 * Runs a TF.js computation, and when the active backend lacks a gradient kernel (the WebAssembly backend has no
 * DepthwiseConv2dNativeBackpropInput, for example) runs it on the `cpu` backend and switches back afterwards, so
 * forward passes keep the fast backend. `state.cpu` remembers the need per model.
 */
import type { Tf } from './runtime.js';

export async function withKernelFallback<T>(tf: Tf, run: () => T, state: { cpu?: boolean } = {}): Promise<T> {
  const prev = tf.getBackend();
  if (!state.cpu || prev === 'cpu') {
    try {
      return run();
    } catch (err) {
      if (!/not registered for backend/i.test(String((err as Error)?.message)) || prev === 'cpu') throw err;
      state.cpu = true;
    }
  }
  await tf.setBackend('cpu');
  try {
    return run();
  } finally {
    await tf.setBackend(prev);
  }
}
