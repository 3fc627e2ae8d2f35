/** XGBoost (JSON/UBJSON), LightGBM (text) and ONNX-ML tree model files -> tree IR, via @genome/model-format. */
import { loadTreeModel, sniffTreeFormat, type TreeEnsemble } from '@genome/model-format';

export function parseTreeFile(bytes: Uint8Array, _path: string): { ensemble: TreeEnsemble; format: string } {
  const format = sniffTreeFormat(bytes);
  return { ensemble: loadTreeModel(bytes, { format }), format };
}
