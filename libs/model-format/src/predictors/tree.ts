/**
 * A {@link Predictor} over the tree IR itself: no runtime needed, exact IR semantics, used by black-box
 * explainers on tree models and as the fallback when onnxruntime-node is not installed.
 */
import { ModelFormatError } from '../errors.js';
import type { Matrix, OutputSpace, PredictOptions, Predictor } from '../predictor.js';
import type { TreeEnsemble } from '../tree/ensemble.js';
import { predict, predictRaw, predictWidth } from '../tree/predict.js';
import { nextTurn, throwIfAborted } from '../cancellation.js';
import { checkRows } from './batching.js';

/**
 * Rows per block when a call carries a signal. Prediction is synchronous, so an abort (a deadline timer, a
 * cancelled request) can only be seen between blocks: the predictor yields to the event loop after each block
 * and checks the signal. 1024 rows take ~20-70 ms on typical ensembles; a yield costs microseconds.
 */
const SIGNAL_BLOCK = 1024;


export interface TreePredictorOptions {
  /**
   * `raw`: margins from {@link predictRaw} (log-odds, per-class scores, or the regression value);
   * `probability` / `regression`: the model's user-facing predictions (after its output transform).
   * Default: `regression` for identity-link single-output models, else `probability`.
   */
  outputSpace?: OutputSpace;
}

const isRegression = (m: TreeEnsemble) => (m.transform === 'identity' || m.transform === 'exp') && !m.binaryLabels;

export function treePredictor(model: TreeEnsemble, opts: TreePredictorOptions = {}): Predictor {
  const requested = opts.outputSpace ?? (isRegression(model) ? 'regression' : 'probability');
  if (requested !== 'raw' && requested !== 'probability' && requested !== 'regression') {
    throw new ModelFormatError('INVALID_INPUT', `outputSpace must be raw, probability or regression, got ${String(requested)}`);
  }
  const raw = requested === 'raw' || (model.transform === 'identity' && !model.binaryLabels);
  const width = raw ? model.nOutputs : predictWidth(model);
  const outputNames = !raw && width === 2 && model.binaryLabels ? [...model.binaryLabels] : [...model.outputNames];
  const outputSpace: OutputSpace =
    requested === 'raw' ? (isRegression(model) && model.transform === 'identity' ? 'regression' : 'raw') : isRegression(model) ? 'regression' : 'probability';
  const F = model.nFeatures;
  const run = (rows: Float64Array, nRows: number) => (raw ? predictRaw(model, rows, nRows) : predict(model, rows, nRows));
  /** Same values as `run` (rows are independent), in blocks with an abort check between them. */
  const runInBlocks = async (rows: Float64Array, nRows: number, signal: AbortSignal): Promise<Float64Array> => {
    const out = new Float64Array(nRows * width);
    for (let r0 = 0; r0 < nRows; r0 += SIGNAL_BLOCK) {
      if (r0 > 0) {
        await nextTurn();
        throwIfAborted(signal);
      }
      const n = Math.min(SIGNAL_BLOCK, nRows - r0);
      out.set(run(rows.subarray(r0 * F, (r0 + n) * F), n), r0 * width);
    }
    return out;
  };
  return {
    kind: 'tabular',
    nFeatures: F,
    outputNames,
    outputSpace,
    async predict(rows: Float64Array, nRows: number, options?: PredictOptions): Promise<Matrix> {
      const signal = options?.signal;
      throwIfAborted(signal);
      checkRows(rows, nRows, F, 'tree predictor');
      // Without a signal (or for small batches) one synchronous call, exactly as before.
      const blocked = signal !== undefined && nRows > SIGNAL_BLOCK && rows instanceof Float64Array;
      const data = blocked ? await runInBlocks(rows, nRows, signal) : run(rows, nRows);
      return { data, rows: nRows, cols: width };
    },
  };
}
