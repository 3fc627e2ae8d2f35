/**
 * The generic tree-model loader: sniffs the format from the file's bytes and dispatches to the XGBoost, LightGBM or
 * ONNX-ML loader. It sits above those loaders (which build on tree/), so no import runs back up the layers.
 */
import { ModelFormatError } from './errors.js';
import type { TreeEnsemble } from './tree/ensemble.js';
import { loadOnnxTreeEnsemble } from './onnx/tree-ensemble.js';
import { loadXGBoostModel, type XGBoostIterationRange } from './xgboost/model.js';
import { loadLightGBMModel } from './lightgbm/model.js';

export type TreeModelFormat = 'xgboost-json' | 'xgboost-ubjson' | 'lightgbm-text' | 'onnx';

/** Guesses the format: '{' -> XGBoost (JSON or UBJSON), "tree" -> LightGBM text, else ONNX protobuf. */
export function sniffTreeFormat(bytes: Uint8Array): TreeModelFormat {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09 || bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf)) i++;
  if (bytes[i] === 0x7b) {
    let j = i + 1;
    while (j < bytes.length && (bytes[j] === 0x20 || bytes[j] === 0x0a || bytes[j] === 0x0d || bytes[j] === 0x09)) j++;
    return bytes[j] === 0x22 || bytes[j] === 0x7d ? 'xgboost-json' : 'xgboost-ubjson';
  }
  if (bytes[i] === 0x74 && bytes[i + 1] === 0x72 && bytes[i + 2] === 0x65 && bytes[i + 3] === 0x65) return 'lightgbm-text';
  if (bytes[0] === 0x08) return 'onnx'; // ModelProto starts with ir_version (field 1, varint)
  throw new ModelFormatError('INVALID_MODEL', 'Unrecognised model format: expected XGBoost JSON/UBJSON, a LightGBM text model or an ONNX file. Pass options.format to force one.');
}

export interface TreeModelOptions {
  /** Force the format instead of sniffing it. */
  format?: TreeModelFormat;
  /**
   * XGBoost only: keep these boosting rounds (see {@link XGBoostIterationRange}); every round by default. Given
   * for a LightGBM or ONNX model it is an `INVALID_INPUT` error.
   */
  iterationRange?: XGBoostIterationRange;
}

const FORMAT_NAMES: Record<TreeModelFormat, string> = {
  'xgboost-json': 'an XGBoost JSON model',
  'xgboost-ubjson': 'an XGBoost UBJSON model',
  'lightgbm-text': 'a LightGBM text model',
  onnx: 'an ONNX model',
};

export function loadTreeModel(bytes: Uint8Array, options: TreeModelOptions = {}): TreeEnsemble {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError('INVALID_INPUT', 'loadTreeModel expects the model file bytes (Uint8Array or Buffer).');
  const format = options.format ?? sniffTreeFormat(bytes);
  const { iterationRange } = options;
  if (iterationRange !== undefined && format !== 'xgboost-json' && format !== 'xgboost-ubjson') {
    const what = FORMAT_NAMES[format] ?? `format '${String(format)}'`;
    throw new ModelFormatError(
      'INVALID_INPUT',
      `iterationRange applies to XGBoost models only (it selects XGBoost boosting rounds); this is ${what}. Remove the option.`,
    );
  }
  switch (format) {
    case 'xgboost-json':
      return loadXGBoostModel(bytes, { encoding: 'json', ...(iterationRange !== undefined ? { iterationRange } : {}) });
    case 'xgboost-ubjson':
      return loadXGBoostModel(bytes, { encoding: 'ubjson', ...(iterationRange !== undefined ? { iterationRange } : {}) });
    case 'lightgbm-text':
      return loadLightGBMModel(bytes);
    case 'onnx':
      return loadOnnxTreeEnsemble(bytes);
    default:
      throw new ModelFormatError('INVALID_INPUT', `Unknown format '${String(format)}'.`);
  }
}
