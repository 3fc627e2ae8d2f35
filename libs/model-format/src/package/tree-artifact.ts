/**
 * Loads a package's tree model artifact into the tree IR, by framework.
 */
import { loadLightGBMModel } from '../lightgbm/model.js';
import { loadOnnxTreeEnsemble } from '../onnx/tree-ensemble.js';
import type { TreeEnsemble } from '../tree/ensemble.js';
import { loadXGBoostModel } from '../xgboost/model.js';

export async function loadTreeArtifact(bytes: Uint8Array, framework: 'xgboost' | 'lightgbm' | 'onnx', _name: string): Promise<TreeEnsemble> {
  if (framework === 'onnx') return loadOnnxTreeEnsemble(bytes);
  if (framework === 'lightgbm') return loadLightGBMModel(bytes);
  return loadXGBoostModel(bytes);
}
