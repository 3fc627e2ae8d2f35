/** XGBoost (JSON/UBJSON), LightGBM (text) and ONNX-ML tree model files -> tree IR, via @genome/model-format. */
import { loadTreeModel, sniffTreeFormat, type TreeEnsemble, type XGBoostIterationRange } from '@genome/model-format';

export function parseTreeFile(bytes: Uint8Array, iterationRange?: XGBoostIterationRange): { ensemble: TreeEnsemble; format: string } {
  const format = sniffTreeFormat(bytes);
  return { ensemble: loadTreeModel(bytes, { format, ...(iterationRange !== undefined ? { iterationRange } : {}) }), format };
}

/** The feature types and category names of a tree model, for its description (absent when it has none). */
export function featureSchema(e: TreeEnsemble): { featureTypes?: TreeEnsemble['featureTypes'][number][]; featureCategories?: (readonly string[] | undefined)[] } {
  return {
    ...(e.featureTypes.some((t) => t === 'categorical') ? { featureTypes: [...e.featureTypes] } : {}),
    ...(e.featureCategories?.some((c) => c !== undefined) ? { featureCategories: [...e.featureCategories] } : {}),
  };
}
