/**
 * Worker-thread entry of {@link TreeShapPool}: runs the single-thread kernels on a slice of rows.
 * Models arrive once (registered and prepared before their first task); backgrounds are cached per worker by id.
 */
import { parentPort } from 'node:worker_threads';
import type { TreeEnsemble } from '@genome/model-format';
import { interactionsRange, interventionalRange, pathDependentRange } from '../tree/compute.js';
import { prepareEnsemble } from '../tree/prepared.js';
import { prepareBackground, prepareTreeShap, type PreparedBackground } from '../tree/tree-shap.js';
import type { TreeRegister, TreeRegistered, TreeRelease, TreeTask, TreeTaskResult } from './protocol.js';

const models = new Map<number, TreeEnsemble>();
const backgrounds = new Map<number, PreparedBackground>();

function run(task: TreeTask): Float64Array {
  const model = models.get(task.modelId);
  if (!model) throw new Error(`worker has no model ${task.modelId}`);
  const prep = prepareEnsemble(model);
  const nF = prep.nFeatures;
  const nO = prep.nOutputs;
  if (task.kind === 'path') {
    const out = new Float64Array(task.nRows * nF * nO);
    pathDependentRange(prep, task.rows, 0, task.nRows, out, task.algorithm ?? 'quadrature');
    return out;
  }
  if (task.kind === 'interactions') {
    const out = new Float64Array(task.nRows * nF * nF * nO);
    interactionsRange(prep, task.rows, 0, task.nRows, out);
    return out;
  }
  const bid = task.backgroundId!;
  if (task.background) {
    // keep only the latest few backgrounds
    if (backgrounds.size > 4) backgrounds.clear();
    backgrounds.set(bid, prepareBackground(model, task.background, task.nBackground!));
  }
  const bg = backgrounds.get(bid);
  if (!bg) throw new Error(`worker has no background ${bid}`);
  const out = new Float64Array(task.nRows * nF * nO);
  interventionalRange(prep, task.rows, 0, task.nRows, bg.dirs, bg.margins, bg.nBackground, task.link ?? 'identity', out);
  return out;
}

function failure(e: unknown): { code: string; message: string } {
  const err = e as { code?: string; message?: string };
  return { code: err.code ?? 'INVALID_INPUT', message: err.message ?? String(e) };
}

parentPort!.on('message', (msg: TreeTask | TreeRegister | TreeRelease) => {
  if ('release' in msg) {
    // The pool no longer uses this model: forget it (no answer; the pool does not wait for one).
    models.delete(msg.release);
    return;
  }
  if ('register' in msg) {
    let reply: TreeRegistered;
    try {
      models.set(msg.register, msg.model);
      prepareTreeShap(msg.model, { interactions: msg.interactions });
      reply = { registered: msg.register, ok: true };
    } catch (e) {
      models.delete(msg.register);
      reply = { registered: msg.register, ok: false, ...failure(e) };
    }
    parentPort!.postMessage(reply);
    return;
  }
  try {
    const values = run(msg);
    parentPort!.postMessage({ id: msg.id, ok: true, values } satisfies TreeTaskResult, [values.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, ok: false, ...failure(e) } satisfies TreeTaskResult);
  }
});
