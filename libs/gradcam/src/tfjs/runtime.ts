/**
 * TF.js access for the gradient CAMs. Loading is shared with @genome/model-format's `loadTf()` (tfjs-node when
 * installed, else @tensorflow/tfjs on the WebAssembly backend, else cpu; nothing is imported at module load).
 * `backend` forces one of the registered backends afterwards.
 */
import { loadTf as loadSharedTf } from '@genome/model-format';
import { GradCamError } from '../errors.js';
import { bridgeWasmGradientKernels } from './wasm-bridge.js';

export type Tf = typeof import('@tensorflow/tfjs');
export type TfBackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** Loads TF.js once; with `backend` other than 'auto', switches to that backend (throws when it is unavailable). */
export async function loadTf(backend: TfBackendName = 'auto'): Promise<Tf> {
  let tf: Tf;
  try {
    tf = (await loadSharedTf()) as unknown as Tf;
  } catch (err) {
    throw new GradCamError('MISSING_DEPENDENCY', 'TF.js is needed for gradient CAMs and TF.js models: npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm', { cause: err });
  }
  if (backend !== 'auto' && tf.getBackend() !== backend) {
    let ok = false;
    try {
      ok = await tf.setBackend(backend);
      await tf.ready();
    } catch {
      ok = false;
    }
    if (!ok) throw new GradCamError('MISSING_DEPENDENCY', `TF.js backend '${backend}' is not available; install its package or use backend 'auto'.`);
  }
  if (tf.getBackend() === 'wasm') bridgeWasmGradientKernels(tf);
  return tf;
}
