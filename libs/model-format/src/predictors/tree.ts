/**
 * A {@link Predictor} over the tree IR itself: no runtime needed, exact IR semantics, used by black-box
 * explainers on tree models and as the fallback when onnxruntime-node is not installed.
 */
import { ModelFormatError } from '../errors.js';
import type { Matrix, OutputSpace, Predictor } from '../predictor.js';
import type { TreeEnsemble } from '../tree/ensemble.js';
import { predict, predictRaw, predictWidth } from '../tree/predict.js';
import { checkRows } from './batching.js';

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
  return {
    kind: 'tabular',
    nFeatures: F,
    outputNames,
    outputSpace,
    async predict(rows: Float64Array, nRows: number): Promise<Matrix> {
      checkRows(rows, nRows, F, 'tree predictor');
      const data = raw ? predictRaw(model, rows, nRows) : predict(model, rows, nRows);
      return { data, rows: nRows, cols: width };
    },
  };
}
