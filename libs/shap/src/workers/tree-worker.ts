/**
 * Worker-thread entry of {@link TreeShapPool}: runs the single-thread kernels on a slice of rows.
 * Models and backgrounds are cached per worker by id, so they cross the thread boundary once.
 */
import { parentPort } from 'node:worker_threads';
import type { TreeEnsemble } from '@genome/model-format';
import { interactionsRange, interventionalRange, pathDependentRange } from '../tree/compute.js';
import { buildFastTables } from '../tree/fast-v2.js';
import { prepareEnsemble } from '../tree/prepared.js';
import { prepareBackground, type PreparedBackground } from '../tree/tree-shap.js';
import type { TreeRelease, TreeTask, TreeTaskResult } from './protocol.js';

const models = new Map<number, TreeEnsemble>();
const backgrounds = new Map<number, PreparedBackground>();

function run(task: TreeTask): Float64Array {
  if (task.model) models.set(task.modelId, task.model);
  const model = models.get(task.modelId);
  if (!model) throw new Error(`worker has no model ${task.modelId}`);
  const prep = prepareEnsemble(model);
  const nF = prep.nFeatures;
  const nO = prep.nOutputs;
  if (task.kind === 'path') {
    const out = new Float64Array(task.nRows * nF * nO);
    const alg = task.algorithm ?? 'quadrature';
    pathDependentRange(prep, task.rows, 0, task.nRows, out, alg, alg === 'fast-v2' ? buildFastTables(prep) : undefined);
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

parentPort!.on('message', (task: TreeTask | TreeRelease) => {
  if ('release' in task) {
    // The pool no longer uses this model: forget it (no answer; the pool does not wait for one).
    models.delete(task.release);
    return;
  }
  let msg: TreeTaskResult;
  try {
    const values = run(task);
    msg = { id: task.id, ok: true, values };
    parentPort!.postMessage(msg, [values.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    msg = { id: task.id, ok: false, code: err.code ?? 'INVALID_INPUT', message: err.message ?? String(e) };
    parentPort!.postMessage(msg);
  }
});
