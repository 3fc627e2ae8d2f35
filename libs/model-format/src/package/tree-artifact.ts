/**
 * Loads a package's tree model artifact into the tree IR, by framework, with the manifest's `modelOptions` and
 * the category names of its categorical features (`levels`).
 */
import { ModelFormatError } from '../errors.js';
import { loadLightGBMModel } from '../lightgbm/model.js';
import { loadOnnxTreeEnsemble } from '../onnx/tree-ensemble.js';
import type { TreeEnsemble } from '../tree/ensemble.js';
import { loadXGBoostModel } from '../xgboost/model.js';
import type { GenomeFeature, GenomeModelOptions } from './manifest.js';

export interface TreeArtifactOptions {
  modelOptions?: GenomeModelOptions;
  /** The manifest's tabular features: their `levels` become the tree's `featureCategories`. */
  features?: readonly GenomeFeature[];
}

export async function loadTreeArtifact(
  bytes: Uint8Array,
  framework: 'xgboost' | 'lightgbm' | 'onnx',
  name: string,
  options: TreeArtifactOptions = {},
): Promise<TreeEnsemble> {
  let tree: TreeEnsemble;
  if (framework === 'onnx') tree = loadOnnxTreeEnsemble(bytes);
  else if (framework === 'lightgbm') tree = loadLightGBMModel(bytes);
  else {
    const iterationRange = options.modelOptions?.iterationRange;
    try {
      tree = loadXGBoostModel(bytes, iterationRange !== undefined ? { iterationRange } : {});
    } catch (err) {
      // A range that does not fit this model is a package problem: say which field to fix.
      if (iterationRange !== undefined && err instanceof ModelFormatError && err.code === 'INVALID_INPUT') {
        throw new ModelFormatError('INVALID_PACKAGE', `/modelOptions/iterationRange: ${err.message} (model ${name})`, { cause: err });
      }
      throw err;
    }
  }
  return options.features ? withLevels(tree, options.features, name) : tree;
}

/**
 * Gives the tree IR the manifest's `levels` as `featureCategories` (code i = levels[i]). Features whose names the
 * model file already carries (XGBoost >= 3.1 `cats`, LightGBM `pandas_categorical`) must agree with the manifest.
 */
export function withLevels(tree: TreeEnsemble, features: readonly GenomeFeature[], name: string): TreeEnsemble {
  if (!features.some((f) => f.levels)) return tree;
  if (features.length !== tree.nFeatures) {
    throw new ModelFormatError(
      'INVALID_PACKAGE',
      `/input/features lists ${features.length} features but the model ${name} takes ${tree.nFeatures}; the categorical levels cannot be matched to the model's features`,
    );
  }
  const shown = (l: readonly string[]) => `${JSON.stringify(l.slice(0, 10)).slice(0, 200)}${l.length > 10 ? ` (${l.length} in all)` : ''}`;
  const cats: (readonly string[] | undefined)[] = features.map((_, f) => tree.featureCategories?.[f]);
  features.forEach((f, i) => {
    const levels = f.levels;
    if (!levels) return;
    const own = cats[i];
    if (own && (own.length !== levels.length || own.some((c, k) => c !== levels[k]))) {
      throw new ModelFormatError(
        'INVALID_PACKAGE',
        `/input/features/${i}/levels: ${shown(levels)} differ from the categories the model ${name} stores for feature "${tree.featureNames[i]}": ${shown(own)}`,
      );
    }
    cats[i] = levels;
  });
  return { ...tree, featureCategories: cats };
}
