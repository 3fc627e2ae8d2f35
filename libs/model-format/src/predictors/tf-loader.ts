/**
 * Loads TensorFlow.js with the best backend available, once: `@tensorflow/tfjs-node` (native TensorFlow) when
 * it is installed, else `@tensorflow/tfjs` on the WebAssembly backend (`@tensorflow/tfjs-backend-wasm`), else
 * on the pure-JS cpu backend. `GENOME_TF_BACKEND=cpu|wasm|tensorflow` forces one. Shared with @genome/gradcam.
 */
import { ModelFormatError } from '../errors.js';

export type Tf = typeof import('@tensorflow/tfjs');

let loading: Promise<Tf> | undefined;

function unwrap<T>(m: T): T {
  const d = (m as { default?: T }).default;
  return d && typeof d === 'object' && 'tensor' in (d as object) ? d : m;
}

async function tryImport(name: string): Promise<unknown | undefined> {
  try {
    return await import(name);
  } catch {
    return undefined;
  }
}

async function load(): Promise<Tf> {
  const forced = process.env.GENOME_TF_BACKEND;
  if (!forced || forced === 'tensorflow') {
    const node = await tryImport('@tensorflow/tfjs-node');
    if (node) {
      const tf = unwrap(node as Tf);
      await tf.ready();
      return tf;
    }
  }
  const core = await tryImport('@tensorflow/tfjs');
  if (!core) {
    throw new ModelFormatError(
      'MISSING_DEPENDENCY',
      'TF.js is needed to run TF.js models: npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm (or @tensorflow/tfjs-node)',
    );
  }
  const tf = unwrap(core as Tf);
  if (!forced || forced === 'wasm') {
    if (await tryImport('@tensorflow/tfjs-backend-wasm')) {
      try {
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return tf;
        }
      } catch {
        // fall through to cpu
      }
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

/**
 * The TF.js namespace with the best available backend selected (`tf.getBackend()` names it). Loaded at the
 * first call; throws MISSING_DEPENDENCY when no TF.js package is installed.
 */
export function loadTf(): Promise<Tf> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
